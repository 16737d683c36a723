"""Invitations by email, through a real SMTP server: signed, one-time, expiring, role chosen up front."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from conftest import PASSWORD
from contactcards.accounts.models import Invitation
from contactcards.models import AuditEntry, Membership
from contactcards.tests.helpers import is_signed_in

pytestmark = pytest.mark.django_db
INVITE_URL = "/t/acme/settings/invitations/"
NEW_PASSWORD = "violet-kettle-harbour-9"


def invite(client, email="dana@example.com", role="viewer", **extra):
    return client.post(INVITE_URL, {"email": email, "role": role, **extra})


def received_link(mailbox, address: str) -> str:
    links = mailbox.links(address)
    assert len(links) == 1, links
    return urlparse(links[-1]).path


def test_an_owner_invites_and_a_newcomer_joins_with_the_role_chosen(client, alice, mailbox):
    client.force_login(alice)
    response = invite(client)
    assert response.status_code == 302
    assert "Invitation sent to dana@example.com" in client.get(response["Location"]).content.decode()
    [message] = mailbox.to("dana@example.com")
    assert message["Subject"] == "alice invited you to Acme on linqadmin"
    assert "as viewer" in mailbox.body(message)
    link = received_link(mailbox, "dana@example.com")

    newcomer = type(client)()
    page = newcomer.get(link)
    assert page.status_code == 200 and "Join Acme" in page.content.decode()
    response = newcomer.post(link, {"username": "dana", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    dana = get_user_model().objects.get(username="dana")
    assert dana.email == "dana@example.com" and dana.check_password(NEW_PASSWORD)
    assert Membership.objects.get(team__slug="acme", user=dana).role == "viewer"
    assert is_signed_in(newcomer) and newcomer.get("/t/acme/").status_code == 200
    rows = AuditEntry.objects.filter(team__slug="acme").order_by("id")
    assert [(r.action, r.username, r.subject, r.changes) for r in rows] == [
        ("member_invite", "alice", "dana@example.com", {"role": [None, "viewer"]}),
        ("member_add", "dana", "dana", {"role": [None, "viewer"]}),
    ]
    # one-time: the same link again is refused
    again = type(client)().get(link)
    assert again.status_code == 410 and "already been used" in again.content.decode()


def test_an_existing_account_signs_in_and_joins(client, alice, charlie, mailbox):
    client.force_login(alice)
    invite(client, email="charlie@example.com", role="editor")
    link = received_link(mailbox, "charlie@example.com")
    other = type(client)()
    page = other.get(link).content.decode()
    assert "Sign in to join" in page
    other.force_login(charlie)
    assert "Join as charlie" in other.get(link).content.decode()
    response = other.post(link)
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert Membership.objects.get(team__slug="acme", user=charlie).role == "editor"
    assert Membership.objects.get(team__slug="other", user=charlie).role == "owner"  # untouched


def test_a_member_keeps_their_role(client, alice, bob, mailbox):
    client.force_login(alice)
    invite(client, email="bob@example.com", role="viewer")
    link = received_link(mailbox, "bob@example.com")
    other = type(client)()
    other.force_login(bob)
    assert "your role stays editor" in other.post(link, follow=True).content.decode()
    assert Membership.objects.get(team__slug="acme", user=bob).role == "editor"


def test_the_password_validators_apply_and_input_is_kept(client, alice, mailbox):
    client.force_login(alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    newcomer = type(client)()
    response = newcomer.post(link, {"username": "dana", "password1": "1", "password2": "1"})
    page = response.content.decode()
    assert response.status_code == 400 and "too short" in page and 'value="dana"' in page
    response = newcomer.post(link, {"username": "alice", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert not Membership.objects.filter(user__username="dana").exists()


@pytest.mark.parametrize("tamper", ["cut", "swap", "garbage", "nul"])
def test_a_tampered_link_is_refused(client, alice, mailbox, tamper):
    client.force_login(alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    token = link.rstrip("/").rsplit("/", 1)[1]
    bad = {"cut": token[:-3], "swap": token[::-1], "garbage": "x" * 3000, "nul": token + "%00"}[tamper]
    response = type(client)().get(f"/invitations/{bad}/")
    assert response.status_code in (404, 410)
    if response.status_code == 410:
        assert "not valid" in response.content.decode()


def test_an_expired_or_withdrawn_invitation_is_refused(client, alice, mailbox):
    client.force_login(alice)
    invite(client, email="old@example.com")
    invite(client, email="gone@example.com")
    old, gone = received_link(mailbox, "old@example.com"), received_link(mailbox, "gone@example.com")
    Invitation.objects.filter(email="old@example.com").update(expires_at=timezone.now() - timedelta(seconds=1))
    invitation = Invitation.objects.get(email="gone@example.com")
    assert client.post(f"/t/acme/settings/invitations/{invitation.pk}/withdraw/").status_code == 302
    outsider = type(client)()
    assert "expired" in outsider.get(old).content.decode()
    assert "withdrawn" in outsider.get(gone).content.decode()
    assert outsider.post(gone, {"username": "gone", "password1": NEW_PASSWORD,
                                "password2": NEW_PASSWORD}).status_code == 410
    assert not get_user_model().objects.filter(username="gone").exists()


def test_a_new_invitation_replaces_the_open_one(client, alice, mailbox):
    client.force_login(alice)
    invite(client, role="viewer")
    first = received_link(mailbox, "dana@example.com")
    mailbox.clear()
    invite(client, role="editor")
    second = received_link(mailbox, "dana@example.com")
    assert "withdrawn or replaced" in type(client)().get(first).content.decode()
    assert type(client)().get(second).status_code == 200


def test_pending_invitations_are_listed_for_owners(client, alice, vera, mailbox):
    client.force_login(alice)
    invite(client)
    assert "dana@example.com" in client.get("/t/acme/settings/").content.decode()
    client.force_login(vera)
    assert "dana@example.com" not in client.get("/t/acme/settings/").content.decode()


def test_bad_input_is_explained_and_kept(client, alice, mailbox):
    client.force_login(alice)
    response = invite(client, email="not-an-address", role="boss")
    page = response.content.decode()
    assert response.status_code == 400 and "Enter a valid email address" in page
    assert 'value="not-an-address"' in page and "Select a valid choice" in page
    assert mailbox.messages == [] and not Invitation.objects.exists()


def test_when_the_mail_server_is_down_the_owner_gets_the_link(client, alice, mailbox, settings):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = sock.getsockname()[1]
    client.force_login(alice)
    response = invite(client)
    page = response.content.decode()
    assert response.status_code == 200 and "could not be sent" in page and "/invitations/" in page
    assert Invitation.objects.filter(email="dana@example.com").exists()


@pytest.mark.parametrize("persona,status", [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_invite(client, personas, persona, status, mailbox):
    client.force_login(personas[persona])
    assert client.get(INVITE_URL).status_code == status
    assert invite(client).status_code == status
    assert mailbox.messages == [] and not Invitation.objects.exists()


def test_owners_of_another_team_cannot_withdraw_ours(client, alice, charlie, mailbox):
    client.force_login(alice)
    invite(client)
    invitation = Invitation.objects.get()
    client.force_login(charlie)
    assert client.post(f"/t/other/settings/invitations/{invitation.pk}/withdraw/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_signup_password_is_never_in_the_page_or_log(client, alice, mailbox, caplog):
    client.force_login(alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    response = type(client)().post(link, {"username": "dana", "password1": PASSWORD + "X", "password2": "other"})
    assert PASSWORD + "X" not in response.content.decode()
    assert PASSWORD + "X" not in caplog.text
