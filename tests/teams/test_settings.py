"""Team settings page, the token form and "Test connection"."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import TOKEN
from contactcards.models import AuditEntry
from tests.support.helpers import sign_in_as

URL = "/t/acme/settings/"
TOKEN_URL = "/t/acme/settings/token/"
TEST_URL = "/t/acme/settings/token/test/"
NEW_TOKEN = "new-token-XYZ-1234abcd"


# -- the page -----------------------------------------------------------------


def test_it_works_for_the_owner(client, alice, team):
    sign_in_as(client, alice)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"ending in <span class=\"mono\">…{TOKEN[-4:]}</span>" in html
    assert 'type="password"' in html and 'name="token"' in html
    assert 'id="test-connection"' in html
    assert 'id="invite"' in html and 'id="numbers-add"' in html  # people join by invitation


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_members_read_it_without_forms(client, persona, request):
    sign_in_as(client, request.getfixturevalue(persona))
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "A token is set" in html
    assert TOKEN[-4:] not in html
    for marker in ('name="token"', 'id="test-connection"', 'id="member-add"', 'id="numbers-add"', "Remove…"):
        assert marker not in html
    assert 'id="read-only-note"' in html


def test_the_page_checks_team_membership(client, charlie):
    sign_in_as(client, charlie)
    assert client.get(URL).status_code == 404


def test_the_page_refuses_post(client, alice):
    sign_in_as(client, alice)
    assert client.post(URL).status_code == 405


# -- the token ----------------------------------------------------------------


def test_owner_changes_the_token(client, alice, team):
    sign_in_as(client, alice)
    response = client.post(TOKEN_URL, {"token": f"  {NEW_TOKEN} "})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.get_token() == NEW_TOKEN
    assert team.token_last4 == "abcd"
    assert NEW_TOKEN not in team.token_encrypted
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TOKEN_CHANGE)
    assert entry.username == "alice" and entry.team == team
    page = client.get(URL).content.decode()
    assert "ends in …abcd" in page and NEW_TOKEN not in page


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_token_change_requires_owner(client, persona, team, request):
    sign_in_as(client, request.getfixturevalue(persona))
    assert client.post(TOKEN_URL, {"token": NEW_TOKEN}).status_code == 403
    team.refresh_from_db()
    assert team.get_token() == TOKEN
    assert not AuditEntry.objects.exists()


def test_token_change_checks_team_membership(client, charlie, team):
    sign_in_as(client, charlie)
    assert client.post(TOKEN_URL, {"token": NEW_TOKEN}).status_code == 404
    team.refresh_from_db()
    assert team.get_token() == TOKEN


@pytest.mark.parametrize("value,message", [
    ("", "Paste the token"),
    ("has a space-in-it 12345", "no spaces"),
    ("sh0rtQ", "too short"),
    ("x" * 501, "at most 500"),
])
def test_token_change_handles_bad_input(client, alice, team, value, message):
    sign_in_as(client, alice)
    response = client.post(TOKEN_URL, {"token": value})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    if value:
        assert value not in html  # the password field is never filled back in
    team.refresh_from_db()
    assert team.get_token() == TOKEN
    assert not AuditEntry.objects.exists()


def test_token_change_refuses_get(client, alice):
    sign_in_as(client, alice)
    assert client.get(TOKEN_URL).status_code == 405


def test_csrf_stays_on(alice, team):
    client = Client(enforce_csrf_checks=True)
    sign_in_as(client, alice)
    assert client.post(TOKEN_URL, {"token": NEW_TOKEN}).status_code == 403
    team.refresh_from_db()
    assert team.get_token() == TOKEN


# -- test connection ----------------------------------------------------------


def phone_number_calls(sandbox):
    return [r for r in sandbox.requests if r.method == "GET" and r.path.rstrip("/") == "/v3/phone_numbers"]


def test_connection_ok_reports_the_numbers_visible(client, alice, sandbox):
    sign_in_as(client, alice)
    response = client.post(TEST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Connection works." in html and "sees 2 numbers" in html
    assert len(phone_number_calls(sandbox)) == 1


def test_connection_reports_a_wrong_token(client, alice, team):
    team.set_token("not-a-token-Linq-knows")
    team.save()
    sign_in_as(client, alice)
    html = client.post(TEST_URL).content.decode()
    assert "Linq rejected the team's API token." in html
    assert "HTTP 401" in html and "2004" in html


def test_connection_reports_forbidden(client, alice, sandbox):
    sandbox.add_fault({"kind": "error", "status": 403, "code": 2005, "methods": ["GET"]})
    sign_in_as(client, alice)
    html = client.post(TEST_URL).content.decode()
    assert "Linq refused access" in html and "HTTP 403" in html


def test_connection_reports_unreachable(client, alice, settings):
    settings.LINQ_API_BASE_URL = "http://127.0.0.1:9/api/partner"  # nothing listens on the discard port
    sign_in_as(client, alice)
    response = client.post(TEST_URL)
    assert response.status_code == 200
    assert "Linq could not be reached." in response.content.decode()


def test_connection_reports_a_timeout(client, alice, sandbox, settings):
    settings.LINQ_READ_TIMEOUT = 0.2
    sandbox.add_fault({"kind": "timeout", "seconds": 1, "methods": ["GET"]})
    sign_in_as(client, alice)
    response = client.post(TEST_URL)
    assert response.status_code == 200
    assert "Linq did not answer in time." in response.content.decode()


def test_connection_without_a_token_asks_nothing(client, alice, team, sandbox):
    team.set_token("")
    team.save()
    sign_in_as(client, alice)
    response = client.post(TEST_URL)
    assert response.status_code == 200
    assert "no Linq token" in response.content.decode()
    assert sandbox.requests == []


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_connection_requires_owner(client, persona, sandbox, request):
    sign_in_as(client, request.getfixturevalue(persona))
    assert client.post(TEST_URL).status_code == 403
    assert sandbox.requests == []


def test_connection_checks_team_membership(client, charlie, sandbox):
    sign_in_as(client, charlie)
    assert client.post(TEST_URL).status_code == 404


def test_connection_handles_bad_input(client, alice, sandbox):
    sign_in_as(client, alice)
    assert client.get(TEST_URL).status_code == 405  # a GET never triggers a call to Linq
    assert client.post(TEST_URL, {"token": "ignored", "junk": "\x00"}).status_code == 200
    assert len(phone_number_calls(sandbox)) == 1
