"""Invitations: create and email a signed one-time link, read it back, accept it.

The link is ``signing.dumps({"i": id, "n": nonce})`` with a timestamp: it cannot be forged or
altered, it expires (INVITATION_MAX_AGE_DAYS), and the row it names makes it one-time
(``accepted_at``) and revocable (``revoked_at``). A newer invitation to the same address
replaces an open older one.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from contactcards.accounts.models import Invitation
from contactcards.models import AuditEntry, Membership, Team
from contactcards.services.audit import record_team_change

log = logging.getLogger(__name__)
_SALT = "linqadmin.invitation"


class InvitationError(Exception):
    """The link cannot be used; the message says why and what to do."""


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    emailed: bool
    link: str


def invitation_create(*, team: Team, invited_by: AbstractBaseUser, email: str, role: str,
                      link_for: Callable[[str], str], client_ip: str | None = None) -> InvitationSent:
    """Record the invitation (replacing an open one to the same address), audit it, email the link."""
    email = email.strip()
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(team=team, email__iexact=email, accepted_at=None, revoked_at=None).update(
            revoked_at=now)
        invitation = Invitation.objects.create(
            team=team, email=email, role=role, invited_by=invited_by, created_at=now,
            expires_at=now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        )
        record_team_change(team=team, user=invited_by, action=AuditEntry.Action.MEMBER_INVITE, subject=email,
                           changes={"role": [None, role]}, client_ip=client_ip)
    link = link_for(invitation_token(invitation))
    context = {"invitation": invitation, "link": link, "inviter": invited_by.get_username(),
               "days": settings.INVITATION_MAX_AGE_DAYS}
    try:
        send_mail(
            subject=render_to_string("accounts/email/invitation_subject.txt", context).strip(),
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None, recipient_list=[email],
        )
    except (smtplib.SMTPException, OSError) as error:
        log.warning("Invitation email to team %s could not be sent: %s", team.slug, type(error).__name__)
        return InvitationSent(invitation=invitation, emailed=False, link=link)
    return InvitationSent(invitation=invitation, emailed=True, link=link)


def invitation_revoke(*, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None).update(revoked_at=timezone.now())


def invitation_from_token(token: str) -> Invitation:
    """The open invitation this link names, or InvitationError saying why it cannot be used."""
    not_valid = InvitationError(_("This invitation link is not valid. Check that you opened the whole link from "
                                "the email, or ask an owner of the team to invite you again."))
    expired = InvitationError(_("This invitation has expired. Ask an owner of the team to invite you again."))
    try:
        data = signing.loads(token[:1000], salt=_SALT, max_age=timedelta(days=settings.INVITATION_MAX_AGE_DAYS))
    except signing.SignatureExpired:
        raise expired from None
    except (signing.BadSignature, ValueError):
        raise not_valid from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int) or not isinstance(data.get("n"), str):
        raise not_valid
    invitation = Invitation.objects.select_related("team").filter(pk=data["i"], nonce=data["n"]).first()
    if invitation is None:
        raise not_valid
    if invitation.accepted_at is not None:
        raise InvitationError(_("This invitation has already been used. Sign in to reach the team."))
    if invitation.revoked_at is not None:
        raise InvitationError(_("This invitation was withdrawn or replaced by a newer one. Use the newest email, "
                              "or ask an owner of the team to invite you again."))
    if invitation.expires_at <= timezone.now():
        raise expired
    return invitation


def invitation_accept(*, invitation: Invitation, user: AbstractBaseUser, client_ip: str | None = None) -> Membership:
    """Join the team with the invitation's role; the link is spent whatever happens next.

    Someone who already belongs to the team keeps the role they have (an invitation never
    demotes, and promoting is an owner's decision on the settings page).
    """
    with transaction.atomic():
        spent = Invitation.objects.filter(pk=invitation.pk, accepted_at=None, revoked_at=None,
                                          expires_at__gt=timezone.now()).update(
            accepted_at=timezone.now(), accepted_by=user)
        if not spent:  # a concurrent accept, or it expired/was withdrawn after the page was shown
            raise InvitationError(_("This invitation has already been used or is no longer valid."))
        membership, created = Membership.objects.get_or_create(
            team=invitation.team, user=user, defaults={"role": invitation.role})
        if created:
            record_team_change(team=invitation.team, user=user, action=AuditEntry.Action.MEMBER_ADD,
                               subject=user.get_username(), changes={"role": [None, invitation.role]},
                               client_ip=client_ip)
    return membership


def account_create(*, username: str, password: str, email: str = "") -> AbstractBaseUser:
    """A new account; raises ValidationError (username rules and uniqueness, the password validators).

    The invitation page and ``manage.py addmember --create`` both create accounts here, so a
    password the validators refuse on the page is refused on the command line too.
    """
    user = get_user_model()(username=username, email=email)
    validate_password(password, user=user)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def invitation_sign_up(*, invitation: Invitation, username: str, password: str,
                       client_ip: str | None = None) -> tuple[AbstractBaseUser, Membership]:
    """Create the account with the invited address, then accept."""
    with transaction.atomic():
        user = account_create(username=username, password=password, email=invitation.email)
        membership = invitation_accept(invitation=invitation, user=user, client_ip=client_ip)
    return user, membership


def team_two_factor_set(*, team: Team, user: AbstractBaseUser, required: bool,
                        client_ip: str | None = None) -> bool:
    """Turn the team's two-factor requirement on or off; False (and no history row) when unchanged."""
    with transaction.atomic():
        changed = Team.objects.filter(pk=team.pk).exclude(require_two_factor=required).update(
            require_two_factor=required)
        if changed:
            record_team_change(team=team, user=user, action=AuditEntry.Action.TWO_FACTOR_POLICY,
                               changes={"require_two_factor": [not required, required]}, client_ip=client_ip)
    team.require_two_factor = required
    return bool(changed)
