"""The fast export path: the database writes timestamps and picks change values; output is unchanged.

``bin/bench`` measures the rate; these tests pin down that the faster path writes exactly what
the row-by-row Python version wrote, on SQLite and on Postgres.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.history_csv import HEADER
from contactcards.models import PhoneNumber
from contactcards.tests.helpers import BASE_TIME, make_entry, read_csv

pytestmark = pytest.mark.django_db


def export(client, user) -> list[dict[str, str]]:
    client.force_login(user)
    rows = read_csv(client.get(reverse("history_export", args=["acme"])))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def test_timestamps_with_and_without_microseconds(client, team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    exact = make_entry(team, number=number, user=alice, at=BASE_TIME)
    fine = make_entry(team, number=number, user=alice, at=BASE_TIME + timedelta(microseconds=120034))
    by_id = {int(row["id"]): row for row in export(client, alice)}
    assert by_id[exact.pk]["created_at"] == BASE_TIME.isoformat(timespec="microseconds")
    assert by_id[fine.pk]["created_at"] == "2026-06-01T12:00:00.120034+00:00"


def test_request_body_has_sorted_keys_and_keeps_unicode(client, team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    body = {"phone_number": CARD_NUMBER, "last_name": "Ünal \"quoted\"", "first_name": "Zoë", "image_url": ""}
    make_entry(team, number=number, user=alice, request_body=body)
    make_entry(team, number=number, user=alice, request_body=None, changes={})
    rows = export(client, alice)
    assert rows[0]["request_body"] == ""  # newest first: the entry without a body
    assert rows[1]["request_body"] == json.dumps(body, ensure_ascii=False, sort_keys=True)
    assert rows[1]["request_body"].startswith('{"first_name": "Zoë", "image_url": ""')


def test_change_values_come_out_as_text_with_empty_for_missing(client, team, alice):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    make_entry(team, number=number, user=alice,
               changes={"first_name": [None, "New"], "image_url": ["https://x.example/a.png", "=cmd"]})
    row = export(client, alice)[0]
    assert (row["first_name_before"], row["first_name_after"]) == ("", "New")
    assert (row["last_name_before"], row["last_name_after"]) == ("", "")
    assert (row["image_url_before"], row["image_url_after"]) == ("https://x.example/a.png", "'=cmd")
    assert row["phone_number"] == CARD_NUMBER and row["username"] == "alice"
    assert row["request_sent"] == "yes" and row["applied"] == ""
