"""The webhook receiver and event processing: signed, stored once, processed in order of what happened."""

from __future__ import annotations

import base64
import time

import pytest

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry, CardMirror, OutsideChangeAlert, WebhookEndpoint, WebhookEvent
from contactcards.services.reconcile import reconcile_team
from contactcards.services.webhooks import process_event
from contactcards.tests.webhook_helpers import DANA, card_event, deliver, endpoint_for, last_name_changed, minutes_ago


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


REFUSALS = {
    "wrong secret": {"secret": "whsec_" + base64.b64encode(b"wrong-key-wrong-key-0123456789").decode()},
    "stale timestamp": {"timestamp": -301},  # seconds from now, when the test runs
    "from the future": {"timestamp": +400},
    "no signature": {"signature": ""},
    "signature without version": {"signature": "garbage"},
    "signature not base64": {"signature": "v1,!!!not-base64!!!"},
    "timestamp not a number": {"headers": {"webhook-timestamp": "yesterday"}},
    "timestamp infinite": {"headers": {"webhook-timestamp": "inf"}},
    "timestamp huge": {"headers": {"webhook-timestamp": "9" * 400}},
    "webhook-id too long": {"webhook_id": "m" * 201},
    "webhook-id with spaces": {"webhook_id": "msg 1"},
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_signatures_and_stale_timestamps_are_refused_counted_and_change_nothing(client, endpoint, case):
    payload = last_name_changed(CARD_NUMBER, "Support", "Forged")
    if "timestamp" in case:
        case = {**case, "timestamp": time.time() + case["timestamp"]}
    response = deliver(client, endpoint, payload, **case)
    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0
    assert AuditEntry.objects.filter(action="outside").count() == 0
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Support"
    endpoint.refresh_from_db()
    assert endpoint.refused == 1 and endpoint.last_refused_reason


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
    client.force_login(bob)
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
    client.force_login(bob)
    client.get(f"/t/acme/numbers/{CARD_NUMBER}/")  # the read finds it first
    (found,) = outside_entries()
    assert found.found_by == "read"
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Elsewhere"))
    assert process_all() == ["matched"]
    assert outside_entries() == [found]


def test_a_read_while_our_own_write_is_in_flight_is_not_an_outside_change(client, bob, endpoint, sandbox):
    """A second tab (or a double click) reads the card after Linq applied our PATCH but before its
    answer was recorded: the difference is ours, not someone else's."""
    from contactcards.models import PhoneNumber
    from contactcards.services.audit import Attempt, write_ahead

    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    write_ahead(Attempt(number=number, user=bob, action=AuditEntry.Action.UPDATE,
                        changes={"first_name": ["Acme", "Ours"]}, body={"first_name": "Ours"}))
    sandbox.set_card(CARD_NUMBER, first_name="Ours")  # Linq applied it; our answer is not recorded yet
    client.force_login(bob)
    assert client.get(f"/t/acme/numbers/{CARD_NUMBER}/").status_code == 200
    assert outside_entries() == []


# -- owners who asked get an email -------------------------------------------------------


def test_owners_who_opted_in_are_emailed_about_outside_changes(client, alice, bob, endpoint, mailoutbox):
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    OutsideChangeAlert.objects.create(team=endpoint.team, user=alice)
    OutsideChangeAlert.objects.create(team=endpoint.team, user=bob)  # an editor: not an owner, no email
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Mailed"))
    process_all()
    assert len(mailoutbox) == 1
    (mail,) = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert CARD_NUMBER in mail.subject and "Dana Dashboard" in mail.body and '"Mailed"' in mail.body
    assert DANA["email"] in mail.body


def test_the_history_and_the_entry_page_show_who_changed_it_outside(client, vera, endpoint):
    deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Seen"))
    process_all()
    entry = outside_entries()[0]
    client.force_login(vera)
    history = client.get("/t/acme/history/").content.decode()
    assert "Changed outside linqadmin" in history and "Dana Dashboard" in history
    detail = client.get(f"/t/acme/history/{entry.pk}/").content.decode()
    assert 'id="outside-facts"' in detail and "from dashboard" in detail and "Found by Linq's webhook" in detail
    assert client.get("/t/acme/history/?action=outside").status_code == 200
