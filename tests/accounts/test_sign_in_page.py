"""The sign-in page costs what a page read should: no session row for a look at it, one rendering shared
by everyone (each with their own CSRF token), and signing in works exactly as before after it."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import PASSWORD
from tests.support.helpers import LOGIN_URL, add_totp_device, is_signed_in

pytestmark = pytest.mark.django_db
WRITES = ("INSERT", "UPDATE", "DELETE")


def csrf_of(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_looking_at_the_sign_in_page_writes_nothing():
    client = Client()
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LOGIN_URL)
        assert response.status_code == 200 and "auth-username" in response.content.decode()
        assert not [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)]
    assert Session.objects.count() == 0 and "sessionid" not in client.cookies


def test_the_shared_page_carries_each_visitors_own_token_and_the_post_accepts_it(alice):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    page_one, page_two = (c.get(LOGIN_URL).content.decode() for c in (first, second))
    assert csrf_of(page_one) != csrf_of(page_two)
    assert page_one.replace(csrf_of(page_one), "T") == page_two.replace(csrf_of(page_two), "T")
    # a token from someone else's page is refused (CSRF as before); one's own is accepted
    form = {"login_view-current_step": "auth", "auth-username": "alice", "auth-password": PASSWORD}
    assert first.post(LOGIN_URL, {**form, "csrfmiddlewaretoken": "x" * 64}).status_code == 403
    response = first.post(LOGIN_URL, {**form, "csrfmiddlewaretoken": csrf_of(page_one)})
    assert response.status_code == 302 and is_signed_in(first)


def test_a_sign_in_under_way_keeps_its_step_and_a_next_address_is_kept(client, alice):
    add_totp_device(alice)
    client.get(LOGIN_URL)
    response = client.post(LOGIN_URL, {"login_view-current_step": "auth", "auth-username": "alice",
                                       "auth-password": PASSWORD})
    assert response.status_code == 200 and "token-otp_token" in response.content.decode()
    # looking at the page again during the sign-in starts it over, as the library does
    again = client.get(LOGIN_URL).content.decode()
    assert "auth-username" in again and "token-otp_token" not in again
    assert not is_signed_in(client)
    page = Client().get(f"{LOGIN_URL}?next=/t/acme/").content.decode()
    assert "auth-username" in page


def test_a_signed_in_visitor_is_sent_on(client, alice):
    client.force_login(alice)
    assert client.get(LOGIN_URL).status_code == 302
