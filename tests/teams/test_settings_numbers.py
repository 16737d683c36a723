"""Owners add, remove and import the team's numbers."""

from __future__ import annotations

import pytest

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import sign_in_as

ADD_URL = "/t/acme/settings/numbers/"
IMPORT_URL = "/t/acme/settings/numbers/import/"
REMOVE_URL = f"/t/acme/settings/numbers/{EMPTY_NUMBER}/remove/"
NEW = "+15550001007"


def team_numbers(team):
    return sorted(team.numbers.values_list("e164", flat=True))


# -- add ----------------------------------------------------------------------


def test_owner_adds_numbers(client, alice, team, sandbox):
    sandbox.add_account(TOKEN, [NEW, "+442071838750"])
    sign_in_as(client, alice)
    response = client.post(ADD_URL, {"numbers": f"{NEW}, +442071838750\n{NEW}"}, follow=True)
    assert team_numbers(team) == sorted([CARD_NUMBER, EMPTY_NUMBER, NEW, "+442071838750"])
    assert "Linq lists each of them for the team&#x27;s token." in response.content.decode()
    assert [r.method for r in sandbox.requests] == ["GET"]  # one read of /v3/phone_numbers, no write


def test_a_number_the_token_cannot_see_is_not_added_silently(client, alice, team, sandbox):
    sign_in_as(client, alice)
    response = client.post(ADD_URL, {"numbers": NEW})
    assert response.status_code == 400
    html = response.content.decode()
    assert f"Linq does not list {NEW} for this team" in html and "403, code 2006" in html
    assert 'name="add_unlisted"' in html and NEW in html  # input kept, the owner may insist
    assert NEW not in team_numbers(team)
    response = client.post(ADD_URL, {"numbers": NEW, "add_unlisted": "on"}, follow=True)
    assert NEW in team_numbers(team)
    assert "first save may fail with 403/2006" in response.content.decode()
    assert not [r for r in sandbox.requests if r.method != "GET"]


def test_numbers_are_added_when_linq_cannot_be_asked(client, alice, team, settings):
    settings.LINQ_API_BASE_URL = "http://127.0.0.1:9/api/partner"
    sign_in_as(client, alice)
    response = client.post(ADD_URL, {"numbers": NEW}, follow=True)
    assert NEW in team_numbers(team)
    assert "Linq could not be asked whether the token can see it" in response.content.decode()


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_adding_numbers_requires_owner(client, persona, team, request):
    sign_in_as(client, request.getfixturevalue(persona))
    assert client.post(ADD_URL, {"numbers": NEW}).status_code == 403
    assert NEW not in team_numbers(team)


def test_adding_numbers_checks_team_membership(client, charlie, team):
    sign_in_as(client, charlie)
    assert client.post(ADD_URL, {"numbers": NEW}).status_code == 404
    assert NEW not in team_numbers(team)


@pytest.mark.parametrize("numbers,message", [
    ("555-0100, +1 415 555 0100", "“555-0100” is not a phone number in E.164 form: it must start with +"),
    ("+1 555 010 0009\n+1555010009٣", "only the digits 0-9 are allowed, not “٣”"),
    ("", "This field is required"),
    (f"{NEW} {CARD_NUMBER}", f"Already in this team: {CARD_NUMBER}"),
])
def test_adding_numbers_handles_bad_input(client, alice, team, sandbox, numbers, message):
    sandbox.add_account(TOKEN, [NEW])
    sign_in_as(client, alice)
    response = client.post(ADD_URL, {"numbers": numbers})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert team_numbers(team) == [CARD_NUMBER, EMPTY_NUMBER]


# -- remove -------------------------------------------------------------------


def test_owner_removes_a_number_and_its_history_stays(client, alice, team):
    number = team.numbers.get(e164=EMPTY_NUMBER)
    AuditEntry.objects.create(team=team, number=number, phone_number=EMPTY_NUMBER, username="alice",
                              action=AuditEntry.Action.CREATE, outcome=AuditEntry.Outcome.SUCCESS)
    sign_in_as(client, alice)
    confirm = client.get(REMOVE_URL)
    assert confirm.status_code == 200 and "Remove number" in confirm.content.decode()
    assert EMPTY_NUMBER in team_numbers(team)
    assert client.post(REMOVE_URL).status_code == 302
    assert team_numbers(team) == [CARD_NUMBER]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CREATE)
    assert entry.phone_number == EMPTY_NUMBER and entry.number is None
    assert AuditEntry.objects.filter(action=AuditEntry.Action.NUMBER_REMOVE, phone_number=EMPTY_NUMBER).exists()


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_removing_a_number_requires_owner(client, persona, team, request):
    sign_in_as(client, request.getfixturevalue(persona))
    assert client.get(REMOVE_URL).status_code == 403
    assert client.post(REMOVE_URL).status_code == 403
    assert EMPTY_NUMBER in team_numbers(team)


