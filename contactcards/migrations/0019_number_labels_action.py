"""History: one more team-administration action, labels and tags changed from a dashboard selection."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contactcards', '0018_rollout_lease'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('create', 'Create card'), ('update', 'Update card'), ('token_change', 'Change token'), ('outside', 'Changed outside linqadmin'), ('subscription', 'Webhook subscription'), ('member_invite', 'Invite member'), ('member_add', 'Add member'), ('member_role', 'Change member role'), ('member_remove', 'Remove member'), ('number_add', 'Add numbers'), ('number_remove', 'Remove number'), ('number_import', 'Import numbers'), ('number_labels', 'Change labels and tags'), ('two_factor_policy', 'Change two-factor requirement')], max_length=20),
        ),
    ]
