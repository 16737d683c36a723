"""Every odd answer Linq can send, over real HTTP from the sandbox, on SQLite and Postgres.

Each row of ``ODD_ANSWERS`` (devtools/sandbox/app.py) is sent to the app's reads (dashboard,
card page) and to a save: no page answers 500, what the person typed is kept, and the attempt is
in the number's history with values the database accepts (Postgres refuses NUL, integers beyond
its range and over-long strings that SQLite would store).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.linq.client import MAX_CODE, MAX_RETRY_AFTER, MAX_TRACE_ID
from contactcards.models import AuditEntry
from devtools.sandbox.app import ODD_ANSWERS
from tests.support.helpers import URL, card_form, load, sign_in_as, text

PRESETS = sorted(ODD_ANSWERS)
TYPED = "Typed Desk"


def assert_storable(entry: AuditEntry) -> None:
    """The row as read back from the database holds only values every backend accepts."""
    entry.refresh_from_db()
    assert entry.linq_code is None or 0 <= entry.linq_code <= MAX_CODE
    assert entry.retry_after is None or 0 <= entry.retry_after <= MAX_RETRY_AFTER
    assert len(entry.trace_id) <= MAX_TRACE_ID
    assert "\x00" not in entry.error_message + entry.trace_id + repr(entry.changes)


@pytest.mark.parametrize("preset", PRESETS)
def test_reads_answered_oddly_never_break_a_page(client, bob, sandbox, preset):
    sandbox.add_fault({"kind": "answer", "preset": preset, "methods": ["GET"]})
    sign_in_as(client, bob)
    refreshed = client.post(reverse("dashboard_refresh", args=["acme"]), follow=True)  # one GET of every card
    assert refreshed.status_code == 200
    for url in (reverse("dashboard", args=["acme"]), URL, reverse("number_history", args=["acme", CARD_NUMBER])):
        response = client.get(url)
        assert response.status_code < 500, url
        assert response.status_code in (200, 502, 503), (url, response.status_code)


@pytest.mark.parametrize("preset", PRESETS)
def test_a_save_answered_oddly_keeps_the_input_and_records_the_attempt(client, bob, sandbox, preset):
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "answer", "preset": preset, "methods": ["PATCH"], "times": 1})
    response = client.post(URL, {**form, "last_name": TYPED})
    assert response.status_code < 500
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1  # sent once, never retried by itself

    entry = AuditEntry.objects.get(phone_number=CARD_NUMBER)  # the attempt, written ahead of the PATCH
    assert entry.request_body == {"last_name": TYPED} and entry.changes == {"last_name": ["Support", TYPED]}
    assert entry.outcome != AuditEntry.Outcome.PENDING and entry.outcome_at is not None  # and its outcome
    assert_storable(entry)
    if not entry.is_success:
        assert card_form(response)["last_name"] == TYPED  # what was typed is still in the form
    history = client.get(reverse("number_history", args=["acme", CARD_NUMBER]))
    assert history.status_code == 200 and TYPED in text(history)


# The issue's rows: 1e400, a date in 2105, codes -1 and 2**40, a 300-character trace id.
@pytest.mark.parametrize("preset, values", [
    ("retry_after_1e400", {"retry_after": MAX_RETRY_AFTER, "linq_code": 1007, "http_status": 429}),
    ("retry_after_http_date_2105", {"retry_after": MAX_RETRY_AFTER, "linq_code": 1007, "http_status": 429}),
    ("retry_after_negative", {"retry_after": 0, "linq_code": 1007}),
    ("code_negative", {"linq_code": None, "http_status": 500}),
    ("code_huge", {"linq_code": None, "http_status": 500}),
    ("trace_id_long", {"linq_code": 3006, "trace_id": "b" * (MAX_TRACE_ID - 17) + "~"}),
])
def test_the_issue_rows_are_recorded_within_limits(client, bob, sandbox, preset, values):
    form = load(sign_in_as(client, bob))
    sandbox.add_fault({"kind": "answer", "preset": preset, "methods": ["PATCH"], "times": 1})
    response = client.post(URL, {**form, "last_name": TYPED})
    assert response.status_code < 500
    entry = AuditEntry.objects.get()
    if "trace_id" in values:
        assert entry.trace_id.startswith(values.pop("trace_id")) and len(entry.trace_id) == MAX_TRACE_ID
    assert {name: getattr(entry, name) for name in values} == values
    if preset in ("code_negative", "code_huge"):  # kept as text, shown as Linq sent it
        sent = "-1" if preset == "code_negative" else str(2**40)
        assert entry.linq_code_text == sent and f"Linq code {sent}" in text(response)


@pytest.mark.parametrize("odd_name", ["Ac\x00me", "Acme\u202egnp.exe", "Ac\ud800me", "Acme\x07"])
def test_a_card_with_an_odd_name_at_linq_can_be_edited(client, bob, sandbox, odd_name):
    sandbox.set_card(CARD_NUMBER, first_name=odd_name, last_name="Support")
    form = load(sign_in_as(client, bob))
    response = client.post(URL, {**form, "last_name": TYPED})
    assert response.status_code == 200
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": TYPED}]
    entry = AuditEntry.objects.get()
    assert entry.is_success and entry.changes == {"last_name": ["Support", TYPED]}
    assert_storable(entry)
    assert sandbox.cards[CARD_NUMBER]["first_name"] == odd_name  # the name nobody touched is left alone
