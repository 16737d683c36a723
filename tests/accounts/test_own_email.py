"""People set their own name and email address: the address is confirmed by a signed, expiring, one-time link
mailed (by a real worker, through a real SMTP server) to the new address; the old address is told."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django_tasks_db.models import DBTaskResult

from tests.support.helpers import sign_in_as

pytestmark = pytest.mark.django_db
ACCOUNT = "/accounts/"


def ask_for(client, email: str):
    return client.post("/accounts/email/", {"email": email})


def confirm_path(mailbox, address: str) -> str:
    [link] = mailbox.links(address)
    return urlparse(link).path


def test_a_person_sets_their_own_name(client, alice):
    sign_in_as(client, alice)
    response = client.post("/accounts/name/", {"first_name": " Alice ", "last_name": "Archer"})
    assert response.status_code == 302 and response["Location"] == "/accounts/#profile"
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name) == ("Alice", "Archer")
    page = client.get(ACCOUNT).content.decode()
    assert 'value="Alice"' in page and 'value="Archer"' in page
    assert "ask an administrator" not in page


@pytest.mark.django_db(transaction=True)
def test_a_new_address_is_set_by_the_link_mailed_to_it_and_the_old_one_is_told(client, alice, mailbox, workers,
                                                                                settings):
    alice.email = "alice@old.example"
    alice.save()
    sign_in_as(client, alice)
    response = ask_for(client, "alice@new.example")
    assert response.status_code == 302
    assert mailbox.messages == []  # the worker sends it, never the request
    alice.refresh_from_db()
    assert alice.email == "alice@old.example"  # nothing changes before the link is opened
    workers.run_batch()
    [message] = mailbox.to("alice@new.example")
    assert message["Subject"] == "Confirm your new linqadmin email address"
    path = confirm_path(mailbox, "alice@new.example")
    assert (settings.PUBLIC_URL + path) in mailbox.body(message)

    page = client.get(path)  # opening the link (or a mail scanner opening it) changes nothing
    assert page.status_code == 200 and "alice@new.example" in page.content.decode()
    alice.refresh_from_db()
    assert alice.email == "alice@old.example"
    done = client.post(path)
    assert done.status_code == 302 and done["Location"] == "/accounts/#profile"
    alice.refresh_from_db()
    assert alice.email == "alice@new.example"
    assert "alice@new.example" in client.get(ACCOUNT).content.decode()

    workers.run_batch()
    [notice] = mailbox.to("alice@old.example")
    assert notice["Subject"] == "Your linqadmin email address was changed"
    assert "alice@new.example" in mailbox.body(notice)

    again = client.post(path)  # works once
    assert again.status_code == 409 and "was used already" in again.content.decode()


@pytest.mark.django_db(transaction=True)
def test_someone_without_an_address_sets_one(client, alice, mailbox, workers):
    assert alice.email == ""
    sign_in_as(client, alice)
    assert "Set your email address" in client.get(ACCOUNT).content.decode()
    ask_for(client, "alice@example.com")
    workers.run_batch()
    assert client.post(confirm_path(mailbox, "alice@example.com")).status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"
    workers.run_batch()
    assert [m["To"] for m in mailbox.messages] == ["alice@example.com"]  # no old address to tell


@pytest.mark.django_db(transaction=True)
def test_the_link_is_only_for_its_account_and_only_for_a_while(client, alice, bob, mailbox, workers, settings,
                                                                monkeypatch):
    sign_in_as(client, alice)
    ask_for(client, "alice@example.com")
    workers.run_batch()
    path = confirm_path(mailbox, "alice@example.com")

    other = type(client)()
    sign_in_as(other, bob)
    response = other.post(path)
    assert response.status_code == 400 and "for another account" in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == ""

    anonymous = type(client)().post(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")

    broken = client.post(path[:-6] + "xxxxx/")
    assert broken.status_code == 400 and "not whole" in broken.content.decode()

    later = timedelta(hours=settings.EMAIL_CHANGE_MAX_AGE_HOURS, minutes=1).total_seconds()
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: time.time() + later))  # the link's clock only
    late = client.post(path)
    assert late.status_code == 400 and "expired" in late.content.decode()
    alice.refresh_from_db()
    assert alice.email == ""


@pytest.mark.django_db(transaction=True)
def test_an_address_another_account_took_meanwhile_is_refused(client, alice, bob, mailbox, workers):
    sign_in_as(client, alice)
    ask_for(client, "shared@example.com")
    workers.run_batch()
    bob.email = "Shared@Example.com"
    bob.save()
    response = client.post(confirm_path(mailbox, "shared@example.com"))
    assert response.status_code == 409 and "Another account uses this address" in response.content.decode()
    alice.refresh_from_db()
    assert alice.email == ""


@pytest.mark.parametrize("value, says", [
    ("", "This field is required"),
    ("not an address", "Enter a valid email address"),
    ("x" * 250 + "@example.com", "at most 254 characters"),
    ("alice@example.com", "already your address"),
])
def test_bad_input_is_explained_in_place_and_sends_nothing(client, alice, value, says):
    alice.email = "alice@example.com"
    alice.save()
    sign_in_as(client, alice)
    response = ask_for(client, value)
    assert response.status_code == 400 and says in response.content.decode()
    assert not DBTaskResult.objects.exists()


def test_links_asked_for_too_often_are_refused_with_the_wait(client, alice, settings):
    settings.EMAIL_CHANGE_MAX_PER_HOUR = 2
    sign_in_as(client, alice)
    assert [ask_for(client, f"a{i}@example.com").status_code for i in range(3)] == [302, 302, 429]
    assert "try again in 60 minutes" in ask_for(client, "a9@example.com").content.decode()
    assert get_user_model().objects.get(pk=alice.pk).email == ""
