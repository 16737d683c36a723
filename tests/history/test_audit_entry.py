"""One audit entry's detail page: everything recorded, including the exact JSON body and the duration."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import BASE_TIME, make_entry, sign_in_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_entry(team, bob):
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    return make_entry(
        team, number=number, user=bob, at=BASE_TIME, outcome=AuditEntry.Outcome.API_ERROR,
        changes={"last_name": ["Support", "Help <b>desk</b>"]},
        request_body={"last_name": "Help <b>desk</b>", "first_name": "Ünïcode"},
        http_status=429, linq_code=1006, error_message="Rate limit exceeded", trace_id="tr-77x",
        retry_after=60, duration_ms=4321, client_ip="203.0.113.9",
    )


def url(entry, slug="acme"):
    return reverse("audit_entry", args=[slug, entry.pk])


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_every_member_can_read_an_entry(client, personas, failed_entry, persona):
    sign_in_as(client, personas[persona])
    assert client.get(url(failed_entry)).status_code == 200


def test_it_shows_everything_recorded(client, vera, failed_entry):
    sign_in_as(client, vera)
    html = client.get(url(failed_entry)).content.decode()
    assert "2026-06-01 12:00:00.000000" in html
    for text in ("bob", CARD_NUMBER, "Update card", "API error", "429", "1006", "“Rate limit exceeded”",
                 "<code>tr-77x</code>", "60 s", "4321 ms", "203.0.113.9"):
        assert text in html, text
    assert '<td class="old">Support</td><td class="new">Help &lt;b&gt;desk&lt;/b&gt;</td>' in html
    # the body, pretty-printed and escaped
    assert '  &quot;last_name&quot;: &quot;Help &lt;b&gt;desk&lt;/b&gt;&quot;' in html
    assert "Ünïcode" in html


def test_it_handles_an_entry_without_body_or_changes(client, team, alice):
    entry = make_entry(team, at=BASE_TIME, action=AuditEntry.Action.TOKEN_CHANGE, changes={}, request_body=None)
    sign_in_as(client, alice)
    html = client.get(url(entry)).content.decode()
    assert "No body was sent." in html and "No field changes recorded." in html


def test_it_checks_membership(client, personas, failed_entry, other_team):
    sign_in_as(client, personas["outsider"])
    assert client.get(url(failed_entry)).status_code == 404
    # another team's entry through one's own team slug is not found either
    theirs = make_entry(other_team, at=BASE_TIME)
    sign_in_as(client, personas["owner"])
    assert client.get(url(theirs)).status_code == 404
    assert client.get(url(theirs, slug="other")).status_code == 404


def test_an_unknown_entry_is_not_found(client, alice, team):
    sign_in_as(client, alice)
    assert client.get(reverse("audit_entry", args=["acme", 987654])).status_code == 404
    assert client.get("/t/acme/history/99999999999999999999999/").status_code == 404


def test_the_token_never_appears(client, alice, team, failed_entry):
    from conftest import TOKEN

    sign_in_as(client, alice)
    assert TOKEN not in client.get(url(failed_entry)).content.decode()


def test_it_says_whether_an_unknown_outcome_took_effect(client, team, alice):
    entry = make_entry(team, user=alice, at=BASE_TIME, outcome=AuditEntry.Outcome.NETWORK_ERROR, applied=True,
                       error_message="Linq did not answer in time.")
    sign_in_as(client, alice)
    html = client.get(url(entry)).content.decode()
    assert "<dt>Took effect</dt><dd>Yes" in html


@pytest.mark.parametrize("facts,said", [
    ({"error_kind": "timeout", "applied": None}, "Linq's answer did not say whether the change was applied"),
    ({"error_kind": "connection", "applied": False}, "Re-read afterwards: the change did not take effect."),
    ({"error_kind": "timeout", "applied": True}, "Re-read afterwards: the change took effect."),
    ({"error_kind": "connection", "request_sent": False, "stage": "check"},
     "The card could not be re-read before saving, so the change was not sent."),
])
def test_the_facts_of_a_row_are_worded_by_the_template(client, team, alice, facts, said):
    """Rows store facts (history/audit.py); the detail page words them, and old rows keep their text."""
    entry = make_entry(team, user=alice, at=BASE_TIME, outcome=AuditEntry.Outcome.NETWORK_ERROR,
                       http_status=None, error_message="Linq did not answer in time.", **facts)
    sign_in_as(client, alice)
    assert said in client.get(url(entry)).content.decode()


def test_an_old_row_with_its_note_in_the_message_stays_readable(client, team, alice):
    note = "Linq did not answer in time. Re-read afterwards: the change did not take effect."
    entry = make_entry(team, user=alice, at=BASE_TIME, outcome=AuditEntry.Outcome.NETWORK_ERROR, applied=False,
                       http_status=None, error_message=note, error_kind="")  # written before migration 0004
    sign_in_as(client, alice)
    assert f"“{note}”" in client.get(url(entry)).content.decode()
