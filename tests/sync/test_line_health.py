"""Line health (issue 23): what Linq says about each line - from every phone-number read and every
``phone_number.*`` webhook - in the mirror (newest knowledge wins), in the history (entries of their own,
filterable and exported), on the dashboard and the card page; a released line's saves are refused before
anything is sent, and its rollout items skip with the reason."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, BoardVersion, JobItem, LineHealth, PhoneNumber, WebhookEvent
from contactcards.rollout import jobs
from contactcards.sync import health
from contactcards.sync.reconcile import reconcile_team
from contactcards.sync.webhooks import process_event
from tests.support.helpers import sign_in_as
from tests.support.rollout_helpers import start_bulk
from tests.support.webhook_helpers import deliver, endpoint_for, minutes_ago

NEW_LINE = "+15550001009"


def line_event(number: str, event_type: str = "phone_number.status_updated", *, occurred_at=None, **data) -> dict:
    """A ``phone_number.*`` event as Linq sends it (``changed_at``; status_updated: previous/new values)."""
    when = (occurred_at or timezone.now()).astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"api_version": "v3", "webhook_version": "2026-02-03", "event_type": event_type,
            "event_id": f"evt_{uuid.uuid4().hex}", "created_at": when, "partner_id": "p_1",
            "trace_id": uuid.uuid4().hex, "data": {"phone_number": number, "changed_at": when, **data}}


def flagged(number: str = CARD_NUMBER, **options) -> dict:
    return line_event(number, previous_status="ACTIVE", new_status="FLAGGED",
                      previous_reputation={"status": "HEALTHY", "doc_url": None},
                      new_reputation={"status": "AT_RISK", "doc_url": "https://docs.linqapp.com/reputation/at_risk"},
                      **options)


def process_all() -> list[str]:
    return [process_event(event_pk=pk) for pk in WebhookEvent.objects.order_by("id").values_list("pk", flat=True)]


def line_entries(action: str | None = None) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(action__in=("line_health", "line_assigned", "line_released"))
    return list(entries.filter(action=action) if action else entries.order_by("id"))


@pytest.fixture
def endpoint(team):
    reconcile_team(team=team)  # cards and lines known: both lines ACTIVE and HEALTHY (nothing to record)
    return endpoint_for(team)


# -- reads ------------------------------------------------------------------------------------------


def test_a_read_records_every_line_and_only_trouble_is_news(team, sandbox):
    sandbox.set_line(EMPTY_NUMBER, status="FLAGGED", reputation="CRITICAL")
    result = reconcile_team(team=team)
    fine = LineHealth.objects.get(number__e164=CARD_NUMBER)
    assert (fine.status, fine.reputation, fine.released, fine.source) == ("ACTIVE", "HEALTHY", False, "reconcile")
    trouble = LineHealth.objects.get(number__e164=EMPTY_NUMBER)
    assert (trouble.status, trouble.reputation) == ("FLAGGED", "CRITICAL")
    assert trouble.doc_url == "https://docs.linqapp.com/reputation/critical"
    (entry,) = result.line_entries
    assert (entry.action, entry.phone_number, entry.username, entry.found_by) == (
        "line_health", EMPTY_NUMBER, "Linq", "reconcile")
    assert entry.changes == {"status": ["", "FLAGGED"], "reputation": ["", "CRITICAL"]}
    assert reconcile_team(team=team).line_entries == []  # the same again: nothing new
    sandbox.set_line(EMPTY_NUMBER, status="ACTIVE", reputation="AT_RISK")
    (better,) = reconcile_team(team=team).line_entries
    assert better.changes == {"status": ["FLAGGED", "ACTIVE"], "reputation": ["CRITICAL", "AT_RISK"]}


def test_a_line_a_read_no_longer_lists_was_released_and_one_never_seen_is_left_alone(team, sandbox):
    reconcile_team(team=team)
    PhoneNumber.objects.create(team=team, e164="+15550001077")  # never listed at Linq: nothing known
    sandbox.release_line(CARD_NUMBER)
    (entry,) = reconcile_team(team=team).line_entries
    assert (entry.action, entry.phone_number, entry.changes) == ("line_released", CARD_NUMBER,
                                                                 {"released": [False, True]})
    assert LineHealth.objects.get(number__e164=CARD_NUMBER).released
    assert not LineHealth.objects.filter(number__e164="+15550001077").exists()
    sandbox.assign_line(CARD_NUMBER, TOKEN)  # back on the token
    (back,) = reconcile_team(team=team).line_entries
    assert (back.action, back.changes) == ("line_assigned", {"released": [True, False]})


def test_the_import_page_and_adding_numbers_record_what_linq_says(client, alice, team, sandbox):
    sandbox.add_account(TOKEN, [NEW_LINE])
    sandbox.set_line(NEW_LINE, status="FLAGGED")
    sandbox.set_line(CARD_NUMBER, reputation="AT_RISK")
    sign_in_as(client, alice)
    page = client.get(reverse("settings_numbers_import", args=["acme"]))
    assert page.status_code == 200 and NEW_LINE in page.content.decode()
    assert LineHealth.objects.get(number__e164=CARD_NUMBER).reputation == "AT_RISK"
    response = client.post(reverse("settings_numbers_add", args=["acme"]), {"numbers": NEW_LINE})
    assert response.status_code == 302
    assert LineHealth.objects.get(number__e164=NEW_LINE).status == "FLAGGED"
    assert {e.phone_number for e in line_entries("line_health")} == {CARD_NUMBER, NEW_LINE}


# -- webhooks, and newest knowledge winning ------------------------------------------------------


def test_a_flagged_event_is_a_history_entry_and_shows_on_the_dashboard_and_the_card_page(client, vera, endpoint):
    assert deliver(client, endpoint, flagged()).status_code == 202
    assert process_all() == ["recorded"]
    (entry,) = line_entries()
    assert entry.changes == {"status": ["ACTIVE", "FLAGGED"], "reputation": ["HEALTHY", "AT_RISK"]}
    assert (entry.found_by, entry.request_sent, entry.outcome) == ("webhook", False, "success")
    assert WebhookEvent.objects.get().entry == entry
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    assert number.last_entry_id != entry.pk  # what Linq says about the line is not the card's last change

    sign_in_as(client, vera)
    board = client.get(reverse("dashboard", args=["acme"]))
    html = board.content.decode()
    assert "1 line needs attention" in html and "pill-line-flagged" in html
    assert board.context["board"].attention == 1
    shown = client.get(reverse("dashboard", args=["acme"]), {"status": "flagged"}).context["board"]
    assert [row.e164 for row in shown.rows] == [CARD_NUMBER]
    assert [row.e164 for row in client.get(reverse("dashboard", args=["acme"]),
                                           {"status": "released"}).context["board"].rows] == []
    card = client.get(reverse("card", args=["acme", CARD_NUMBER])).content.decode()
    assert "What Linq says about this line" in card and "Flagged" in card and "At risk" in card
    assert 'href="https://docs.linqapp.com/reputation/at_risk"' in card

    history = client.get(reverse("team_history", args=["acme"]), {"action": "line_health"})
    assert [e.pk for e in history.context["page"].entries] == [entry.pk]
    assert "Linq flagged this number" in history.content.decode()
    rows = list(csv.reader(io.StringIO(b"".join(client.get(
        reverse("history_export", args=["acme"]), {"action": "line_health"}).streaming_content).decode())))
    assert [row[4] for row in rows[1:]] == ["line_health"]
    assert '"FLAGGED"' in rows[1][-2]  # the facts, in other_changes


def test_an_older_event_never_overwrites_a_newer_read(client, endpoint, sandbox):
    sandbox.set_line(CARD_NUMBER, status="FLAGGED")
    reconcile_team(team=endpoint.team)  # read now: flagged
    deliver(client, endpoint, line_event(CARD_NUMBER, new_status="ACTIVE", occurred_at=minutes_ago(3)))
    assert process_all() == ["ignored"]
    assert LineHealth.objects.get(number__e164=CARD_NUMBER).status == "FLAGGED"
    assert "newer knowledge" in WebhookEvent.objects.get().note
    assert [e.changes for e in line_entries()] == [{"status": ["ACTIVE", "FLAGGED"]}]


def test_events_out_of_order_end_at_the_newest(client, endpoint):
    deliver(client, endpoint, line_event(CARD_NUMBER, new_status="ACTIVE", occurred_at=minutes_ago(1)))
    deliver(client, endpoint, line_event(CARD_NUMBER, new_status="FLAGGED", occurred_at=minutes_ago(2)))
    assert process_all() == ["ignored", "ignored"]  # the first says what we knew; the second is older
    deliver(client, endpoint, line_event(CARD_NUMBER, new_status="FLAGGED", occurred_at=minutes_ago(0)))
    assert process_all()[-1] == "recorded"
    assert LineHealth.objects.get(number__e164=CARD_NUMBER).status == "FLAGGED"


def test_odd_and_unusable_line_events_never_break_processing(client, endpoint):
    deliver(client, endpoint, line_event(CARD_NUMBER, new_status="SUSPENDED", new_reputation=["?"]))
    deliver(client, endpoint, line_event(CARD_NUMBER))  # neither a status nor a reputation
    deliver(client, endpoint, line_event("not a number"))
    deliver(client, endpoint, line_event(CARD_NUMBER, occurred_at=timezone.now() + timedelta(days=2),
                                         new_status="FLAGGED"))
    assert process_all() == ["recorded", "ignored", "ignored", "ignored"]
    assert LineHealth.objects.get(number__e164=CARD_NUMBER).status == "UNKNOWN"
    assert line_entries()[0].changes == {"status": ["ACTIVE", "UNKNOWN"]}


def test_released_and_assigned_events(client, alice, endpoint):
    deliver(client, endpoint, line_event(CARD_NUMBER, "phone_number.released"))
    deliver(client, endpoint, line_event(NEW_LINE, "phone_number.assigned"))
    assert process_all() == ["recorded", "recorded"]
    released, assigned = line_entries()
    assert (released.action, released.number.e164) == ("line_released", CARD_NUMBER)
    assert (assigned.action, assigned.number, assigned.phone_number) == ("line_assigned", None, NEW_LINE)
    sign_in_as(client, alice)
    settings_page = client.get(reverse("team_settings", args=["acme"])).content.decode()
    assert 'id="assigned-offers"' in settings_page and NEW_LINE in settings_page  # offered for import
    assert not PhoneNumber.objects.filter(e164=NEW_LINE).exists()


def test_a_team_that_opted_in_gets_an_assigned_line_at_once(client, alice, endpoint):
    sign_in_as(client, alice)
    response = client.post(reverse("settings_assigned_lines", args=["acme"]), {"auto_add_assigned": "on"})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="line_auto_add", changes={"auto_add_assigned": [False, True]}).exists()
    deliver(client, endpoint, line_event(NEW_LINE, "phone_number.assigned"))
    assert process_all() == ["recorded"]
    number = PhoneNumber.objects.get(team=endpoint.team, e164=NEW_LINE)
    assert line_entries("line_assigned")[0].number == number


@pytest.mark.django_db(transaction=True)  # on PostgreSQL the board's triggers run at commit
def test_a_health_change_replaces_the_board_version(team, sandbox):
    reconcile_team(team=team)
    before = BoardVersion.objects.get(team=team).version
    sandbox.set_line(CARD_NUMBER, reputation="CRITICAL")
    reconcile_team(team=team)
    assert BoardVersion.objects.get(team=team).version != before


# -- released lines and 403/2027 -------------------------------------------------------------------


def release(number_e164: str = CARD_NUMBER) -> None:
    number = PhoneNumber.objects.get(e164=number_e164)
    health.record_line(number=number, state=health.LineState(released=True), source=health.Source.WEBHOOK,
                       as_of=timezone.now())


def test_a_released_lines_save_is_refused_with_the_reason_and_nothing_is_sent(client, bob, team, sandbox):
    sign_in_as(client, bob)
    page = client.get(reverse("card", args=["acme", CARD_NUMBER]))
    form = page.context["form"]
    release()
    page = client.get(reverse("card", args=["acme", CARD_NUMBER])).content.decode()
    assert "Linq released this line from the team" in page and 'aria-describedby="line-released"' in page
    response = client.post(reverse("card", args=["acme", CARD_NUMBER]), {
        "first_name": "Acme", "last_name": "Desk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value()})
    assert response.status_code == 409
    assert "Your change was not sent" in response.content.decode()
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert not AuditEntry.objects.filter(action__in=("create", "update")).exists()


def test_a_released_lines_rollout_item_skips_with_the_reason(client, alice, team, sandbox):
    job = start_bulk(team, alice, [CARD_NUMBER], {"last_name": "Desk"})
    release()
    (item,) = job.items.all()
    jobs.run_item(item.pk)
    item.refresh_from_db()
    assert (item.state, item.why) == (JobItem.State.SKIPPED, JobItem.Why.RELEASED)
    assert sandbox.writes_for(CARD_NUMBER) == []
    sign_in_as(client, alice)
    page = client.get(reverse("job_detail", args=["acme", job.pk])).content.decode()
    assert "Linq released this line from the team’s token, so nothing was sent." in page


def test_403_2027_on_a_write_says_the_line_is_temporarily_ineligible(client, bob, alice, team, sandbox):
    sign_in_as(client, bob)
    form = client.get(reverse("card", args=["acme", CARD_NUMBER])).context["form"]
    sandbox.add_fault({"kind": "error", "status": 403, "code": 2027, "methods": ["PATCH"], "times": 1})
    response = client.post(reverse("card", args=["acme", CARD_NUMBER]), {
        "first_name": "Acme", "last_name": "Desk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value()})
    html = response.content.decode()
    assert "temporarily ineligible" in html and "This is about the line, not your token" in html
    assert "token may not cover" not in html
    assert response.context["error"].reason == "line_ineligible" and not response.context["error"].fix_token


@pytest.mark.parametrize(("persona", "status"), [("owner", 302), ("editor", 403), ("viewer", 403),
                                                 ("outsider", 404)])
def test_only_owners_choose_how_assigned_lines_join_the_team(client, personas, team, persona, status):
    sign_in_as(client, personas[persona])
    url = reverse("settings_assigned_lines", args=["acme"])
    assert client.post(url, {"auto_add_assigned": "on"}).status_code == status
    team.refresh_from_db()
    assert team.auto_add_assigned is (persona == "owner")
    if persona == "owner":
        assert client.get(url).status_code == 405
        page = client.get(reverse("team_settings", args=["acme"])).content.decode()
        assert "They are added to the team at once." in page
        client.post(url, {})
        team.refresh_from_db()
        assert team.auto_add_assigned is False
        assert AuditEntry.objects.filter(action="line_auto_add").count() == 2


def test_the_line_settings_are_shown_to_every_member_but_only_owners_get_the_button(client, vera, team):
    sign_in_as(client, vera)
    page = client.get(reverse("team_settings", args=["acme"])).content.decode()
    assert "They are offered for import here." in page and 'id="assigned-toggle"' not in page


def test_a_line_entry_reads_in_words_on_the_entry_page_and_the_numbers_timeline(client, vera, endpoint):
    deliver(client, endpoint, flagged())
    deliver(client, endpoint, line_event(CARD_NUMBER, "phone_number.released"))
    process_all()
    sign_in_as(client, vera)
    flag, released = line_entries()
    entry_page = client.get(reverse("audit_entry", args=["acme", flag.pk])).content.decode()
    assert "Flagged" in entry_page and "At risk" in entry_page and "FLAGGED" not in entry_page
    timeline = client.get(reverse("number_history", args=["acme", CARD_NUMBER])).content.decode()
    assert "released" in client.get(reverse("audit_entry", args=["acme", released.pk])).content.decode()
    assert "Flagged" in timeline and "Line released" in timeline
