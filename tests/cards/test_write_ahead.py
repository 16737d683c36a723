"""Write-ahead audit: the attempt is committed before the write leaves, its outcome filled in once,
unknown outcomes settled by a later re-read (opening the number, or `manage.py reconcileattempts`)."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import CARD_NUMBER
from contactcards.cards.budget import write_budget
from contactcards.linq import LinqClient, LinqError
from contactcards.models import (
    FINAL_OUTCOMES,
    OUTCOME_FIELDS,
    UNKNOWN_OUTCOME_KINDS,
    AuditEntry,
    AuditImmutableError,
    PhoneNumber,
)
from contactcards.sync.settle import settle_attempts
from tests.support.helpers import URL, card_form, load, pending_attempt, sign_in_as, text

HISTORY = reverse("number_history", args=["acme", CARD_NUMBER])


# -- before the call -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_attempt_is_committed_before_the_write_leaves(team, bob, sandbox):
    """While Linq holds the PATCH, another database connection already sees the attempt."""
    client = sign_in_as(Client(), bob)
    form = load(client)
    sandbox.add_fault({"kind": "hold", "seconds": 30, "methods": ["PATCH"], "times": 1})
    responses = []

    def save():
        try:
            responses.append(client.post(URL, {**form, "last_name": "Night shift"}))
        finally:
            connection.close()

    saving = threading.Thread(target=save)
    saving.start()
    try:
        for _ in range(600):
            if sandbox.writes_for(CARD_NUMBER):
                break
            threading.Event().wait(0.05)
        assert sandbox.writes_for(CARD_NUMBER), "the PATCH never reached the sandbox"
        seen = AuditEntry.objects.get()  # this thread's own connection: only committed rows
        assert seen.outcome == AuditEntry.Outcome.PENDING and seen.in_flight
        assert (seen.username, seen.request_body) == ("bob", {"last_name": "Night shift"})
        assert write_budget(number=seen.number).used == 1  # an attempt spends the budget at once
        history = text(sign_in_as(Client(), bob).get(HISTORY))
        assert "Sent, awaiting answer" in history
    finally:
        sandbox.release_holds()
        saving.join(30)
    seen.refresh_from_db()
    assert seen.outcome == AuditEntry.Outcome.SUCCESS and seen.outcome_at is not None
    assert "Saved. Linq updated: last name." in text(responses[0])


def test_a_save_fills_in_the_outcome_of_its_own_attempt(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    form = load(sign_in_as(client, bob))
    client.post(URL, {**form, "last_name": "Night shift"})
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.http_status, entry.linq_code) == ("api_error", 500, 2022)
    assert entry.outcome_at >= entry.created_at and entry.reconciled_at is None


# -- filled in once -----------------------------------------------------------------------------------


def test_an_outcome_is_filled_in_once_and_what_was_attempted_never_changes(team, bob):
    entry = pending_attempt(team, bob)
    assert entry.fill_outcome(outcome=AuditEntry.Outcome.SUCCESS, http_status=200, outcome_at=timezone.now())
    assert not entry.fill_outcome(outcome=AuditEntry.Outcome.API_ERROR, http_status=500)  # already filled
    entry.refresh_from_db()
    assert (entry.outcome, entry.http_status) == ("success", 200)
    with pytest.raises(AuditImmutableError):
        entry.fill_outcome(outcome=AuditEntry.Outcome.SUCCESS, request_body={"last_name": "Other"})
    with pytest.raises(AuditImmutableError):
        pending_attempt(team, bob).fill_outcome(outcome=AuditEntry.Outcome.PENDING)
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(outcome="success")


def test_a_reconciled_outcome_is_recorded_once(team, bob):
    entry = pending_attempt(team, bob)
    entry.fill_outcome(outcome=AuditEntry.Outcome.NETWORK_ERROR, error_kind="timeout")
    assert entry.fill_reconciled(applied=True, at=timezone.now())
    assert not entry.fill_reconciled(applied=False, at=timezone.now())
    entry.refresh_from_db()
    assert entry.applied is True


def test_the_migration_and_the_model_agree_on_the_outcome_columns():
    migration = importlib.import_module("contactcards.migrations.0008_write_ahead_audit")
    assert tuple(migration.OUTCOME_COLUMNS) == OUTCOME_FIELDS
    whitelist = importlib.import_module("contactcards.migrations.0014_audit_update_whitelist")
    assert tuple(whitelist.OUTCOME_COLUMNS) == OUTCOME_FIELDS
    assert whitelist.FINAL_OUTCOMES == FINAL_OUTCOMES
    assert set(FINAL_OUTCOMES) == set(AuditEntry.Outcome.values) - {AuditEntry.Outcome.PENDING}
    assert whitelist.UNKNOWN_OUTCOME_KINDS == UNKNOWN_OUTCOME_KINDS


def test_the_database_lets_an_outcome_in_once_and_nothing_else(team, bob):
    entry = pending_attempt(team, bob)
    table = AuditEntry._meta.db_table

    def sql(statement: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=table), [entry.pk])

    with pytest.raises(DatabaseError, match="append-only"):
        sql("UPDATE {table} SET request_body = '{{\"last_name\": \"Forged\"}}' WHERE id = %s")
    with pytest.raises(DatabaseError, match="append-only"):  # an outcome and a change of the attempt together
        sql("UPDATE {table} SET outcome = 'success', username = 'mallory' WHERE id = %s")
    sql("UPDATE {table} SET outcome = 'network_error', error_kind = 'timeout', outcome_at = '2026-06-01 12:00:01' "
        "WHERE id = %s")
    with pytest.raises(DatabaseError, match="append-only"):  # a second outcome
        sql("UPDATE {table} SET outcome = 'success' WHERE id = %s")
    sql("UPDATE {table} SET applied = true, reconciled_at = '2026-06-01 12:05:00' WHERE id = %s")
    with pytest.raises(DatabaseError, match="append-only"):  # a second re-read
        sql("UPDATE {table} SET applied = false WHERE id = %s")
    if connection.vendor == "postgresql":  # SQLite's trigger covers UPDATE only (the model refuses deletes)
        with pytest.raises(DatabaseError, match="append-only"):
            sql("DELETE FROM {table} WHERE id = %s")
    entry.refresh_from_db()
    assert (entry.outcome, entry.applied, entry.username) == ("network_error", True, "bob")


# -- the write budget counts attempts ---------------------------------------------------------------


def test_attempts_without_an_answer_spend_the_budget(client, team, bob, sandbox):
    for n in range(3):
        pending_attempt(team, bob, last_name=f"Shift {n}")
    budget = write_budget(number=PhoneNumber.objects.get(e164=CARD_NUMBER))
    assert budget.used == 3 and budget.exhausted


# -- reconciliation ------------------------------------------------------------------------------------


@pytest.fixture
def stale_now(settings):
    """Every pending attempt counts as no longer in flight, and as one Linq can no longer apply
    (instead of waiting out the real margins)."""
    settings.LINQ_ATTEMPT_STALE_AFTER = 0
    settings.LINQ_UNKNOWN_RECHECK_AFTER = 0


@pytest.mark.parametrize("at_linq, applied", [("Night shift", True), ("Support", False)])
def test_opening_the_number_settles_a_lost_attempt(client, team, bob, sandbox, stale_now, at_linq, applied):
    entry = pending_attempt(team, bob)
    sandbox.set_card(CARD_NUMBER, last_name=at_linq)
    page = sign_in_as(client, bob).get(URL)
    assert page.status_code == 200
    entry.refresh_from_db()
    assert (entry.outcome, entry.applied) == (AuditEntry.Outcome.UNKNOWN, applied)
    assert entry.reconciled_at is not None and entry.outcome_at == entry.reconciled_at
    history = text(client.get(HISTORY))
    assert ("the change took effect" if applied else "the change did not take effect") in history
    assert sandbox.writes_for(CARD_NUMBER) == []  # settling is a read, never a write
    client.get(URL)
    entry.refresh_from_db()
    assert entry.applied is applied  # settled once


def test_an_attempt_still_in_flight_is_left_alone(client, team, bob, sandbox):
    entry = pending_attempt(team, bob)
    sign_in_as(client, bob).get(URL)
    entry.refresh_from_db()
    assert entry.is_pending and entry.in_flight and entry.reconciled_at is None
    assert "Sent, awaiting answer" in text(client.get(HISTORY))


def test_an_unanswered_write_whose_re_read_failed_is_settled_later(client, bob, sandbox):
    # The PATCH is applied but dropped; the re-read right after fails too: the row says "unknown".
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "drop", "methods": ["PATCH"], "times": 1})
    # The re-read before the write succeeds; the one right after the dropped PATCH fails.
    sandbox.add_fault({"kind": "error", "status": 503, "code": 3006, "methods": ["GET"], "skip": 1, "times": 1})
    client.post(URL, {**form, "last_name": "Night shift"})
    entry = AuditEntry.objects.get()
    assert entry.applied is None and entry.error_kind == "connection"
    assert "Outcome unknown" in text(client.get(HISTORY))
    client.get(URL)  # opening the number re-reads the card: it shows the change (within the window too)
    entry.refresh_from_db()
    assert entry.applied is True and entry.reconciled_at is not None
    assert entry.outcome == AuditEntry.Outcome.NETWORK_ERROR  # the answer as it was recorded stays


def test_a_save_settles_a_lost_attempt_before_sending(client, team, bob, sandbox, stale_now):
    lost = pending_attempt(team, bob, last_name="Lost")
    form = load(sign_in_as(client, bob))
    lost.refresh_from_db()
    assert lost.applied is False  # the page load settled it already
    client.post(URL, {**form, "last_name": "Found"})
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Found"}]


def test_reconcileattempts_settles_every_number_for_cron(db, team, bob, sandbox, stale_now, capsys):
    entry = pending_attempt(team, bob)
    sandbox.set_card(CARD_NUMBER, last_name="Night shift")
    call_command("reconcileattempts")
    out = capsys.readouterr().out
    assert f"{CARD_NUMBER}: update card by bob" in out and "took effect" in out and "1 attempt(s) settled" in out
    entry.refresh_from_db()
    assert entry.applied is True
    call_command("reconcileattempts")
    assert "0 attempt(s) settled" in capsys.readouterr().out


def test_reconcileattempts_fails_while_a_card_cannot_be_read(db, team, bob, sandbox, stale_now):
    entry = pending_attempt(team, bob)
    sandbox.add_fault({"kind": "error", "status": 503, "code": 3006, "methods": ["GET"]})
    with pytest.raises(CommandError, match="could not be read"):
        call_command("reconcileattempts", "--team", "acme")
    entry.refresh_from_db()
    assert entry.is_pending  # tried again next run


def test_a_create_attempt_is_settled_by_whether_the_card_exists(team, bob, sandbox, stale_now):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    entry = AuditEntry(team=team, number=number, phone_number=CARD_NUMBER, user=bob, username="bob",
                       action=AuditEntry.Action.CREATE, changes={"first_name": ["", "Acme"]},
                       request_body={"phone_number": CARD_NUMBER, "first_name": "Acme"},
                       outcome=AuditEntry.Outcome.PENDING)
    entry.save()
    assert settle_attempts(number, None, read_at=timezone.now()) == [entry]
    entry.refresh_from_db()
    assert (entry.outcome, entry.applied) == (AuditEntry.Outcome.UNKNOWN, False)


# -- time budget ---------------------------------------------------------------------------------------


def test_a_client_never_spends_more_than_its_time_budget(sandbox_server, sandbox):
    sandbox.add_account("t", [CARD_NUMBER])
    sandbox.set_card(CARD_NUMBER, first_name="Acme")
    sandbox.add_fault({"kind": "latency", "seconds": 3, "methods": ["GET"], "times": 1})
    client = LinqClient("t", base_url=sandbox_server.url, read_timeout=20, time_budget=1.5)
    with pytest.raises(LinqError) as first:
        client.get_card(CARD_NUMBER)  # would wait 3 s; the budget allows 1.5
    assert first.value.kind == "timeout"
    with pytest.raises(LinqError) as second:
        client.get_card(CARD_NUMBER)
    assert (second.value.kind, second.value.sent) == ("timeout", False)  # not even sent
    assert len([r for r in sandbox.requests if r.method == "GET"]) == 1


def test_a_body_sent_slowly_cannot_stretch_a_call(sandbox_server, sandbox):
    """Each piece arrives within the read timeout, the whole does not: the call ends at its deadline."""
    sandbox.add_account("t", [CARD_NUMBER])
    sandbox.add_fault({"kind": "answer", "preset": "name_nul", "trickle_seconds": 6, "methods": ["GET"]})
    client = LinqClient("t", base_url=sandbox_server.url, connect_timeout=1, read_timeout=1)
    with pytest.raises(LinqError) as caught:
        client.get_card(CARD_NUMBER)
    assert caught.value.kind == "timeout" and "did not finish" in caught.value.message


def test_a_save_that_runs_out_of_time_ends_as_outcome_unknown(client, bob, sandbox, settings):
    """The write takes longer than the request may wait: no killed worker, an unknown outcome, input kept."""
    settings.LINQ_REQUEST_BUDGET = 2.5  # the write gets at most the read timeout (2 s); no time is left to re-read
    sandbox.add_fault({"kind": "latency", "seconds": 5, "methods": ["PATCH"], "times": 1})
    form = load(sign_in_as(client, bob))
    response = client.post(URL, {**form, "last_name": "Night shift"})
    assert response.status_code == 200
    assert card_form(response)["last_name"] == "Night shift"
    entry = AuditEntry.objects.get()
    assert (entry.error_kind, entry.applied, entry.request_sent) == ("timeout", None, True)
    assert [r.method for r in sandbox.requests] == ["GET", "GET", "PATCH"]  # page, re-read, write: no re-read after
    assert "Outcome unknown" in text(client.get(HISTORY))


def test_every_request_gets_the_budget_from_the_middleware(client, bob, sandbox, settings):
    settings.LINQ_REQUEST_BUDGET = 0  # nothing may be sent
    page = sign_in_as(client, bob).get(URL)
    assert page.status_code == 200 and "ran out of time" in text(page)
    assert sandbox.requests == []
