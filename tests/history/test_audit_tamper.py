"""Tamper resistance, layer by layer: admin, model, queryset and a database trigger (UPDATE on both
databases, DELETE and the detach check on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.management.commands.pruneaudit import ALLOW_PRUNE_SQL, audit_prune
from contactcards.models import AuditEntry, AuditImmutableError, PhoneNumber
from tests.support.helpers import BASE_TIME, make_entry, sign_in_as

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="PostgreSQL's: the DELETE trigger, the prune switch, the deferred detach check")
TABLE = AuditEntry._meta.db_table


def check_deferred_constraints() -> None:
    """Run PostgreSQL's deferred checks now (the test's transaction never commits)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture
def entry(team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    return make_entry(team, number=number, user=alice, at=BASE_TIME)


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1234")
    sign_in_as(client, user)
    return client


def test_the_model_refuses_changes_and_deletes(entry):
    entry.error_message = "rewritten"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(error_message="rewritten")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).error_message == ""


def test_the_admin_is_read_only(admin_client, entry):
    changelist = reverse("admin:contactcards_auditentry_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="action"' not in html  # no bulk actions (not even "delete selected")
    assert reverse("admin:contactcards_auditentry_add") not in html
    change_url = reverse("admin:contactcards_auditentry_change", args=[entry.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200  # view-only
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(change_url, {"error_message": "x"}).status_code == 403
    assert admin_client.post(reverse("admin:contactcards_auditentry_delete", args=[entry.pk]),
                             {"post": "yes"}).status_code == 403
    assert admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [entry.pk],
                                          "post": "yes"}).status_code in (200, 302, 403)
    assert admin_client.get(reverse("admin:contactcards_auditentry_add")).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk, error_message="").exists()


