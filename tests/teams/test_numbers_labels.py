"""Managing many numbers: labels and tags from a dashboard selection, the searchable and paginated
numbers of Settings, and the dashboard bringing a selection back (both databases)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry, PhoneNumber, Tag
from contactcards.teams import services
from contactcards.teams.dashboard import parse_selection, selection_query
from tests.support.helpers import sign_in_as, text

pytestmark = pytest.mark.django_db

LABELS = "/t/acme/numbers/labels/"
SETTINGS = "/t/acme/settings/"


def tags_of(e164: str) -> list[str]:
    return sorted(PhoneNumber.objects.get(e164=e164).tags.values_list("name", flat=True))


def tag(team, e164: str, *names: str) -> None:
    number = PhoneNumber.objects.get(team=team, e164=e164)
    number.tags.add(*services.tags_named(team=team, names=list(names)))


def many_numbers(team, count: int, *, tagged: str = "") -> list[str]:
    e164s = [f"+1555{i:07d}" for i in range(100_000, 100_000 + count)]
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164, label="Old" if i % 2 else "")
                                     for i, e164 in enumerate(e164s)])
    if tagged:
        old = services.tags_named(team=team, names=[tagged])[0]
        ids = PhoneNumber.objects.filter(e164__in=e164s[: count // 2]).values_list("pk", flat=True)
        PhoneNumber.tags.through.objects.bulk_create(
            [PhoneNumber.tags.through(phonenumber_id=pk, tag_id=old.pk) for pk in ids])
    return e164s


# -- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "status"), [("owner", 200), ("editor", 403), ("viewer", 403),
                                                 ("outsider", 404)])
def test_only_owners_set_labels_and_tags_of_a_selection(client, personas, persona, status, team):
    tag(team, CARD_NUMBER, "keep")
    sign_in_as(client, personas[persona])
    assert client.get(LABELS, {"n": [CARD_NUMBER]}).status_code == status
    response = client.post(LABELS, {"n": [CARD_NUMBER], "add_tags": "vip", "set_label": "on", "label": "X",
                                    "action": "apply"})
    assert response.status_code == (302 if status == 200 else status)
    expected = ["keep", "vip"] if persona == "owner" else ["keep"]
    assert tags_of(CARD_NUMBER) == expected
    assert PhoneNumber.objects.get(e164=CARD_NUMBER).label == ("X" if persona == "owner" else "Support")


def test_outsiders_get_404_whatever_the_method(client, charlie, team):
    sign_in_as(client, charlie)
    assert client.put(LABELS).status_code == 404
    assert client.get("/t/nope/numbers/labels/").status_code == 404


def test_the_dashboard_offers_the_action_to_owners_only(client, alice, bob, team):
    sign_in_as(client, alice)
    html = client.get("/t/acme/").content.decode()
    assert 'id="labels-edit"' in html and f'formaction="{LABELS}"' in html and 'id="bulk-edit"' in html
    sign_in_as(client, bob)
    html = client.get("/t/acme/").content.decode()
    assert 'id="bulk-edit"' in html and 'id="labels-edit"' not in html


# -- preview, then apply ------------------------------------------------------------------------------


def test_preview_counts_then_apply_records_one_history_row(client, alice, team):
    tag(team, CARD_NUMBER, "old", "floor 2")
    tag(team, EMPTY_NUMBER, "vip")
    sign_in_as(client, alice)
    selection = {"n": [CARD_NUMBER, EMPTY_NUMBER]}
    page = client.get(LABELS, selection)
    assert "Labels and tags of 2 numbers" in text(page)
    form = {**selection, "label": "Front desk", "add_tags": "vip, west", "remove_tags": "old"}
    preview = client.post(LABELS, {**form, "action": "preview"})
    words = text(preview)
    assert preview.status_code == 200
    assert "Label “Front desk” set on 2 numbers" in words  # typing a label ticks "Set the label"
    assert "Tag “vip” added to 1 number" in words and "Tag “west” added to 2 numbers" in words
    assert "Tag “old” removed from 1 number" in words and "Apply: change 2 numbers" in words
    assert tags_of(CARD_NUMBER) == ["floor 2", "old"] and not AuditEntry.objects.filter(team=team).exists()

    response = client.post(LABELS, {**form, "set_label": "on", "action": "apply"})
    assert response.status_code == 302
    assert response["Location"] == "/t/acme/?n=%2B15550001001&n=%2B15550001002"  # back with the selection
    assert tags_of(CARD_NUMBER) == ["floor 2", "vip", "west"] and tags_of(EMPTY_NUMBER) == ["vip", "west"]
    assert set(PhoneNumber.objects.filter(team=team).values_list("label", flat=True)) == {"Front desk"}
    assert not Tag.objects.filter(team=team, name="old").exists()  # no number has it any more
    entry = AuditEntry.objects.get(team=team)
    assert (entry.action, entry.username, entry.subject, entry.number_id, entry.request_sent) == (
        "number_labels", "alice", f"{CARD_NUMBER}, {EMPTY_NUMBER}", None, False)
    assert entry.changes == {"label": [None, "Front desk"], "tags_added": [None, "vip, west"],
                             "tags_removed": ["old", None]}
    history = text(client.get("/t/acme/history/"))
    assert "Change labels and tags" in history and "Tags added ∅ → vip, west" in history

    again = client.post(LABELS, {**form, "set_label": "on", "action": "preview"})
    assert "Nothing to change" in text(again)
    client.post(LABELS, {**form, "set_label": "on", "action": "apply"})
    assert AuditEntry.objects.filter(team=team).count() == 1  # a change that changes nothing writes no row


def test_all_matching_the_filter_has_no_cap_and_clears_a_label(client, alice, team):
    tag(team, EMPTY_NUMBER, "west")
    sign_in_as(client, alice)
    selection = {"all": "1", "tag": "west"}
    assert "Labels and tags of 1 number" in text(client.get(LABELS, selection))
    response = client.post(LABELS, {**selection, "set_label": "on", "label": "", "action": "apply"})
    assert response["Location"] == "/t/acme/?all=1&tag=west"
    assert PhoneNumber.objects.get(e164=EMPTY_NUMBER).label == ""
    assert PhoneNumber.objects.get(e164=CARD_NUMBER).label == "Support"


@pytest.mark.parametrize("data", [
    {},
    {"n": ["+1", "not a number", "+19999999999"]},  # nothing of the team's
    {"n": ["\x00"]},
    {"all": "1", "tag": "no such tag"},
    {"all": "1", "q": "\x00zzz"},
])
def test_an_empty_selection_goes_back_to_the_dashboard(client, alice, team, data):
    sign_in_as(client, alice)
    for response in (client.get(LABELS, data), client.post(LABELS, {**data, "add_tags": "x", "action": "apply"})):
        assert response.status_code == 302 and response["Location"].startswith("/t/acme/")
    assert not Tag.objects.filter(team=team).exists()


@pytest.mark.parametrize(("form", "problem"), [
    ({}, "Set a label, or name tags to add or remove."),
    ({"add_tags": "bad,tag!"}, "is not a tag"),
    ({"remove_tags": ", ".join(f"t{i}" for i in range(21))}, "At most 20 tags at a time."),
    ({"set_label": "on", "label": "x" * 101}, "at most 100 characters"),
    ({"add_tags": "\x00"}, "Null characters are not allowed"),
])
def test_bad_input_is_refused_with_the_reason_and_changes_nothing(client, alice, team, form, problem):
    sign_in_as(client, alice)
    response = client.post(LABELS, {"n": [CARD_NUMBER], **form, "action": "apply"})
    assert response.status_code == 400 and problem in text(response)
    assert tags_of(CARD_NUMBER) == [] and PhoneNumber.objects.get(e164=CARD_NUMBER).label == "Support"


# -- 5,000 numbers ----------------------------------------------------------------------------------


def test_five_thousand_numbers_change_in_a_bounded_number_of_queries(team, alice):
    e164s = many_numbers(team, 5_000, tagged="old")
    with CaptureQueriesContext(connection) as queries:
        change = services.numbers_label_tags(team=team, e164s=e164s, label="Fleet", add=["vip", "west"],
                                             remove=["old"], apply=True, actor=alice)
    # per chunk of 500: read the numbers, read their tags, relabel, link, unlink (no query per number or tag)
    assert len(queries) <= 10 * 7 + 15, len(queries)
    assert (change.selected, change.label, change.added, change.removed) == (
        5_000, 5_000, {"vip": 5_000, "west": 5_000}, {"old": 2_500})
    assert PhoneNumber.objects.filter(team=team, label="Fleet").count() == 5_000
    through = PhoneNumber.tags.through.objects.filter(phonenumber__team=team)
    assert through.filter(tag__name="vip").count() == 5_000 and through.filter(tag__name="west").count() == 5_000
    assert not Tag.objects.filter(team=team, name="old").exists()
    entry = AuditEntry.objects.get(team=team, action="number_labels")
    assert len(entry.subject) <= 254 and entry.subject.endswith(" +4983")


def test_the_page_applies_to_all_five_thousand_matching_the_filter(client, alice, team):
    many_numbers(team, 5_000)
    sign_in_as(client, alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(LABELS, {"all": "1", "q": "+1555", "add_tags": "fleet", "action": "apply"})
    assert response.status_code == 302 and len(queries) <= 80, len(queries)
    assert Tag.objects.get(team=team, name="fleet").numbers.count() == 5_002  # the team's two numbers match too


# -- Settings: search and pages -------------------------------------------------------------------


def settings_numbers(response) -> list[str]:
    return [n.e164 for n, _form in response.context["numbers"]]


def test_settings_lists_numbers_by_pages_and_searches_number_label_and_tag(client, alice, team):
    e164s = many_numbers(team, 118)  # with the team's two: 120, three pages of 50
    tag(team, e164s[7], "night shift")
    PhoneNumber.objects.filter(e164=e164s[9]).update(label="Lobby")
    sign_in_as(client, alice)
    first = client.get(SETTINGS)
    assert len(settings_numbers(first)) == 50 and "Page 1 of 3" in text(first) and "120 numbers" in text(first)
    last = client.get(SETTINGS, {"page": "3"})
    assert settings_numbers(last) == sorted([CARD_NUMBER, EMPTY_NUMBER, *e164s])[100:]
    assert settings_numbers(client.get(SETTINGS, {"page": "999"})) == settings_numbers(last)
    assert len(settings_numbers(client.get(SETTINGS, {"page": "x\x00"}))) == 50
    assert settings_numbers(client.get(SETTINGS, {"q": "night"})) == [e164s[7]]
    assert settings_numbers(client.get(SETTINGS, {"q": "lobby"})) == [e164s[9]]
    assert settings_numbers(client.get(SETTINGS, {"q": CARD_NUMBER})) == [CARD_NUMBER]
    searched = client.get(SETTINGS, {"q": "155501000"})
    assert "100 numbers match" in text(searched) and 'href="?q=155501000&amp;page=2"' in searched.content.decode()
    nothing = client.get(SETTINGS, {"q": "\x00nothing"})
    assert nothing.status_code == 200 and "No number matches this search." in text(nothing)


def test_saving_one_number_goes_back_to_its_search_and_page(client, alice, team):
    sign_in_as(client, alice)
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    response = client.post(f"/t/acme/settings/numbers/{CARD_NUMBER}/labels/",
                           {f"lt{number.pk}-label": "Front", "q": "1001", "page": "2"})
    assert response["Location"] == "/t/acme/settings/?q=1001&page=2#numbers"


def test_settings_costs_the_same_queries_with_5000_numbers(client, alice, team):
    sign_in_as(client, alice)
    client.get(SETTINGS)  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(SETTINGS, {"q": "+1"}).status_code == 200
    many_numbers(team, 5_000, tagged="old")
    with CaptureQueriesContext(connection) as large:
        response = client.get(SETTINGS, {"q": "+1", "page": "7"})
    assert len(settings_numbers(response)) == 50
    assert len(large) == len(small), [q["sql"] for q in large]


# -- the dashboard brings a selection back --------------------------------------------------------


def test_selection_query_turns_selection_parameters_into_the_dashboards_query():
    from django.http import QueryDict

    assert selection_query(QueryDict("n=%2B15550001001&n=%2B15550001002&n=junk&n=%2B15550001001")) == \
        "n=%2B15550001001&n=%2B15550001002"
    assert selection_query(QueryDict("all=1&q=front&tag=vip&status=bogus&n=%2B15550001001")) == \
        "all=1&q=front&tag=vip"
    assert selection_query({"all": "1"}) == "all=1"
    assert selection_query({"n": ["+15550001001"]}) == "n=%2B15550001001"
    assert selection_query({}) == "" and parse_selection({"n": "\x00"}).empty


def test_the_dashboard_ticks_the_numbers_in_its_url(client, bob, team):
    later = many_numbers(team, 60)[-1]  # on page 2
    sign_in_as(client, bob)
    response = client.get("/t/acme/", {"n": [EMPTY_NUMBER, later, "+15559999999", "junk"]})
    html = response.content.decode()
    assert f'value="{EMPTY_NUMBER}" aria-label="Select {EMPTY_NUMBER}" form="selection" checked>' in html
    assert f'value="{CARD_NUMBER}" aria-label="Select {CARD_NUMBER}" form="selection">' in html
    assert "2 selected" in text(response)  # a number the team does not have is not counted
    # a number on another page rides along, so submitting the form keeps it
    assert f'<input type="hidden" name="n" value="{later}" data-elsewhere>' in html
    assert "+15559999999" not in html
    plain = client.get("/t/acme/").content.decode()  # the cached rows are not ticked for the next visit
    assert " checked>" not in plain and 'data-matching="62"></span>' in plain


def test_the_dashboard_reselects_all_matching_the_filter(client, alice, team):
    tag(team, CARD_NUMBER, "vip")
    sign_in_as(client, alice)
    response = client.get("/t/acme/", {"all": "1", "tag": "vip"})
    html = response.content.decode()
    assert response.context["board"].tag == "vip" and response.context["board"].matching == 1
    assert 'id="select-all-matching" checked>' in html and "1 selected" in text(response)


def test_a_viewer_sees_no_ticks_and_no_500_for_odd_selections(client, vera, team):
    sign_in_as(client, vera)
    for data in ({"n": [CARD_NUMBER]}, {"all": "1"}, {"n": "\x00"}, {"all": "\x00", "q": "\x00"}):
        response = client.get("/t/acme/", data)
        assert response.status_code == 200 and 'form="selection"' not in response.content.decode()
