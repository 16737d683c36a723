"""Words people read: one word for the photo, human field names, each message once, plain facts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.forms import sign_loaded
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.tests.helpers import make_entry
from contactcards.tests.photo_fixtures import Route, png_bytes

pytestmark = pytest.mark.django_db
CARD_URL = f"/t/acme/numbers/{CARD_NUMBER}/"
LOADED = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}


def page_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_5007_is_said_once(client, bob, sandbox, photo_settings, image_server):
    # A link that passes our own photo check and that Linq still refuses (the sandbox: "broken" links).
    image_server.routes["/broken.png"] = Route(body=png_bytes(700, 700))
    client.force_login(bob)
    page = client.post(CARD_URL, {"action": "update", "loaded": sign_loaded(LOADED), **LOADED,
                                  "image_url": image_server.url("/broken.png")})
    text = page_text(page)
    assert AuditEntry.objects.get().linq_code == 5007
    assert text.count("Could not download an image from the given URL") == 1, text
    assert text.count("Linq could not use this image") == 1, text
    assert "Linq code 5007" in text  # the code, for support


def test_the_photo_is_called_photo(client, bob):
    client.force_login(bob)
    text = page_text(client.get(CARD_URL))
    assert "Photo link" in text
    assert not re.search(r"image url|image_url", text, flags=re.I)


def test_history_shows_human_field_names_and_recent_changes_say_what_changed(client, team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    make_entry(team, number=number, user=alice, changes={"first_name": ["Acme", "Acme Help"],
                                                          "image_url": ["", "https://cdn.example.com/a.png"]})
    client.force_login(alice)
    history = page_text(client.get(reverse("team_history", args=["acme"])))
    assert "First name" in history and "Photo" in history
    assert "first_name" not in history and "image_url" not in history
    card = page_text(client.get(CARD_URL))
    recent = card[card.index("Recent changes"):]
    assert "First name, photo · alice" in recent


@pytest.mark.parametrize("fields, expected", [
    ({"request_sent": False, "http_status": None, "outcome": AuditEntry.Outcome.NETWORK_ERROR},
     "No: the request never left linqadmin"),
    ({"request_sent": True, "http_status": 200}, "Yes: Linq answered HTTP 200"),
    ({"request_sent": True, "http_status": None, "outcome": AuditEntry.Outcome.NETWORK_ERROR},
     "Unknown: the request was sent but no answer came back"),
])
def test_the_entry_page_says_plainly_whether_linq_was_reached(client, team, alice, fields, expected):
    entry = make_entry(team, number=PhoneNumber.objects.get(team=team, e164=CARD_NUMBER), user=alice, **fields)
    client.force_login(alice)
    text = page_text(client.get(reverse("audit_entry", args=["acme", entry.pk])))
    assert expected in text
    assert "or it may have" not in text


def test_viewers_are_told_whom_to_ask(client, alice, vera):
    client.force_login(vera)
    text = page_text(client.get(CARD_URL))
    assert "ask the team's owner, alice" in text
    assert "writes left" not in text  # no write budget for someone who cannot write
    text = page_text(client.get(f"/t/acme/numbers/{EMPTY_NUMBER}/"))
    assert "no contact card yet" in text and "alice" in text
    text = page_text(client.get(reverse("team_settings", args=["acme"])))
    assert "Only the team's owners can change these settings" in text and "alice" in text
