"""The dashboard's page cache (teams/views.py): a page served from it is what a fresh render shows, and
nothing it shows can go stale - names, roles, memberships, sync facts, messages, CSRF tokens."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from conftest import CARD_NUMBER
from contactcards.models import Membership, Team, TeamSync
from contactcards.sync.reconcile import reconcile_team
from tests.support.helpers import sign_in_as

URL = "/t/acme/"
REFRESH = "/t/acme/refresh/"
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def refreshed(team):
    assert reconcile_team(team=team).ok
    return team


def without_tokens(html: str) -> str:
    return TOKEN_RE.sub('name="csrfmiddlewaretoken" value=""', html)


def test_a_page_from_the_cache_is_the_page_rendered_afresh(client, alice, refreshed):
    sign_in_as(client, alice)
    first, second = client.get(URL), client.get(URL)
    assert first.status_code == second.status_code == 200
    assert without_tokens(first.content.decode()) == without_tokens(second.content.decode())
    assert second.context["board"].total == 2  # the page's context, as for any page
    assert CARD_NUMBER in second.content.decode() and "Acme Support" in second.content.decode()


def test_a_renamed_team_shows_its_new_name_at_once(client, alice, refreshed):
    sign_in_as(client, alice)
    client.get(URL)
    Team.objects.filter(pk=refreshed.pk).update(name="Acme Renamed")
    html = client.get(URL).content.decode()
    assert "Acme Renamed: numbers" in html and "<title>Acme Renamed" in html


def test_a_changed_role_shows_at_once(client, bob, refreshed):
    sign_in_as(client, bob)
    assert 'id="bulk-edit"' in client.get(URL).content.decode()
    Membership.objects.filter(user=bob).update(role="viewer")
    html = client.get(URL).content.decode()
    assert 'id="bulk-edit"' not in html and 'name="n"' not in html


def test_a_removed_member_is_refused_at_once(client, vera, refreshed):
    sign_in_as(client, vera)
    assert client.get(URL).status_code == 200
    Membership.objects.filter(user=vera).delete()
    assert client.get(URL).status_code == 404


def test_a_failed_refresh_shows_at_once(client, vera, refreshed):
    sign_in_as(client, vera)
    assert 'id="refresh-error"' not in client.get(URL).content.decode()
    TeamSync.objects.filter(team=refreshed).update(error_at=timezone.now(), error_message="Linq was down")
    html = client.get(URL).content.decode()
    assert 'id="refresh-error"' in html and "Linq was down" in html


def test_each_view_carries_its_own_working_csrf_token(alice, bob, refreshed):
    tokens = []
    for user in (alice, alice, bob):
        browser = sign_in_as(Client(enforce_csrf_checks=True), user)
        browser.get(URL)
        html = browser.get(URL).content.decode()  # from the cache
        token = TOKEN_RE.findall(html)
        assert token and len(set(token)) == 1, "the refresh form and the sign-out form carry the same token"
        tokens.append(token[0])
        response = browser.post(REFRESH, {"csrfmiddlewaretoken": token[0]})
        assert response.status_code == 302, "the cached page's token is accepted"
    assert len(set(tokens)) == 3


def test_a_message_is_shown_once_then_the_cached_page_again(client, alice, refreshed):
    sign_in_as(client, alice)
    client.get(URL)
    client.post(REFRESH)
    assert "Cards refreshed from Linq." in client.get(URL).content.decode()
    assert "Cards refreshed from Linq." not in client.get(URL).content.decode()


def test_a_user_row_is_loaded_afresh_on_every_request(client, alice, refreshed):
    sign_in_as(client, alice)
    assert client.get(URL).status_code == 200
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
