"""Resending an invitation (a freshly signed link, a new mail via a real SMTP server); the members' table."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.utils import timezone

from contactcards.accounts.models import Invitation
from contactcards.models import AuditEntry
from tests.support.helpers import sign_in_as

pytestmark = pytest.mark.django_db


def invited(client, alice, mailbox) -> Invitation:
    sign_in_as(client, alice)
    client.post("/t/acme/settings/invitations/", {"email": "dana@example.com", "role": "viewer"})
    return Invitation.objects.get(email="dana@example.com")


def resend_url(invitation: Invitation) -> str:
    return f"/t/acme/settings/invitations/{invitation.pk}/resend/"


def test_an_owner_resends_the_same_link_and_it_is_recorded(client, alice, mailbox):
    invitation = invited(client, alice, mailbox)
    [first] = mailbox.links("dana@example.com")
    mailbox.clear()
    response = client.post(resend_url(invitation))
    assert response.status_code == 302
    [again] = mailbox.links("dana@example.com")
    assert type(client)().get(urlparse(first).path).status_code == 200  # the first mail's link still works
    rows = AuditEntry.objects.filter(action=AuditEntry.Action.MEMBER_INVITE, subject="dana@example.com")
    assert sorted(bool(row.changes.get("resent")) for row in rows) == [False, True]
    page = client.get("/t/acme/settings/").content.decode()
    assert 'data-copy="http' in page and "Send again" in page
    assert type(client)().get(urlparse(again).path).status_code == 200


def test_resend_is_for_owners_of_the_team_only(client, personas, mailbox):
    invitation = invited(client, personas["owner"], mailbox)
    mailbox.clear()
    for name, status in (("editor", 403), ("viewer", 403), ("outsider", 404)):
        sign_in_as(client, personas[name])
        assert client.post(resend_url(invitation)).status_code == status, name
    sign_in_as(client, personas["owner"])
    assert client.get(resend_url(invitation)).status_code == 405
    assert mailbox.messages == []


def test_a_withdrawn_or_unknown_invitation_cannot_be_resent(client, alice, mailbox):
    invitation = invited(client, alice, mailbox)
    Invitation.objects.filter(pk=invitation.pk).update(revoked_at=timezone.now())
    mailbox.clear()
    assert client.post(resend_url(invitation)).status_code == 404
    assert client.post("/t/acme/settings/invitations/999999/resend/").status_code == 404
    assert mailbox.messages == []


def test_members_table_shows_email_and_last_sign_in(client, alice, bob):
    bob.email = "bob@example.com"
    bob.last_login = None
    bob.save(update_fields=["email", "last_login"])
    sign_in_as(client, alice)
    page = client.get("/t/acme/settings/").content.decode()
    assert "bob@example.com" in page and "Last signed in" in page and "never" in page
    alice.refresh_from_db()
    assert alice.last_login is not None and page.count("<time datetime=") >= 1
