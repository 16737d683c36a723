"""The per-number timeline: field/before/after tables, failed attempts shown with Linq's words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.selectors.history import PAGE_SIZE
from contactcards.services import outcomes
from contactcards.services.cards import card_update
from contactcards.tests.helpers import BASE_TIME, make_entry, make_series

pytestmark = pytest.mark.django_db

CARD = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}


def url(number: str = CARD_NUMBER, slug: str = "acme") -> str:
    return reverse("number_history", args=[slug, number])


@pytest.fixture
def card_number(team):
    return PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)


def test_it_shows_real_changes_and_a_failed_attempt(client, sandbox, card_number, bob, vera):
    """Two real PATCHes through the sandbox: one succeeds, the next fails with Linq's error."""
    ok = card_update(number=card_number, user=bob, loaded=CARD, submitted={**CARD, "first_name": "Acme Co"})
    assert isinstance(ok, outcomes.Saved)
    sandbox.add_fault({"kind": "error", "number": CARD_NUMBER, "methods": ["PATCH"], "status": 500, "code": 2022,
                       "times": 1})
    failed = card_update(number=card_number, user=bob, loaded={**CARD, "first_name": "Acme Co"},
                         submitted={**CARD, "first_name": "Acme Co", "last_name": "Help"})
    assert isinstance(failed, outcomes.Failed)

    client.force_login(vera)
    response = client.get(url())
    assert response.status_code == 200
    html = response.content.decode()
    entries = html.split('<li class="entry ')[1:]
    assert len(entries) == 2
    newest, oldest = entries
    assert newest.startswith("outcome-api_error")
    assert "Failed: API error" in newest and "(not applied)" in newest
    assert re.search(r'<th scope="row">Last name</th><td class="old">Support</td><td class="new">Help</td>', newest)
    error = AuditEntry.objects.get(outcome="api_error")
    assert "code 2022" in newest and error.trace_id and error.trace_id in newest
    assert f"Linq said: “{error.error_message}”" in newest
    assert oldest.startswith("outcome-success")
    assert re.search(r'<th scope="row">First name</th><td class="old">Acme</td><td class="new">Acme Co</td>', oldest)


def test_it_shows_only_this_numbers_entries(client, team, card_number, alice):
    other = PhoneNumber.objects.get(team=team, e164=EMPTY_NUMBER)
    mine = make_entry(team, number=card_number, user=alice, at=BASE_TIME)
    make_entry(team, number=other, user=alice, at=BASE_TIME + timedelta(hours=1))
    client.force_login(alice)
    html = client.get(url()).content.decode()
    assert re.findall(r'href="/t/acme/history/(\d+)/"', html) == [str(mine.pk)]


def test_it_pages_with_keyset_links(client, team, card_number, alice):
    entries = make_series(team, PAGE_SIZE + 2, start=BASE_TIME, number=card_number, user=alice)
    client.force_login(alice)
    first = client.get(url()).content.decode()
    older = re.search(r'href="\?(before=[^"]+)" rel="next"', first)[1]
    second = client.get(url() + "?" + older).content.decode()
    assert re.findall(r'href="/t/acme/history/(\d+)/"', second) == [str(entries[1].pk), str(entries[0].pk)]


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_every_member_can_read_it(client, personas, card_number, persona):
    make_entry(card_number.team, number=card_number, user=personas["owner"], at=BASE_TIME)
    client.force_login(personas[persona])
    assert client.get(url()).status_code == 200


def test_it_checks_membership(client, personas, card_number):
    client.force_login(personas["outsider"])
    assert client.get(url()).status_code == 404
    # a number of another team, seen through this team's slug, is not found either
    client.force_login(personas["owner"])
    assert client.get(url("+15550009001")).status_code == 404


def test_a_bad_page_link_is_not_an_error(client, alice, card_number):
    client.force_login(alice)
    response = client.get(url(), {"before": "nonsense"})
    assert response.status_code == 200
    assert "That page link is broken or out of date" in response.content.decode()


def test_query_count_is_bounded(client, team, card_number, alice, django_assert_max_num_queries):
    make_series(team, PAGE_SIZE * 2, start=BASE_TIME, number=card_number, user=alice)
    client.force_login(alice)
    client.get(url())
    with django_assert_max_num_queries(7):
        assert client.get(url()).status_code == 200
