"""The single sign-on group map (OIDC_GROUP_MAP), parsed strictly: no Django, so settings.py can use it.

``OIDC_GROUP_MAP="acme-owners=acme:owner,acme-editors=acme:editor,beta-all=beta:viewer"``: each item
names a group of the identity provider's groups claim, the team (by its slug) its members join, and
their role there. A group may appear more than once (one group for several teams); a person in
several groups of one team gets the highest of their roles. Anything else is refused with a message
that names the item, so a typo stops the app at start instead of quietly granting nothing (or too much).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROLE_RANK = {"viewer": 0, "editor": 1, "owner": 2}  # the team roles (contactcards.teams.models.Role)
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")  # Django's slug rule


class GroupMapError(ValueError):
    """The map cannot be read; the message says which item and why."""


@dataclass(frozen=True)
class Grant:
    group: str
    team: str  # the team's slug
    role: str


def parse_group_map(text: str) -> tuple[Grant, ...]:
    """Every grant of the map, in the order written; GroupMapError for the first item that is wrong."""
    grants: list[Grant] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(text.split(","), start=1):
        item = raw.strip()
        if not item:
            if raw or text.strip():
                raise GroupMapError(f"OIDC_GROUP_MAP item {index} is empty (a doubled or trailing comma?).")  # no-i18n
            continue
        group, equals, target = item.rpartition("=")
        group, target = group.strip(), target.strip()
        if not equals or not group:
            raise GroupMapError(f"OIDC_GROUP_MAP item {index} ({item!r}) must read group=team:role.")  # no-i18n
        team, colon, role = target.partition(":")
        team, role = team.strip(), role.strip().lower()
        if not colon or not team or not role:
            raise GroupMapError(f"OIDC_GROUP_MAP item {index} ({item!r}) must read group=team:role.")  # no-i18n
        if not _SLUG.match(team):
            raise GroupMapError(f"OIDC_GROUP_MAP item {index} ({item!r}): {team!r} is not a team slug "  # no-i18n
                                "(letters, digits, - and _).")
        if role not in ROLE_RANK:
            raise GroupMapError(f"OIDC_GROUP_MAP item {index} ({item!r}): the role must be one of "  # no-i18n
                                f"{', '.join(sorted(ROLE_RANK))}, not {role!r}.")
        if (group, team) in seen:
            raise GroupMapError(f"OIDC_GROUP_MAP item {index} ({item!r}): group {group!r} is mapped to team "  # no-i18n
                                f"{team!r} twice.")
        seen.add((group, team))
        grants.append(Grant(group=group, team=team, role=role))
    return tuple(grants)


def roles_for(grants: tuple[Grant, ...], groups: list[str] | tuple[str, ...] | set[str]) -> dict[str, str]:
    """{team slug: role} for a person in ``groups``: the highest role any of their groups grants per team."""
    member_of = set(groups)
    roles: dict[str, str] = {}
    for grant in grants:
        if grant.group in member_of and ROLE_RANK[grant.role] > ROLE_RANK.get(roles.get(grant.team, ""), -1):
            roles[grant.team] = grant.role
    return roles

