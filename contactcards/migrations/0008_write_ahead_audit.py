"""Write-ahead audit (docs/audit-history.md): an attempt row is committed before a write leaves
for Linq, with outcome "pending"; its outcome is filled in exactly once when the answer comes.

* New outcomes: ``pending`` (sent, outcome not yet known) and ``unknown`` (the answer never came:
  the process stopped during the call, or the request ran out of time).
* ``outcome_at``: when the outcome was recorded; ``reconciled_at``: when a later re-read of the
  card (opening the number, or ``manage.py reconcileattempts``) recorded whether it took effect.
* ``linq_code_text``: a code Linq sent that does not fit ``linq_code`` (e.g. -1 or 2**40).
* PostgreSQL: the append-only trigger now lets exactly two kinds of UPDATE through besides the
  ``ON DELETE SET NULL`` detach: (1) a pending row's outcome columns, once (``pending`` -> anything
  else), with every column describing the attempt unchanged; (2) an answered row whose outcome
  was unknown getting ``applied`` and ``reconciled_at``, once, nothing else changed.
"""

import importlib

from django.db import migrations, models

OUTCOME_COLUMNS = ("outcome", "error_kind", "http_status", "request_sent", "linq_code", "linq_code_text",
                   "error_message", "trace_id", "retry_after", "duration_ms", "applied", "outcome_at",
                   "reconciled_at")

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION contactcards_auditentry_append_only() RETURNS trigger AS $$
DECLARE
    outcome_columns text[] := ARRAY[@COLUMNS@];
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('linqadmin.allow_audit_prune', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.number_id IS NULL OR NEW.number_id = OLD.number_id)
           AND (NEW.user_id IS NULL OR NEW.user_id = OLD.user_id)
           AND (to_jsonb(NEW) - 'number_id' - 'user_id') = (to_jsonb(OLD) - 'number_id' - 'user_id') THEN
            RETURN NEW;  -- only a foreign key detached by ON DELETE SET NULL
        END IF;
        IF OLD.outcome = 'pending' AND NEW.outcome <> 'pending'
           AND (to_jsonb(NEW) - outcome_columns) = (to_jsonb(OLD) - outcome_columns) THEN
            RETURN NEW;  -- the outcome of a write-ahead attempt, recorded once
        END IF;
        IF OLD.outcome <> 'pending' AND OLD.applied IS NULL AND OLD.reconciled_at IS NULL
           AND NEW.reconciled_at IS NOT NULL
           AND (to_jsonb(NEW) - 'applied' - 'reconciled_at') = (to_jsonb(OLD) - 'applied' - 'reconciled_at') THEN
            RETURN NEW;  -- a later re-read of an unknown outcome, recorded once
        END IF;
    END IF;
    RAISE EXCEPTION 'contactcards_auditentry is append-only: % is not allowed (use manage.py pruneaudit)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
""".replace("@COLUMNS@", ", ".join(f"'{name}'" for name in OUTCOME_COLUMNS))


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def restore_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        previous = importlib.import_module("contactcards.migrations.0002_audit_history")
        schema_editor.execute(previous.TRIGGER_SQL, params=None)


OUTCOMES = [("success", "Success"), ("api_error", "API error"), ("network_error", "Network error"),
            ("pending", "Sent, outcome not yet known"), ("unknown", "Outcome unknown")]


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0007_card_mirror")]

    operations = [
        migrations.AlterField(
            model_name="auditentry", name="outcome", field=models.CharField(choices=OUTCOMES, max_length=20),
        ),
        migrations.AddField(
            model_name="auditentry", name="linq_code_text", field=models.CharField(blank=True, max_length=41),
        ),
        migrations.AddField(
            model_name="auditentry", name="outcome_at", field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="auditentry", name="reconciled_at", field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(install_trigger, restore_trigger, elidable=False),
    ]