def test_removing_a_number_checks_team_membership(client, charlie, team):
    sign_in_as(client, charlie)
    assert client.post(REMOVE_URL).status_code == 404
    # and his own team's URL with acme's number
    assert client.post(f"/t/other/settings/numbers/{EMPTY_NUMBER}/remove/").status_code == 404
    assert EMPTY_NUMBER in team_numbers(team)


def test_removing_a_number_handles_bad_input(client, alice, team):
    sign_in_as(client, alice)
    assert client.post("/t/acme/settings/numbers/+19999999999/remove/").status_code == 404
    assert client.post("/t/acme/settings/numbers/5550001002/remove/").status_code == 404
    assert client.put(REMOVE_URL).status_code == 405
    assert team_numbers(team) == [CARD_NUMBER, EMPTY_NUMBER]


# -- import from Linq ----------------------------------------------------------


def phone_number_calls(sandbox):
    return [r for r in sandbox.requests if r.path.rstrip("/") == "/v3/phone_numbers"]


def test_import_previews_the_new_numbers_then_adds_the_ticked_ones(client, alice, team, sandbox):
    sandbox.add_account(TOKEN, [NEW, "+15550001008"])
    sign_in_as(client, alice)
    preview = client.get(IMPORT_URL)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "The token sees 4 numbers" in html and "2 are not in this team yet" in html
    assert f'value="{NEW}" checked' in html
    assert f'value="{CARD_NUMBER}"' not in html  # already in the team: no checkbox
    assert len(phone_number_calls(sandbox)) == 1
    assert team_numbers(team) == [CARD_NUMBER, EMPTY_NUMBER]  # the preview adds nothing

    response = client.post(IMPORT_URL, {"numbers": [NEW]})
    assert response.status_code == 302
    assert team_numbers(team) == [CARD_NUMBER, EMPTY_NUMBER, NEW]


def test_import_reports_linq_errors(client, alice, sandbox):
    sandbox.add_fault({"kind": "error", "status": 401, "code": 2004, "methods": ["GET"]})
    sign_in_as(client, alice)
    response = client.get(IMPORT_URL)
    assert response.status_code == 200
    assert "list of numbers could not be loaded" in response.content.decode()


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_import_requires_owner(client, persona, team, sandbox, request):
    sign_in_as(client, request.getfixturevalue(persona))
    assert client.get(IMPORT_URL).status_code == 403
    assert client.post(IMPORT_URL, {"numbers": [NEW]}).status_code == 403
    assert phone_number_calls(sandbox) == []
    assert NEW not in team_numbers(team)


def test_import_checks_team_membership(client, charlie, team, sandbox):
    sign_in_as(client, charlie)
    assert client.get(IMPORT_URL).status_code == 404
    assert client.post(IMPORT_URL, {"numbers": [NEW]}).status_code == 404
    assert NEW not in team_numbers(team)


@pytest.mark.parametrize("data,message", [
    ({}, "Choose at least one"), ({"numbers": ["12345"]}, "“12345” is not a phone number in E.164 form"),
])
def test_import_handles_bad_input(client, alice, team, sandbox, data, message):
    sign_in_as(client, alice)
    response = client.post(IMPORT_URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert team_numbers(team) == [CARD_NUMBER, EMPTY_NUMBER]


def test_import_of_a_number_added_meanwhile_is_not_an_error(client, alice, team):
    sign_in_as(client, alice)
    response = client.post(IMPORT_URL, {"numbers": [CARD_NUMBER, NEW]}, follow=True)
    assert "Already in the team: " + CARD_NUMBER in response.content.decode()
    assert PhoneNumber.objects.filter(team=team, e164=CARD_NUMBER).count() == 1
