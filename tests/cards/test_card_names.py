"""Names people type and names Linq sends: invisible characters are refused in the form, shown safely from Linq."""

from __future__ import annotations

import pytest

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry
from tests.support.helpers import URL, card_form, load, sign_in_as, text


@pytest.mark.parametrize("field, typed, shown", [
    ("first_name", "Acme\u202egnp.exe", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("last_name", "Sup\u2066port", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("first_name", "Ac\x07me", "control character (U+0007)"),
    ("last_name", "Sup\tport", "control character (U+0009)"),
    ("last_name", "Support\x1b[31m", "control character (U+001B)"),
])
def test_the_form_refuses_invisible_characters_with_a_clear_message(client, bob, sandbox, field, typed, shown):
    form = load(sign_in_as(client, bob))
    response = client.post(URL, {**form, field: typed})
    page = text(response)
    assert f"The {field.replace('_', ' ')} contains an invisible" in page and shown in page
    assert card_form(response)[field] == typed  # nothing typed is lost
    assert sandbox.writes_for(CARD_NUMBER) == [] and not AuditEntry.objects.exists()


def test_ordinary_names_in_any_script_are_accepted(client, bob, sandbox):
    form = load(sign_in_as(client, bob))
    client.post(URL, {**form, "first_name": "مركز الدعم", "last_name": "Zoë 客服 \u200d👩‍💻"})
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [
        {"first_name": "مركز الدعم", "last_name": "Zoë 客服 \u200d👩‍💻"}]


def test_a_name_from_linq_with_invisible_characters_is_shown_with_them_visible(client, vera, sandbox):
    sandbox.set_card(CARD_NUMBER, first_name="Acme\u202egnp.exe", last_name="Bell\x07")
    html = sign_in_as(client, vera).get(URL).content.decode()
    assert '<bdi>Acme<span class="hidden-char" title="U+202E RIGHT-TO-LEFT OVERRIDE">U+202E</span>gnp.exe</bdi>' in html
    assert '<span class="hidden-char" title="U+0007">U+0007</span>' in html
    assert "\u202e" not in html.split("<main", 1)[1]


def test_the_dashboard_shows_them_visible_too(client, vera, sandbox):
    sandbox.set_card(CARD_NUMBER, first_name="Acme\u202egnp.exe")
    # the dashboard shows the mirror
    html = sign_in_as(client, vera).post("/t/acme/refresh/", follow=True).content.decode()
    assert "\u202e" not in html and 'title="U+202E RIGHT-TO-LEFT OVERRIDE"' in html
