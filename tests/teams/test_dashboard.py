"""The team dashboard: a page of numbers with their last known cards, from the card mirror, no Linq call per view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, CardMirror, PhoneNumber, TeamSync, point_numbers_at_newest_entries
from contactcards.sync import mirror
from contactcards.sync.reconcile import reconcile_team
from contactcards.teams.dashboard import PAGE_SIZE
from tests.support.helpers import sign_in_as

URL = "/t/acme/"
REFRESH = "/t/acme/refresh/"


def card_lists(sandbox) -> list:
    """The GET /v3/contact_card calls without phone_number that the sandbox received."""
    return [r for r in sandbox.requests
            if r.method == "GET" and r.path.rstrip("/") == "/v3/contact_card" and "phone_number" not in r.query]


def audit(team, e164, user, *, outcome=AuditEntry.Outcome.SUCCESS, code=None):
    number = PhoneNumber.objects.get(team=team, e164=e164)
    return AuditEntry.objects.create(
        team=team, number=number, phone_number=e164, user=user, username=user.username,
        action=AuditEntry.Action.UPDATE, changes={"last_name": ["Support", "Help"]}, outcome=outcome,
        linq_code=code,
    )


def row_of(response, e164):
    return next(row for row in response.context["board"].rows if row.e164 == e164)


def numbers_shown(response) -> list[str]:
    return [row.e164 for row in response.context["board"].rows]


@pytest.fixture
def refreshed(team):
    """The mirror after one full read of acme's cards (what the refresh button does)."""
    assert reconcile_team(team=team).ok
    return team


# -- it works -----------------------------------------------------------------


def test_it_lists_every_number_with_its_last_known_card(client, alice, refreshed, sandbox):
    sign_in_as(client, alice)
    sandbox.requests.clear()
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert CARD_NUMBER in html and EMPTY_NUMBER in html
    assert "Acme Support" in html
    assert 'src="https://cdn.linqapp.com/contact-card/acme.png"' in html
    assert row_of(response, CARD_NUMBER).status == "active"
    assert row_of(response, EMPTY_NUMBER).status == "none"
    assert "No card" in html
    for e164 in (CARD_NUMBER, EMPTY_NUMBER):
        assert f'href="{reverse("card", args=["acme", e164])}"' in html
    assert sandbox.requests == []  # rendered from the mirror: no call to Linq per view


def test_before_any_read_numbers_are_unknown_and_the_page_offers_a_refresh(client, alice, team, sandbox):
    sign_in_as(client, alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert {row.status for row in response.context["board"].rows} == {"unknown"}
    html = response.content.decode()
    assert "2 numbers never read from Linq" in html
    assert 'action="/t/acme/refresh/"' in html and 'id="refresh"' in html
    assert sandbox.requests == []


def test_refresh_reads_every_card_in_one_call_and_comes_back_to_the_same_view(client, bob, team, sandbox):
    sign_in_as(client, bob)
    response = client.post(REFRESH, {"q": "support", "sort": "name"})
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/?q=support&sort=name"
    # one read of every card, and one of every line (their health: sync.health)
    assert [(r.method, r.path) for r in sandbox.requests] == [("GET", "/v3/contact_card"), ("GET", "/v3/phone_numbers")]
    assert len(card_lists(sandbox)) == 1
    response = client.get(response["Location"])
    assert "Cards refreshed from Linq." in response.content.decode()
    assert numbers_shown(response) == [CARD_NUMBER]
    mirrored = CardMirror.objects.get(number__e164=CARD_NUMBER)
    assert (mirrored.first_name, mirrored.last_name, mirrored.is_active) == ("Acme", "Support", True)
    assert mirrored.source == CardMirror.Source.RECONCILE
    assert CardMirror.objects.get(number__e164=EMPTY_NUMBER).has_card is False
    sync = TeamSync.objects.get(team=team)
    assert sync.refreshed_by == "bob" and sync.error_message == ""


def test_it_says_how_fresh_the_cards_are(client, vera, refreshed):
    sign_in_as(client, vera)
    html = client.get(URL).content.decode()
    assert "Cards as last known here" in html
    assert "Last refreshed from Linq" in html
    assert "as of" in html


def test_the_card_page_and_saves_feed_the_mirror(client, bob, team, sandbox):
    sign_in_as(client, bob)
    client.get(f"/t/acme/numbers/{CARD_NUMBER}/")  # a read
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).source == CardMirror.Source.READ
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Help")  # changed by someone else
    page = client.get(f"/t/acme/numbers/{CARD_NUMBER}/")
    form = page.context["form"]
    client.post(f"/t/acme/numbers/{CARD_NUMBER}/", {
        "first_name": "Acme", "last_name": "Helpdesk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value(),
    })
    mirrored = CardMirror.objects.get(number__e164=CARD_NUMBER)
    assert (mirrored.last_name, mirrored.source) == ("Helpdesk", CardMirror.Source.WRITE)
    sandbox.requests.clear()
    response = client.get(URL)
    assert "Acme Helpdesk" in response.content.decode()
    assert sandbox.requests == []


