"""Invitations and password resets: the emailed links, who may use them, how often they are sent.

Invitations: the link is ``signing.dumps({"i": id, "n": nonce})`` with a timestamp: it cannot be
forged or altered, it expires (INVITATION_MAX_AGE_DAYS), and the row it names makes it one-time
(``accepted_at``) and revocable (``revoked_at``). A newer invitation to the same address
replaces an open older one. It is for the invited address: a signed-in account that uses
another address cannot accept it (the link may have been forwarded, or seen by someone else).

Password resets: the page only counts the request (per address and per client IP) and queues
the email; the worker looks the address up and sends (``tasks.send_password_reset``). So the
page does the same work, in the same time, whether or not an account uses the address.

Links in emails start with PUBLIC_URL, never with the Host the request came with.
"""

from __future__ import annotations

import logging
import math
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.db.models import Count, Min
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from contactcards.accounts.models import Invitation, ResetRequest
from contactcards.common import taskqueue
from contactcards.history.audit import record_team_change
from contactcards.lib.metrics import record_alert
from contactcards.models import AuditEntry, Membership, Team

log = logging.getLogger(__name__)
_SALT = "linqadmin.invitation"
DEVELOPMENT_URL = "http://127.0.0.1:8000"  # where bin/run's development server answers


# -- Links in emails ---------------------------------------------------------------------------------

def public_url() -> str | None:
    """Where people reach this app, for links in emails: PUBLIC_URL (in development, the dev server).

    Never the request's Host header: that is whatever the client sent, any port included, so a
    link built from it could carry a reset token or an invitation to someone else's server.
    None in production without PUBLIC_URL: no link can be made (``check --deploy`` warns).
    """
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL.rstrip("/")
    return DEVELOPMENT_URL if settings.DEBUG else None


class InvitationError(Exception):
    """The link cannot be used; the message says why and what to do."""


class InvitationForSomeoneElse(InvitationError):
    """The signed-in account does not use the address the invitation was sent to."""


def invitation_is_for(invitation: Invitation, user: AbstractBaseUser) -> bool:
    """Whether ``user``'s account uses the invited address (case aside); an account without one never does."""
    address = (getattr(user, "email", "") or "").strip()
    return bool(address) and address.casefold() == invitation.email.strip().casefold()


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


@dataclass(frozen=True)
class InvitationSent:
    invitation: Invitation
    emailed: bool
    link: str  # absolute (PUBLIC_URL + path), or only the path when PUBLIC_URL is not set
    problem: str = ""  # why it was not emailed: "no_public_url" | "mail_failed"


def invitation_create(*, team: Team, invited_by: AbstractBaseUser, email: str, role: str,
                      client_ip: str | None = None) -> InvitationSent:
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
    return _invitation_mail(invitation, invited_by)


def invitation_link(invitation: Invitation) -> str:
    """The invitation's link: absolute when PUBLIC_URL is set, otherwise only the path."""
    path = reverse("invitation_accept", args=[invitation_token(invitation)])
    base = public_url()
    return path if base is None else base + path


def invitation_resend(*, invitation: Invitation, actor: AbstractBaseUser, client_ip: str | None = None
                      ) -> InvitationSent:
    """Mail the invitation again: same invitation and expiry, a freshly signed link (the old one keeps working).

    Recorded like the invitation, with a ``resent`` fact.
    """
    with transaction.atomic():
        record_team_change(team=invitation.team, user=actor, action=AuditEntry.Action.MEMBER_INVITE,
                           subject=invitation.email, changes={"role": [None, invitation.role], "resent": True},
                           client_ip=client_ip)
    return _invitation_mail(invitation, actor)


