"""CSV export of the filtered history: same filters, streamed, ISO timestamps, formula-safe."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.history_csv import HEADER, neutralise
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.tests.helpers import BASE_TIME, make_entry, make_series, read_csv

pytestmark = pytest.mark.django_db


def url(slug: str = "acme") -> str:
    return reverse("history_export", args=[slug])


@pytest.fixture
def entries(team, alice, bob):
    card = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    empty = PhoneNumber.objects.get(team=team, e164=EMPTY_NUMBER)
    return [
        make_entry(team, number=card, user=alice, at=BASE_TIME, changes={"first_name": ["Acme", "=HYPERLINK(1)"]},
                   request_body={"first_name": "=HYPERLINK(1)"}),
        make_entry(team, number=empty, user=bob, at=BASE_TIME + timedelta(hours=1),
                   outcome=AuditEntry.Outcome.API_ERROR, http_status=500, linq_code=2022,
                   error_message="-1+1 @SUM(A1)", trace_id="@evil", duration_ms=77),
        make_entry(team, number=card, user=bob, at=BASE_TIME + timedelta(hours=2),
                   changes={"last_name": ["\tTab", "+Plus"], "image_url": ["", "\rCR"]}),
    ]


def test_it_streams_a_header_and_every_filtered_row(client, alice, entries):
    client.force_login(alice)
    response = client.get(url())
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="acme-history-')
    rows = read_csv(response)
    assert rows[0] == HEADER
    assert [int(r[0]) for r in rows[1:]] == [e.pk for e in reversed(entries)]


def test_timestamps_are_iso_8601(client, alice, entries):
    client.force_login(alice)
    rows = read_csv(client.get(url()))
    created = [row[HEADER.index("created_at")] for row in rows[1:]]
    assert created[-1] == "2026-06-01T12:00:00.000000+00:00"
    assert all(datetime.fromisoformat(value).tzinfo is not None for value in created)


def test_it_exports_exactly_the_filtered_view(client, alice, entries):
    client.force_login(alice)
    rows = read_csv(client.get(url(), {"user": "bob", "outcome": "api_error"}))
    assert [int(r[0]) for r in rows[1:]] == [entries[1].pk]
    rows = read_csv(client.get(url(), {"number": CARD_NUMBER, "date_to": "2026-06-01", "q": "hyperlink"}))
    assert [int(r[0]) for r in rows[1:]] == [entries[0].pk]


def test_cells_are_neutralised_for_spreadsheets(client, alice, entries):
    client.force_login(alice)
    rows = {int(r[0]): dict(zip(HEADER, r, strict=True)) for r in read_csv(client.get(url()))[1:]}
    first, failed, third = (rows[e.pk] for e in entries)
    assert first["first_name_after"] == "'=HYPERLINK(1)"
    assert first["first_name_before"] == "Acme"
    assert first["request_body"] == '{"first_name": "=HYPERLINK(1)"}'  # starts with "{": harmless
    assert failed["error_message"] == "'-1+1 @SUM(A1)"
    assert failed["trace_id"] == "'@evil"
    assert first["request_sent"] == "yes" and first["applied"] == ""
    assert failed["linq_code"] == "2022" and failed["http_status"] == "500" and failed["duration_ms"] == "77"
    assert third["last_name_before"] == "'\tTab" and third["last_name_after"] == "'+Plus"
    assert third["image_url_after"] == "'\rCR"
    # a plain E.164 number cannot run anything: it is exported as it is
    assert first["phone_number"] == CARD_NUMBER


def test_every_cell_is_quoted_so_a_semicolon_locale_cannot_split_one(client, alice, entries):
    client.force_login(alice)
    body = b"".join(client.get(url()).streaming_content).decode()
    lines = body.splitlines()
    assert lines[0].startswith('"id","created_at","phone_number"')
    row = lines[-1]  # the oldest entry: id, then ISO time, then the number, all quoted
    assert row.startswith(f'"{entries[0].pk}","2026-06-01T12:00:00.000000+00:00","{CARD_NUMBER}",')
    assert ',"",' in row  # empty cells are quoted too


def test_semicolons_inside_a_cell_stay_in_that_cell(client, team, alice):
    card = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    make_entry(team, number=card, user=alice, at=BASE_TIME, changes={"last_name": ["A;B", "C; =D"]})
    client.force_login(alice)
    rows = read_csv(client.get(url()))
    row = dict(zip(HEADER, rows[1], strict=True))
    assert (row["last_name_before"], row["last_name_after"]) == ("A;B", "C; =D")
    body = b"".join(client.get(url()).streaming_content).decode()
    assert '"A;B","C; =D"' in body


def test_neutralise_leaves_safe_values_alone():
    assert neutralise("Acme") == "Acme"
    assert neutralise(42) == 42
    assert neutralise("") == ""
    for dangerous in ("=1", "+1", "-1", "@A", "\t1", "\r1"):
        assert neutralise(dangerous) == "'" + dangerous


@pytest.mark.parametrize("value", ["+15550100003", "+447700900123", "+1234567"])
def test_plain_phone_numbers_are_not_mangled(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", ["+15550100003+1", "+1555010000３", "+1555 0100", "+1(555)0100003", "+123456",
                                   "+15550100003\n", "+1555010000=1"])
def test_almost_phone_numbers_are_still_neutralised(value):
    assert neutralise(value) == "'" + value


def test_large_exports_stream_in_chunks(client, team, alice):
    make_series(team, 1200, start=BASE_TIME, user=alice)
    client.force_login(alice)
    response = client.get(url())
    chunks = list(response.streaming_content)
    assert len(chunks) >= 3  # header, then rows a few hundred at a time
    assert sum(chunk.count(b"\n") for chunk in chunks) == 1201


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_every_member_can_export(client, personas, entries, persona):
    client.force_login(personas[persona])
    response = client.get(url())
    assert response.status_code == 200
    assert len(read_csv(response)) == 4


def test_it_checks_membership(client, personas, entries):
    client.force_login(personas["outsider"])
    assert client.get(url()).status_code == 404


@pytest.mark.parametrize("params, message", [
    ({"date_from": "June"}, "Enter the start date as YYYY-MM-DD."),
    ({"outcome": "boom"}, "Choose an outcome from the list"),
])
def test_bad_filters_are_refused_with_a_message(client, alice, entries, params, message):
    client.force_login(alice)
    response = client.get(url(), params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_token_is_never_exported(client, alice, team, entries):
    from contactcards.services import teams as team_services

    team_services.token_change(team=team, user=alice, token=TOKEN + "-new")
    client.force_login(alice)
    body = b"".join(client.get(url()).streaming_content).decode()
    assert TOKEN not in body
