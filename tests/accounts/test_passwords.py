"""Password change, and password reset by email: queued, sent by a real worker through a real SMTP server, limited."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from conftest import PASSWORD
from contactcards.accounts.models import ResetRequest
from tests.support.helpers import is_signed_in, sign_in_as, sign_in_client

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "violet-kettle-harbour-9"
RESET_URL = "/accounts/password/reset/"


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
    sign_in_as(client, alice)
    response = client.post("/accounts/password/", {"old_password": "nope", "new_password1": "1",
                                                   "new_password2": "1"})
    page = response.content.decode()
    assert response.status_code == 200 and "Your old password was entered incorrectly" in page
    assert "too short" in page and "entirely numeric" in page


def ask_for_reset(client, email: str, *, ip: str = "127.0.0.1", **extra):
    return client.post(RESET_URL, {"email": email}, REMOTE_ADDR=ip, **extra)


def follow_reset_link(client, link: str):
    """Open the emailed link; Django swaps the token for a session marker and shows the form."""
    page = client.get(urlparse(link).path, follow=True)
    return page, page.redirect_chain[-1][0] if page.redirect_chain else None


@pytest.mark.django_db(transaction=True)
def test_a_reset_link_arrives_by_email_and_sets_a_new_password(client, alice_with_email, mailbox, workers,
                                                                settings):
    response = ask_for_reset(client, "alice@example.com")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert mailbox.messages == []  # not during the request: the worker sends it
    workers.run_batch()
    [message] = mailbox.to("alice@example.com")
    assert message["Subject"] == "Reset your linqadmin password"
    [link] = mailbox.links("alice@example.com")
    assert link.startswith(f"{settings.PUBLIC_URL}/accounts/password/reset/")
    page, form_url = follow_reset_link(client, link)
    assert "Choose a new password" in page.content.decode()
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/done/"
    assert sign_in_client(type(client)(), "alice", NEW_PASSWORD).status_code == 302
    # the link works once
    again = type(client)().get(urlparse(link).path, follow=True)
    assert "This link cannot be used" in again.content.decode()


def _statements(queries) -> list[str]:
    """The SQL a request ran, with every literal (addresses, hashes, times, ids) blanked out."""
    return [re.sub(r"\b\d+\b", "?", re.sub(r"'(?:[^']|'')*'", "?", query["sql"])) for query in queries]


@pytest.mark.django_db(transaction=True)
def test_known_and_unknown_addresses_get_the_same_answer_from_the_same_work(client, alice_with_email, mailbox,
                                                                            workers):
    with CaptureQueriesContext(connection) as known_queries:
        known = ask_for_reset(client, "alice@example.com")
    with CaptureQueriesContext(connection) as unknown_queries:
        unknown = ask_for_reset(client, "nobody@example.com")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == \
        (302, "/accounts/password/reset/sent/")
    # The same statements in the same order: neither request looked the address up...
    assert _statements(known_queries.captured_queries) == _statements(unknown_queries.captured_queries)
    assert not any("auth_user" in query["sql"] for query in known_queries.captured_queries)
    # ...nor talked to the mail server: the worker does, after the answer.
    assert mailbox.greetings == 0 and mailbox.messages == []
    assert DBTaskResult.objects.filter(task_path="contactcards.accounts.tasks.send_password_reset").count() == 2
    workers.run_batch()
    assert len(mailbox.to("alice@example.com")) == 1 and mailbox.to("nobody@example.com") == []
    assert sorted(DBTaskResult.objects.values_list("status", "return_value")) == [("SUCCESSFUL", 0), ("SUCCESSFUL", 1)]
    sent = client.get("/accounts/password/reset/sent/").content.decode()
    assert "If an account uses that address" in sent


@pytest.mark.django_db(transaction=True)
def test_fifteen_requests_for_one_address_send_three_emails_and_the_wait_ends(client, alice_with_email, mailbox,
                                                                              workers, clock, settings):
    assert settings.PASSWORD_RESET_MAX_PER_ADDRESS == 3
    answers = [ask_for_reset(client, "alice@example.com", ip=f"10.0.0.{i}").status_code for i in range(15)]
    assert answers == [302] * 3 + [429] * 12  # from 15 addresses: the address's limit, not the IPs'
    refused = ask_for_reset(client, "ALICE@Example.com")  # another spelling of the same address
    page = refused.content.decode()
    assert refused.status_code == 429 and 'id="reset-refused"' in page and "try again in 60 minutes" in page
    assert 'value="ALICE@Example.com"' in page  # the form keeps what was typed
    workers.run_batch()
    assert len(mailbox.to("alice@example.com")) == 3
    clock.advance(minutes=30)  # asking on during the wait does not make it longer
    assert ask_for_reset(client, "alice@example.com").status_code == 429
    clock.advance(minutes=31)
    assert ask_for_reset(client, "alice@example.com").status_code == 302
    workers.run_batch()
    assert len(mailbox.to("alice@example.com")) == 4


def test_one_ip_asking_for_many_addresses_is_limited_too(client, db, settings):
    settings.PASSWORD_RESET_MAX_PER_IP = 5
    answers = [ask_for_reset(client, f"person{i}@example.com", ip="192.0.2.7").status_code for i in range(8)]
    assert answers == [302] * 5 + [429] * 3
    assert ask_for_reset(client, "person9@example.com", ip="192.0.2.8").status_code == 302  # another network
    assert ask_for_reset(client, "person0@example.com", ip="192.0.2.8").status_code == 302  # its address: 2 of 3


@pytest.mark.parametrize("email", ["", "not-an-address", "x" * 300 + "@example.com", "a@b.c\x00"])
def test_bad_input_is_explained_and_counts_nothing(client, db, email):
    response = ask_for_reset(client, email)
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert not ResetRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_link_uses_public_url_whatever_host_the_request_named(client, alice_with_email, mailbox, workers,
                                                                  settings):
    settings.PUBLIC_URL = "https://cards.example.com/"
    assert ask_for_reset(client, "alice@example.com", HTTP_HOST="127.0.0.1:6666").status_code == 302
    workers.run_batch()
    [link] = mailbox.links("alice@example.com")
    assert link.startswith("https://cards.example.com/accounts/password/reset/")
    assert "at cards.example.com." in mailbox.body(mailbox.to("alice@example.com")[0])
    assert urlparse(link).netloc == "cards.example.com"  # not the host the request named (the token is random)


@pytest.mark.django_db(transaction=True)
def test_without_public_url_no_reset_email_is_sent(client, alice_with_email, mailbox, workers, settings):
    settings.PUBLIC_URL = ""
    assert ask_for_reset(client, "alice@example.com").status_code == 302  # the same answer
    workers.run_batch()
    task = DBTaskResult.objects.get()
    assert (task.status, task.return_value) == ("SUCCESSFUL", 0)  # it ran, and sent nothing
    assert mailbox.messages == [] and mailbox.greetings == 0


@pytest.mark.django_db(transaction=True)
def test_a_reset_lifts_the_pause_on_signing_in(client, alice_with_email, mailbox, workers, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in_client(client, "alice", "wrong-password-1")
    assert sign_in_client(client, "alice").status_code == 429
    ask_for_reset(client, "alice@example.com")
    workers.run_batch()
    [link] = mailbox.links("alice@example.com")
    _page, form_url = follow_reset_link(client, link)
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert sign_in_client(client, "alice", NEW_PASSWORD).status_code == 302 and is_signed_in(client)


def test_the_sign_in_page_links_to_the_reset(client, db):
    assert "/accounts/password/reset/" in client.get("/accounts/login/").content.decode()
