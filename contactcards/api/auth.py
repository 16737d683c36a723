"""Who is calling the API, what they may do, and how often: the bearer token, its scopes, the rate limit.

A request is let in when its token is known, not revoked, not expired, and its person is still a member
of the token's team (``common.access``'s rule: a membership grants access). A scope counts only while the
person's role allows it now: a viewer's token reads, an editor's also writes, an owner's also administers
(``selectors.ROLE_SCOPES``) - a person demoted to viewer cannot write through an older token.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from contactcards.api.selectors import scopes_allowed, token_for_secret, token_membership
from contactcards.api.services import token_used
from contactcards.common.http import client_ip


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer lqa_…``; ``request.auth`` is the ApiToken, ``request.membership`` its membership."""

    keyword = "bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            raise exceptions.AuthenticationFailed(_("Use the Bearer scheme: Authorization: Bearer <token>."))
        token = token_for_secret(parts[1])
        if token is None:
            raise exceptions.AuthenticationFailed(_("Unknown token."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token was revoked."))
        if token.expired:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        membership = token_membership(token)
        if membership is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token's person is no longer a member of its team."))
        token_used(token=token, client_ip=client_ip(request))
        request._request.api_membership = membership
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def token_scopes(request) -> set[str]:
    """What the request's token may do now: its scopes, as far as its person's role still allows them."""
    token = request.auth
    membership = getattr(request._request, "api_membership", None)
    if token is None or membership is None:
        return set()
    return set(token.scopes) & set(scopes_allowed(membership))


class HasScope(permissions.BasePermission):
    """The view's ``scope`` for unsafe methods (``write`` unless it says otherwise), ``read`` for reads."""

    def has_permission(self, request, view) -> bool:
        if request.auth is None:
            raise exceptions.NotAuthenticated()
        needed = "read" if request.method in permissions.SAFE_METHODS else getattr(view, "write_scope", "write")
        if needed not in token_scopes(request):
            self.message = _("This needs the “%(scope)s” scope, and a role in the team that allows it.") % {
                "scope": needed}
            return False
        return True


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """``API_RATE_LIMIT`` requests per token (per client address without one), counted in Django's cache."""

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view) -> str:
        if request.auth is not None:
            return f"throttle_api_token_{request.auth.pk}"
        return f"throttle_api_ip_{client_ip(request._request) or 'unknown'}"


class TokenScheme(OpenApiAuthenticationExtension):
    """The bearer token, in the OpenAPI schema."""

    target_class = TokenAuthentication
    name = "bearer"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer",
                "description": _("An API token (lqa_…), made under a team's settings → API tokens.")}
