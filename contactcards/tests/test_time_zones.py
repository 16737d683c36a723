"""Each person sees times in their own zone: chosen, else the browser's, else UTC; the zone is shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.models import PhoneNumber, UserPreference
from contactcards.tests.helpers import make_entry
from contactcards.timezones import SESSION_KEY, parse_zone

pytestmark = pytest.mark.django_db
WHEN = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def entry(team, alice):
    return make_entry(team, number=PhoneNumber.objects.get(team=team, e164=CARD_NUMBER), user=alice, at=WHEN)


def history(client) -> str:
    return client.get(reverse("team_history", args=["acme"])).content.decode()


def test_without_a_zone_times_are_utc_and_say_so(client, alice, entry):
    client.force_login(alice)
    assert "2026-06-01 12:00:05 UTC" in history(client)


def test_the_browser_zone_is_used_and_named(client, alice, entry):
    client.force_login(alice)
    client.cookies["tz"] = "Europe/Paris"
    assert "2026-06-01 14:00:05 CEST" in history(client)
    client.cookies["tz"] = "America/Los_Angeles"
    assert "2026-06-01 05:00:05 PDT" in history(client)


@pytest.mark.parametrize("cookie", ["Not/AZone", "../../etc/passwd", "x" * 500, "Europe/Paris\x00", ""])
def test_a_bad_zone_cookie_is_ignored(client, alice, entry, cookie):
    client.force_login(alice)
    client.cookies["tz"] = cookie
    response = client.get(reverse("team_history", args=["acme"]))
    assert response.status_code == 200 and "2026-06-01 12:00:05 UTC" in response.content.decode()


def test_a_chosen_zone_wins_over_the_browser_and_is_stored(client, alice, entry):
    client.force_login(alice)
    client.cookies["tz"] = "Europe/Paris"
    page = client.get(reverse("time_zone")).content.decode()
    assert "Follow my browser (Europe/Paris)" in page
    response = client.post(reverse("time_zone"), {"time_zone": "Asia/Tokyo", "next": "/t/acme/history/"})
    assert response.status_code == 302 and response["Location"] == "/t/acme/history/"
    assert UserPreference.objects.get(user=alice).time_zone == "Asia/Tokyo"
    assert "2026-06-01 21:00:05 JST" in history(client)
    # Back to the browser's zone.
    client.post(reverse("time_zone"), {"time_zone": ""})
    assert "2026-06-01 14:00:05 CEST" in history(client)


def test_the_choice_follows_the_person_to_a_new_session(client, alice, bob, entry):
    UserPreference.objects.create(user=alice, time_zone="Asia/Tokyo")
    client.force_login(alice)
    assert "JST" in history(client)
    assert client.session[SESSION_KEY] == "Asia/Tokyo"
    client.force_login(bob)  # another person on the same browser: their own (none) zone
    assert "2026-06-01 12:00:05 UTC" in history(client)


def test_bad_choices_and_foreign_redirects_are_refused(client, alice):
    client.force_login(alice)
    response = client.post(reverse("time_zone"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and not UserPreference.objects.exists()
    response = client.post(reverse("time_zone"), {"time_zone": "UTC", "next": "https://evil.example/"})
    assert response["Location"] == reverse("time_zone")


def test_every_page_time_carries_its_zone(client, alice, entry, team):
    client.force_login(alice)
    client.cookies["tz"] = "Europe/Paris"
    for url in (f"/t/acme/numbers/{CARD_NUMBER}/", "/t/acme/history/", f"/t/acme/numbers/{CARD_NUMBER}/history/",
                f"/t/acme/history/{entry.pk}/"):
        html = client.get(url).content.decode()
        times = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", html)
        assert times, url
        assert all(re.search(r"(CEST|CET|Europe/Paris)$", text.strip()) for text in times), (url, times)


def test_zone_names_are_checked():
    assert parse_zone("Europe/Paris") is not None
    assert parse_zone("UTC") is not None
    assert parse_zone(None) is None and parse_zone(42) is None and parse_zone("localtime") is None
