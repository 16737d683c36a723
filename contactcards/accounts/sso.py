"""Single sign-on through OpenID Connect: mozilla-django-oidc speaks the protocol, this module decides who it is.

mozilla-django-oidc does the code flow: state, nonce and PKCE kept in the session, the code exchanged at
the token endpoint, the ID token's signature checked against the provider's keys (``views`` of this app
wrap its two views). What it leaves to the site is here:

- **The provider** (:func:`provider`): from the settings' endpoints, or discovered once per process
  from OIDC_ISSUER's ``/.well-known/openid-configuration`` (at the first sign-in, never at start).
- **The ID token's own claims**: ``iss`` must be the configured issuer and ``aud`` our client id (the
  library leaves both unchecked), and userinfo must be about the same ``sub``.
- **Who it is** (:func:`account_for`): the account linked to the provider's (issuer, ``sub``) pair, never
  one found by the email address alone; a first sign-in links an existing account only when the
  provider says the address is verified and OIDC_LINK_VERIFIED_EMAIL is on, and otherwise creates one
  (OIDC_CREATE_USERS) without a usable password.
- **Teams** (:func:`sync_memberships`): the groups claim through OIDC_GROUP_MAP, at every sign-in:
  memberships it made are added, changed and removed, each a history entry by "sso"; memberships made
  any other way are left alone; the last owner of a team is never demoted or removed.
- **The second factor** (:func:`second_factor_used`): the ID token's ``amr``/``acr`` say whether the
  provider asked for one; then the session is verified with the account's :class:`SSODevice`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from contactcards.accounts.backends import ModelBackend
from contactcards.accounts.models import SSODevice, SSOIdentity, SSOMembership
from contactcards.common.http import client_ip
from contactcards.history.audit import record_sso_membership
from contactcards.lib.groupmap import parse_group_map, roles_for
from contactcards.models import AuditEntry, Membership, Role, Team

log = logging.getLogger(__name__)

SSO_DEVICE_NAME = "sso"
_USERNAME = re.compile(r"^[\w.@+-]+\Z")  # Django's username rule
_discovered: dict[str, dict] = {}  # issuer -> its discovery document, per process


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read (down, unreachable, not a provider)."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str


def enabled() -> bool:
    """Single sign-on is configured: a client id, and the provider's issuer or its endpoints."""
    return bool(settings.OIDC_RP_CLIENT_ID and (settings.OIDC_ISSUER or (
        settings.OIDC_OP_AUTHORIZATION_ENDPOINT and settings.OIDC_OP_TOKEN_ENDPOINT
        and settings.OIDC_OP_JWKS_ENDPOINT)))


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def provider() -> Provider:
    """The provider's endpoints: each one the settings name, else the issuer's discovery document."""
    issuer = settings.OIDC_ISSUER
    configured = {"authorization_endpoint": settings.OIDC_OP_AUTHORIZATION_ENDPOINT,
                  "token_endpoint": settings.OIDC_OP_TOKEN_ENDPOINT,
                  "userinfo_endpoint": settings.OIDC_OP_USER_ENDPOINT, "jwks_uri": settings.OIDC_OP_JWKS_ENDPOINT}
    document = _discovery(issuer) if issuer and not all(configured.values()) else {}
    values = {key: value or _text(document.get(key)) for key, value in configured.items()}
    missing = [key for key in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not values[key]]
    if missing:
        raise ProviderUnavailable(f"the provider names no {', '.join(missing)}")  # no-i18n
    return Provider(issuer=issuer, **values)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _discovery(issuer: str) -> dict:
    cached = _discovered.get(issuer)
    if cached is not None:
        return cached
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"discovery failed: {type(error).__name__}") from None
    if not isinstance(document, dict) or _text(document.get("issuer")).rstrip("/") != issuer:
        # OpenID Connect Discovery 1.0, 4.3: the document's issuer must be the one asked for
        raise ProviderUnavailable("the discovery document is not the configured issuer's")  # no-i18n
    _discovered[issuer] = document
    return document


# -- Who it is -----------------------------------------------------------------------------------

def _free_username(claims: dict) -> str:
    """A username for a new account: the provider's preferred_username or address if free, else made unique."""
    User = get_user_model()
    candidates = [_text(claims.get("preferred_username")).strip(), _text(claims.get("email")).strip()]
    base = next((c for c in candidates if c and len(c) <= 140 and _USERNAME.match(c)), "")
    if not base:
        base = "sso-" + hashlib.sha256(f"{claims.get('iss')}|{claims['sub']}".encode()).hexdigest()[:12]
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _linked_by_email(claims: dict) -> AbstractBaseUser | None:
    email = _text(claims.get("email")).strip()
    if not (settings.OIDC_LINK_VERIFIED_EMAIL and email and claims.get("email_verified") is True):
        return None
    matches = list(get_user_model().objects.filter(email__iexact=email)[:2])
    return matches[0] if len(matches) == 1 else None


