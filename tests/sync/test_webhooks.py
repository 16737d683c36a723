"""The webhook receiver and event processing: signed, stored once, processed in order of what happened."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.alerts.tasks import deliver_alert
from contactcards.models import AuditEntry, CardMirror, WebhookEndpoint, WebhookEvent
from contactcards.sync.reconcile import reconcile_team
from contactcards.sync.webhooks import process_event
from tests.support.alerts import subscribe
from tests.support.helpers import sign_in_as
from tests.support.webhook_helpers import DANA, card_event, deliver, endpoint_for, last_name_changed, minutes_ago


@pytest.fixture
def endpoint(team):
    reconcile_team(team=team)  # the mirror knows acme's cards: Acme Support, and no card
    return endpoint_for(team)


def process_all() -> list[str]:
    return [process_event(event_pk=pk) for pk in WebhookEvent.objects.order_by("id").values_list("pk", flat=True)]


def outside_entries():
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE).order_by("id"))


# -- it works ---------------------------------------------------------------------


def test_a_signed_event_is_stored_with_its_raw_body_and_becomes_an_outside_change(client, endpoint):
    payload = last_name_changed(CARD_NUMBER, "Support", "Helpdesk")
    response = deliver(client, endpoint, payload)
    assert response.status_code == 202
    event = WebhookEvent.objects.get()
    assert bytes(event.body).decode() == __import__("json").dumps(payload)
    assert (event.event_type, event.phone_number, event.status) == ("contact_card.updated", CARD_NUMBER, "pending")
    assert AuditEntry.objects.filter(action="outside").count() == 0  # processing happens on the task queue

    assert process_all() == ["recorded"]
    (entry,) = outside_entries()
    assert entry.changes == {"last_name": ["Support", "Helpdesk"]}
    assert (entry.username, entry.actor_type, entry.origin, entry.found_by) == (
        "Dana Dashboard <dana@example.com>", "team_member", "dashboard", "webhook")
    assert entry.occurred_at is not None and entry.user is None
    mirrored = CardMirror.objects.get(number__e164=CARD_NUMBER)
    assert (mirrored.last_name, mirrored.source) == ("Helpdesk", "webhook")
    assert mirrored.changed_outside_unseen
    assert WebhookEndpoint.objects.get().received == 1


def test_api_and_system_actors_are_named_as_such(client, endpoint):
    deliver(client, endpoint, card_event(CARD_NUMBER, card={"first_name": "Bot"}, actor={"type": "api"},
                                         origin="api", change={"first_name": {"from": "Acme", "to": "Bot"}}))
    deliver(client, endpoint, card_event(EMPTY_NUMBER, event_type="contact_card.created", actor={"type": "system"},
                                         origin="linq", card={"first_name": "Linq", "last_name": None}))
    process_all()
    assert [(e.username, e.origin) for e in outside_entries()] == [("API", "api"), ("Linq", "linq")]
    assert outside_entries()[1].changes == {"first_name": ["", "Linq"]}


def test_a_deleted_card_is_recorded_as_removed(client, endpoint):
    deliver(client, endpoint, card_event(CARD_NUMBER, event_type="contact_card.deleted"))
    process_all()
    assert outside_entries()[0].changes["first_name"] == ["Acme", ""]
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).has_card is False


# -- replays, stale and wrong signatures change nothing ---------------------------------


def test_a_replay_or_retry_of_the_same_webhook_id_is_a_no_op(client, endpoint):
    payload = last_name_changed(CARD_NUMBER, "Support", "Once")
    assert deliver(client, endpoint, payload, webhook_id="msg_1").status_code == 202
    assert deliver(client, endpoint, payload, webhook_id="msg_1").status_code == 200  # Linq stops retrying
    assert WebhookEvent.objects.count() == 1
    process_all()
    process_all()  # processing twice is a no-op too
    assert len(outside_entries()) == 1


def test_the_same_event_through_another_message_is_recorded_once(client, endpoint):
    payload = last_name_changed(CARD_NUMBER, "Support", "Once")
    deliver(client, endpoint, payload, webhook_id="msg_a")
    deliver(client, endpoint, payload, webhook_id="msg_b")  # same event_id, e.g. a second subscription
    assert process_all() == ["recorded", "ignored"]
    assert len(outside_entries()) == 1


REFUSALS = {  # what is sent, and the check it fails (the code the owners' page words)
    "wrong secret": ({"secret": "whsec_" + base64.b64encode(b"wrong-key-wrong-key-0123456789").decode()},
                     "signature"),
    "stale timestamp": ({"timestamp": -301}, "stale"),  # seconds from now, when the test runs
    "from the future": ({"timestamp": +400}, "stale"),
    "no signature": ({"signature": ""}, "malformed"),
    "signature without version": ({"signature": "garbage"}, "malformed"),
    "signature not base64": ({"signature": "v1,!!!not-base64!!!"}, "malformed"),
    "timestamp not a number": ({"headers": {"webhook-timestamp": "yesterday"}}, "malformed"),
    "timestamp infinite": ({"headers": {"webhook-timestamp": "inf"}}, "malformed"),
    "timestamp huge": ({"headers": {"webhook-timestamp": "9" * 400}}, "malformed"),
    "webhook-id too long": ({"webhook_id": "m" * 201}, "malformed"),
    "webhook-id with spaces": ({"webhook_id": "msg 1"}, "malformed"),
}


@pytest.mark.parametrize(("case", "refusal"), REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_signatures_and_stale_timestamps_are_refused_counted_and_change_nothing(client, endpoint, case, refusal):
    payload = last_name_changed(CARD_NUMBER, "Support", "Forged")
    if "timestamp" in case:
        case = {**case, "timestamp": time.time() + case["timestamp"]}
    response = deliver(client, endpoint, payload, **case)
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0
    assert AuditEntry.objects.filter(action="outside").count() == 0
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Support"
    endpoint.refresh_from_db()
    assert (endpoint.refused, endpoint.last_refused_reason) == (1, refusal)
    assert endpoint.last_refused_at is not None


SENDER_TEXT = "Your webhooks are broken - call +1 555 0100 or visit evil.example"


@pytest.mark.parametrize("headers", [
    {"webhook-timestamp": SENDER_TEXT},
    {"webhook-signature": f"v1,{SENDER_TEXT}"},
    {"webhook-signature": SENDER_TEXT},
    {"webhook-id": SENDER_TEXT},
])
def test_an_unsigned_request_is_counted_but_none_of_its_text_reaches_the_owners(client, alice, endpoint, caplog,
                                                                                 headers):
    """Anyone who has the path can send a refused delivery: it adds one to the count and says which
    check failed, in our words; nothing the sender wrote is kept, logged or shown."""
    for _attempt in range(2):
        assert deliver(client, endpoint, card_event(CARD_NUMBER), headers=headers).status_code == 400
    endpoint.refresh_from_db()
    assert (endpoint.refused, endpoint.last_refused_reason) == (2, "malformed")
    assert SENDER_TEXT not in caplog.text
    sign_in_as(client, alice)
    page = client.get("/t/acme/settings/webhooks/").content.decode()
    assert '<span id="refused-count">2 refused</span>' in page
    assert "its webhook headers are missing or malformed" in page
    assert "evil.example" not in page and "555 0100" not in page


def test_a_body_that_is_not_utf8_is_refused(client, endpoint):
    response = deliver(client, endpoint, b"\xff\xfe\x00garbage", signature="v1,AAAA")
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0


def test_unknown_paths_other_methods_huge_bodies_and_no_subscription(client, endpoint, settings):
    assert client.post("/hooks/linq/not-a-real-token/", data=b"{}", content_type="application/json").status_code == 404
    assert client.get(f"/hooks/linq/{endpoint.path_token}/").status_code == 405
    big = deliver(client, endpoint, b'{"x": "' + b"a" * (300 * 1024) + b'"}')
    assert big.status_code == 413
    endpoint.set_secret("")
    endpoint.save()
    assert deliver(client, endpoint, card_event(CARD_NUMBER), secret=endpoint_for.__defaults__[0]).status_code == 410
    assert WebhookEvent.objects.count() == 0


def test_a_signed_but_unreadable_or_foreign_event_is_stored_and_ignored(client, endpoint):
    deliver(client, endpoint, b"not json at all")
    deliver(client, endpoint, card_event("+15559999999"))  # not one of the team's numbers
    deliver(client, endpoint, {**card_event(CARD_NUMBER), "event_type": "message.received"})
    deliver(client, endpoint, card_event(CARD_NUMBER) | {"data": {"phone_number": CARD_NUMBER,
                                                                  "occurred_at": "\x00 not a date"}})
    assert process_all() == ["ignored"] * 4
    assert outside_entries() == []
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Support"


def test_nul_characters_and_absurd_values_in_a_signed_event_are_cleaned(client, endpoint):
    payload = card_event(CARD_NUMBER, card={"last_name": "Nul\x00Name" + "x" * 5000},
                         change={"last_name": {"from": "Support", "to": "Nul\x00Name"}},
                         actor={"type": "team_member", "name": "N\x00" * 300, "email": 12})
    deliver(client, endpoint, payload)
    assert process_all() == ["recorded"]
    entry = outside_entries()[0]
    assert "\x00" not in entry.username and entry.changes["last_name"][1] == "NulName"


# -- implausible times: recorded as ignored, never a crash, never the mirror in the future ---------

IMPLAUSIBLE = {
    "year 1": "0001-01-01T00:00:00Z",
    "year 1, east of UTC": "0001-01-01T00:00:00+05:00",  # before year 1 in UTC: cannot even be stored
    "year 9999": "9999-12-31T23:59:59Z",
    "year 9999, west of UTC": "9999-12-31T23:59:59-05:00",  # after year 9999 in UTC
    "year 2999": "2999-01-01T00:00:00Z",
    "before Linq's API": "2019-12-31T23:59:59Z",
    "an hour from now": "+60",
    "six minutes from now": "+6",
}


def with_time(payload: dict, occurred_at: str) -> dict:
    if occurred_at.startswith("+"):
        occurred_at = minutes_ago(-int(occurred_at[1:])).isoformat()
    return {**payload, "data": {**payload["data"], "occurred_at": occurred_at}}


@pytest.mark.parametrize("occurred_at", IMPLAUSIBLE.values(), ids=IMPLAUSIBLE.keys())
def test_a_signed_event_with_an_implausible_time_is_recorded_as_ignored_and_changes_nothing(client, endpoint,
                                                                                          occurred_at):
    before = CardMirror.objects.get(number__e164=CARD_NUMBER)
    payload = with_time(last_name_changed(CARD_NUMBER, "Support", "Time traveller"), occurred_at)
    assert deliver(client, endpoint, payload).status_code == 202  # signed: stored, Linq need not retry

    assert process_all() == ["ignored"]
    event = WebhookEvent.objects.get()
    assert event.occurred_at is None and event.note.startswith("implausible data.occurred_at"), event.note
    assert outside_entries() == []
    mirrored = CardMirror.objects.get(number__e164=CARD_NUMBER)
    assert (mirrored.last_name, mirrored.as_of, mirrored.outside_changed_at) == (
        "Support", before.as_of, before.outside_changed_at)
    # The mirror still moves: the next true event is recorded.
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Real"))
    assert process_all() == ["ignored", "recorded"]
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Real"


@pytest.mark.parametrize("occurred_at", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
                                         datetime(2999, 1, 1, tzinfo=UTC)], ids=["year 1", "year 9999", "year 2999"])
def test_an_event_stored_with_an_implausible_time_before_this_check_is_ignored_not_a_crash(client, endpoint,
                                                                                          occurred_at):
    """Events a receiver without the check stored (their task crashed, or would freeze the mirror)."""
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Time traveller"))
    WebhookEvent.objects.update(occurred_at=occurred_at)
    assert process_all() == ["ignored"]
    assert WebhookEvent.objects.get().note.startswith("implausible data.occurred_at")
    assert outside_entries() == []
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Support"


def test_a_time_a_little_ahead_of_ours_is_kept_but_the_mirror_never_goes_beyond_the_skew(client, endpoint):
    """Linq's clock may be a few minutes ahead (its event is kept as it says); the mirror's ``as_of``
    is never later than now plus that skew, whoever asks."""
    from contactcards.models import PhoneNumber
    from contactcards.sync import mirror

    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Skewed", occurred_at=minutes_ago(-4)))
    assert process_all() == ["recorded"]
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Skewed"

    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    far = datetime(2999, 1, 1, tzinfo=UTC)
    assert mirror.record_card(number=number, card=None, source=mirror.Source.READ, as_of=far)
    assert CardMirror.objects.get(number=number).as_of <= timezone.now() + mirror.CLOCK_SKEW
    later = timezone.now() + mirror.CLOCK_SKEW + timedelta(seconds=1)  # a read soon after is not refused
    assert mirror.record_card(number=number, card=None, source=mirror.Source.READ, as_of=later)


# -- out of order: older knowledge never overwrites newer ---------------------------------


def test_events_arriving_out_of_order_never_move_the_card_back(client, endpoint):
    # both happened after the fixture's read (as_of now)
    older = last_name_changed(CARD_NUMBER, "Support", "Second", occurred_at=minutes_ago(-1))
    newer = last_name_changed(CARD_NUMBER, "Second", "Third", occurred_at=minutes_ago(-2))
    deliver(client, endpoint, newer)
    deliver(client, endpoint, older)
    assert process_all() == ["recorded", "recorded"]
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Third"
    assert sorted(e.changes["last_name"][1] for e in outside_entries()) == ["Second", "Third"]  # both happened


def test_an_event_older_than_a_read_does_not_overwrite_the_read(client, endpoint, sandbox):
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Now")
    reconcile_team(team=endpoint.team)  # read after the change
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Then", occurred_at=minutes_ago(5)))
    process_all()
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Now"


# -- our own writes and changes already found are matched, not duplicated ------------------


def test_an_event_caused_by_our_own_write_is_matched_to_its_entry(client, bob, endpoint, sandbox):
    sign_in_as(client, bob)
    page = client.get(f"/t/acme/numbers/{CARD_NUMBER}/")
    form = page.context["form"]
    client.post(f"/t/acme/numbers/{CARD_NUMBER}/", {
        "first_name": "Acme", "last_name": "Desk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value()})
    ours = AuditEntry.objects.get(action="update")
    deliver(client, endpoint, card_event(CARD_NUMBER, actor={"type": "api"}, origin="api",
                                         card={"last_name": "Desk", "is_active": True},
                                         change={"last_name": {"from": "Support", "to": "Desk"}}))
    assert process_all() == ["matched"]
    event = WebhookEvent.objects.get()
    assert event.entry == ours and event.card_active is True
    assert outside_entries() == []
    detail = client.get(f"/t/acme/history/{ours.pk}/").content.decode()
    assert "Linq confirmed this change" in detail


def test_a_change_found_by_a_read_is_not_recorded_again_by_its_webhook(client, bob, endpoint, sandbox):
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Elsewhere")
    sign_in_as(client, bob)
    client.get(f"/t/acme/numbers/{CARD_NUMBER}/")  # the read finds it first
    (found,) = outside_entries()
    assert found.found_by == "read"
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Elsewhere"))
    assert process_all() == ["matched"]
    assert outside_entries() == [found]


def test_a_read_while_our_own_write_is_in_flight_is_not_an_outside_change(client, bob, endpoint, sandbox):
    """A second tab (or a double click) reads the card after Linq applied our PATCH but before its
    answer was recorded: the difference is ours, not someone else's."""
    from contactcards.history.audit import Attempt, write_ahead
    from contactcards.models import PhoneNumber

    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    write_ahead(Attempt(number=number, user=bob, action=AuditEntry.Action.UPDATE,
                        changes={"first_name": ["Acme", "Ours"]}, body={"first_name": "Ours"}))
    sandbox.set_card(CARD_NUMBER, first_name="Ours")  # Linq applied it; our answer is not recorded yet
    sign_in_as(client, bob)
    assert client.get(f"/t/acme/numbers/{CARD_NUMBER}/").status_code == 200
    assert outside_entries() == []


