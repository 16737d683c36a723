"""API tokens: made (the secret shown once, its digest stored), used (last time and address), revoked.
Making and revoking one are entries of the team's history (``history.audit.record_api_token_change``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from contactcards.api.selectors import PREFIX, ROLE_SCOPES, digest_of
from contactcards.history.audit import record_api_token_change
from contactcards.models import ApiToken, AuditEntry, Membership

# last_used_at is written at most this often per token: a busy script does not write a row per request.
LAST_USED_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class MadeToken:
    token: ApiToken
    secret: str  # shown once, never stored


def token_create(*, membership: Membership, name: str, scopes: list[str], days: int,
                 client_ip: str | None = None) -> MadeToken:
    """A token for the membership's person in its team, for ``scopes`` (refused: a scope the role does not
    allow) and ``days``. Returns the secret, which is never stored and cannot be shown again."""
    allowed = set(ROLE_SCOPES.get(membership.role, ()))
    wanted = [scope for scope in ("read", "write", "admin") if scope in scopes]
    if not wanted or not set(wanted) <= allowed:
        raise ValueError("scopes not allowed for this role")  # the form refuses these first  # no-i18n
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=membership.user, team=membership.team, name=name.strip()[:50], prefix=secret[:12],
            digest=digest_of(secret), scopes=wanted, expires_at=timezone.now() + timedelta(days=days))
        token.team = membership.team
        record_api_token_change(token=token, user=membership.user, action=AuditEntry.Action.API_TOKEN_CREATE,
                                client_ip=client_ip)
    return MadeToken(token=token, secret=secret)


def token_revoke(*, token: ApiToken, user, client_ip: str | None = None) -> bool:
    """Revoke the token now (once: False if it was revoked already)."""
    now = timezone.now()
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=user.get_username())
        if revoked:
            token.revoked_at, token.revoked_by = now, user.get_username()
            record_api_token_change(token=token, user=user, action=AuditEntry.Action.API_TOKEN_REVOKE,
                                    client_ip=client_ip)
    return bool(revoked)


def token_used(*, token: ApiToken, client_ip: str | None) -> None:
    """Remember when and from where the token was last used (at most once a minute per token, or when the
    address changes)."""
    now = timezone.now()
    if (token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY
            and token.last_used_ip == client_ip):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=client_ip)
    token.last_used_at, token.last_used_ip = now, client_ip
