"""Tamper resistance, layer by layer: admin, model, queryset and (on Postgres) a database trigger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.management.commands.pruneaudit import ALLOW_PRUNE_SQL, audit_prune
from contactcards.models import AuditEntry, AuditImmutableError, PhoneNumber
from contactcards.tests.helpers import BASE_TIME, make_entry

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")


@pytest.fixture
def entry(team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    return make_entry(team, number=number, user=alice, at=BASE_TIME)


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1234")
    client.force_login(user)
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


@on_postgres
def test_raw_sql_update_is_rejected_on_postgres(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET error_message = 'rewritten' WHERE id = %s", [entry.pk])
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


@on_postgres
def test_removing_a_number_or_user_only_detaches_the_entry(entry, team, alice):
    """ON DELETE SET NULL is the one update allowed: the recorded copies stay."""
    PhoneNumber.objects.filter(pk=entry.number_id).delete()
    get_user_model().objects.filter(pk=alice.pk).delete()
    kept = AuditEntry.objects.get(pk=entry.pk)
    assert (kept.number_id, kept.user_id) == (None, None)
    assert (kept.phone_number, kept.username) == (CARD_NUMBER, "alice")


@on_postgres
def test_a_sneaky_update_with_a_detach_is_still_rejected(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET number_id = NULL, username = 'x' WHERE id = %s",
                       [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE contactcards_auditentry SET user_id = %s WHERE id = %s", [entry.user_id + 1, entry.pk])