def test_it_shows_a_pending_card(client, vera, team, sandbox):
    sandbox.set_card(EMPTY_NUMBER, first_name="Acme", last_name="New", is_active=False)
    reconcile_team(team=team)
    sign_in_as(client, vera)
    response = client.get(URL)
    assert row_of(response, EMPTY_NUMBER).status == "pending"
    assert "Pending" in response.content.decode()


def test_it_shows_the_last_change_and_who_made_it(client, alice, bob, team):
    audit(team, CARD_NUMBER, alice)
    audit(team, CARD_NUMBER, bob)  # newer
    sign_in_as(client, alice)
    response = client.get(URL)
    row = row_of(response, CARD_NUMBER)
    assert row.last_by == "bob"
    assert row.last_at is not None
    assert row_of(response, EMPTY_NUMBER).last_at is None
    assert "by bob" in response.content.decode()


def test_it_marks_a_number_whose_last_change_failed(client, alice, bob, refreshed):
    audit(refreshed, CARD_NUMBER, bob, outcome=AuditEntry.Outcome.API_ERROR, code=2022)
    sign_in_as(client, alice)
    response = client.get(URL)
    assert row_of(response, CARD_NUMBER).status == "error"
    assert response.context["board"].counts["error"] == 1
    html = response.content.decode()
    assert "failed (2022)" in html
    assert "Acme Support" in html  # the card is still shown


def test_it_marks_numbers_changed_outside_until_someone_opens_them(client, alice, refreshed):
    CardMirror.objects.filter(number__e164=CARD_NUMBER).update(outside_changed_at=timezone.now())
    sign_in_as(client, alice)
    response = client.get(URL)
    assert row_of(response, CARD_NUMBER).changed_outside
    assert not row_of(response, EMPTY_NUMBER).changed_outside
    assert "changed outside" in response.content.decode()
    client.get(f"/t/acme/numbers/{CARD_NUMBER}/")
    assert not row_of(client.get(URL), CARD_NUMBER).changed_outside


def test_editor_and_viewer_see_the_dashboard(client, bob, vera):
    for user in (bob, vera):
        sign_in_as(client, user)
        assert client.get(URL).status_code == 200


def test_it_remembers_the_team_for_home(client, alice):
    sign_in_as(client, alice)
    client.get(URL)
    assert client.get("/")["Location"] == URL


# -- Linq failures: the page still renders what we knew ------------------------


