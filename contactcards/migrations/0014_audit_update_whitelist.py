"""The audit history's changes as an explicit whitelist, and ``created_at`` set by the database.

What the runtime role could still do before this migration (issue 19, item 8), and what now stops it:

* **Clear ``number_id`` / ``user_id`` on any row** (the row dropped out of the number's timeline and the
  user filter). Clearing them is still the one change ``ON DELETE SET NULL`` needs (Django's collector
  clears them, then deletes the number or user, in one transaction), but a deferred constraint trigger
  now checks at commit that the number or user it pointed at is gone (PostgreSQL).
* **Set ``applied`` once on any answered row**, a success included. A re-read may now settle only a write
  whose answer did not say whether it took effect (``AuditQuerySet.answered_unsettled``): ``applied``
  NULL -> true/false together with ``reconciled_at`` NULL -> a time, once, nothing else.
* **Insert rows dated in the past.** A BEFORE INSERT trigger sets ``created_at`` to the database's
  ``statement_timestamp()`` for every role that does not own the table (PostgreSQL).

The UPDATE whitelist, on both databases (``contactcards_auditentry_append_only``); everything else is refused:

1. detach: ``number_id`` and/or ``user_id`` to NULL, nothing else changed;
2. outcome: ``pending`` -> one of ``FINAL_OUTCOMES``, only ``OUTCOME_COLUMNS`` changed (once, since the
   row is no longer pending afterwards);
3. re-read: on an answered, unsettled write (as above) ``applied`` and ``reconciled_at`` both set,
   nothing else changed (once, since both are then set).

Who dates a row: only a role that owns the table (or is a member of its owner, or a superuser) may
supply ``created_at`` - the role that could ``ALTER TABLE ... DISABLE TRIGGER`` anyway, so this
gives nothing away. That is the one role of development and the tests, whose controllable clock
(tests/clock.py) moves ``timezone.now`` and relies on Python's value being stored, and the owner
role of production, which runs ``seedaudit``. The runtime role of production (README "Two database
roles") gets the database's time whatever it sends; ``created_at``'s new DEFAULT makes Django read
the stored value back (RETURNING), so the instance it saved shows the database's time too.

SQLite has neither roles nor deferred triggers: there the same UPDATE whitelist is a trigger (raw SQL
and ``_base_manager`` updates included), a detach is not checked against the deleted row, and
``created_at`` is whatever the app sends (the file's owner is the only "role"). DELETE stays guarded
by the model and (PostgreSQL) the prune switch: a SQLite DELETE trigger would also refuse the test
runner's flush, which empties tables with DELETE.

On SQLite, the new DEFAULT rebuilds the table, which drops its triggers: migration 0013's board
trigger on this table is re-created here (both ways).
"""

import importlib

from django.conf import settings
from django.db import migrations, models
from django.db.models.functions import Now

TABLE = "contactcards_auditentry"
OUTCOME_COLUMNS = ("outcome", "error_kind", "http_status", "request_sent", "linq_code", "linq_code_text",
                   "error_message", "trace_id", "retry_after", "duration_ms", "applied", "outcome_at",
                   "reconciled_at")
FINAL_OUTCOMES = ("success", "api_error", "network_error", "unknown")
UNKNOWN_OUTCOME_KINDS = ("timeout", "connection", "malformed")
WRITE_ACTIONS = ("create", "update")
DETACHABLE = ("number_id", "user_id")
RECONCILED = ("applied", "reconciled_at")
REFUSED = "contactcards_auditentry is append-only: UPDATE is not allowed"


