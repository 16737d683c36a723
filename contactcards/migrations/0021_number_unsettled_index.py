"""The writes whose outcome is unknown, per number: every card read settles them (sync.settle), so the card
page looks them up on each view. A partial index holds only those rows (on both databases), so the lookup
no longer reads every entry of the number."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contactcards', '0020_rollout_throughput_indexes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('action__in', ('create', 'update')), ('applied__isnull', True), ('reconciled_at__isnull', True), ('request_sent', True), models.Q(('outcome__in', ('pending', 'unknown')), models.Q(('outcome__in', ('api_error', 'network_error')), models.Q(models.Q(('error_kind__in', ('timeout', 'connection', 'malformed')), models.Q(('http_status__isnull', True), ('http_status__lt', 400), _connector='OR')), models.Q(('error_kind', 'api'), ('http_status__gte', 500), ('linq_code__isnull', True), ('linq_code_text', '')), _connector='OR')), _connector='OR')), fields=['number', 'created_at'], name='audit_number_unsettled'),
        ),
    ]