@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 500, "code": 3006},
    {"kind": "error", "status": 401, "code": 2004},
    {"kind": "non_json"},
    {"kind": "drop"},
])
def test_a_failed_refresh_keeps_what_was_known(client, alice, refreshed, sandbox, fault):
    sandbox.add_fault({**fault, "methods": ["GET"]})
    sign_in_as(client, alice)
    response = client.post(REFRESH, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The cards could not be refreshed from Linq" in html
    assert "Acme Support" in html and row_of(response, CARD_NUMBER).status == "active"
    assert 'id="refresh-error"' in html
    assert TeamSync.objects.get(team=refreshed).error_at is not None
    sandbox.clear_faults()
    client.post(REFRESH)
    assert 'id="refresh-error"' not in client.get(URL).content.decode()


def test_the_dashboard_works_while_linq_is_down(client, alice, refreshed, sandbox):
    sandbox.add_fault({"kind": "error", "status": 503, "code": 4004})
    sign_in_as(client, alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Acme Support" in response.content.decode()


def test_it_explains_a_missing_token_without_calling_linq(client, alice, vera, team, sandbox):
    team.set_token("")
    team.save()
    sign_in_as(client, alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert "no Linq token" in response.content.decode()
    assert "Set the team's Linq token" in response.content.decode()
    response = client.post(REFRESH, follow=True)
    assert "no Linq token" in response.content.decode()
    assert sandbox.requests == []
    sign_in_as(client, vera)
    assert "Ask an owner of this team to set the team's Linq token" in client.get(URL).content.decode()


def test_it_offers_settings_only_to_owners_when_empty(client, alice, vera, team):
    team.numbers.all().delete()
    sign_in_as(client, vera)
    assert "/settings/" not in client.get(URL).content.decode().split("<main")[1]
    sign_in_as(client, alice)
    assert "Add or import numbers" in client.get(URL).content.decode()


# -- search, sort, pages --------------------------------------------------------


@pytest.mark.parametrize("query", [CARD_NUMBER[-4:], "support", "ACME SUP"])
def test_it_searches_by_number_label_or_name(client, alice, refreshed, query):
    sign_in_as(client, alice)
    response = client.get(URL, {"q": query})
    assert numbers_shown(response) == [CARD_NUMBER]
    assert f'value="{query}"' in response.content.decode()


def test_it_says_when_nothing_matches(client, alice):
    sign_in_as(client, alice)
    response = client.get(URL, {"q": "nobody-here"})
    assert response.status_code == 200
    assert 'id="no-match"' in response.content.decode()


def test_it_sorts_by_name_with_cardless_numbers_last(client, alice, team, sandbox):
    PhoneNumber.objects.create(team=team, e164="+15550001003")
    sandbox.add_account(TOKEN, ["+15550001003"])
    sandbox.set_card("+15550001003", first_name="Aaron")
    reconcile_team(team=team)
    sign_in_as(client, alice)
    response = client.get(URL, {"sort": "name"})
    assert numbers_shown(response) == ["+15550001003", CARD_NUMBER, EMPTY_NUMBER]


def test_it_sorts_by_last_change_newest_first(client, alice, team):
    audit(team, CARD_NUMBER, alice)
    audit(team, EMPTY_NUMBER, alice)
    sign_in_as(client, alice)
    response = client.get(URL, {"sort": "last"})
    assert numbers_shown(response) == [EMPTY_NUMBER, CARD_NUMBER]


def add_numbers(team, sandbox, count: int, *, cards: bool = True) -> list[str]:
    extra = [f"+1555100{i:04d}" for i in range(count)]
    sandbox.add_account(TOKEN, extra)
    if cards:
        for i, e164 in enumerate(extra):
            if i % 3:
                sandbox.set_card(e164, first_name=f"Line {i}", is_active=bool(i % 2))
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in extra])
    return extra


def test_it_shows_one_page_at_a_time_with_the_search_kept_in_the_links(client, vera, team, sandbox):
    add_numbers(team, sandbox, PAGE_SIZE + 10)
    reconcile_team(team=team)
    sign_in_as(client, vera)
    first = client.get(URL)
    assert len(first.context["board"].rows) == PAGE_SIZE
    assert first.context["board"].pages == 2
    assert 'href="?page=2"' in first.content.decode()
    second = client.get(URL, {"page": 2})
    assert len(second.context["board"].rows) == 12
    assert not set(numbers_shown(first)) & set(numbers_shown(second))
    searched = client.get(URL, {"q": "+1555100", "sort": "name"})
    assert searched.context["board"].matching == PAGE_SIZE + 10
    assert "q=%2B1555100&amp;sort=name&amp;page=2" in searched.content.decode()


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999", "2\x00", " 7 "])
def test_an_absurd_page_shows_a_real_page(client, alice, team, page):
    sign_in_as(client, alice)
    response = client.get(URL, {"page": page})
    assert response.status_code == 200
    assert response.context["board"].page == 1


# -- it checks team membership ------------------------------------------------


def test_it_checks_team_membership(client, charlie, sandbox):
    sign_in_as(client, charlie)
    assert client.get(URL).status_code == 404
    assert client.post(URL).status_code == 404
    assert client.post(REFRESH).status_code == 404
    assert client.get(REFRESH).status_code == 404
    assert client.get("/t/no-such-team/").status_code == 404
    assert sandbox.requests == []


def test_every_member_may_refresh(client, alice, bob, vera, team, sandbox):
    for user in (alice, bob, vera):
        sign_in_as(client, user)
        assert client.post(REFRESH).status_code == 302
    assert len(card_lists(sandbox)) == 3


# -- it handles bad input -----------------------------------------------------


@pytest.mark.parametrize("params", [{"sort": "password"}, {"sort": "-__class__"}, {"q": "x" * 5000},
                                    {"q": "<script>alert(1)</script>"}, {"q": "\x00"}, {"q": "50%_\\"}])
def test_it_handles_bad_input(client, alice, refreshed, params):
    sign_in_as(client, alice)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response.context["board"].sort in ("number", "name", "last")
    assert "<script>alert(1)</script>" not in response.content.decode()


@pytest.mark.parametrize("params", [{"q": "\x00" * 10, "sort": "\x00"}, {"q": "y" * 5000, "sort": "x" * 999}])
def test_refresh_handles_bad_input(client, alice, team, params):
    sign_in_as(client, alice)
    response = client.post(REFRESH, params)
    assert response.status_code == 302
    assert len(response["Location"]) < 200


def test_it_refuses_other_methods(client, vera):
    sign_in_as(client, vera)
    assert client.put(URL).status_code == 405
    assert client.post(URL).status_code == 200  # "Change the selection" POSTs (a viewer's ticks are ignored)
    assert client.get(REFRESH).status_code == 405


# -- a fixed number of queries and no Linq call, whatever the size ---------------


@pytest.mark.parametrize("count", [5, 500])
def test_its_queries_do_not_grow_with_the_number_of_numbers(client, alice, team, sandbox, count,
                                                            django_assert_max_num_queries):
    extra = add_numbers(team, sandbox, count - 2)
    reconcile_team(team=team)
    numbers = {n.e164: n for n in PhoneNumber.objects.filter(team=team)}
    AuditEntry.objects.bulk_create([
        AuditEntry(team=team, number=numbers[e164], phone_number=e164, user=alice, username="alice",
                   action=AuditEntry.Action.UPDATE, outcome=AuditEntry.Outcome.SUCCESS)
        for e164 in extra[::2] for _ in range(2)
    ])
    point_numbers_at_newest_entries(team.numbers.all())
    sign_in_as(client, alice)
    client.get(URL)  # the session already names the team, so the measured page writes nothing to it
    sandbox.requests.clear()
    with django_assert_max_num_queries(6):  # 5, +1 for the team's tags (the tag filter's choices)
        response = client.get(URL, {"sort": "last", "q": "+1555"})
    assert response.status_code == 200
    assert len(response.context["board"].rows) == min(count, PAGE_SIZE)
    assert response.context["board"].total == count
    assert sandbox.requests == []
    assert response.context["board"].rows[0].last_by == "alice"
    with django_assert_max_num_queries(6):
        assert client.get(URL, {"sort": "name", "page": 3}).status_code == 200


def test_refresh_costs_the_same_queries_at_any_size(client, alice, team, sandbox, django_assert_max_num_queries):
    add_numbers(team, sandbox, 300)
    sign_in_as(client, alice)
    reconcile_team(team=team)  # the second refresh updates rows instead of creating them
    # one of them: our writes the read may settle (none here); two the lines' read (sync.health: the team's
    # numbers with their health, one UPDATE confirming them)
    with django_assert_max_num_queries(15):
        assert client.post(REFRESH).status_code == 302
    assert CardMirror.objects.filter(number__team=team).count() == 302


# -- the guard: older knowledge never overwrites newer -------------------------


def test_a_refresh_does_not_overwrite_newer_knowledge(team, sandbox):
    number = team.numbers.get(e164=CARD_NUMBER)
    later = timezone.now() + timedelta(minutes=5)
    from contactcards.linq import Card

    mirror.record_card(number=number, card=Card(CARD_NUMBER, "Newer", is_active=True),
                       source=CardMirror.Source.WEBHOOK, as_of=later)
    reconcile_team(team=team)
    mirrored = CardMirror.objects.get(number=number)
    assert (mirrored.first_name, mirrored.source) == ("Newer", CardMirror.Source.WEBHOOK)
    assert CardMirror.objects.get(number__e164=EMPTY_NUMBER).source == CardMirror.Source.RECONCILE


# -- several teams ------------------------------------------------------------


def test_a_member_of_two_teams_switches_and_always_sees_the_current_one(client, alice, other_team):
    from contactcards.models import Membership

    Membership.objects.create(team=other_team, user=alice, role="viewer")
    sign_in_as(client, alice)
    html = client.get(URL).content.decode()
    assert 'href="/t/other/"' in html and "Team: <strong>Acme</strong>" in html
    response = client.get("/t/other/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Team: <strong>Other Co</strong>" in html and "Viewer" in html
    assert client.get("/")["Location"] == "/t/other/"


def test_a_user_without_a_team_is_told_so(client, db):
    from django.contrib.auth import get_user_model

    sign_in_as(client, get_user_model().objects.create_user("loner", password="x-irrelevant-x"))
    response = client.get("/")
    assert response.status_code == 200
    assert "not in a team yet" in response.content.decode()
