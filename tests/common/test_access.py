"""The cross-team probe: an outsider gets 404 from every URL of another team, whatever the method.

It walks the project's URL resolver, so a route added later is probed too. Each
parameter is filled with an object of the team the outsider does not belong to
(acme): its slug, one of its numbers, one of its memberships or audit entries.
Routes with an object id are also probed through the outsider's own team's slug,
so an id from another team cannot be reached by swapping the slug (IDOR).
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, Membership, Photo
from tests.support.helpers import sign_in_as

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def team_routes() -> list[tuple[str, str]]:
    """(route, view name) for every URL pattern of the project that names a team."""
    found: list[tuple[str, str]] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern) and "<slug:slug>" in route:
                found.append((route, entry.name or entry.lookup_str))

    walk(get_resolver().url_patterns, "")
    return found


def fill(route: str, *, slug: str, values: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        converter, name = match.group("converter") or "str", match.group("name")
        if name == "slug":
            return slug
        if name == "e164":
            return values["e164"]
        if converter == "int":
            if "photo" in name:
                return values["photo"]
            return values["membership"] if "member" in name else values["entry"]
        return values.get(name, "x")

    return "/" + PARAM.sub(value, route.lstrip("^").rstrip("$"))


@pytest.fixture
def acme_objects(team, alice, bob, vera):
    number = team.numbers.get(e164=CARD_NUMBER)
    entry = AuditEntry.objects.create(
        team=team, number=number, phone_number=CARD_NUMBER, user=alice, username="alice",
        action=AuditEntry.Action.UPDATE, outcome=AuditEntry.Outcome.SUCCESS,
    )
    membership = Membership.objects.get(team=team, user=bob)
    photo = Photo.objects.create(team=team, source="upload", url="https://photos.example.com/a.jpg",
                                 storage_key="a.jpg", width=1024, height=1024, format="JPEG", size_bytes=1)
    return {"e164": CARD_NUMBER, "entry": str(entry.pk), "membership": str(membership.pk), "photo": str(photo.pk)}


def test_the_probe_covers_the_team_routes():
    names = {name for _, name in team_routes()}
    assert {"dashboard", "team_history", "card", "number_history", "team_settings", "settings_token",
            "settings_test_connection", "team_invite", "settings_member_role", "settings_member_remove",
            "settings_numbers_add", "settings_numbers_import", "settings_number_remove",
            "photo_library", "photo_check", "photo_image"} <= names


def test_an_outsider_gets_404_from_every_team_url(client, charlie, acme_objects, sandbox):
    sign_in_as(client, charlie)
    answers = {}
    for route, name in team_routes():
        url = fill(route, slug="acme", values=acme_objects)
        answers[f"GET {url} ({name})"] = client.get(url).status_code
        answers[f"POST {url} ({name})"] = client.post(url, {"token": "probe-token-0000", "numbers": "+15550009999",
                                                            "username": "charlie", "role": "owner"}).status_code
    assert {k: v for k, v in answers.items() if v != 404} == {}
    assert sandbox.requests == []  # nothing was asked of Linq on acme's behalf


def test_an_outsider_cannot_reach_another_teams_objects_through_his_own_team(client, charlie, acme_objects):
    sign_in_as(client, charlie)
    answers = {}
    for route, name in team_routes():
        if not PARAM.search(route.replace("<slug:slug>", "")):
            continue  # only the slug: nothing of acme's to point at
        url = fill(route, slug="other", values=acme_objects)
        answers[f"GET {url} ({name})"] = client.get(url).status_code
        answers[f"POST {url} ({name})"] = client.post(url, {"role": "viewer"}).status_code
    assert answers, "no route with an object id was probed"
    assert {k: v for k, v in answers.items() if v != 404} == {}
    assert Membership.objects.get(pk=acme_objects["membership"]).role == "editor"
