"""The team dashboard: every number with its card at a glance, from one Linq call and a fixed number of queries."""

from __future__ import annotations

import pytest

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, PhoneNumber

URL = "/t/acme/"


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
    return next(row for row in response.context["board"].rows if row.number.e164 == e164)


# -- it works -----------------------------------------------------------------


def test_it_lists_every_number_with_its_card(client, alice, sandbox):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert CARD_NUMBER in html and EMPTY_NUMBER in html
    assert "Acme Support" in html
    assert 'src="https://cdn.linqapp.com/contact-card/acme.png"' in html
    assert row_of(response, CARD_NUMBER).status == "active"
    assert row_of(response, EMPTY_NUMBER).status == "none"
    assert "No card" in html
    assert f'href="/t/acme/numbers/{CARD_NUMBER}/"' in html
    assert f'href="/t/acme/numbers/{EMPTY_NUMBER}/"' in html


def test_it_loads_all_cards_with_one_call_to_linq(client, alice, sandbox):
    client.force_login(alice)
    client.get(URL)
    assert len(card_lists(sandbox)) == 1
    assert [r for r in sandbox.requests if r.query.get("phone_number")] == []


def test_it_shows_a_pending_card(client, vera, sandbox):
    sandbox.set_card(EMPTY_NUMBER, first_name="Acme", last_name="New", is_active=False)
    client.force_login(vera)
    response = client.get(URL)
    assert row_of(response, EMPTY_NUMBER).status == "pending"
    assert "Pending" in response.content.decode()


def test_it_shows_the_last_change_and_who_made_it(client, alice, bob, team):
    audit(team, CARD_NUMBER, alice)
    audit(team, CARD_NUMBER, bob)  # newer
    client.force_login(alice)
    response = client.get(URL)
    row = row_of(response, CARD_NUMBER)
    assert row.number.last_by == "bob"
    assert row.number.last_at is not None
    assert row_of(response, EMPTY_NUMBER).number.last_at is None
    assert "by bob" in response.content.decode()


def test_it_marks_a_number_whose_last_change_failed(client, alice, bob, team):
    audit(team, CARD_NUMBER, bob, outcome=AuditEntry.Outcome.API_ERROR, code=2022)
    client.force_login(alice)
    response = client.get(URL)
    assert row_of(response, CARD_NUMBER).status == "error"
    html = response.content.decode()
    assert "failed (2022)" in html
    assert "Acme Support" in html  # the card is still shown


def test_editor_and_viewer_see_the_dashboard(client, bob, vera):
    for user in (bob, vera):
        client.force_login(user)
        assert client.get(URL).status_code == 200


def test_it_remembers_the_team_for_home(client, alice):
    client.force_login(alice)
    client.get(URL)
    assert client.get("/")["Location"] == URL


# -- search and sort ----------------------------------------------------------


@pytest.mark.parametrize("query", [CARD_NUMBER[-4:], "support", "ACME SUP"])
def test_it_searches_by_number_label_or_name(client, alice, query):
    client.force_login(alice)
    response = client.get(URL, {"q": query})
    assert [row.number.e164 for row in response.context["board"].rows] == [CARD_NUMBER]
    assert f'value="{query}"' in response.content.decode()


def test_it_says_when_nothing_matches(client, alice):
    client.force_login(alice)
    response = client.get(URL, {"q": "nobody-here"})
    assert response.status_code == 200
    assert 'id="no-match"' in response.content.decode()


def test_it_sorts_by_name_with_cardless_numbers_last(client, alice, team, sandbox):
    PhoneNumber.objects.create(team=team, e164="+15550001003")
    sandbox.add_account(TOKEN, ["+15550001003"])
    sandbox.set_card("+15550001003", first_name="Aaron")
    client.force_login(alice)
    response = client.get(URL, {"sort": "name"})
    assert [row.number.e164 for row in response.context["board"].rows] == ["+15550001003", CARD_NUMBER, EMPTY_NUMBER]


def test_it_sorts_by_last_change_newest_first(client, alice, team):
    audit(team, CARD_NUMBER, alice)
    audit(team, EMPTY_NUMBER, alice)
    client.force_login(alice)
    response = client.get(URL, {"sort": "last"})
    assert [row.number.e164 for row in response.context["board"].rows] == [EMPTY_NUMBER, CARD_NUMBER]


