"""The runtime database role cannot alter the audit history; the owner role still can prune it.

The test connects to the test database as ``linqadmin_app`` (created by ``bin/postgres``), after
granting it exactly what ``manage.py migrate`` grants the runtime role in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from contactcards.common.dbroles import grant_runtime_privileges, runtime_grant_statements, runtime_role
from contactcards.history.audit import record_team_change
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.teams.services import number_remove

RUNTIME_ROLE = os.environ.get("LINQADMIN_RUNTIME_ROLE", "linqadmin_app")
RUNTIME_PASSWORD = os.environ.get("LINQADMIN_RUNTIME_PASSWORD", "linqadmin_app")
TABLE = "contactcards_auditentry"

def on_postgres(test):
    """Committed rows (the runtime role's own connection must see them), PostgreSQL only."""
    skip = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True)(skip(test)))


@pytest.fixture
def runtime(db):
    """A connection to the test database as the runtime role, with the runtime grants applied."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [RUNTIME_ROLE])
        if cursor.fetchone() is None:
            pytest.fail(f"The runtime role {RUNTIME_ROLE} does not exist: run bin/postgres (bin/test does).")
    grant_runtime_privileges(RUNTIME_ROLE)
    settings = connection.settings_dict
    conn = psycopg.connect(dbname=settings["NAME"], user=RUNTIME_ROLE, password=RUNTIME_PASSWORD,
                           host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, autocommit=True)
    yield conn
    conn.close()


@contextmanager
def app_as_runtime_role() -> Iterator[None]:
    """Django's own connection as the runtime role, as the app serves in production (then back to the owner)."""
    saved = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(USER=RUNTIME_ROLE, PASSWORD=RUNTIME_PASSWORD)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def refused(conn, sql: str, params=None) -> str:
    with pytest.raises(psycopg.Error) as caught:
        conn.execute(sql, params)
    return str(caught.value)


@on_postgres
def test_the_runtime_role_cannot_alter_the_log(runtime, team, alice):
    number = PhoneNumber.objects.get(team=team, e164="+15550001001")
    entry = AuditEntry.objects.create(team=team, number=number, phone_number=number.e164, user=alice,
                                      username="alice", action="update", outcome="success")
    attempts = {
        "update": f"UPDATE {TABLE} SET username = 'mallory' WHERE id = {entry.pk}",
        "delete": f"DELETE FROM {TABLE} WHERE id = {entry.pk}",
        "truncate": f"TRUNCATE {TABLE} CASCADE",
        "disable trigger": f"ALTER TABLE {TABLE} DISABLE TRIGGER contactcards_auditentry_append_only",
        "drop trigger": f"DROP TRIGGER contactcards_auditentry_append_only ON {TABLE}",
        "alter table": f"ALTER TABLE {TABLE} DROP COLUMN username",
        "drop table": f"DROP TABLE {TABLE} CASCADE",
        "replace trigger function": "CREATE OR REPLACE FUNCTION contactcards_auditentry_append_only() "
                                    "RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
    }
    errors = {name: refused(runtime, sql) for name, sql in attempts.items()}
    assert all("permission denied" in e or "must be owner" in e for e in errors.values()), errors
    # the prune switch is only a setting: without DELETE it opens nothing
    with runtime.transaction():
        runtime.execute("SET LOCAL linqadmin.allow_audit_prune = 'on'")
        assert "permission denied" in refused(runtime, f"DELETE FROM {TABLE} WHERE id = {entry.pk}")
    entry.refresh_from_db()
    assert entry.username == "alice" and AuditEntry.objects.count() == 1


