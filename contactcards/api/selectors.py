"""Reads for API tokens: a person's tokens, a team's tokens, the token a request presents."""

from __future__ import annotations

import hashlib

from contactcards.linq import Card
from contactcards.models import ApiToken, CardMirror, Job, Membership, PhoneNumber, Role, Scope, Team

PREFIX = "lqa_"  # every token starts with it (secret scanners can look for it)

# What each role may let a token do: viewers read, editors also write, owners also administer.
ROLE_SCOPES = {
    Role.VIEWER: (Scope.READ,),
    Role.EDITOR: (Scope.READ, Scope.WRITE),
    Role.OWNER: (Scope.READ, Scope.WRITE, Scope.ADMIN),
}


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_for_secret(secret: str) -> ApiToken | None:
    """The token whose secret this is (revoked and expired ones too: the caller says why not), with its
    team and person. Only well-formed secrets are looked up."""
    if not secret.startswith(PREFIX) or not 20 <= len(secret) <= 100 or not secret.isascii():
        return None
    return ApiToken.objects.select_related("team", "user").filter(digest=digest_of(secret)).first()


def token_membership(token: ApiToken) -> Membership | None:
    """The membership that lets the token's person into its team now (None: no longer a member)."""
    return Membership.objects.filter(team_id=token.team_id, user_id=token.user_id).select_related("team").first()


def scopes_allowed(membership: Membership | None) -> tuple[str, ...]:
    if membership is None:
        return ()
    return tuple(ROLE_SCOPES.get(membership.role, ()))


def tokens_of_user(*, user_id: int, team: Team | None = None) -> list[ApiToken]:
    tokens = ApiToken.objects.filter(user_id=user_id).select_related("team")
    if team is not None:
        tokens = tokens.filter(team=team)
    return list(tokens)


def tokens_of_team(*, team: Team) -> list[ApiToken]:
    return list(ApiToken.objects.filter(team=team).select_related("user"))


def token_of_team(*, team: Team, pk: int) -> ApiToken | None:
    return ApiToken.objects.filter(team=team, pk=pk).select_related("team", "user").first()


def team_number(*, team: Team, e164: str):
    """One of the team's numbers (None for any other value: the API answers 404)."""
    if len(e164) > 16:
        return None
    number = PhoneNumber.objects.filter(team=team, e164=e164).first()
    if number is not None:
        number.team = team
    return number


def numbers_tags(*, team: Team, e164s: list[str]) -> dict[str, list[str]]:
    """The tags of some of the team's numbers, by number (one query)."""
    tags: dict[str, list[str]] = {e164: [] for e164 in e164s}
    rows = (PhoneNumber.tags.through.objects.filter(phonenumber__team=team, phonenumber__e164__in=e164s)
            .order_by("tag__name").values_list("phonenumber__e164", "tag__name"))
    for e164, name in rows:
        tags[e164].append(name)
    return tags


def mirrored_card(*, number):
    """The card as the mirror last knew it (a replayed save answers with it: no call to Linq)."""
    row = CardMirror.objects.filter(number=number).first()
    if row is None or not row.has_card:
        return None
    return Card(phone_number=number.e164, first_name=row.first_name, last_name=row.last_name or None,
                image_url=row.image_url or None, is_active=row.is_active)


def token_names(*, ids: set[int]) -> dict[int, str]:
    """The names of API tokens, by id (one query; an id whose token is gone is left out)."""
    if not ids:
        return {}
    return dict(ApiToken.objects.filter(pk__in=ids).values_list("pk", "name"))


def team_job(*, team: Team, pk: int):
    if not 0 < pk < 2**62:
        return None
    job = Job.objects.filter(team=team, pk=pk).first()
    if job is not None:
        job.team = team
    return job
