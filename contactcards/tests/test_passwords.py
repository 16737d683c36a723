"""Password change, and password reset by email through a real SMTP server."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from axes.models import AccessAttempt

from conftest import PASSWORD
from contactcards.tests.helpers import is_signed_in, sign_in_client

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "violet-kettle-harbour-9"


@pytest.fixture
def alice_with_email(alice):
    alice.email = "alice@example.com"
    alice.save()
    return alice


def test_changing_my_password_signs_out_my_other_sessions(client, alice):
    sign_in_client(client, "alice")
    laptop = type(client)()
    sign_in_client(laptop, "alice")
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                   "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/changed/"
    assert client.get("/t/acme/").status_code == 200  # this session continues
    assert laptop.get("/t/acme/").status_code == 302  # the other one is over
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_weak_or_wrong_password_change_is_explained(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/password/", {"old_password": "nope", "new_password1": "1",
                                                   "new_password2": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "Your old password was entered incorrectly" in page
    assert "too short" in page and "entirely numeric" in page


def test_a_reset_link_arrives_by_email_and_sets_a_new_password(client, alice_with_email, mailbox):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    [message] = mailbox.to("alice@example.com")
    assert message["Subject"] == "Reset your linqadmin password"
    [link] = mailbox.links("alice@example.com")
    page = client.get(urlparse(link).path, follow=True)  # Django swaps the token for a session marker
    assert "Choose a new password" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert sign_in_client(type(client)(), "alice", NEW_PASSWORD).status_code == 302
    # the link works once
    again = type(client)().get(urlparse(link).path, follow=True)
    assert "This link cannot be used" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, alice_with_email, mailbox):
    known = client.post("/accounts/password/reset/", {"email": "alice@example.com"}, follow=True)
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"}, follow=True)
    assert known.content == unknown.content
    assert mailbox.to("nobody@example.com") == []


def test_a_reset_lifts_the_pause_on_signing_in(client, alice_with_email, mailbox, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in_client(client, "alice", "wrong-password-1")
    assert sign_in_client(client, "alice").status_code == 429
    client.post("/accounts/password/reset/", {"email": "alice@example.com"})
    [link] = mailbox.links("alice@example.com")
    page = client.get(urlparse(link).path, follow=True)
    client.post(page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert sign_in_client(client, "alice", NEW_PASSWORD).status_code == 302 and is_signed_in(client)


def test_the_sign_in_page_links_to_the_reset(client, db):
    assert "/accounts/password/reset/" in client.get("/accounts/login/").content.decode()