# -- Linq failures: the page still renders ------------------------------------


@pytest.mark.parametrize("fault", [
    {"kind": "error", "status": 500, "code": 3006},
    {"kind": "error", "status": 401, "code": 2004},
    {"kind": "non_json"},
    {"kind": "drop"},
])
def test_it_degrades_when_linq_fails(client, alice, sandbox, fault):
    sandbox.add_fault({**fault, "methods": ["GET"]})
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The cards could not be loaded from Linq" in html
    assert CARD_NUMBER in html and EMPTY_NUMBER in html
    assert {row.status for row in response.context["board"].rows} == {"unknown"}


def test_it_explains_a_missing_token_without_calling_linq(client, alice, team, sandbox):
    team.set_token("")
    team.save()
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    assert "no Linq token" in response.content.decode()
    assert sandbox.requests == []


def test_it_offers_settings_only_to_owners_when_empty(client, alice, vera, team):
    team.numbers.all().delete()
    client.force_login(vera)
    assert "/settings/" not in client.get(URL).content.decode().split("<main")[1]
    client.force_login(alice)
    assert "Add or import numbers" in client.get(URL).content.decode()


# -- it checks team membership ------------------------------------------------


def test_it_checks_team_membership(client, charlie):
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert client.post(URL).status_code == 404
    assert client.get("/t/no-such-team/").status_code == 404


# -- it handles bad input -----------------------------------------------------


@pytest.mark.parametrize("params", [{"sort": "password"}, {"sort": "-__class__"}, {"q": "x" * 5000},
                                    {"q": "<script>alert(1)</script>"}, {"q": "\x00"}])
def test_it_handles_bad_input(client, alice, params):
    client.force_login(alice)
    response = client.get(URL, params)
    assert response.status_code == 200
    assert response.context["board"].sort in ("number", "name", "last")
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_it_refuses_other_methods(client, vera):
    client.force_login(vera)
    assert client.post(URL).status_code == 405


# -- a fixed number of queries and one Linq call, whatever the size --------------


@pytest.mark.parametrize("count", [5, 500])
def test_its_queries_do_not_grow_with_the_number_of_numbers(client, alice, team, sandbox, count,
                                                            django_assert_max_num_queries):
    extra = [f"+1555100{i:04d}" for i in range(count - 2)]
    sandbox.add_account(TOKEN, extra)
    for i, e164 in enumerate(extra):
        if i % 3:
            sandbox.set_card(e164, first_name=f"Line {i}", is_active=bool(i % 2))
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in extra])
    numbers = {n.e164: n for n in PhoneNumber.objects.filter(team=team)}
    AuditEntry.objects.bulk_create([
        AuditEntry(team=team, number=numbers[e164], phone_number=e164, user=alice, username="alice",
                   action=AuditEntry.Action.UPDATE, outcome=AuditEntry.Outcome.SUCCESS)
        for e164 in extra[::2] for _ in range(2)
    ])
    client.force_login(alice)
    client.get(URL)  # the session already names the team, so the measured page writes nothing to it
    sandbox.requests.clear()
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"sort": "last"})
    assert response.status_code == 200
    assert len(response.context["board"].rows) == count
    assert len(card_lists(sandbox)) == 1
    assert len(sandbox.requests) == 1
    assert response.context["board"].rows[0].number.last_by == "alice"


# -- several teams ------------------------------------------------------------


def test_a_member_of_two_teams_switches_and_always_sees_the_current_one(client, alice, other_team):
    from contactcards.models import Membership

    Membership.objects.create(team=other_team, user=alice, role="viewer")
    client.force_login(alice)
    html = client.get(URL).content.decode()
    assert 'href="/t/other/"' in html and "Team: <strong>Acme</strong>" in html
    response = client.get("/t/other/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Team: <strong>Other Co</strong>" in html and "Viewer" in html
    assert client.get("/")["Location"] == "/t/other/"


def test_a_user_without_a_team_is_told_so(client, db):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("loner", password="x-irrelevant-x"))
    response = client.get("/")
    assert response.status_code == 200
    assert "not in a team yet" in response.content.decode()
