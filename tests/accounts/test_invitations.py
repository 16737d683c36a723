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
from tests.support.helpers import forms_on, is_signed_in, sign_in_as

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
    sign_in_as(client, alice)
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


def with_email(user, address: str):
    user.email = address
    user.save(update_fields=["email"])
    return user


def invitation_for(client, mailbox, *, owner, member, address: str, role: str, sent_to: str = "") -> str:
    """``member`` (whose address is ``address``) holds the link ``owner`` sent to ``sent_to`` (by default
    that address); ``client`` stays signed in as ``owner``."""
    with_email(member, address)
    sign_in_as(client, owner)
    invite(client, email=sent_to or address, role=role)
    return received_link(mailbox, sent_to or address)


def test_an_existing_account_signs_in_and_joins(client, alice, charlie, mailbox):
    link = invitation_for(client, mailbox, owner=alice, member=charlie, address="charlie@example.com", role="editor")
    other = type(client)()
    page = other.get(link).content.decode()
    assert "Sign in to join" in page
    sign_in_as(other, charlie)
    assert "Join as charlie" in other.get(link).content.decode()
    response = other.post(link)
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert Membership.objects.get(team__slug="acme", user=charlie).role == "editor"
    assert Membership.objects.get(team__slug="other", user=charlie).role == "owner"  # untouched


def test_a_member_keeps_their_role(client, alice, bob, mailbox):
    link = invitation_for(client, mailbox, owner=alice, member=bob, address="bob@example.com", role="viewer")
    other = type(client)()
    sign_in_as(other, bob)
    assert "your role stays editor" in other.post(link, follow=True).content.decode()
    assert Membership.objects.get(team__slug="acme", user=bob).role == "editor"


