"""Conflicts: the save re-reads the card (one free GET) and never overwrites someone else's change."""

from __future__ import annotations

from django.core import signing

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry
from tests.support.helpers import EMPTY_URL, URL, card_form, load, sign_in_as, text


def loaded_of(fields: dict[str, str]) -> dict[str, str]:
    return signing.loads(fields["loaded"], salt="contactcards.card-loaded")


def test_a_field_changed_by_both_sends_nothing_and_shows_all_three_values(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.set_card(CARD_NUMBER, first_name="Remote")  # someone else, in Linq's dashboard
    response = client.post(URL, {**form, "first_name": "Mine"})

    assert response.status_code == 409
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert AuditEntry.objects.exclude(action="outside").count() == 0
    page = text(response)
    assert "Someone else changed this card at Linq since you opened it, so nothing was sent" in page
    assert "First name Acme Remote Mine" in page  # was / now at Linq / you typed
    keep = card_form(response)
    assert keep["first_name"] == "Mine"
    assert loaded_of(keep)["first_name"] == "Remote"
    assert "Save my version" in page and "Take Linq's version" in page


def test_keep_mine_is_a_deliberate_second_save_of_only_my_changes(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.set_card(CARD_NUMBER, first_name="Remote", last_name="Their desk")
    keep = card_form(client.post(URL, {**form, "first_name": "Mine"}))
    assert keep["last_name"] == "Their desk"  # keeping mine does not revert their other change

    response = client.post(URL, keep)
    assert response.status_code == 200
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Mine"}]
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Their desk"
    entry = AuditEntry.objects.exclude(action="outside").get()
    assert entry.changes == {"first_name": ["Remote", "Mine"]}


def test_take_linqs_version_reloads_the_card(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.set_card(CARD_NUMBER, first_name="Remote")
    response = client.post(URL, {**form, "first_name": "Mine"})
    assert f'href="{URL}">Take Linq' in response.content.decode()
    assert load(client)["first_name"] == "Remote"
    assert sandbox.writes_for(CARD_NUMBER) == []


def test_untouched_fields_changed_remotely_go_ahead_with_my_fields_only(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.set_card(CARD_NUMBER, last_name="Their desk")
    response = client.post(URL, {**form, "first_name": "Mine"})

    assert response.status_code == 200
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Mine"}]
    page = text(response)
    assert "Saved. Linq updated: first name." in page
    assert "Someone else changed last name at Linq since you opened this page" in page
    fresh = card_form(response)
    assert (fresh["first_name"], fresh["last_name"]) == ("Mine", "Their desk")  # as Linq returned it
    assert AuditEntry.objects.exclude(action="outside").get().changes == {"first_name": ["Acme", "Mine"]}


def test_the_same_change_made_by_both_sends_nothing(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.set_card(CARD_NUMBER, first_name="Same")
    response = client.post(URL, {**form, "first_name": "Same"})
    assert "Linq already has these values" in text(response)
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert AuditEntry.objects.exclude(action="outside").count() == 0


def test_the_re_read_is_one_get_and_does_not_spend_the_budget(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    before = len(sandbox.requests)
    response = client.post(URL, {**form, "first_name": "Mine"})
    assert [r.method for r in sandbox.requests[before:]] == ["GET", "PATCH"]
    assert "2 of 3 Linq writes left" in text(response)


def test_if_the_card_cannot_be_re_read_nothing_is_sent(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "methods": ["GET"], "times": 1})
    response = client.post(URL, {**form, "first_name": "Mine"})
    assert response.status_code == 200
    assert "The card could not be re-read before saving, so nothing was sent." in text(response)
    assert card_form(response)["first_name"] == "Mine"
    assert sandbox.writes_for(CARD_NUMBER) == []
    # the attempt is recorded, as not sent, and spends no budget
    entry = AuditEntry.objects.exclude(action="outside").get()
    assert (entry.request_sent, entry.linq_code, entry.http_status) == (False, 3006, 500)
    assert "3 of 3 Linq writes left" in text(response)


def test_a_card_set_up_meanwhile_is_not_posted_over(client, bob, sandbox):
    form = load(sign_in_as(client, bob), EMPTY_URL)
    sandbox.set_card(EMPTY_NUMBER, first_name="Someone")
    response = client.post(EMPTY_URL, {**form, "first_name": "Mine"})
    assert "A card already exists at Linq for this number, so nothing was created" in text(response)
    assert sandbox.writes_for(EMPTY_NUMBER) == []  # no POST, no 409, no budget spent
    edit = card_form(response)
    assert edit["action"] == "update" and edit["first_name"] == "Mine"
    assert loaded_of(edit)["first_name"] == "Someone"


def test_a_change_between_re_read_and_patch_is_merged_by_linq(client, bob, sandbox):
    """Linq has no version check: a change landing between our GET and PATCH cannot be seen.

    PATCH merges, so only the fields the person changed are overwritten; theirs survive.
    """
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "remote_change", "methods": ["PATCH"], "times": 1,
                       "changes": {"last_name": "Their desk"}})
    client.post(URL, {**form, "first_name": "Mine"})
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Mine"
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Their desk"
