"""Invitations, password resets and one's own email address: the emailed links, who may use them, how often.

Invitations: the link is ``signing.dumps({"i": id, "n": nonce})`` with a timestamp: it cannot be
forged or altered, it expires (INVITATION_MAX_AGE_DAYS), and the row it names makes it one-time
(``accepted_at``) and revocable (``revoked_at``). A newer invitation to the same address
replaces an open older one. It is for the invited address: a signed-in account that uses
another address cannot accept it (the link may have been forwarded, or seen by someone else).

Password resets: the page only counts the request (per address and per client IP) and queues
the email; the worker looks the address up and sends (``tasks.send_password_reset``). So the
page does the same work, in the same time, whether or not an account uses the address.

Own name and email: the name is saved at once. A new email address is a signed, expiring link mailed
(by the worker) to that address; the address changes only when its owner opens the link signed in as
the same account. The link names the address it replaces, so it works once, and the old address is
told of the change.

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
    if not _send(kind="invitation", to=email, template="accounts/email/invitation", context=context):
        return InvitationSent(invitation=invitation, emailed=False, link=link, problem="mail_failed")
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


def _over_limit(limits: dict[str, int], window: timedelta) -> int | None:
    """Count one request against each key of ``limits`` (key -> most in ``window``); None when within every limit,
    else the minutes until the busiest key is free again (and this request is not counted).

    Each request inserts its rows before counting, so concurrent requests cannot all slip under a
    limit: the one that makes a count exceed it is refused. A refused request leaves no rows behind,
    so asking on and on does not extend the wait.
    """
    now = timezone.now()
    ResetRequest.objects.filter(at__lte=now - window).delete()
    rows = [ResetRequest.objects.create(key=key, at=now) for key in limits]
    counts = (ResetRequest.objects.filter(key__in=limits, at__gt=now - window)
              .values("key").annotate(n=Count("id"), oldest=Min("at")))
    over = [row for row in counts if row["n"] > limits[row["key"]]]
    if not over:
        return None
    ResetRequest.objects.filter(pk__in=[row.pk for row in rows]).delete()
    free_at = max(row["oldest"] for row in over) + window
    return max(1, math.ceil((free_at - now).total_seconds() / 60))


def password_reset_request(*, email: str, client_ip: str | None) -> TooManyResets | None:
    """Count a reset request against the typed address and the client IP; within the limits, queue the email.

    The same statements run whether or not an account uses the address: only the worker looks it up.
    """
    from contactcards.accounts import tasks  # the task module imports these services

    limits = {_limit_key("address", email.strip().casefold()): settings.PASSWORD_RESET_MAX_PER_ADDRESS}
    if client_ip:
        limits[_limit_key("ip", client_ip)] = settings.PASSWORD_RESET_MAX_PER_IP
    minutes = _over_limit(limits, timedelta(minutes=settings.PASSWORD_RESET_LIMIT_WINDOW_MINUTES))
    if minutes is not None:
        return TooManyResets(minutes=minutes)
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


# -- One's own name and email address -------------------------------------------------------------------

_EMAIL_SALT = "linqadmin.email-change"


class EmailLinkRefused(Exception):
    """The confirmation link cannot change the address; ``reason``: expired | invalid | other_account | used | taken."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def profile_update(*, user: AbstractBaseUser, first_name: str, last_name: str) -> None:
    """Save one's own name (shown to teammates beside the user name)."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.save(update_fields=["first_name", "last_name"])


def _address_tag(email: str) -> str:
    """A keyed digest of the address a link replaces: the link works only while that is still the address."""
    return salted_hmac(_EMAIL_SALT, email.casefold(), algorithm="sha256").hexdigest()[:32]


def email_change_request(*, user: AbstractBaseUser, email: str) -> TooManyResets | None:
    """Queue a confirmation link to ``email`` (at most EMAIL_CHANGE_MAX_PER_HOUR an hour per account).

    Nothing changes until the link is opened (``email_change_confirm``).
    """
    from contactcards.accounts import tasks  # the task module imports these services

    minutes = _over_limit({_limit_key("email-change", str(user.pk)): settings.EMAIL_CHANGE_MAX_PER_HOUR},
                          timedelta(hours=1))
    if minutes is not None:
        return TooManyResets(minutes=minutes)
    token = signing.dumps({"u": user.pk, "e": email.strip(), "o": _address_tag(user.email)}, salt=_EMAIL_SALT,
                          compress=True)
    transaction.on_commit(lambda: taskqueue.enqueue(tasks.send_email_change, user.pk, token))
    return None


def email_change_send(*, user_id: int, token: str) -> bool:
    """Mail the confirmation link to the new address (run by the worker); whether it was sent."""
    base = public_url()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if base is None or user is None:
        log.warning("Email confirmation not sent: %s", "PUBLIC_URL is not set" if base is None else "no such account")
        return False
    email = signing.loads(token, salt=_EMAIL_SALT)["e"]
    context = {"username": user.get_username(), "link": base + reverse("email_confirm", args=[token]),
               "hours": settings.EMAIL_CHANGE_MAX_AGE_HOURS}
    return _send(kind="email_change", to=email, template="accounts/email/email_change", context=context)


def _email_claim(token: str) -> dict:
    """The link's claim (account, new address, the address it replaces); raises EmailLinkRefused."""
    try:
        claim = signing.loads(token, salt=_EMAIL_SALT, max_age=timedelta(hours=settings.EMAIL_CHANGE_MAX_AGE_HOURS))
    except signing.SignatureExpired:
        raise EmailLinkRefused("expired") from None
    except signing.BadSignature:
        raise EmailLinkRefused("invalid") from None
    if not (isinstance(claim, dict) and isinstance(claim.get("u"), int) and isinstance(claim.get("e"), str)
            and isinstance(claim.get("o"), str)):
        raise EmailLinkRefused("invalid")
    return claim


