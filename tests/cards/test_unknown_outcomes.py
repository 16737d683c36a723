"""Issue 19: the history never says what did not happen.

1. A write whose answer did not say (no answer, a dropped connection, an error page without Linq's
   code) stays *unknown* until a read settles it: "took effect" once a read shows the change, "did
   not take effect" only from a read begun after its window (LINQ_ATTEMPT_STALE_AFTER +
   LINQ_UNKNOWN_RECHECK_AFTER after the attempt), because Linq may apply it after we stopped waiting.
   The page says so, and when the card is read again; a task scheduled with the attempt does it.
2. A read settles our own writes before it looks for changes made outside linqadmin, and a
   difference one of our writes explains is ours, not someone else's.

Time moves with a controllable clock (tests/support/clock.py), never by sleeping.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks_db.models import DBTaskResult

from conftest import CARD_NUMBER
from contactcards.cards.outcomes import OutcomeUnknown
from contactcards.cards.services import card_update
from contactcards.models import AuditEntry, CardMirror, JobItem, PhoneNumber, unknown_window
from contactcards.rollout import jobs
from contactcards.sync.reconcile import reconcile_team
from contactcards.sync.tasks import recheck_attempts
from tests.support.clock import Clock
from tests.support.helpers import URL, card_form, load, pending_attempt, sign_in_as, text
from tests.support.rollout_helpers import many_numbers, start_bulk

HISTORY = reverse("number_history", args=["acme", CARD_NUMBER])
DASHBOARD = reverse("dashboard", args=["acme"])
LOADED = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}


@pytest.fixture
def app_clock(monkeypatch, sandbox) -> Clock:
    """The app's and the sandbox's time, moved by the test (no worker processes here)."""
    return Clock(monkeypatch, sandbox, SimpleNamespace(extra_env={}))


def window_seconds() -> float:
    return unknown_window().total_seconds()


def outside_entries():
    return AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE)


def recheck_time_shown(response) -> str:
    """The moment the page says the card is read again (its <time datetime>)."""
    found = re.search(r'The card is read again at <time datetime="([^"]+)"', response.content.decode())
    assert found, "the page does not say when the card is read again"
    return found.group(1)


def dashboard_row(client, e164: str = CARD_NUMBER) -> str:
    """The text of the number's row on the dashboard, and its status class."""
    html = client.get(DASHBOARD).content.decode()
    for row in re.findall(r'<tr class="(status-[^"]*)">(.*?)</tr>', html, flags=re.S):
        if f">{e164}</a>" in row[1]:
            return row[0] + " " + " ".join(re.sub(r"<[^>]+>", " ", row[1]).split())
    raise AssertionError(f"{e164} is not on the dashboard")


# -- 1. unknown until a read settles it ---------------------------------------------------------------


def test_a_write_linq_applies_after_we_gave_up_stays_unknown_until_a_read_shows_it(client, bob, sandbox,
                                                                                    app_clock):
    form = load(sign_in_as(client, bob))
    # Linq drops the connection without answering and applies the PATCH later.
    sandbox.add_fault({"kind": "drop", "apply_write": "later", "methods": ["PATCH"], "times": 1})
    response = client.post(URL, {**form, "last_name": "Night shift"})

    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.error_kind, entry.applied, entry.reconciled_at) == (
        "network_error", "connection", None, None)
    assert entry.unsettled and entry.recheck_after == entry.created_at + unknown_window()
    page = text(response)
    assert "The connection to Linq was dropped. Linq may still apply your change." in page
    assert "did not take effect" not in page and "Retry now" not in page
    assert parse_datetime(recheck_time_shown(response)) == entry.recheck_after
    assert card_form(response)["last_name"] == "Night shift"  # the input is kept

    client.get(URL)  # a read within the window that does not show it says nothing
    entry.refresh_from_db()
    assert entry.unsettled
    history = text(client.get(HISTORY))
    assert "Outcome unknown" in history and "Linq may still apply it" in history
    assert "(not applied)" not in history and "(not known yet)" in history

    assert sandbox.apply_deferred() == 1  # Linq applies it, seconds after we stopped waiting
    app_clock.advance(seconds=5)
    assert "Night shift" in text(client.get(URL))
    entry.refresh_from_db()
    assert (entry.outcome, entry.applied) == ("network_error", True) and entry.reconciled_at is not None
    assert not outside_entries().exists()  # our own change, not someone else's
    assert "the change took effect" in text(client.get(HISTORY))
    row = dashboard_row(client)
    assert "Night shift" in row and "status-active" in row and "failed" not in row


