"""The save outcomes: which one a save ends in, and that none can be changed once built."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import CARD_NUMBER
from contactcards.cards import outcomes as o
from contactcards.cards.send import WriteRecord
from contactcards.cards.services import _outcome_of, card_update
from contactcards.history.audit import Attempt
from contactcards.linq import Card, LinqError
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import URL, card_form, load, sign_in_as, text

LOADED = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}


def test_a_card_removed_at_linq_switches_to_create_and_sends_nothing(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    del sandbox.cards[CARD_NUMBER]  # removed in Linq's dashboard since the page was loaded
    response = client.post(URL, {**form, "first_name": "Mine"})
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert AuditEntry.objects.exclude(action="outside").count() == 0
    assert "no longer has a card at Linq" in text(response)
    create = card_form(response)
    assert (create["action"], create["first_name"], create["last_name"]) == ("create", "Mine", "Support")


def test_outcomes_are_frozen_and_their_values_read_only(team, bob, sandbox):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    sandbox.set_card(CARD_NUMBER, first_name="Remote")
    outcome = card_update(number=number, user=bob, loaded=LOADED, submitted={**LOADED, "first_name": "Mine"})
    assert isinstance(outcome, o.Conflict)
    assert outcome.keep_mine["first_name"] == "Mine" and outcome.keep_mine["last_name"] == "Support"
    assert [c.name for c in outcome.conflicts] == ["first_name"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.card = None
    with pytest.raises(TypeError):
        outcome.keep_mine["first_name"] = "Changed"


def _record(error: LinqError | None, applied: bool | None = None, card: Card | None = None) -> WriteRecord:
    return WriteRecord(entry=AuditEntry(), card=card, error=error, applied=applied)


def test_the_rules_for_an_answered_and_an_unanswered_write(db, bob):
    number = PhoneNumber(e164=CARD_NUMBER)
    attempt = Attempt(number=number, user=bob, action="update", changes={"first_name": ["Acme", "Mine"]},
                      body={"first_name": "Mine"})
    card = Card(phone_number=CARD_NUMBER, first_name="Mine", is_active=True)
    unanswered = LinqError("no answer", kind="timeout")
    refused = LinqError("bad", kind="api", status=400, code=1001)

    def outcome(record: WriteRecord):
        return _outcome_of(record, attempt, created=False, others_changed=("last_name",))

    saved = outcome(WriteRecord(entry=AuditEntry(), card=card))
    assert isinstance(saved, o.Saved) and saved.changed == ("first_name",) and saved.unanswered is None
    assert saved.others_changed == ("last_name",)
    confirmed = outcome(_record(unanswered, applied=True, card=card))  # the re-read shows the change
    assert isinstance(confirmed, o.Saved) and confirmed.unanswered is unanswered
    # The re-read does not show it (or failed): Linq may still apply it, so it is not "failed".
    not_shown = outcome(_record(unanswered, applied=None, card=Card(phone_number=CARD_NUMBER, first_name="Acme")))
    assert isinstance(not_shown, o.OutcomeUnknown) and not_shown.error is unanswered
    unknown = outcome(_record(unanswered, applied=None))  # the re-read failed too
    assert isinstance(unknown, o.OutcomeUnknown) and unknown.error is unanswered
    error_page = LinqError("Linq answered HTTP 502 without an error description.", kind="api", status=502)
    assert isinstance(outcome(_record(error_page)), o.OutcomeUnknown)  # a proxy's page says nothing either
    failed = outcome(_record(refused))
    assert isinstance(failed, o.Failed) and failed.error is refused
    with_code = outcome(_record(LinqError("Internal server error.", kind="api", status=500, code=3006)))
    assert isinstance(with_code, o.Failed)  # Linq's own error, with its code: it did not apply it
