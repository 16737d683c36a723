"""Sessions: idle timeout, no-store on signed-in pages, Permissions-Policy, sign out everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from contactcards.tests.helpers import is_signed_in, sign_in_client

pytestmark = pytest.mark.django_db
SIGNED_IN_PAGES = ["/t/acme/", "/t/acme/history/", "/t/acme/settings/", "/t/acme/numbers/+15550001001/",
                   "/t/acme/history/export.csv", "/accounts/", "/accounts/password/",
                   "/accounts/two-factor/setup/"]


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_signed_in_pages_are_never_stored(client, alice, url):
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("url", ["/accounts/login/", "/t/acme/", "/admin/", "/accounts/password/reset/"])
def test_every_response_sends_a_permissions_policy(client, alice, url):
    client.force_login(alice)
    policy = client.get(url)["Permissions-Policy"]
    assert "camera=()" in policy and "microphone=()" in policy and "geolocation=()" in policy


def test_an_idle_session_ends(client, alice, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60  # a working day by default
    sign_in_client(client, "alice")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/t/acme/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_activity_pushes_the_idle_timeout_forward(client, alice, settings):
    settings.SESSION_REFRESH_SECONDS = 0
    sign_in_client(client, "alice")
    soon = timezone.now() + timedelta(minutes=5)
    Session.objects.update(expire_date=soon)
    client.get("/t/acme/")
    renewed = Session.objects.get().expire_date
    assert renewed > soon + timedelta(hours=7)


def test_without_activity_the_session_is_not_written(client, alice):
    sign_in_client(client, "alice")
    client.get("/t/acme/history/")
    before = Session.objects.get().expire_date
    client.get("/t/acme/history/")
    assert Session.objects.get().expire_date == before


def test_sign_out_everywhere_ends_every_session(client, alice, bob):
    phone, laptop, bobs = type(client)(), type(client)(), type(client)()
    for c, name in ((client, "alice"), (phone, "alice"), (laptop, "alice"), (bobs, "bob")):
        sign_in_client(c, name)
    response = client.post("/accounts/sign-out-everywhere/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not is_signed_in(client)
    for other in (phone, laptop):
        assert other.get("/t/acme/").status_code == 302
        assert not is_signed_in(other)
    assert bobs.get("/t/acme/").status_code == 200  # someone else's sessions are untouched
    sign_in_client(phone, "alice")  # signing in again works
    assert phone.get("/t/acme/").status_code == 200


def test_sign_out_everywhere_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/sign-out-everywhere/").status_code == 405
    assert is_signed_in(client)


def test_the_account_pages_need_a_sign_in(client, db):
    for url in ("/accounts/", "/accounts/password/", "/accounts/two-factor/setup/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
