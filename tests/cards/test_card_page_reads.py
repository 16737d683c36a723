"""Opening the card page reads the card from Linq; a view that learns nothing new writes nothing, and every
query it makes is bounded by the number's own rows (issue 22)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, CardMirror, PhoneNumber
from contactcards.sync import mirror
from tests.support.helpers import BASE_TIME, URL, make_entry, make_series, sign_in_as

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def mirror_row() -> dict:
    return CardMirror.objects.filter(number__e164=CARD_NUMBER).values().get()


def view(client) -> list[str]:
    """GET the card page; the SQL it ran."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def writes_in(queries: list[str]) -> list[str]:
    return [sql for sql in queries if sql.lstrip().upper().startswith(WRITES)]


def test_a_view_that_finds_the_card_unchanged_writes_nothing(client, alice):
    sign_in_as(client, alice)
    view(client)  # the first read of the card is recorded
    before, entries = mirror_row(), AuditEntry.objects.count()
    queries = view(client)
    assert writes_in(queries) == []
    assert mirror_row() == before
    assert AuditEntry.objects.count() == entries
    # session, user, memberships, number, mirror, unsettled writes, the photo link's check, budget, library, recent,
    # the changes waiting (approvals and schedules)
    assert len(queries) <= 11


def test_the_first_view_records_the_card(client, alice):
    CardMirror.objects.all().delete()
    sign_in_as(client, alice)
    assert writes_in(view(client))
    row = mirror_row()
    assert (row["has_card"], row["first_name"], row["last_name"], row["source"]) == (True, "Acme", "Support", "read")


def test_a_view_after_a_change_at_linq_records_it_and_the_outside_change(client, alice, sandbox):
    sign_in_as(client, alice)
    view(client)
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Elsewhere")
    assert writes_in(view(client))
    assert mirror_row()["last_name"] == "Elsewhere"
    outside = AuditEntry.objects.get(action=AuditEntry.Action.OUTSIDE)
    assert outside.changes == {"last_name": ["Support", "Elsewhere"]} and outside.found_by == "read"
    # the change found is marked on the dashboard until someone opens the card again (as before)
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).changed_outside_unseen
    assert len(writes_in(view(client))) == 1
    assert writes_in(view(client)) == []  # and then there is nothing new to write


def test_a_confirming_read_moves_as_of_forward_once_it_is_older_than_confirm_every(client, alice):
    sign_in_as(client, alice)
    view(client)
    recent = timezone.now() - mirror.CONFIRM_EVERY + timedelta(seconds=20)
    CardMirror.objects.filter(number__e164=CARD_NUMBER).update(as_of=recent)
    assert writes_in(view(client)) == []
    assert mirror_row()["as_of"] == recent
    stale = timezone.now() - mirror.CONFIRM_EVERY - timedelta(seconds=1)
    CardMirror.objects.filter(number__e164=CARD_NUMBER).update(as_of=stale)
    started = timezone.now()
    assert writes_in(view(client))
    assert mirror_row()["as_of"] >= started  # the read's own time: the guard against older events holds


def test_the_changed_outside_mark_goes_with_one_write_and_the_next_view_writes_nothing(client, alice):
    sign_in_as(client, alice)
    view(client)
    changed = timezone.now() - timedelta(minutes=5)
    CardMirror.objects.filter(number__e164=CARD_NUMBER).update(outside_changed_at=changed)
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).changed_outside_unseen
    assert len(writes_in(view(client))) == 1
    assert not CardMirror.objects.get(number__e164=CARD_NUMBER).changed_outside_unseen
    assert writes_in(view(client)) == []


def test_the_mark_goes_when_linq_cannot_be_read_too(client, alice, sandbox):
    sign_in_as(client, alice)
    view(client)
    CardMirror.objects.filter(number__e164=CARD_NUMBER).update(outside_changed_at=timezone.now())
    sandbox.add_fault({"kind": "error", "number": CARD_NUMBER, "methods": ["GET"], "status": 500, "code": 2022,
                       "times": 1})
    view(client)
    assert not CardMirror.objects.get(number__e164=CARD_NUMBER).changed_outside_unseen


def test_a_post_still_records_what_its_reread_found(client, bob, sandbox):
    """The save's own re-read and write keep recording the mirror (cards/send.py, Source.WRITE)."""
    from contactcards.cards.forms import sign_loaded

    loaded = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}
    sign_in_as(client, bob)
    view(client)
    response = client.post(URL, {"action": "update", "loaded": sign_loaded(loaded), **loaded, "last_name": "Desk"})
    assert response.status_code == 200
    row = mirror_row()
    assert (row["last_name"], row["source"]) == ("Desk", "write")


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: which index serves it
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_writes_a_read_settles_are_found_through_an_index_of_the_number(team):
    """sync.settle looks up the number's unsettled writes on every read. On PostgreSQL a partial index holds
    only those rows (migration 0021), so the lookup does not walk the number's history; SQLite cannot prove a
    partial index's condition against bound parameters, and walks the number's own entries (its index)."""
    from django.db import transaction

    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    make_series(team, 200, start=BASE_TIME, number=number)  # a history of settled writes
    make_entry(team, number=number, outcome=AuditEntry.Outcome.UNKNOWN, http_status=None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contactcards_auditentry")
    waiting = AuditEntry.objects.awaiting_settlement().filter(number=number, created_at__lt=timezone.now())
    with transaction.atomic():
        plan = plan_of(waiting.order_by("created_at", "id"))
    if connection.vendor == "postgresql":
        assert "audit_number_unsettled" in plan
    else:
        assert "USING INDEX audit_number_" in plan and "SCAN contactcards_auditentry" not in plan
