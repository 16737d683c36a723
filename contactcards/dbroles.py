"""Two database roles, so that the audit history is append-only for the application itself.

PostgreSQL lets a table's owner do anything to it - TRUNCATE, ALTER TABLE … DISABLE TRIGGER,
DROP TRIGGER - so a trigger alone cannot protect the history from the role the app runs as.
In production the app therefore runs as a *runtime* role (``DATABASE_URL``) that owns nothing,
while an *owner* role (``MIGRATE_DATABASE_URL``) owns the tables, runs ``manage.py migrate``
and ``manage.py pruneaudit``, and after each migrate grants the runtime role what it needs:

* every table: SELECT, INSERT, UPDATE, DELETE (sequences: USAGE, SELECT, UPDATE);
* the audit table: SELECT and INSERT, plus UPDATE of exactly the columns the append-only trigger
  lets change - the foreign keys ``ON DELETE SET NULL`` clears, and the outcome columns a
  write-ahead attempt fills in once (``models.OUTCOME_FIELDS``). Everything recorded about the
  attempt itself (who, what, the body, when) is not updatable at all, and the trigger refuses
  any change it does not expect to the rest. No DELETE;
* never TRUNCATE, REFERENCES or TRIGGER, and no ownership: ALTER, DROP and trigger changes
  are the owner's alone.

Without ``MIGRATE_DATABASE_URL`` (development, SQLite, the tests) one role does everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

from contactcards.models import OUTCOME_FIELDS

# Append-only tables, and the columns the runtime role may still update, each change checked by the
# table's trigger: the detach of ON DELETE SET NULL, and the outcome of a write-ahead attempt (once).
APPEND_ONLY_TABLES: dict[str, tuple[str, ...]] = {
    "contactcards_auditentry": ("number_id", "user_id", *OUTCOME_FIELDS),
}
_CONNECTION_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def runtime_role(alias: str = "default") -> str | None:
    """The role the app runs as, when a separate owner role is configured (else None)."""
    owner = settings.MIGRATE_DATABASE
    user = settings.DATABASES[alias].get("USER")
    if not owner or not user or owner.get("USER") == user:
        return None
    return user


@contextmanager
def as_owner(alias: str = "default") -> Iterator[None]:
    """Run the block on a connection made as the owner role (MIGRATE_DATABASE_URL), if configured."""
    owner = settings.MIGRATE_DATABASE
    if not owner:
        yield
        return
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in _CONNECTION_KEYS}
    connection.close()
    connection.settings_dict.update({key: owner[key] for key in _CONNECTION_KEYS if key in owner})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def runtime_grant_statements(role: str, quote_name) -> list[str]:
    """The GRANT/REVOKE statements that give ``role`` the runtime privileges (idempotent)."""
    q = quote_name(role)
    statements = [
        f"GRANT USAGE ON SCHEMA public TO {q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {q}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {q}",
        f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {q}",
    ]
    for table, columns in APPEND_ONLY_TABLES.items():
        statements.append(f"REVOKE UPDATE, DELETE ON {quote_name(table)} FROM {q}")
        if columns:
            statements.append(f"GRANT UPDATE ({', '.join(quote_name(c) for c in columns)}) "
                              f"ON {quote_name(table)} TO {q}")
    return statements


def grant_runtime_privileges(role: str, alias: str = "default") -> None:
    """Apply the runtime grants on PostgreSQL (run as the owner: after ``migrate``, and in tests)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for statement in runtime_grant_statements(role, connection.ops.quote_name):
            cursor.execute(statement)
