"""Invitations to a team, each account's session epoch ("sign out everywhere"), password-reset requests."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from contactcards.models import Membership, Role, Team


def _nonce() -> str:
    return secrets.token_urlsafe(16)


class Invitation(models.Model):
    """An owner's invitation to join a team with a role chosen up front.

    The emailed link carries a signed, timestamped reference to this row (see ``services``); the
    row makes it one-time (``accepted_at``) and revocable (``revoked_at``). Rows are kept after
    use: they say who invited whom, and the history has the same facts.
    """

    team = models.ForeignKey(Team, models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    nonce = models.CharField(max_length=32, default=_nonce, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "accepted_at", "revoked_at"], name="invitation_team_open")]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.team} as {self.role}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class AccountSecurity(models.Model):
    """Per account: sessions stamped with an older epoch than this are signed out on their next request."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, primary_key=True,
                                related_name="account_security")
    session_epoch = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "account security"

    def __str__(self) -> str:
        return f"session epoch {self.session_epoch} of {self.user}"


class ResetRequest(models.Model):
    """One password-reset email asked for, counted against the typed address and against the client's IP.

    Each request that is let through leaves two rows (one per ``key``); the limits count the rows
    of the last window (``services.password_reset_request``). ``key`` is a keyed hash, so the
    table says neither which addresses were typed nor from where. Rows older than the window are
    deleted as new requests come in.
    """

    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="reset_request_key_at"),
                   models.Index(fields=["at"], name="reset_request_at")]

    def __str__(self) -> str:
        return f"reset request at {self.at:%Y-%m-%d %H:%M:%S}"


class SSOIdentity(models.Model):
    """A person at the identity provider (its issuer and ``sub``, which never change) and their account here.

    Single sign-on finds the account by this pair, never by the email address alone: an address can
    be reused or changed at the provider, the subject cannot. The address links a first sign-in to an
    existing account only when the provider says it is verified and OIDC_LINK_VERIFIED_EMAIL is on.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="sso_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    email = models.EmailField(blank=True)  # as the provider said at the last sign-in
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")]
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class SSOMembership(models.Model):
    """Marks a team membership as made by single sign-on's group map: each sign-in may change its role or
    remove it. Memberships without this mark (invitations, the settings page, the command line) are
    never touched by single sign-on."""

    membership = models.OneToOneField(Membership, models.CASCADE, primary_key=True, related_name="sso")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("membership managed by single sign-on")

    def __str__(self) -> str:
        return f"single sign-on manages {self.membership_id}"  # no-i18n


class SSODevice(Device):
    """The identity provider's second factor, as a django-otp device: a sign-in whose ID token says a second
    factor was used (``amr``/``acr``) is verified with it, so a team's two-factor requirement is met. It
    never accepts a code (nothing can be typed into it), and sign-in never asks it for one."""

    class Meta(Device.Meta):
        verbose_name = _("identity provider's second factor")

    def verify_token(self, token) -> bool:
        return False