# -- people who asked get an email ------------------------------------------------------


def test_people_who_asked_are_emailed_about_outside_changes(client, alice, bob, endpoint, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    subscribe(endpoint.team, alice, "outside_change")
    subscribe(endpoint.team, bob, "job_failed")  # asked for something else: no email
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Mailed"))
        process_all()
    assert mailoutbox == []  # recording the change sends nothing: the email is queued after the commit
    (queued,) = DBTaskResult.objects.filter(task_path="contactcards.alerts.tasks.deliver_alert")
    assert deliver_alert.call(*queued.args_kwargs["args"]) == "sent"
    assert len(mailoutbox) == 1
    (mail,) = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert CARD_NUMBER in mail.subject and "Dana Dashboard" in mail.body and '"Mailed"' in mail.body
    assert DANA["email"] in mail.body


def test_the_history_and_the_entry_page_show_who_changed_it_outside(client, vera, endpoint):
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Seen"))
    process_all()
    entry = outside_entries()[0]
    sign_in_as(client, vera)
    history = client.get("/t/acme/history/").content.decode()
    assert "Changed outside linqadmin" in history and "Dana Dashboard" in history
    detail = client.get(f"/t/acme/history/{entry.pk}/").content.decode()
    assert 'id="outside-facts"' in detail and "from dashboard" in detail and "Found by Linq's webhook" in detail
    assert client.get("/t/acme/history/?action=outside").status_code == 200
