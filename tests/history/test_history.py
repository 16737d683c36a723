"""The team history page: filters in the URL, keyset pages, bounded queries, bad input."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.history.selectors import PAGE_SIZE, Cursor
from contactcards.models import AuditEntry
from tests.support.helpers import BASE_TIME, make_entry, make_series, sign_in_as

pytestmark = pytest.mark.django_db


def url(slug: str = "acme") -> str:
    return reverse("team_history", args=[slug])


def shown_ids(response) -> list[int]:
    """Entry ids in page order, read from the links to the detail pages."""
    return [int(pk) for pk in re.findall(r'href="/t/acme/history/(\d+)/"', response.content.decode())]


@pytest.fixture
def mixed(team, numbers, alice, bob):
    """A small, known history: who did what to which number, and how it went."""
    card, empty = numbers[CARD_NUMBER], numbers[EMPTY_NUMBER]
    return {
        "alice_card_ok": make_entry(team, number=card, user=alice, at=BASE_TIME),
        "bob_card_fail": make_entry(team, number=card, user=bob, at=BASE_TIME + timedelta(days=1),
                                    outcome=AuditEntry.Outcome.API_ERROR, http_status=500, linq_code=2022,
                                    error_message="Contact card setup failed", trace_id="trace-abc-123"),
        "bob_empty_create": make_entry(team, number=empty, user=bob, at=BASE_TIME + timedelta(days=2),
                                       action=AuditEntry.Action.CREATE, changes={"first_name": ["", "Zebra"]}),
        "alice_empty_net": make_entry(team, number=empty, user=alice, at=BASE_TIME + timedelta(days=3),
                                      outcome=AuditEntry.Outcome.NETWORK_ERROR, http_status=None,
                                      error_message="Linq did not answer in time.", request_sent=False),
        "token": make_entry(team, user=alice, at=BASE_TIME + timedelta(days=4),
                            action=AuditEntry.Action.TOKEN_CHANGE, changes={}, request_body=None),
    }


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_every_member_can_read_the_history(client, personas, mixed, persona):
    sign_in_as(client, personas[persona])
    response = client.get(url())
    assert response.status_code == 200
    assert shown_ids(response) == [e.pk for e in sorted(mixed.values(), key=lambda e: e.created_at, reverse=True)]


def test_it_checks_membership(client, personas, mixed):
    sign_in_as(client, personas["outsider"])
    assert client.get(url()).status_code == 404
    assert client.get(url() + "?outcome=success").status_code == 404
    assert client.post(url()).status_code == 404  # not 405: the method check comes after the access check


def test_it_requires_login(client, team):
    response = client.get(url())
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_filters_combine(client, alice, mixed):
    sign_in_as(client, alice)
    assert shown_ids(client.get(url(), {"number": CARD_NUMBER})) == [mixed["bob_card_fail"].pk,
                                                                     mixed["alice_card_ok"].pk]
    assert shown_ids(client.get(url(), {"number": CARD_NUMBER, "user": "bob"})) == [mixed["bob_card_fail"].pk]
    assert shown_ids(client.get(url(), {"number": CARD_NUMBER, "user": "bob", "outcome": "success"})) == []
    assert shown_ids(client.get(url(), {"user": "bob", "action": "create"})) == [mixed["bob_empty_create"].pk]
    assert shown_ids(client.get(url(), {"outcome": "network_error"})) == [mixed["alice_empty_net"].pk]
    assert shown_ids(client.get(url(), {"action": "token_change", "user": "alice"})) == [mixed["token"].pk]


def test_date_range_is_inclusive_of_both_days(client, alice, mixed):
    sign_in_as(client, alice)
    response = client.get(url(), {"date_from": "2026-06-02", "date_to": "2026-06-03"})
    assert shown_ids(response) == [mixed["bob_empty_create"].pk, mixed["bob_card_fail"].pk]
    assert shown_ids(client.get(url(), {"date_from": "2026-06-05"})) == [mixed["token"].pk]
    assert shown_ids(client.get(url(), {"date_to": "2026-06-01"})) == [mixed["alice_card_ok"].pk]


def test_free_text_matches_names_values_errors_and_trace_ids(client, alice, mixed):
    sign_in_as(client, alice)
    assert shown_ids(client.get(url(), {"q": "zebra"})) == [mixed["bob_empty_create"].pk]
    assert shown_ids(client.get(url(), {"q": "setup failed"})) == [mixed["bob_card_fail"].pk]
    assert shown_ids(client.get(url(), {"q": "trace-abc"})) == [mixed["bob_card_fail"].pk]
    assert set(shown_ids(client.get(url(), {"q": "BOB"}))) == {mixed["bob_card_fail"].pk,
                                                               mixed["bob_empty_create"].pk}
    # a number's label is a name too ("New" is the label of EMPTY_NUMBER)
    assert set(shown_ids(client.get(url(), {"q": "new", "action": "create"}))) == {mixed["bob_empty_create"].pk}
    assert set(shown_ids(client.get(url(), {"q": "0001002"}))) == {mixed["bob_empty_create"].pk,
                                                                   mixed["alice_empty_net"].pk}


def test_filters_live_in_the_url_and_come_back_selected(client, alice, mixed):
    sign_in_as(client, alice)
    params = {"number": CARD_NUMBER, "user": "bob", "outcome": "api_error", "action": "update",
              "date_from": "2026-06-01", "date_to": "2026-06-30", "q": "failed"}
    response = client.get(url(), params)
    html = response.content.decode()
    assert shown_ids(response) == [mixed["bob_card_fail"].pk]
    assert f'name="number" id="id_number" value="{CARD_NUMBER}"' in html  # typed, not chosen from a list
    assert '<option value="bob" selected>' in html
    assert '<option value="api_error" selected>' in html
    assert 'value="2026-06-01"' in html and 'value="2026-06-30"' in html
    assert 'value="failed"' in html
    # the export link carries exactly the same filters
    export = re.search(r'href="(/t/acme/history/export\.csv[^"]*)"', html)[1].replace("&amp;", "&")
    assert "number=%2B15550001001" in export and "user=bob" in export and "q=failed" in export


def test_filter_choices_are_the_teams_members_and_not_its_numbers(client, alice, bob, vera, charlie, mixed):
    sign_in_as(client, alice)
    html = client.get(url()).content.decode()
    for name in ("alice", "bob", "vera"):
        assert f'<option value="{name}">' in html
    assert 'value="charlie"' not in html
    # the numbers are typed (and suggested as you type): the page never lists the team's numbers
    assert f'<option value="{CARD_NUMBER}"' not in html and f'<option value="{EMPTY_NUMBER}"' not in html


@pytest.mark.parametrize("params, message", [
    ({"date_from": "2026-13-45"}, "Enter the start date as YYYY-MM-DD."),
    ({"date_to": "yesterday"}, "Enter the end date as YYYY-MM-DD."),
    ({"date_from": "2026-06-05", "date_to": "2026-06-01"}, "The end date is before the start date."),
    ({"outcome": "exploded"}, "Choose an outcome from the list"),
    ({"action": "drop_table"}, "Select a valid choice"),
    ({"number": "+15550009001"}, "That number is not one of this team&#x27;s numbers."),
    ({"user": "charlie"}, "That user is not a member of this team."),
    ({"q": "x" * 101}, "Ensure this value has at most 100 characters"),
])
def test_bad_filters_get_a_clear_message(client, alice, mixed, params, message):
    sign_in_as(client, alice)
    response = client.get(url(), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Some filters are not valid." in html
    assert shown_ids(response) == []


@pytest.mark.parametrize("cursor", ["garbage", "1-", "-5", "1-9999999999999999999", "999999999999999999-1",
                                    "1" * 40, "12-34-56"])
def test_a_bad_page_link_shows_the_newest_entries_with_a_notice(client, alice, mixed, cursor):
    sign_in_as(client, alice)
    for param in ("before", "after"):
        response = client.get(url(), {param: cursor})
        assert response.status_code == 200
        assert "That page link is broken or out of date" in response.content.decode()
        assert shown_ids(response)[0] == mixed["token"].pk


def test_far_dates_do_not_break_the_page(client, alice, mixed):
    sign_in_as(client, alice)
    assert client.get(url(), {"date_from": "0001-01-01", "date_to": "9999-12-31"}).status_code == 200


def test_keyset_pages_have_no_gaps_or_duplicates(client, team, alice):
    """Older pages walk the whole history once; Newer walks back to the first page."""
    entries = make_series(team, PAGE_SIZE * 2 + 7, start=BASE_TIME, user=alice)
    # two entries at the very same instant: the id breaks the tie
    entries.append(make_entry(team, user=alice, at=entries[-1].created_at))
    expected = [e.pk for e in sorted(entries, key=lambda e: (e.created_at, e.pk), reverse=True)]
    sign_in_as(client, alice)

    seen, pages, response = [], [], client.get(url())
    while True:
        ids = shown_ids(response)
        pages.append(ids)
        seen += ids
        older = re.search(r'href="\?(before=[^"]+)" rel="next"', response.content.decode())
        if not older:
            break
        response = client.get(url() + "?" + older[1])
    assert seen == expected
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 8]
    assert "Newer" not in client.get(url()).content.decode()

    newer = re.search(r'href="\?(after=[^"]+)" rel="prev"', response.content.decode())[1]
    back = client.get(url() + "?" + newer)
    assert shown_ids(back) == pages[1]
    newer = re.search(r'href="\?(after=[^"]+)" rel="prev"', back.content.decode())[1]
    assert shown_ids(client.get(url() + "?" + newer)) == pages[0]


def test_paging_keeps_the_filters(client, team, alice, bob):
    make_series(team, PAGE_SIZE + 5, start=BASE_TIME, user=bob)
    make_series(team, 30, start=BASE_TIME, user=alice)
    sign_in_as(client, alice)
    response = client.get(url(), {"number": "", "user": "bob", "q": ""})  # as a browser submits the form
    older = re.search(r'href="\?([^"]*before=[^"]+)" rel="next"', response.content.decode())[1].replace("&amp;", "&")
    assert older.startswith("user=bob&before=")
    second = client.get(url() + "?" + older)
    assert len(shown_ids(second)) == 5
    assert set(AuditEntry.objects.filter(pk__in=shown_ids(second)).values_list("username", flat=True)) == {"bob"}


def test_a_short_newer_page_becomes_the_first_page(client, team, alice):
    entries = make_series(team, PAGE_SIZE + 3, start=BASE_TIME, user=alice)
    sign_in_as(client, alice)
    cursor = Cursor.of(entries[-3]).encode()  # only two entries are newer than this one
    response = client.get(url(), {"after": cursor})
    assert len(shown_ids(response)) == PAGE_SIZE
    assert shown_ids(response)[0] == entries[-1].pk
    assert "Newer" not in response.content.decode()


def test_text_search_is_bounded_and_says_how_far_back_it_looked(client, team, alice, settings, monkeypatch):
    from contactcards.history import selectors as history

    monkeypatch.setattr(history, "SEARCH_WINDOW", 20)
    needle = make_entry(team, user=alice, at=BASE_TIME, changes={"first_name": ["", "Needle"]})
    make_series(team, 30, start=BASE_TIME + timedelta(hours=1), user=alice)
    sign_in_as(client, alice)
    first = client.get(url(), {"q": "needle"})
    html = first.content.decode()
    assert shown_ids(first) == []
    assert "it searched back to" in html
    older = re.search(r'href="\?([^"]*before=[^"]+)" rel="next"', html)[1].replace("&amp;", "&")
    assert shown_ids(client.get(url() + "?" + older)) == [needle.pk]


@pytest.mark.parametrize("params", [{}, {"user": "bob", "outcome": "api_error"}, {"number": CARD_NUMBER},
                                    {"q": "zebra", "date_from": "2026-01-01"}])
def test_query_count_is_bounded(client, team, alice, bob, mixed, django_assert_max_num_queries, params):
    make_series(team, PAGE_SIZE * 3, start=BASE_TIME, user=bob)
    sign_in_as(client, alice)
    client.get(url())  # warm caches (content types, session) outside the count
    with django_assert_max_num_queries(9):
        response = client.get(url(), params)
    assert response.status_code == 200


def test_the_history_page_offers_no_way_to_change_entries(client, alice, mixed):
    sign_in_as(client, alice)
    html = client.get(url()).content.decode()
    assert 'method="post"' not in html.split("</header>", 1)[1]
    entry = mixed["alice_card_ok"]
    for method in (client.post, client.put, client.delete, client.patch):
        assert method(url()).status_code in (403, 405)
        assert method(reverse("audit_entry", args=["acme", entry.pk])).status_code in (403, 405)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