def account_for(claims: dict, *, issuer: str) -> AbstractBaseUser | None:
    """The account of the provider's (issuer, sub): linked before, linked now by a verified address, or new.
    None when there is none and none may be made (OIDC_CREATE_USERS off), or it is deactivated."""
    subject = claims["sub"]
    email = _text(claims.get("email")).strip()[:254]
    now = timezone.now()
    with transaction.atomic():
        identity = SSOIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity is not None:
            SSOIdentity.objects.filter(pk=identity.pk).update(email=email, last_sign_in_at=now)
            user = identity.user
        else:
            user = _linked_by_email(claims)
            if user is None:
                if not settings.OIDC_CREATE_USERS:
                    log.info("Single sign-on: no account is linked to this subject and OIDC_CREATE_USERS is off")
                    return None
                User = get_user_model()
                user = User(username=_free_username(claims), email=email,
                            first_name=_text(claims.get("given_name"))[:150],
                            last_name=_text(claims.get("family_name"))[:150])
                user.set_unusable_password()
                user.save()
            try:
                with transaction.atomic():
                    SSOIdentity.objects.create(user=user, issuer=issuer, subject=subject, email=email,
                                               created_at=now, last_sign_in_at=now)
            except IntegrityError:  # the same person's first sign-in in two tabs at once
                raise SuspiciousOperation("identity linked concurrently") from None
    return user if user.is_active else None


# -- Teams -----------------------------------------------------------------------------------------

def groups_of(claims: dict) -> list[str]:
    """The groups claim as a list of names (one name alone, as some providers send it, is a list of one)."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _last_owner(membership: Membership) -> bool:
    """Locks the team's owner rows, as the settings page does, so two changes cannot both leave it ownerless."""
    if membership.role != Role.OWNER:
        return False
    owners = Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.OWNER)
    return not any(pk != membership.pk for pk in owners.values_list("pk", flat=True))


def sync_memberships(user: AbstractBaseUser, groups: list[str], *, client_ip: str | None = None) -> None:
    """Bring the memberships single sign-on manages in line with ``groups`` through OIDC_GROUP_MAP.

    Added where the map grants a team and the person is not a member; the role changed or the
    membership removed only where single sign-on made it (``SSOMembership``). A team the map names
    but that does not exist is skipped (logged). Nothing at all happens without a map.
    """
    grants = parse_group_map(settings.OIDC_GROUP_MAP)
    if not grants:
        return
    wanted = roles_for(grants, groups)
    with transaction.atomic():
        teams = {team.slug: team for team in Team.objects.filter(slug__in=wanted)}
        for slug in sorted(set(wanted) - set(teams)):
            log.warning("OIDC_GROUP_MAP names team %r, which does not exist: skipped", slug)
        current = {m.team_id: m for m in Membership.objects.select_for_update(of=("self",)).filter(user=user)
                   .select_related("team", "sso")}
        for slug, role in wanted.items():
            team = teams.get(slug)
            if team is None:
                continue
            membership = current.get(team.pk)
            if membership is None:
                membership = Membership.objects.create(team=team, user=user, role=role)
                SSOMembership.objects.create(membership=membership)
                record_sso_membership(team=team, member=user, action=AuditEntry.Action.MEMBER_ADD,
                                      changes={"role": [None, role]}, client_ip=client_ip)
            elif _managed(membership) and membership.role != role:
                if role != Role.OWNER and _last_owner(membership):
                    log.warning("Single sign-on left the last owner of team %r an owner", slug)
                    continue
                before, membership.role = membership.role, role
                membership.save(update_fields=["role"])
                record_sso_membership(team=team, member=user, action=AuditEntry.Action.MEMBER_ROLE,
                                      changes={"role": [before, role]}, client_ip=client_ip)
        for membership in current.values():
            if not _managed(membership) or membership.team.slug in teams:
                continue
            if _last_owner(membership):
                log.warning("Single sign-on did not remove the last owner of team %r", membership.team.slug)
                continue
            record_sso_membership(team=membership.team, member=user, action=AuditEntry.Action.MEMBER_REMOVE,
                                  changes={"role": [membership.role, None]}, client_ip=client_ip)
            membership.delete()


def _managed(membership: Membership) -> bool:
    try:
        return membership.sso is not None
    except SSOMembership.DoesNotExist:
        return False