def test_only_a_read_begun_after_the_window_says_it_did_not_take_effect(client, bob, sandbox, app_clock):
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "drop", "apply_write": False, "methods": ["PATCH"], "times": 1})
    client.post(URL, {**form, "last_name": "Night shift"})
    entry = AuditEntry.objects.get()
    assert entry.unsettled
    row = dashboard_row(client)
    assert "outcome not known yet" in row and "failed" not in row  # nobody knows yet

    app_clock.advance(seconds=window_seconds() - 1)
    client.get(URL)
    entry.refresh_from_db()
    assert entry.unsettled and entry.may_still_apply

    app_clock.advance(seconds=2)
    history = text(client.get(HISTORY))
    assert "Outcome unknown until the card is read again" in history  # overdue, not yet read
    client.get(URL)
    entry.refresh_from_db()
    assert (entry.applied, entry.outcome) == (False, "network_error") and not entry.unsettled
    assert "the change did not take effect (the card did not show it)" in text(client.get(HISTORY))
    assert "Not applied" in text(client.get(HISTORY))
    assert "status-error" in dashboard_row(client) and "failed" in dashboard_row(client)
    assert sandbox.writes_for(CARD_NUMBER)[0].applied is False  # what the sandbox's own log says


def test_the_same_form_posted_again_says_the_first_is_not_known_yet_and_sends_nothing(client, bob, sandbox):
    form = {**load(sign_in_as(client, bob)), "last_name": "Night shift"}
    sandbox.add_fault({"kind": "drop", "apply_write": False, "methods": ["PATCH"], "times": 1})
    client.post(URL, form)
    again = text(client.post(URL, form))  # a resubmit of the same form
    assert "Linq did not say whether the first submission at" in again and "ended with an error" not in again
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1


def test_the_recheck_scheduled_with_the_attempt_settles_it_when_nobody_opens_the_number(team, bob, sandbox,
                                                                                        app_clock):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    sandbox.add_fault({"kind": "drop", "apply_write": False, "methods": ["PATCH"], "times": 1})
    outcome = card_update(number=number, user=bob, loaded=LOADED, submitted={**LOADED, "last_name": "Night shift"})
    assert isinstance(outcome, OutcomeUnknown)
    entry = outcome.entry
    scheduled = DBTaskResult.objects.get(task_path__endswith="recheck_attempts")
    assert scheduled.run_after == entry.recheck_after and scheduled.args_kwargs["args"][0] == number.pk

    app_clock.advance(seconds=window_seconds())
    assert recheck_attempts.call(number.pk) == "settled 1"  # what the worker runs at run_after
    entry.refresh_from_db()
    assert entry.applied is False and entry.reconciled_at is not None
    assert recheck_attempts.call(number.pk) == "nothing to settle"


def test_a_recheck_that_cannot_read_the_card_tries_again_later(team, bob, sandbox, app_clock):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    pending_attempt(team, bob)
    app_clock.advance(seconds=window_seconds())
    sandbox.add_fault({"kind": "error", "status": 503, "code": 3006, "methods": ["GET"], "times": 1})
    assert recheck_attempts.call(number.pk) == "unreadable"
    again = DBTaskResult.objects.filter(task_path__endswith="recheck_attempts").order_by("-enqueued_at").first()
    assert again.args_kwargs["args"] == [number.pk, 2] and again.run_after > timezone.now()


@pytest.mark.parametrize("answer,said", [
    ({"kind": "answer", "preset": "empty_503"},
     "Linq answered HTTP 503 without saying whether the change was applied."),
    ({"kind": "answer", "preset": "error_not_an_object"},
     "Linq answered HTTP 500 without saying whether the change was applied."),
    ({"kind": "answer", "status": 502, "body": "<html>Bad Gateway</html>", "content_type": "text/html"},
     "Linq answered HTTP 502 without saying whether the change was applied."),
])
def test_an_error_page_without_linqs_code_does_not_say_not_applied(client, bob, sandbox, answer, said):
    """A proxy's 5xx page can come after Linq applied the write: the re-read decides (here: it did)."""
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({**answer, "methods": ["PATCH"], "times": 1})  # the write happens; this is the answer
    response = client.post(URL, {**form, "last_name": "Night shift"})
    assert said in text(response) and "The card was re-read afterwards: your change took effect." in text(response)
    entry = AuditEntry.objects.get()
    assert entry.outcome == "api_error" and entry.linq_code is None and entry.applied is True
    client.get(URL)
    assert not outside_entries().exists()


def test_linqs_own_error_with_its_code_says_not_applied_at_once(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "methods": ["PATCH"], "times": 1})
    client.post(URL, {**form, "last_name": "Night shift"})
    entry = AuditEntry.objects.get()
    assert not entry.unsettled and entry.recheck_after is None
    assert not DBTaskResult.objects.filter(task_path__endswith="recheck_attempts", status="READY").filter(
        run_after__lte=timezone.now()).exists()


def test_reconcileattempts_says_which_writes_are_still_unknown_and_until_when(db, team, bob, sandbox, app_clock,
                                                                               capsys):
    entry = pending_attempt(team, bob)
    app_clock.advance(seconds=61)  # no longer in flight; Linq may still apply it
    call_command("reconcileattempts")
    out = capsys.readouterr().out
    assert "0 attempt(s) settled" in out and f"until {entry.recheck_after:%Y-%m-%d %H:%M:%S}" in out
    app_clock.advance(seconds=window_seconds())
    call_command("reconcileattempts")
    assert "did not take effect" in capsys.readouterr().out