def test_the_password_validators_apply_and_input_is_kept(client, alice, mailbox):
    sign_in_as(client, alice)
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
    sign_in_as(client, alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    token = link.rstrip("/").rsplit("/", 1)[1]
    bad = {"cut": token[:-3], "swap": token[::-1], "garbage": "x" * 3000, "nul": token + "%00"}[tamper]
    response = type(client)().get(f"/invitations/{bad}/")
    assert response.status_code in (404, 410)
    if response.status_code == 410:
        assert "not valid" in response.content.decode()


def test_an_expired_or_withdrawn_invitation_is_refused(client, alice, mailbox):
    sign_in_as(client, alice)
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
    sign_in_as(client, alice)
    invite(client, role="viewer")
    first = received_link(mailbox, "dana@example.com")
    mailbox.clear()
    invite(client, role="editor")
    second = received_link(mailbox, "dana@example.com")
    assert "withdrawn or replaced" in type(client)().get(first).content.decode()
    assert type(client)().get(second).status_code == 200


def test_pending_invitations_are_listed_for_owners(client, alice, vera, mailbox):
    sign_in_as(client, alice)
    invite(client)
    assert "dana@example.com" in client.get("/t/acme/settings/").content.decode()
    sign_in_as(client, vera)
    assert "dana@example.com" not in client.get("/t/acme/settings/").content.decode()


def test_bad_input_is_explained_and_kept(client, alice, mailbox):
    sign_in_as(client, alice)
    response = invite(client, email="not-an-address", role="boss")
    page = response.content.decode()
    assert response.status_code == 400 and "Enter a valid email address" in page
    assert 'value="not-an-address"' in page and "Select a valid choice" in page
    assert mailbox.messages == [] and not Invitation.objects.exists()


# -- the invitation is for the invited address ------------------------------------------------------

@pytest.mark.parametrize("address", ["charlie@other.example", ""])
def test_an_account_with_another_address_cannot_accept(client, alice, charlie, mailbox, address):
    with_email(charlie, address)
    sign_in_as(client, alice)
    invite(client, email="dana@example.com", role="editor")
    link = received_link(mailbox, "dana@example.com")
    holder = type(client)()  # the link was forwarded, or read over someone's shoulder
    sign_in_as(holder, charlie)
    page = holder.get(link)
    html = page.content.decode()
    assert page.status_code == 403 and 'id="invitation-someone-else"' in html
    assert "This invitation was sent to dana@example.com" in html and "You are signed in as charlie" in html
    assert (f"whose account uses {address}" if address else "whose account has no email address") in html
    assert "Join as charlie" not in html
    response = holder.post(link)
    assert response.status_code == 403
    assert not Membership.objects.filter(team__slug="acme", user=charlie).exists()
    assert not AuditEntry.objects.filter(team__slug="acme", action="member_add").exists()
    # the link still works for the person it was sent to
    assert Invitation.objects.get(email="dana@example.com").is_open
    dana = type(client)()
    response = dana.post(link, {"username": "dana", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302 and Membership.objects.get(team__slug="acme", user__username="dana")


def test_the_address_matches_whatever_its_case(client, alice, charlie, mailbox):
    link = invitation_for(client, mailbox, owner=alice, member=charlie,
                          address="charlie@example.com", sent_to="Charlie@EXAMPLE.com", role="viewer")
    other = type(client)()
    sign_in_as(other, charlie)
    assert other.post(link).status_code == 302
    assert Membership.objects.get(team__slug="acme", user=charlie).role == "viewer"


def test_signing_out_from_the_refusal_comes_back_to_the_invitation(client, alice, charlie, mailbox):
    sign_in_as(client, alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    holder = type(client)()
    sign_in_as(holder, charlie)
    form = next(f for f in forms_on(holder.get(link))
                if f["attrs"].get("action") == "/accounts/logout/" and "next" in f["fields"])
    response = holder.post("/accounts/logout/", form["fields"])
    assert response.status_code == 302 and response["Location"] == link
    assert not is_signed_in(holder) and "Create account and join" in holder.get(link).content.decode()


def test_the_service_refuses_someone_else_too(alice, charlie, team):
    from contactcards.accounts import services

    sent = services.invitation_create(team=team, invited_by=alice, email="dana@example.com", role="viewer")
    with pytest.raises(services.InvitationForSomeoneElse):
        services.invitation_accept(invitation=sent.invitation, user=charlie)
    assert sent.invitation.is_open and not Membership.objects.filter(team=team, user=charlie).exists()


# -- links: PUBLIC_URL, never the request's Host -----------------------------------------------------

def test_the_link_uses_public_url_whatever_host_the_request_named(client, alice, mailbox, settings):
    settings.PUBLIC_URL = "https://cards.example.com"
    sign_in_as(client, alice)
    assert invite(client, HTTP_HOST="127.0.0.1:6666").status_code == 302
    [link] = mailbox.links("dana@example.com")
    assert link.startswith("https://cards.example.com/invitations/")
    assert type(client)().get(urlparse(link).path).status_code == 200


def test_without_public_url_the_owner_gets_the_path_and_no_email_goes_out(client, alice, mailbox, settings):
    settings.PUBLIC_URL = ""
    sign_in_as(client, alice)
    response = invite(client, HTTP_HOST="127.0.0.1:6666")
    page = response.content.decode()
    assert response.status_code == 200 and "PUBLIC_URL" in page and "is not set" in page
    assert "<code>/invitations/" in page and "127.0.0.1:6666" not in page
    assert mailbox.messages == [] and Invitation.objects.filter(email="dana@example.com").exists()


def test_in_development_links_use_the_development_server(settings):
    from contactcards.accounts.services import public_url

    settings.PUBLIC_URL, settings.DEBUG = "", True
    assert public_url() == "http://127.0.0.1:8000"
    settings.DEBUG = False
    assert public_url() is None
    settings.PUBLIC_URL = "https://cards.example.com/"
    assert public_url() == "https://cards.example.com"


def test_the_deploy_check_warns_without_public_url(settings):
    from linqadmin.checks import public_url as check_public_url

    settings.PUBLIC_URL, settings.DEBUG = "", False
    assert [warning.id for warning in check_public_url()] == ["linqadmin.W001"]
    settings.PUBLIC_URL = "https://cards.example.com"
    assert check_public_url() == []


def test_when_the_mail_server_is_down_the_owner_gets_the_link(client, alice, mailbox, settings):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = sock.getsockname()[1]
    sign_in_as(client, alice)
    response = invite(client)
    page = response.content.decode()
    assert response.status_code == 200 and "could not be sent" in page and "/invitations/" in page
    assert Invitation.objects.filter(email="dana@example.com").exists()


@pytest.mark.parametrize("persona,status", [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_invite(client, personas, persona, status, mailbox):
    sign_in_as(client, personas[persona])
    assert client.get(INVITE_URL).status_code == status
    assert invite(client).status_code == status
    assert mailbox.messages == [] and not Invitation.objects.exists()


def test_owners_of_another_team_cannot_withdraw_ours(client, alice, charlie, mailbox):
    sign_in_as(client, alice)
    invite(client)
    invitation = Invitation.objects.get()
    sign_in_as(client, charlie)
    assert client.post(f"/t/other/settings/invitations/{invitation.pk}/withdraw/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_the_signup_password_is_never_in_the_page_or_log(client, alice, mailbox, caplog):
    sign_in_as(client, alice)
    invite(client)
    link = received_link(mailbox, "dana@example.com")
    response = type(client)().post(link, {"username": "dana", "password1": PASSWORD + "X", "password2": "other"})
    assert PASSWORD + "X" not in response.content.decode()
    assert PASSWORD + "X" not in caplog.text
