"""Audit history: indexes for the history filters, and (Postgres only) the append-only trigger.

The trigger rejects UPDATE and DELETE on contactcards_auditentry, with two exceptions:

* ``manage.py pruneaudit`` deletes old rows inside a transaction that first runs
  ``SET LOCAL linqadmin.allow_audit_prune = 'on'``; the trigger lets a DELETE through
  only when ``current_setting('linqadmin.allow_audit_prune', true) = 'on'``. SET LOCAL
  ends with the transaction, so the permission never leaks to other statements.
* Django's ``on_delete=SET_NULL`` for ``number`` and ``user``: deleting a phone number
  or a user only detaches the entry (sets that foreign key to NULL); every recorded
  value - including the copies ``phone_number`` and ``username`` - stays as it was.

TRUNCATE is not blocked: test runners flush tables with it, and it needs table
ownership anyway. The trigger guards against accidents and against tampering through
the application or an ordinary SQL session; a database superuser can still drop it.
"""

from django.db import migrations, models

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION contactcards_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('linqadmin.allow_audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE'
       AND (NEW.number_id IS NULL OR NEW.number_id = OLD.number_id)
       AND (NEW.user_id IS NULL OR NEW.user_id = OLD.user_id)
       AND (to_jsonb(NEW) - 'number_id' - 'user_id') = (to_jsonb(OLD) - 'number_id' - 'user_id') THEN
        RETURN NEW;  -- only a foreign key detached by ON DELETE SET NULL
    END IF;
    RAISE EXCEPTION 'contactcards_auditentry is append-only: % is not allowed (use manage.py pruneaudit)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contactcards_auditentry_append_only ON contactcards_auditentry;
CREATE TRIGGER contactcards_auditentry_append_only
    BEFORE UPDATE OR DELETE ON contactcards_auditentry
    FOR EACH ROW EXECUTE FUNCTION contactcards_auditentry_append_only();
"""

DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS contactcards_auditentry_append_only ON contactcards_auditentry;
DROP FUNCTION IF EXISTS contactcards_auditentry_append_only();
"""


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0001_initial")]
    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["team", "user", "-created_at", "-id"], name="audit_team_user_newest"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["team", "outcome", "-created_at", "-id"], name="audit_team_outcome_newest"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["team", "action", "-created_at", "-id"], name="audit_team_action_newest"),
        ),
        migrations.RunPython(install_trigger, remove_trigger, elidable=False),
    ]