@on_postgres
def test_the_runtime_role_reads_appends_and_detaches(runtime, team, alice):
    """What the app needs: read the history, append to it, and let ON DELETE SET NULL detach rows."""
    number = PhoneNumber.objects.get(team=team, e164="+15550001001")
    entry = AuditEntry.objects.create(team=team, number=number, phone_number=number.e164, user=alice,
                                      username="alice", action="update", outcome="success")
    assert runtime.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (1,)
    columns = ", ".join(name for (name,) in runtime.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id'",
        [TABLE]).fetchall())
    runtime.execute(f"INSERT INTO {TABLE} ({columns}) SELECT {columns} FROM {TABLE} WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.count() == 2
    # a write-ahead attempt gets its outcome once (the trigger checks); what was attempted never changes
    pending = AuditEntry.objects.create(team=team, number=number, phone_number=number.e164, user=alice,
                                        username="alice", action="update", outcome=AuditEntry.Outcome.PENDING)
    runtime.execute(f"UPDATE {TABLE} SET outcome = 'success', http_status = 200, outcome_at = now() "
                    "WHERE id = %s", [pending.pk])
    assert "append-only" in refused(runtime, f"UPDATE {TABLE} SET outcome = 'api_error' WHERE id = %s",
                                    [pending.pk])
    assert "permission denied" in refused(runtime, f"UPDATE {TABLE} SET request_body = '{{}}' WHERE id = %s",
                                          [pending.pk])
    # removing a number: Django's collector detaches its rows (SET NULL), then deletes it, in one transaction
    with runtime.transaction():
        runtime.execute(f"UPDATE {TABLE} SET number_id = NULL WHERE number_id = %s", [number.pk])
        runtime.execute("DELETE FROM contactcards_phonenumber WHERE id = %s", [number.pk])
    entry.refresh_from_db()
    assert entry.number_id is None and entry.phone_number == "+15550001001"
    assert "append-only" in refused(runtime, f"UPDATE {TABLE} SET user_id = %s WHERE id = %s",
                                    [alice.pk + 1000, entry.pk])
    # other tables are the app's to change
    runtime.execute("UPDATE contactcards_team SET name = 'Acme Inc' WHERE id = %s", [team.pk])


@on_postgres
def test_the_runtime_role_detaches_only_what_is_being_deleted(runtime, team, alice):
    """Clearing number_id/user_id is the ON DELETE SET NULL of a deletion, checked at commit: a number or
    user that is still there keeps its rows (they stay in its timeline and under its filter)."""
    number = PhoneNumber.objects.get(team=team, e164="+15550001001")
    entry = AuditEntry.objects.create(team=team, number=number, phone_number=number.e164, user=alice,
                                      username="alice", action="update", outcome="success")
    assert "detached only when" in refused(runtime, f"UPDATE {TABLE} SET number_id = NULL WHERE id = %s", [entry.pk])
    assert "detached only when" in refused(runtime, f"UPDATE {TABLE} SET user_id = NULL WHERE id = %s", [entry.pk])
    with pytest.raises(psycopg.Error, match="detached only when"), runtime.transaction():
        runtime.execute(f"UPDATE {TABLE} SET number_id = NULL, user_id = NULL WHERE id = %s", [entry.pk])
        runtime.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a deferred check cannot be put off past commit
    entry.refresh_from_db()
    assert (entry.number_id, entry.user_id) == (number.pk, alice.pk)


@on_postgres
def test_the_app_as_the_runtime_role_removes_numbers_and_users(runtime, team, alice, bob):
    """The legitimate detaches, through the services and Django's collector, as production runs them."""
    number = PhoneNumber.objects.get(team=team, e164="+15550001001")
    entry = AuditEntry.objects.create(team=team, number=number, phone_number=number.e164, user=bob,
                                      username="bob", action="update", outcome="success")
    with app_as_runtime_role():
        number_remove(number=number, actor=alice)
        get_user_model().objects.get(pk=bob.pk).delete()
    entry.refresh_from_db()
    assert (entry.number_id, entry.user_id, entry.phone_number, entry.username) == (None, None, number.e164, "bob")
    assert AuditEntry.objects.filter(action=AuditEntry.Action.NUMBER_REMOVE, phone_number=number.e164).exists()


@on_postgres
def test_the_runtime_role_cannot_date_its_rows(runtime, team, alice, monkeypatch):
    """The database sets created_at for the runtime role: a row cannot be slipped into the past."""
    entry = AuditEntry.objects.create(team=team, username="alice", action="update", outcome="success")
    columns = ", ".join(name for (name,) in runtime.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND column_name NOT IN ('id', 'created_at')", [TABLE]).fetchall())
    stored, now = runtime.execute(
        f"INSERT INTO {TABLE} ({columns}, created_at) SELECT {columns}, '2001-01-01T00:00:00Z' FROM {TABLE} "
        "WHERE id = %s RETURNING created_at, statement_timestamp()", [entry.pk]).fetchone()
    assert stored == now
    # The app itself, its clock a year behind: the row and the saved instance both have the database's time.
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(days=365))
    with app_as_runtime_role():
        change = record_team_change(team=team, user=None, action=AuditEntry.Action.MEMBER_ADD, subject="carol")
        stored_now = AuditEntry.objects.get(pk=change.pk).created_at
    assert change.created_at == stored_now > timezone.now() + timedelta(days=300)


@on_postgres
def test_the_runtime_role_settles_only_an_unknown_outcome_once(runtime, team, alice):
    def entry(**fields) -> AuditEntry:
        return AuditEntry.objects.create(team=team, username="alice", action="update", **fields)

    settle = f"UPDATE {TABLE} SET applied = true, reconciled_at = now() WHERE id = %s"
    success = entry(outcome="success", http_status=200)
    assert "append-only" in refused(runtime, settle, [success.pk])
    assert "append-only" in refused(runtime, f"UPDATE {TABLE} SET applied = false WHERE id = %s", [success.pk])
    timeout = entry(outcome="network_error", error_kind="timeout")
    assert "append-only" in refused(runtime, f"UPDATE {TABLE} SET applied = true WHERE id = %s", [timeout.pk])
    runtime.execute(settle, [timeout.pk])
    assert "append-only" in refused(runtime, settle, [timeout.pk])  # once
    success.refresh_from_db()
    timeout.refresh_from_db()
    assert (success.applied, success.reconciled_at) == (None, None)
    assert timeout.applied is True and timeout.reconciled_at is not None


def test_the_grants_name_the_audit_table_and_only_the_detachable_columns():
    statements = runtime_grant_statements("linqadmin_app", lambda name: f'"{name}"')
    assert 'REVOKE UPDATE, DELETE ON "contactcards_auditentry" FROM "linqadmin_app"' in statements
    [grant] = [s for s in statements if s.startswith("GRANT UPDATE (")]
    assert '"number_id", "user_id", "outcome"' in grant and '"username"' not in grant and '"changes"' not in grant
    assert not any("TRUNCATE" in s and s.startswith("GRANT") for s in statements)


def test_a_separate_owner_url_names_the_runtime_role(monkeypatch):
    from django.conf import settings

    monkeypatch.setitem(settings.DATABASES["default"], "USER", "app")
    with override_settings(MIGRATE_DATABASE=None):
        assert runtime_role() is None  # one role does everything
    with override_settings(MIGRATE_DATABASE={"USER": "owner"}):
        assert runtime_role() == "app"
    with override_settings(MIGRATE_DATABASE={"USER": "app"}):
        assert runtime_role() is None