def email_change_pending(token: str) -> str:
    """The address a whole, unexpired link would set (for the confirmation page); raises EmailLinkRefused."""
    return _email_claim(token)["e"]


def email_change_confirm(*, user: AbstractBaseUser, token: str) -> str:
    """Set the address the link names, for the signed-in ``user``; the new address. The old one is told.

    Raises EmailLinkRefused: expired or altered, meant for another account, already used (the address
    it replaces is no longer the account's), or the address is now another account's.
    """
    from contactcards.accounts import tasks  # the task module imports these services

    claim = _email_claim(token)
    user_id, email, tag = claim["u"], claim["e"], claim["o"]
    if user_id != user.pk:
        raise EmailLinkRefused("other_account")
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if tag != _address_tag(user.email):
            raise EmailLinkRefused("used")
        if User.objects.filter(email__iexact=email, is_active=True).exclude(pk=user.pk).exists():
            raise EmailLinkRefused("taken")
        old = user.email
        user.email = email
        user.save(update_fields=["email"])
        if old:
            transaction.on_commit(lambda: taskqueue.enqueue(tasks.send_email_changed_notice, user.pk, old))
    return email


def email_changed_notice_send(*, user_id: int, old_email: str) -> bool:
    """Tell the address an account no longer uses that it was replaced (run by the worker)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return False
    context = {"username": user.get_username(), "email": user.email, "base": public_url() or ""}
    return _send(kind="email_changed", to=old_email, template="accounts/email/email_changed", context=context)


def _send(*, kind: str, to: str, template: str, context: dict) -> bool:
    """One plain-text mail from ``template``.txt and ``template``_subject.txt; counted for /metrics."""
    try:
        send_mail(subject=render_to_string(f"{template}_subject.txt", context).strip(),
                  message=render_to_string(f"{template}.txt", context), from_email=None, recipient_list=[to])
    except (smtplib.SMTPException, OSError) as error:
        log.warning("The %s email could not be sent: %s", kind, type(error).__name__)
        record_alert("email", False, kind=kind)
        return False
    record_alert("email", True, kind=kind)
    return True
