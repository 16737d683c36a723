"""Failures that help: each of Linq's failures ends in a page that says what happened and what next.

Nothing is ever retried automatically: every test checks how many writes reached the sandbox.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.cards.forms import unsign_loaded
from contactcards.models import AuditEntry
from tests.support.helpers import URL, card_form, load, retry_form, sign_in_as, text


def save(client, user, **changes):
    form = load(sign_in_as(client, user))
    return form, client.post(URL, {**form, **changes})


# -- 500/2022: "Retry now" resends exactly the same changes ---------------------


def test_2022_offers_retry_now_with_the_same_changes(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    form, response = save(client, bob, first_name="Again", last_name="Desk")
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1  # not retried by itself
    page = text(response)
    assert "Linq could not complete the change to this card" in page and "Retry now" in page
    assert card_form(response)["first_name"] == "Again"  # input kept

    retry = retry_form(response)
    assert {k: retry[k] for k in ("first_name", "last_name", "image_url", "action")} == {
        **{k: form[k] for k in ("image_url", "action")}, "first_name": "Again", "last_name": "Desk"}
    # The signed strings differ whenever the two signings fall in different seconds: compare what they carry.
    assert unsign_loaded(retry["loaded"]) == unsign_loaded(form["loaded"])
    assert retry["token"] not in (form["token"], card_form(response)["token"])

    done = client.post(URL, retry)
    bodies = [w.body for w in sandbox.writes_for(CARD_NUMBER)]
    assert bodies == [{"first_name": "Again", "last_name": "Desk"}] * 2
    assert "Saved. Linq updated: first name, last name." in text(done)
    assert [e.outcome for e in AuditEntry.objects.order_by("id")] == ["api_error", "success"]


def test_retry_now_is_not_offered_when_the_budget_is_spent(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    for n in range(2):
        form = card_form(client.post(URL, {**form, "last_name": f"Desk {n}"}))
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    response = client.post(URL, {**form, "last_name": "Third"})
    page = text(response)
    assert "Linq could not complete the change to this card" in page
    assert "Retry now" not in page and "You can retry once the wait below is over" in page
    assert "No Linq writes left" in page


# -- 503/4004: not active, when to try again, no retry button -------------------


def test_4004_explains_the_card_is_not_active_and_blocks_until_the_wait(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 503, "code": 4004, "retry_after": 90, "methods": ["PATCH"],
                       "times": 1})
    _form, response = save(client, bob, first_name="Later")
    page = text(response)
    assert "the card is left not active" in page
    assert "The next change is possible at" in page and "Try again in" not in page  # the wait is said once
    assert "Retry now" not in page and retry_form(response) is None
    assert card_form(response)["first_name"] == "Later"

    again = client.post(URL, card_form(response))
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1  # the dashboard waits; Linq's limit is not extended
    assert "Linq asked to wait before the next change" in text(again)


def test_4004_without_a_wait_says_to_wait_a_minute(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 503, "code": 4004, "methods": ["PATCH"], "times": 1})
    _form, response = save(client, bob, first_name="Later")
    assert "Wait at least a minute before trying again" in text(response)
    assert "Retry now" not in text(response)
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1


# -- 401 / 403: owners go to the token settings, editors ask an owner -----------


@pytest.mark.parametrize("status,code", [(401, 2004), (403, 2005), (403, 2006)])
def test_token_problems_point_owners_to_the_settings(client, alice, sandbox, status, code):
    sandbox.add_fault({"kind": "error", "status": status, "code": code, "methods": ["PATCH"], "times": 1})
    _form, response = save(client, alice, first_name="Mine")
    page = text(response)
    assert "Check the team's Linq token in the team settings." in page
    assert f'href="{reverse("team_settings", args=["acme"])}">Open the team settings' in response.content.decode()
    assert "Retry now" not in page


@pytest.mark.parametrize("status,code", [(401, 2004), (403, 2006)])
def test_token_problems_tell_editors_to_ask_an_owner(client, bob, sandbox, status, code):
    sandbox.add_fault({"kind": "error", "status": status, "code": code, "methods": ["PATCH"], "times": 1})
    _form, response = save(client, bob, first_name="Mine")
    assert "Ask an owner of this team to check the team's Linq token." in text(response)
    assert "Open the team settings" not in text(response)
    assert card_form(response)["first_name"] == "Mine"


# -- timeouts and dropped connections: re-read, say what happened, audit it -----

UNKNOWN = [
    ({"kind": "timeout", "seconds": 2.5}, "Linq did not answer in time."),  # settings_test: 2 s read timeout
    ({"kind": "drop"}, "The connection to Linq was dropped."),
]


@pytest.mark.parametrize("fault,said", UNKNOWN)
def test_an_unanswered_write_that_took_effect_is_reported_as_saved(client, bob, sandbox, fault, said):
    sandbox.add_fault({**fault, "methods": ["PATCH"], "times": 1})
    _form, response = save(client, bob, first_name="Maybe")
    page = text(response)
    assert said in page and "your change took effect" in page
    assert card_form(response)["first_name"] == "Maybe"
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1
    entry = AuditEntry.objects.get()
    assert entry.outcome == "network_error" and entry.applied is True
    assert entry.error_kind == fault["kind"].replace("drop", "connection")  # facts; the history words them
    assert "Re-read afterwards: the change took effect." in text(client.get(f"{URL}history/"))


@pytest.mark.parametrize("fault,said", UNKNOWN)
def test_an_unanswered_write_the_re_read_does_not_show_stays_unknown_with_the_input_kept(client, bob, sandbox,
                                                                                          fault, said):
    """Linq may still apply it (tests/cards/test_unknown_outcomes.py: until when, and what settles it)."""
    sandbox.add_fault({**fault, "methods": ["PATCH"], "times": 1, "apply_write": False})
    _form, response = save(client, bob, first_name="Maybe")
    page = text(response)
    assert said in page and "Linq may still apply your change." in page and "The card is read again at" in page
    assert "Retry now" not in page  # never a blind resend of a write that may still land
    assert card_form(response)["first_name"] == "Maybe"
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Acme"
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1
    entry = AuditEntry.objects.get()
    assert entry.applied is None and entry.unsettled and "Outcome unknown" in text(client.get(f"{URL}history/"))


def test_a_known_failure_is_not_re_read_and_not_marked(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    before = len(sandbox.requests)
    save(client, bob, first_name="Mine")
    assert [r.method for r in sandbox.requests[before:]] == ["GET", "GET", "PATCH"]  # page load, re-read, write
    assert AuditEntry.objects.get().applied is None


# -- is_active false: pending, with a refresh that re-reads ---------------------


def test_a_write_that_returns_not_active_shows_pending_with_a_refresh(client, bob, sandbox):
    sandbox.add_fault({"kind": "inactive", "methods": ["PATCH"], "times": 1})
    _form, response = save(client, bob, first_name="Pending")
    page = text(response)
    assert "Saved. Linq updated: first name." in page
    assert "Pending: Linq stored this card but has not applied it to the line yet." in page
    assert f'<a href="{URL}">Refresh from Linq</a>' in response.content.decode()

    sandbox.set_card(CARD_NUMBER, is_active=True)  # Linq applies it later
    refreshed = client.get(URL)
    assert "Pending:" not in text(refreshed) and "Active" in text(refreshed)