def _invitation_mail(invitation: Invitation, invited_by: AbstractBaseUser) -> InvitationSent:
    """Email the link (called after the invitation's transaction committed)."""
    team, email = invitation.team, invitation.email
    link = invitation_link(invitation)
    if public_url() is None:
        log.warning("Invitation email to team %s not sent: PUBLIC_URL is not set", team.slug)
        return InvitationSent(invitation=invitation, emailed=False, link=link, problem="no_public_url")
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
        record_alert("email", False, kind="invitation")
        return InvitationSent(invitation=invitation, emailed=False, link=link, problem="mail_failed")
    record_alert("email", True, kind="invitation")
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
    demotes, and promoting is an owner's decision on the settings page). Only an account that
    uses the invited address may accept (``InvitationForSomeoneElse`` otherwise; the link stays usable).
    """
    if not invitation_is_for(invitation, user):
        raise InvitationForSomeoneElse(_("This invitation was sent to another email address than the one your "
                                         "account uses."))
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


# -- Password reset ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TooManyResets:
    """Refused: the address or the client IP asked for enough links this window; ``minutes`` until it may again."""

    minutes: int


def _limit_key(kind: str, value: str) -> str:
    return salted_hmac("linqadmin.reset-limit", f"{kind}:{value}", algorithm="sha256").hexdigest()


def password_reset_request(*, email: str, client_ip: str | None) -> TooManyResets | None:
    """Count a reset request against the typed address and the client IP; within the limits, queue the email.

    The same statements run whether or not an account uses the address: only the worker looks it
    up. A refused request leaves no rows behind, so asking on and on does not extend the wait.
    Each request inserts its rows before counting, so concurrent requests cannot all slip under a
    limit: the one that makes a count exceed it is refused.
    """
    from contactcards.accounts import tasks  # the task module imports these services

    now = timezone.now()
    window = timedelta(minutes=settings.PASSWORD_RESET_LIMIT_WINDOW_MINUTES)
    limits = {_limit_key("address", email.strip().casefold()): settings.PASSWORD_RESET_MAX_PER_ADDRESS}
    if client_ip:
        limits[_limit_key("ip", client_ip)] = settings.PASSWORD_RESET_MAX_PER_IP
    ResetRequest.objects.filter(at__lte=now - window).delete()
    rows = [ResetRequest.objects.create(key=key, at=now) for key in limits]
    counts = (ResetRequest.objects.filter(key__in=limits, at__gt=now - window)
              .values("key").annotate(n=Count("id"), oldest=Min("at")))
    over = [row for row in counts if row["n"] > limits[row["key"]]]
    if over:
        ResetRequest.objects.filter(pk__in=[row.pk for row in rows]).delete()
        free_at = max(row["oldest"] for row in over) + window
        return TooManyResets(minutes=max(1, math.ceil((free_at - now).total_seconds() / 60)))
    transaction.on_commit(lambda: taskqueue.enqueue(tasks.send_password_reset, email))
    return None


def password_reset_send(*, email: str) -> int:
    """Email a reset link to every active account with a usable password that uses ``email``; how many.

    Run by the worker (never during the request). Django's PasswordResetForm makes the one-time
    token and sends; the link starts with PUBLIC_URL. Without one nothing can be sent.
    """
    base = public_url()
    if base is None:
        log.warning("Password reset email not sent: PUBLIC_URL is not set")
        return 0
    form = _ResetForm({"email": email})
    if not form.is_valid():
        return 0
    recipients = len(list(form.get_users(form.cleaned_data["email"])))
    if recipients:
        parts = urlsplit(base)
        form.save(domain_override=parts.netloc, use_https=parts.scheme == "https",
                  extra_email_context={"base_url": base})
    return recipients


class _ResetForm(PasswordResetForm):
    """Django's reset form, with each email counted for /metrics as sent or failed (Django's own
    ``send_mail`` logs a failure and carries on: the same here, but counted)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        message = EmailMultiAlternatives(subject, render_to_string(email_template_name, context), from_email,
                                         [to_email])
        if html_email_template_name is not None:
            message.attach_alternative(render_to_string(html_email_template_name, context), "text/html")
        try:
            message.send()
        except Exception:  # noqa: BLE001 - as Django's form: log it, go on with the next account
            log.exception("Failed to send password reset email to %s", context["user"].pk)
            record_alert("email", False, kind="password_reset")
            return
        record_alert("email", True, kind="password_reset")