# -- The second factor -------------------------------------------------------------------------------

def second_factor_used(id_token_claims: dict) -> bool:
    """The ID token says the provider asked for a second factor: an ``amr`` of OIDC_MFA_AMR, or an ``acr``
    of OIDC_MFA_ACR (only the ID token's own claims count, never userinfo's)."""
    amr = id_token_claims.get("amr")
    methods = [amr] if isinstance(amr, str) else amr if isinstance(amr, list) else []
    if any(isinstance(method, str) and method in settings.OIDC_MFA_AMR for method in methods):
        return True
    acr = id_token_claims.get("acr")
    return isinstance(acr, str) and acr in settings.OIDC_MFA_ACR


def provider_device(user: AbstractBaseUser) -> SSODevice:
    """The account's device standing for the provider's second factor (made at first use)."""
    device, _created = SSODevice.objects.get_or_create(user=user, name=SSO_DEVICE_NAME,
                                                       defaults={"confirmed": True})
    return device


# -- The authentication backend ------------------------------------------------------------------------

class SSOBackend(ModelBackend, OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, reading the provider per sign-in and deciding the account as above.

    Django builds every backend for every ``authenticate()`` (a password sign-in too) and for every
    request's user: nothing here is read at construction, and it answers only the callback's call
    (which passes ``nonce``), never a password sign-in. Users load as our ``ModelBackend`` loads them.
    """

    def __init__(self, *args, **kwargs) -> None:
        self.UserModel = get_user_model()
        self._provider: Provider | None = None

    def _endpoints(self) -> Provider:
        if self._provider is None:
            self._provider = provider()
        return self._provider

    # The attributes mozilla-django-oidc reads (its __init__ would read them from the settings).
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802
        return self._endpoints().token_endpoint

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return self._endpoints().userinfo_endpoint

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return self._endpoints().jwks_uri

    @property
    def OIDC_RP_CLIENT_ID(self) -> str:  # noqa: N802
        return settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_RP_CLIENT_SECRET(self) -> str:  # noqa: N802
        return settings.OIDC_RP_CLIENT_SECRET

    @property
    def OIDC_RP_SIGN_ALGO(self) -> str:  # noqa: N802
        return settings.OIDC_RP_SIGN_ALGO

    OIDC_RP_IDP_SIGN_KEY = None  # the keys come from the provider's JWKS

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or "password" in kwargs or not enabled():
            return None
        self.id_token_claims: dict = {}
        return OIDCAuthenticationBackend.authenticate(self, request, **kwargs)

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)

    def verify_token(self, token, **kwargs):
        """The library checks the signature, the expiry and the nonce; the issuer and audience are checked here."""
        payload = OIDCAuthenticationBackend.verify_token(self, token, **kwargs)
        if not isinstance(payload, dict) or not _text(payload.get("sub")) or len(payload["sub"]) > 255:
            raise SuspiciousOperation("ID token without a usable sub")  # no-i18n
        issuer = self._endpoints().issuer
        if issuer and _text(payload.get("iss")).rstrip("/") != issuer:
            raise SuspiciousOperation("ID token from another issuer")  # no-i18n
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")  # no-i18n
        self.id_token_claims = payload
        return payload

    def retrieve_matching_jwk(self, token):
        """The library's key lookup needs a ``kid``; RFC 7515 makes it optional, and a provider with one signing
        key may leave it out: then the set's one key for the token's algorithm, or nothing."""
        header = jwt.get_unverified_header(token)
        if "kid" in header:
            return OIDCAuthenticationBackend.retrieve_matching_jwk(self, token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        keys = response.json().get("keys")
        candidates = [key for key in keys if isinstance(key, dict) and key.get("use", "sig") == "sig"
                      and key.get("alg", header.get("alg")) == header.get("alg")] if isinstance(keys, list) else []
        if len(candidates) != 1:
            raise SuspiciousOperation("no single key for an ID token without kid")  # no-i18n
        return jwt.PyJWK(candidates[0])

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, with userinfo's on top when the provider has that endpoint (same ``sub``)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            info = OIDCAuthenticationBackend.get_userinfo(self, access_token, id_token, payload)
            if not isinstance(info, dict) or info.get("sub") != payload["sub"]:
                raise SuspiciousOperation("userinfo is about another subject")  # no-i18n
            claims.update(info)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer = self._endpoints().issuer or _text(payload.get("iss")).rstrip("/")
        user = account_for(claims, issuer=issuer)
        if user is not None:
            sync_memberships(user, groups_of(claims), client_ip=client_ip(self.request))
            self.request.sso_second_factor = second_factor_used(self.id_token_claims)
        return user
