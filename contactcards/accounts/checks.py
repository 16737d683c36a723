"""Single sign-on's configuration, checked at start: a system check (every manage.py command) and
``linqadmin.checks.require_configured`` (gunicorn refuses to serve). Read from the settings when
called, so a test's settings are checked as they are."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from contactcards.lib.groupmap import GroupMapError, parse_group_map

SIGN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


def sso_problems() -> list[str]:
    problems = []
    endpoints = [settings.OIDC_OP_AUTHORIZATION_ENDPOINT, settings.OIDC_OP_TOKEN_ENDPOINT,
                 settings.OIDC_OP_JWKS_ENDPOINT]
    client_id = settings.OIDC_RP_CLIENT_ID
    if client_id and not settings.OIDC_ISSUER and not all(endpoints):
        problems.append("OIDC_CLIENT_ID is set: set OIDC_ISSUER too (or OIDC_AUTHORIZATION_ENDPOINT, "
                        "OIDC_TOKEN_ENDPOINT and OIDC_JWKS_ENDPOINT).")
    if (settings.OIDC_ISSUER or any(endpoints)) and not client_id:
        problems.append("The OpenID Connect provider is set (OIDC_ISSUER or its endpoints) but OIDC_CLIENT_ID is not.")
    if settings.SSO_ONLY and not client_id:
        problems.append("SSO_ONLY is on but single sign-on is not configured (OIDC_CLIENT_ID, OIDC_ISSUER).")
    if settings.OIDC_RP_SIGN_ALGO not in SIGN_ALGORITHMS:
        problems.append(f"OIDC_SIGN_ALGO must be one of {', '.join(SIGN_ALGORITHMS)} (signed with the provider's "
                        f"keys), not {settings.OIDC_RP_SIGN_ALGO!r}.")
    if "openid" not in settings.OIDC_RP_SCOPES.split():
        problems.append(f"OIDC_SCOPES must include openid, not {settings.OIDC_RP_SCOPES!r}.")
    if settings.OIDC_GROUP_MAP.strip() and not settings.OIDC_GROUPS_CLAIM.strip():
        problems.append("OIDC_GROUP_MAP is set but OIDC_GROUPS_CLAIM is empty.")
    try:
        parse_group_map(settings.OIDC_GROUP_MAP)
    except GroupMapError as error:
        problems.append(str(error))
    return problems


@register()
def sso_configuration(app_configs=None, **kwargs) -> list[Error]:
    return [Error(problem, hint="README \"Single sign-on\" says what each setting is.", id=f"accounts.E10{index}")
            for index, problem in enumerate(sso_problems(), start=1)]
