"""Line health (issue 23): what Linq says about each line, its history actions, and the team's choice to
add newly assigned lines by itself.

The dashboard's board version (0013) must change whenever a line's health does: the same triggers are
installed on ``contactcards_linehealth``. On SQLite, the team's new column is added in place (a rebuild of
``contactcards_team`` would break the triggers that refer to it).
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

TABLE = "contactcards_linehealth"
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _team_field():
    """The new column (the migration state does not have it yet while the database operation runs)."""
    field = models.BooleanField(default=False)
    field.set_attributes_from_name("auto_add_assigned")
    return field


def add_team_column(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("ALTER TABLE contactcards_team ADD COLUMN auto_add_assigned bool NOT NULL DEFAULT 0",
                              params=None)
        return
    schema_editor.add_field(apps.get_model("contactcards", "Team"), _team_field())


def remove_team_column(apps, schema_editor):
    team = apps.get_model("contactcards", "Team")
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("ALTER TABLE contactcards_team DROP COLUMN auto_add_assigned", params=None)
        return
    schema_editor.remove_field(team, _team_field())


def _board():
    return importlib.import_module("contactcards.migrations.0013_board_version")


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE CONSTRAINT TRIGGER {TABLE}_board AFTER {' OR '.join(EVENTS)} ON {TABLE} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION contactcards_board_changed('number_id')",
            params=None)
    elif vendor == "sqlite":
        for event in EVENTS:
            schema_editor.execute(_board().sqlite_trigger(TABLE, "number_id", event), params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_board ON {TABLE}", params=None)
    elif vendor == "sqlite":
        for event in EVENTS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_board_{event.lower()}", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('contactcards', '0022_audit_streams'),
    ]

    operations = [
        # On SQLite, AddField of a NOT NULL column rebuilds the team table, which the board triggers of
        # 0013 refer to (the rebuild fails): there the column is added in place, as SQLite can.
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(
                model_name='team',
                name='auto_add_assigned',
                field=models.BooleanField(default=False, help_text="Add lines Linq newly assigns to the team's token without asking."),
            )],
            database_operations=[migrations.RunPython(add_team_column, remove_team_column, elidable=False)],
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('create', 'Create card'), ('update', 'Update card'), ('token_change', 'Change token'), ('outside', 'Changed outside linqadmin'), ('subscription', 'Webhook subscription'), ('member_invite', 'Invite member'), ('member_add', 'Add member'), ('member_role', 'Change member role'), ('member_remove', 'Remove member'), ('number_add', 'Add numbers'), ('number_remove', 'Remove number'), ('number_import', 'Import numbers'), ('number_labels', 'Change labels and tags'), ('two_factor_policy', 'Change two-factor requirement'), ('stream_add', 'Add audit stream'), ('stream_change', 'Change audit stream'), ('stream_pause', 'Pause audit stream'), ('stream_resume', 'Resume audit stream'), ('stream_secret', 'Rotate audit stream secret'), ('stream_delete', 'Delete audit stream'), ('line_health', 'Line health'), ('line_assigned', 'Line assigned'), ('line_released', 'Line released'), ('line_auto_add', 'Change adding of assigned lines')], max_length=20),
        ),
        migrations.AlterField(
            model_name='jobitem',
            name='why',
            field=models.CharField(blank=True, choices=[('unchanged', 'Linq already had these values'), ('applied', "An earlier attempt's write reached Linq"), ('unanswered', 'No answer, but the re-read shows the change'), ('set_up_again', 'Set up again (the card was pending at Linq)'), ('no_outcome', 'A write was recorded without its outcome'), ('unsettled', 'Linq did not say whether the change was applied'), ('unknown', 'No answer from Linq'), ('linq_error', 'Linq refused the change'), ('linq_wait', 'Linq asked to wait'), ('reread_failed', 'The card could not be re-read'), ('budget', 'No write left for this number'), ('busy', 'The number was busy with another save'), ('conflict', 'Changed at Linq since the preview'), ('image_refused', 'Linq could not use the photo link'), ('card_appeared', 'A card was set up since the preview'), ('card_deleted', 'The card was deleted at Linq since the preview'), ('refused', 'Refused at preview'), ('cancelled', 'Cancelled'), ('removed', 'The number or the person who started the job was removed'), ('worker_stopped', 'Its worker stopped mid-save'), ('internal', 'Internal error'), ('released', "Linq released this line from the team's token")], max_length=20),
        ),
        migrations.CreateModel(
            name='LineHealth',
            fields=[
                ('number', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='health', serialize=False, to='contactcards.phonenumber')),
                ('status', models.CharField(blank=True, choices=[('ACTIVE', 'Active'), ('FLAGGED', 'Flagged'), ('UNKNOWN', 'Unknown')], max_length=10)),
                ('reputation', models.CharField(blank=True, choices=[('HEALTHY', 'Healthy'), ('AT_RISK', 'At risk'), ('CRITICAL', 'Critical'), ('UNKNOWN', 'Unknown')], max_length=10)),
                ('doc_url', models.TextField(blank=True)),
                ('released', models.BooleanField(default=False)),
                ('source', models.CharField(choices=[('read', 'read from Linq'), ('webhook', 'Linq webhook'), ('reconcile', 'reconcile')], max_length=10)),
                ('as_of', models.DateTimeField()),
                ('recorded_at', models.DateTimeField()),
            ],
            options={
                'verbose_name': 'line health',
                'indexes': [models.Index(fields=['status', 'reputation', 'released'], name='line_health_state')],
            },
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