def _list(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


# An answered write whose answer did not say whether it took effect - no usable answer, or an error page
# (HTTP 5xx) without Linq's code (models.unanswered_q) - not yet settled by a re-read
# (models.AuditQuerySet.answered_unsettled). The same SQL on both databases.
ANSWERED_UNSETTLED = f"""(
    OLD.action IN ({_list(WRITE_ACTIONS)}) AND OLD.request_sent
    AND OLD.applied IS NULL AND OLD.reconciled_at IS NULL
    AND (OLD.outcome = 'unknown'
         OR (OLD.outcome IN ('api_error', 'network_error')
             AND ((OLD.error_kind IN ({_list(UNKNOWN_OUTCOME_KINDS)})
                   AND (OLD.http_status IS NULL OR OLD.http_status < 400))
                  OR (OLD.error_kind = 'api' AND OLD.http_status >= 500
                      AND OLD.linq_code IS NULL AND OLD.linq_code_text = ''))))
)"""

POSTGRES_SQL = f"""
CREATE OR REPLACE FUNCTION contactcards_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('linqadmin.allow_audit_prune', true) = 'on' THEN
            RETURN OLD;  -- manage.py pruneaudit (migration 0002)
        END IF;
    ELSIF (to_jsonb(NEW) - ARRAY[{_list(DETACHABLE)}]) = (to_jsonb(OLD) - ARRAY[{_list(DETACHABLE)}])
          AND (NEW.number_id IS NULL OR NEW.number_id = OLD.number_id)
          AND (NEW.user_id IS NULL OR NEW.user_id = OLD.user_id) THEN
        RETURN NEW;  -- 1. a detach; contactcards_auditentry_detached checks it at commit
    ELSIF OLD.outcome = 'pending' AND NEW.outcome IN ({_list(FINAL_OUTCOMES)})
          AND (to_jsonb(NEW) - ARRAY[{_list(OUTCOME_COLUMNS)}]) = (to_jsonb(OLD) - ARRAY[{_list(OUTCOME_COLUMNS)}]) THEN
        RETURN NEW;  -- 2. the outcome of a write-ahead attempt, once
    ELSIF {ANSWERED_UNSETTLED}
          AND NEW.applied IS NOT NULL AND NEW.reconciled_at IS NOT NULL
          AND (to_jsonb(NEW) - ARRAY[{_list(RECONCILED)}]) = (to_jsonb(OLD) - ARRAY[{_list(RECONCILED)}]) THEN
        RETURN NEW;  -- 3. what a later re-read found, once
    END IF;
    RAISE EXCEPTION 'contactcards_auditentry is append-only: % is not allowed (use manage.py pruneaudit)', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION contactcards_auditentry_stamped() RETURNS trigger AS $$
BEGIN
    IF NEW.created_at IS NULL
       OR NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        NEW.created_at := statement_timestamp();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contactcards_auditentry_stamped ON {TABLE};
CREATE TRIGGER contactcards_auditentry_stamped BEFORE INSERT ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION contactcards_auditentry_stamped();

CREATE OR REPLACE FUNCTION contactcards_auditentry_detached() RETURNS trigger AS $$
BEGIN
    IF (OLD.number_id IS NOT NULL AND NEW.number_id IS NULL
        AND EXISTS (SELECT FROM contactcards_phonenumber WHERE id = OLD.number_id))
       OR (OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
           AND EXISTS (SELECT FROM @USER_TABLE@ WHERE id = OLD.user_id)) THEN
        RAISE EXCEPTION 'contactcards_auditentry is append-only: a number or user is detached only when it is deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contactcards_auditentry_detached ON {TABLE};
CREATE CONSTRAINT TRIGGER contactcards_auditentry_detached AFTER UPDATE OF number_id, user_id ON {TABLE}
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.number_id IS NOT NULL AND NEW.number_id IS NULL) OR (OLD.user_id IS NOT NULL AND NEW.user_id IS NULL))
    EXECUTE FUNCTION contactcards_auditentry_detached();
"""

POSTGRES_REMOVE_SQL = f"""
DROP TRIGGER IF EXISTS contactcards_auditentry_detached ON {TABLE};
DROP FUNCTION IF EXISTS contactcards_auditentry_detached();
DROP TRIGGER IF EXISTS contactcards_auditentry_stamped ON {TABLE};
DROP FUNCTION IF EXISTS contactcards_auditentry_stamped();
"""


def sqlite_update_trigger(columns: list[str]) -> str:
    """The UPDATE whitelist for SQLite, which has no row-as-JSON: every other column compared by name."""

    def unchanged(*changing: str) -> str:
        return " AND ".join(f'OLD."{c}" IS NEW."{c}"' for c in columns if c not in changing)

    detach = (f"(NEW.number_id IS NULL OR NEW.number_id IS OLD.number_id) "
              f"AND (NEW.user_id IS NULL OR NEW.user_id IS OLD.user_id) AND {unchanged(*DETACHABLE)}")
    outcome = f"OLD.outcome = 'pending' AND NEW.outcome IN ({_list(FINAL_OUTCOMES)}) AND {unchanged(*OUTCOME_COLUMNS)}"
    reread = (f"{ANSWERED_UNSETTLED} AND NEW.applied IS NOT NULL AND NEW.reconciled_at IS NOT NULL "
              f"AND {unchanged(*RECONCILED)}")
    return (f"CREATE TRIGGER contactcards_auditentry_append_only BEFORE UPDATE ON {TABLE} FOR EACH ROW "
            f"WHEN NOT (({detach}) OR ({outcome}) OR ({reread})) "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END")


def _board():
    return importlib.import_module("contactcards.migrations.0013_board_version")


def _restore_board_trigger(schema_editor) -> None:
    """The SQLite table rebuild of AlterField drops the table's triggers: put 0013's back."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_board_update", params=None)
        schema_editor.execute(_board().sqlite_trigger(TABLE, "team_id", "UPDATE"), params=None)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        user_table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
        schema_editor.execute(POSTGRES_SQL.replace("@USER_TABLE@", schema_editor.quote_name(user_table)),
                              params=None)
    elif vendor == "sqlite":
        _restore_board_trigger(schema_editor)
        columns = [field.column for field in apps.get_model("contactcards", "AuditEntry")._meta.concrete_fields]
        schema_editor.execute("DROP TRIGGER IF EXISTS contactcards_auditentry_append_only", params=None)
        schema_editor.execute(sqlite_update_trigger(columns), params=None)


def remove(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_REMOVE_SQL, params=None)
        previous = importlib.import_module("contactcards.migrations.0008_write_ahead_audit")
        schema_editor.execute(previous.TRIGGER_SQL, params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS contactcards_auditentry_append_only", params=None)


def restore_board_trigger(apps, schema_editor):
    _restore_board_trigger(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contactcards", "0013_board_version"),
    ]

    operations = [
        # Backwards, the AlterField below rebuilds the SQLite table again: this puts the board trigger back.
        migrations.RunPython(migrations.RunPython.noop, restore_board_trigger, elidable=False),
        migrations.AlterField(
            model_name="auditentry", name="created_at", field=models.DateTimeField(auto_now_add=True, db_default=Now()),
        ),
        migrations.RunPython(install, remove, elidable=False),
    ]