def test_raw_sql_update_is_rejected(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET error_message = 'rewritten' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEntry._base_manager.filter(pk=entry.pk).update(username="mallory")  # past the model's refusal
    assert AuditEntry.objects.get(pk=entry.pk).error_message == ""


@on_postgres
def test_raw_sql_delete_is_rejected_on_postgres(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contactcards_auditentry WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contactcards_auditentry")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@on_postgres
def test_the_prune_permission_lets_only_deletes_through(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ALLOW_PRUNE_SQL)
        cursor.execute("UPDATE contactcards_auditentry SET username = 'mallory' WHERE id = %s", [entry.pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(ALLOW_PRUNE_SQL)
        cursor.execute("DELETE FROM contactcards_auditentry WHERE id = %s", [entry.pk])
    assert not AuditEntry.objects.filter(pk=entry.pk).exists()


@on_postgres
def test_pruning_switches_the_permission_off_again(team, alice):
    """Even inside a caller's transaction, the trigger is back on after pruneaudit's DELETE."""
    old = make_entry(team, user=alice, at=BASE_TIME)
    recent = make_entry(team, user=alice)
    assert audit_prune(before=BASE_TIME + timedelta(days=1)) == 1
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contactcards_auditentry WHERE id = %s", [recent.pk])


def test_removing_a_number_or_user_only_detaches_the_entry(entry, team, alice):
    """ON DELETE SET NULL is the one update allowed: the recorded copies stay."""
    PhoneNumber.objects.filter(pk=entry.number_id).delete()
    get_user_model().objects.filter(pk=alice.pk).delete()
    check_deferred_constraints()
    kept = AuditEntry.objects.get(pk=entry.pk)
    assert (kept.number_id, kept.user_id) == (None, None)
    assert (kept.phone_number, kept.username) == (CARD_NUMBER, "alice")


@on_postgres
def test_a_detach_needs_the_number_or_user_to_be_deleted(entry):
    """Checked at commit (here: at once), so the collector's UPDATE may come before its DELETE."""
    for column in ("number_id", "user_id"):
        with pytest.raises(DatabaseError, match="detached only when"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {TABLE} SET {column} = NULL WHERE id = %s", [entry.pk])
            check_deferred_constraints()
    kept = AuditEntry.objects.get(pk=entry.pk)
    assert (kept.number_id, kept.user_id) == (entry.number_id, entry.user_id)


def test_a_sneaky_update_with_a_detach_is_still_rejected(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET number_id = NULL, username = 'x' WHERE id = %s",
                       [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET user_id = %s WHERE id = %s", [entry.user_id + 1, entry.pk])


# -- the whitelist: each kind of row, each change; both databases ---------------------------------------

LATER, LATEST = "'2026-06-01 12:05:00'", "'2026-06-01 12:09:00'"
ROWS = {  # make_entry's fields for each kind of row
    "success": {},
    "pending": {"outcome": "pending", "http_status": None},
    "timeout": {"outcome": "network_error", "error_kind": "timeout", "http_status": None},
    "unknown": {"outcome": "unknown", "http_status": None, "outcome_at": BASE_TIME},
    "api error": {"outcome": "api_error", "error_kind": "api", "http_status": 500, "linq_code": 2022},
    "error page": {"outcome": "api_error", "error_kind": "api", "http_status": 502},  # a proxy's page: no code
    "team change": {"action": "member_add", "request_sent": False, "outcome": "unknown", "http_status": None},
}
ALLOWED = [  # (row, the change, the same kind of change again with other values)
    ("pending", f"outcome = 'success', http_status = 200, outcome_at = {LATER}",
     f"outcome = 'api_error', http_status = 500, outcome_at = {LATEST}"),
    ("pending", f"outcome = 'unknown', applied = false, outcome_at = {LATER}, reconciled_at = {LATER}",
     f"outcome = 'unknown', applied = true, outcome_at = {LATEST}, reconciled_at = {LATEST}"),
    ("timeout", f"applied = true, reconciled_at = {LATER}", f"applied = false, reconciled_at = {LATEST}"),
    ("unknown", f"applied = false, reconciled_at = {LATER}", f"applied = true, reconciled_at = {LATEST}"),
    ("error page", f"applied = true, reconciled_at = {LATER}", f"applied = false, reconciled_at = {LATEST}"),
]
REFUSED = [
    ("success", f"applied = true, reconciled_at = {LATER}"),  # a success was never unknown
    ("success", "outcome = 'api_error'"),
    ("api error", f"applied = false, reconciled_at = {LATER}"),  # Linq's answer said: not applied
    ("team change", f"applied = true, reconciled_at = {LATER}"),  # no Linq call to re-read
    ("timeout", "applied = true"),  # a re-read says when
    ("timeout", f"reconciled_at = {LATER}"),  # ... and what it found
    ("timeout", f"applied = true, reconciled_at = {LATER}, error_message = 'fine'"),
    ("pending", "outcome = 'pending', http_status = 200"),
    ("pending", "outcome = 'anything'"),
    ("pending", "outcome = 'success', created_at = '2001-01-01 00:00:00'"),
    ("pending", "outcome = 'success', request_body = NULL"),
    ("success", "created_at = '2001-01-01 00:00:00'"),
    ("success", "id = id + 1000"),
    ("success", "team_id = team_id + 1000"),
]


def _update(entry: AuditEntry, assignments: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [entry.pk])


@pytest.mark.parametrize("row, assignments, again", ALLOWED)
def test_the_database_lets_each_allowed_change_in_once(team, alice, row, assignments, again):
    entry = make_entry(team, user=alice, at=BASE_TIME, **ROWS[row])
    _update(entry, assignments)
    after = AuditEntry.objects.filter(pk=entry.pk).values().get()
    with pytest.raises(DatabaseError, match="append-only"):
        _update(entry, again)  # the row is no longer pending / unsettled
    assert AuditEntry.objects.filter(pk=entry.pk).values().get() == after


@pytest.mark.parametrize("row, assignments", REFUSED)
def test_the_database_refuses_every_other_change(team, alice, row, assignments):
    entry = make_entry(team, user=alice, at=BASE_TIME, **ROWS[row])
    before = AuditEntry.objects.filter(pk=entry.pk).values().get()
    with pytest.raises(DatabaseError, match="append-only"):
        _update(entry, assignments)
    assert AuditEntry.objects.filter(pk=entry.pk).values().get() == before


def test_the_model_settles_only_an_unknown_outcome(team, alice):
    success = make_entry(team, user=alice, at=BASE_TIME)
    assert not success.fill_reconciled(applied=True, at=BASE_TIME)
    with pytest.raises(AuditImmutableError):
        success.fill_reconciled(applied=None, at=BASE_TIME)
    pending = make_entry(team, user=alice, at=BASE_TIME, **ROWS["pending"])
    with pytest.raises(AuditImmutableError):
        pending.fill_outcome(outcome="anything")
    assert AuditEntry.objects.filter(pk=success.pk, applied=None).exists()
    assert AuditEntry.objects.filter(pk=pending.pk, outcome="pending").exists()


def test_the_triggers_are_in_place():
    """A later migration that rebuilds the table (SQLite does for many changes) must put them back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [TABLE])
            expected = {"contactcards_auditentry_append_only", "contactcards_auditentry_stamped",
                        "contactcards_auditentry_detached", "contactcards_auditentry_board"}
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
            expected = {"contactcards_auditentry_append_only", "contactcards_auditentry_board_update"}
        assert {name for (name,) in cursor.fetchall()} == expected


def test_the_tests_own_role_dates_its_rows(team, alice):
    """The role that owns the table (development, the tests and their clock) keeps the time it sends."""
    entry = make_entry(team, user=alice, at=BASE_TIME)
    assert entry.created_at == AuditEntry.objects.get(pk=entry.pk).created_at == BASE_TIME
