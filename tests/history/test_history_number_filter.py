"""The history's number filter: typed (the number or its label), checked on submit, suggested as you type
by a small JSON search (numbers.json). The page renders nothing per number of the team."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.history.selectors import NUMBER_SUGGESTIONS
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import BASE_TIME, make_entry, sign_in_as

pytestmark = pytest.mark.django_db


def url(slug: str = "acme") -> str:
    return reverse("team_history", args=[slug])


def search_url(slug: str = "acme") -> str:
    return reverse("history_number_search", args=[slug])


def shown_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/t/acme/history/(\d+)/"', response.content.decode())]


def found(response) -> list[str]:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return [n["e164"] for n in response.json()["numbers"]]


@pytest.fixture
def entries(team, numbers, alice, bob):
    card, empty = numbers[CARD_NUMBER], numbers[EMPTY_NUMBER]
    return {
        "card": make_entry(team, number=card, user=alice, at=BASE_TIME),
        "empty": make_entry(team, number=empty, user=bob, at=BASE_TIME + timedelta(days=1),
                            outcome=AuditEntry.Outcome.API_ERROR, http_status=500, linq_code=2022),
        "token": make_entry(team, user=alice, at=BASE_TIME + timedelta(days=2),
                            action=AuditEntry.Action.TOKEN_CHANGE, changes={}, request_body=None),
    }


# -- the filter, on submit --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [CARD_NUMBER, "+1 555 000 1001", "+1 (555) 000-1001", "15550001001",
                                   "Support", "support", "  SUPPORT  "])
def test_it_filters_by_the_number_typed_or_its_label(client, alice, entries, typed):
    sign_in_as(client, alice)
    response = client.get(url(), {"number": typed})
    assert response.status_code == 200
    assert shown_ids(response) == [entries["card"].pk]
    html = response.content.decode()
    # the field keeps what was typed; the hint says which number it means
    assert re.search(r'<span class="filter-hint" id="number_hint"><span class="mono">\+15550001001</span> Support',
                     html)


def test_an_existing_link_with_the_number_still_works_with_the_other_filters(client, alice, entries):
    sign_in_as(client, alice)
    response = client.get(url() + "?number=%2B15550001002&outcome=api_error&user=bob")
    assert shown_ids(response) == [entries["empty"].pk]
    assert shown_ids(client.get(url() + "?number=%2B15550001002&outcome=success")) == []


@pytest.mark.parametrize("typed", ["+15550009001",  # another team's number
                                   "+15559999999", "Nobody", "1001", "555", "+", "++1", "١٢٣٤٥٦٧",
                                   "'; DROP TABLE x; --", "%", "_", "Support\u200b"])
def test_a_number_that_is_not_the_teams_is_an_inline_error_and_the_rest_is_kept(client, alice, charlie, entries,
                                                                               typed):
    sign_in_as(client, alice)
    response = client.get(url(), {"number": typed, "outcome": "api_error", "user": "bob", "q": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "That number is not one of this team&#x27;s numbers." in html
    assert 'id="id_number_error"' in html and 'aria-invalid="true"' in html
    assert "Some filters are not valid." in html
    assert shown_ids(response) == []
    # the other filters stay as they were
    assert '<option value="api_error" selected>' in html and '<option value="bob" selected>' in html
    assert 'name="q" id="id_q" value="x"' in html


def test_a_label_two_numbers_share_asks_for_the_number(client, alice, team, numbers, entries):
    PhoneNumber.objects.filter(team=team).update(label="Front desk")
    sign_in_as(client, alice)
    response = client.get(url(), {"number": "front desk"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Several of this team&#x27;s numbers are labelled “front desk”: type the number instead." in html
    assert shown_ids(response) == []
    assert shown_ids(client.get(url(), {"number": EMPTY_NUMBER})) == [entries["empty"].pk]


def test_a_number_too_long_is_an_inline_error(client, alice, entries):
    sign_in_as(client, alice)
    response = client.get(url(), {"number": "9" * 500})
    assert response.status_code == 200
    assert "Type a number or its label (at most 100 characters)." in response.content.decode()


def test_the_export_takes_the_typed_label_too_and_refuses_an_unknown_number(client, alice, entries):
    sign_in_as(client, alice)
    response = client.get(reverse("history_export", args=["acme"]), {"number": "New"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert EMPTY_NUMBER in body and CARD_NUMBER not in body
    refused = client.get(reverse("history_export", args=["acme"]), {"number": "+15550009001"})
    assert refused.status_code == 400


def test_the_page_renders_nothing_per_number_of_the_team(client, alice, team, entries,
                                                         django_assert_max_num_queries):
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=f"+1555200{i:04d}", label=f"Line {i}")
                                     for i in range(300)])
    sign_in_as(client, alice)
    client.get(url())
    with django_assert_max_num_queries(9):
        html = client.get(url(), {"number": "Line 7"}).content.decode()
    assert "+15552000007" in html  # the hint names the number picked
    assert "+15552000008" not in html and "Line 8" not in html


# -- the search as you type -------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_every_member_can_search_the_numbers(client, personas, persona):
    sign_in_as(client, personas[persona])
    response = client.get(search_url(), {"q": "1001"})
    assert found(response) == [CARD_NUMBER]
    assert response.json()["numbers"] == [{"e164": CARD_NUMBER, "label": "Support"}]
    assert response["Cache-Control"] == "no-store"


def test_the_search_checks_membership(client, personas):
    sign_in_as(client, personas["outsider"])
    assert client.get(search_url(), {"q": "1001"}).status_code == 404
    assert client.post(search_url(), {"q": "1001"}).status_code == 404  # the access check comes first
    assert client.get(search_url("other"), {"q": "9001"}).status_code == 200  # charlie's own team
    assert found(client.get(search_url("other"), {"q": "1001"})) == []  # never another team's numbers


def test_the_search_requires_login(client, team):
    response = client.get(search_url(), {"q": "1001"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_search_is_read_only(client, alice):
    sign_in_as(client, alice)
    for method in (client.post, client.put, client.delete, client.patch):
        assert method(search_url()).status_code == 405


def test_the_search_matches_digits_and_labels(client, alice):
    sign_in_as(client, alice)
    assert found(client.get(search_url(), {"q": "555000"})) == [CARD_NUMBER, EMPTY_NUMBER]
    assert found(client.get(search_url(), {"q": "+1 (555) 000-1002"})) == [EMPTY_NUMBER]
    assert found(client.get(search_url(), {"q": "sUpPo"})) == [CARD_NUMBER]
    assert found(client.get(search_url(), {"q": "new"})) == [EMPTY_NUMBER]


def test_the_search_answers_at_most_a_few_numbers(client, alice, team, django_assert_max_num_queries):
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=f"+1555200{i:04d}", label=f"Line {i}")
                                     for i in range(200)])
    sign_in_as(client, alice)
    client.get(search_url(), {"q": "Line"})
    with django_assert_max_num_queries(4):  # the session, the user, the memberships, the numbers
        response = client.get(search_url(), {"q": "Line"})
    assert found(response) == [f"+1555200{i:04d}" for i in range(NUMBER_SUGGESTIONS)]


@pytest.mark.parametrize("q", ["", "   ", "%", "_", "\\", "'", "zzz", "١٢٣", "+", "💥", "a" * 100,
                               "<script>alert(x)</script>"])
def test_the_search_handles_odd_input(client, alice, q):
    sign_in_as(client, alice)
    assert found(client.get(search_url(), {"q": q})) == []


@pytest.mark.parametrize("q", ["1" * 101, "a\x00b", "10\x01", "\t1001", "1001\n"])
def test_the_search_refuses_text_too_long_or_with_control_characters(client, alice, q):
    sign_in_as(client, alice)
    response = client.get(search_url(), {"q": q})
    assert response.status_code == 400
    assert response.json()["numbers"] == []


def test_a_repeated_search_parameter_is_not_an_error(client, alice):
    sign_in_as(client, alice)
    assert client.get(search_url() + "?q=1&q=2").status_code == 200  # a repeated parameter: the last one