def test_a_rollout_waits_for_the_recheck_before_trying_a_number_again(team, alice, sandbox, app_clock):
    number, _other = many_numbers(team, sandbox, 2)
    sandbox.add_fault({"kind": "drop", "apply_write": "later", "methods": ["PATCH"], "number": number.e164,
                       "times": 1})
    job = start_bulk(team, alice, [number.e164], {"first_name": "Later"})
    item = job.items.get()
    assert jobs.run_item(item.pk) == "waiting"
    item.refresh_from_db()
    entry = AuditEntry.objects.get(job=job)
    assert item.state == JobItem.State.WAITING and item.not_before == entry.recheck_after

    sandbox.apply_deferred()  # Linq applied it after all
    app_clock.advance(seconds=window_seconds())
    assert jobs.run_item(item.pk) == "sent"  # the re-read shows it: settled, nothing sent again
    entry.refresh_from_db()
    assert entry.applied is True and len(sandbox.writes_for(number.e164)) == 1


# -- 2. our own writes first, then changes made outside ------------------------------------------------


def test_a_read_that_finds_our_lost_write_applied_settles_it_and_files_nothing_outside(client, team, bob,
                                                                                      sandbox, app_clock):
    sign_in_as(client, bob).get(URL)  # the mirror knows "Support"
    entry = pending_attempt(team, bob)
    sandbox.set_card(CARD_NUMBER, last_name="Night shift")  # Linq applied it; nobody heard the answer
    app_clock.advance(seconds=61)  # its request can no longer be waiting
    client.get(URL)
    entry.refresh_from_db()
    assert (entry.outcome, entry.applied) == (AuditEntry.Outcome.UNKNOWN, True)
    assert not outside_entries().exists()
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).outside_changed_at is None
    assert "changed outside" not in dashboard_row(client)


def test_a_read_during_our_call_that_shows_our_change_files_nothing_outside(client, team, bob, sandbox):
    sign_in_as(client, bob).get(URL)
    entry = pending_attempt(team, bob)  # still in flight: its request may be waiting for the answer
    sandbox.set_card(CARD_NUMBER, last_name="Night shift")
    client.get(URL)
    entry.refresh_from_db()
    assert entry.in_flight  # left to its own request
    assert not outside_entries().exists()


def test_what_our_writes_do_not_explain_is_still_an_outside_change(client, team, bob, sandbox, app_clock):
    sign_in_as(client, bob).get(URL)
    entry = pending_attempt(team, bob)
    sandbox.set_card(CARD_NUMBER, first_name="Someone", last_name="Night shift")  # ours, and someone else's
    app_clock.advance(seconds=61)
    client.get(URL)
    outside = outside_entries().get()
    assert outside.changes == {"first_name": ["Acme", "Someone"]} and outside.found_by == "read"
    entry.refresh_from_db()
    assert entry.applied is True


def test_an_old_write_of_ours_does_not_explain_a_change_back_to_its_values(client, bob, sandbox, app_clock):
    form = load(sign_in_as(client, bob))
    client.post(URL, {**form, "last_name": "Night shift"})  # ours, answered, long ago
    sandbox.set_card(CARD_NUMBER, last_name="Day shift")
    app_clock.advance(seconds=window_seconds() + 60)
    client.get(URL)  # found: changed outside
    sandbox.set_card(CARD_NUMBER, last_name="Night shift")  # someone sets our old value again
    app_clock.advance(seconds=60)
    client.get(URL)
    assert [e.changes for e in outside_entries().order_by("created_at")] == [
        {"last_name": ["Night shift", "Day shift"]}, {"last_name": ["Day shift", "Night shift"]}]


def test_the_periodic_reconcile_settles_our_writes_before_it_looks_for_outside_changes(team, bob, sandbox,
                                                                                       app_clock):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    reconcile_team(team=team)  # the mirror knows every card
    sandbox.add_fault({"kind": "timeout", "seconds": 2.5, "apply_write": "later", "methods": ["PATCH"], "times": 1})
    applied_later = card_update(number=number, user=bob, loaded=LOADED, submitted={**LOADED, "last_name": "Late"})
    assert isinstance(applied_later, OutcomeUnknown)  # Linq did not answer in time (settings_test: 2 s)
    sandbox.apply_deferred()
    app_clock.advance(seconds=5)

    result = reconcile_team(team=team)
    assert result.ok and result.entries == []  # nothing outside: the change is ours
    applied_later.entry.refresh_from_db()
    assert applied_later.entry.applied is True
    assert CardMirror.objects.get(number=number).last_name == "Late"

    sandbox.add_fault({"kind": "drop", "apply_write": False, "methods": ["PATCH"], "times": 1})
    lost = card_update(number=number, user=bob, loaded={**LOADED, "last_name": "Late"},
                       submitted={**LOADED, "last_name": "Lost"})
    reconcile_team(team=team)
    lost.entry.refresh_from_db()
    assert lost.entry.unsettled  # within its window: unknown, as it was
    app_clock.advance(seconds=window_seconds())
    assert reconcile_team(team=team).entries == []
    lost.entry.refresh_from_db()
    assert lost.entry.applied is False
    assert not outside_entries().exists()
