"""Alerts end to end: raised, delivered by real `db_worker` processes to a real SMTP server (aiosmtpd) and a
real https receiver standing in for a chat tool, retried after the receiver failed, collected into a daily
digest at the subscriber's hour (the tests' clock, no sleeping), every delivery recorded."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest

from conftest import CARD_NUMBER
from contactcards.alerts import services
from contactcards.models import AlertDelivery, AlertEvent, AlertKind, PhoneNumber, UserPreference
from tests.alerts.conftest import SECRET_PATH, chat_url
from tests.support.alerts import subscribe
from tests.support.helpers import sign_in_as, text

pytestmark = pytest.mark.django_db(transaction=True)
ALERTS = "/t/acme/alerts/"


def add_team_chat(client, url: str, *kinds: str, cadence: str = "immediate"):
    return client.post(ALERTS + "add/team/", {"team-kinds": list(kinds), "team-cadence": cadence,
                                              "team-channel": "chat", "team-webhook_url": url})


def test_an_alert_reaches_the_persons_mailbox_and_the_team_chat_at_once(
        client, alice, team, mailbox, chat, alert_workers):
    alice.email = "alice@example.com"
    alice.save()
    owner = sign_in_as(client, alice)
    assert add_team_chat(owner, chat_url(chat), "line_flagged", "line_critical").status_code == 302
    subscribe(team, alice, "line_flagged")
    subscribe(team, alice, "job_failed")  # another kind: not told of this one
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)

    event = services.raise_alert(team, AlertKind.LINE_FLAGGED, number=number,
                                 facts={"status": "FLAGGED", "doc_url": "https://docs.linqapp.com/reputation"})
    alert_workers.run_batch()

    (mail,) = mailbox.to("alice@example.com")
    assert CARD_NUMBER in mail["Subject"] and "A line was flagged by Linq" in mail["Subject"]
    body = mailbox.body(mail)
    assert f"Linq flagged the line {CARD_NUMBER}." in body and "https://docs.linqapp.com/reputation" in body
    assert f"https://linqadmin.example.com/t/acme/numbers/{CARD_NUMBER}/" in body
    (posted,) = chat.taken
    assert posted.headers["content-type"] == "application/json"
    said = posted.payload["text"]
    assert said.startswith("*Acme*: ") and f"Linq flagged the line {CARD_NUMBER}." in said
    deliveries = AlertDelivery.objects.order_by("channel")
    assert [(d.channel, d.target, d.status, d.attempts, d.kind) for d in deliveries] == [
        ("chat", f"127.0.0.1:{chat.port}", "sent", 1, "line_flagged"),
        ("email", "alice@example.com", "sent", 1, "line_flagged")]
    assert all(list(d.events.all()) == [event] for d in deliveries)

    # Both are on the owners' record of the team, and alice's own on her page; the webhook's path never.
    page = text(owner.get(ALERTS + "deliveries/"))
    assert page.count("Sent") >= 2 and "alice@example.com" in page and f"127.0.0.1:{chat.port}" in page
    assert SECRET_PATH not in owner.get(ALERTS).content.decode()


def test_a_chat_delivery_is_retried_after_the_receiver_failed_then_given_up(
        client, alice, team, chat, alert_workers, clock):
    subscribe(team, alice, "token_refused", channel="chat", webhook_url=chat_url(chat),
              webhook_host=f"127.0.0.1:{chat.port}")
    chat.status = 503
    services.raise_alert(team, AlertKind.TOKEN_REFUSED, facts={"status": 401, "code": 2004})
    alert_workers.run_batch()
    delivery = AlertDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.error, delivery.error_status) == ("failed", 1, "status", 503)
    assert delivery.next_attempt_at is not None and chat.taken == [] and len(chat.attempts) == 1

    alert_workers.run_batch()  # not due yet: nothing is tried
    assert len(chat.attempts) == 1

    chat.stop()  # now down: connections refused
    clock.advance(seconds=31)
    alert_workers.run_batch()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 2, "connection")

    chat.start()  # back, on the same port
    chat.status = 200
    clock.advance(seconds=61)
    alert_workers.run_batch()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 3, "")
    (posted,) = chat.taken
    assert "Linq refused the team's token (HTTP 401, code 2004)" in posted.payload["text"]

    # A receiver that never takes it: given up after ALERT_MAX_ATTEMPTS (3) tries, and recorded so.
    chat.status = 500
    services.raise_alert(team, AlertKind.TOKEN_REFUSED, facts={"status": 401, "code": 2004})
    for wait in (0, 31, 61):
        clock.advance(seconds=wait)
        alert_workers.run_batch()
    last = AlertDelivery.objects.latest("id")
    assert (last.status, last.attempts, last.error_status, last.next_attempt_at) == ("gave_up", 3, 500, None)


def test_a_daily_digest_at_the_subscribers_hour_in_their_time_zone(
        client, vera, team, mailbox, alert_workers, clock, settings):
    vera.email = "vera@example.com"
    vera.save()
    UserPreference.objects.create(user=vera, time_zone="Asia/Tokyo")
    subscribe(team, vera, "outside_change", "job_failed", cadence="digest")  # a viewer may be told too
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    services.raise_alert(team, AlertKind.JOB_FAILED, facts={"job_id": 7, "failed": 2, "items": 5})
    services.raise_alert(team, AlertKind.OUTSIDE_CHANGE, number=number,
                         facts={"who": "Dana", "changes": {"last_name": ["Support", "Night"]}})
    services.raise_alert(team, AlertKind.LINE_RELEASED, number=number)  # not one of vera's kinds
    alert_workers.run_batch()
    assert AlertDelivery.objects.count() == 0 and mailbox.to("vera@example.com") == []

    clock.advance(days=1)  # her 08:00 in Tokyo has come since: the hourly run makes the digest
    alert_workers.run_batch()  # the hourly task: the digest is made, and its delivery queued
    alert_workers.run_batch()  # the delivery
    (digest,) = AlertDelivery.objects.all()
    assert (digest.cadence, digest.status, digest.kind, digest.events.count()) == ("digest", "sent", "", 2)
    (mail,) = mailbox.to("vera@example.com")
    body = mailbox.body(mail)
    assert "2 alerts today" in mail["Subject"]
    assert "Job 7 finished: 2 of 5 items failed." in body and '"Support" → "Night"' in body
    assert "JST" in body and "released" not in body  # her time zone; only her kinds
    covered = digest.subscription.digest_until
    assert covered.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).hour == settings.ALERT_DIGEST_HOUR

    clock.advance(days=1)  # a day without alerts: no digest at all
    alert_workers.run_batch()
    alert_workers.run_batch()
    assert AlertDelivery.objects.count() == 1 and len(mailbox.to("vera@example.com")) == 1


@pytest.mark.parametrize(("now", "zone", "expected"), [
    (datetime(2026, 3, 1, 23, 30, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 3, 1, 23, 0, tzinfo=UTC)),  # 08:30 JST
    (datetime(2026, 3, 1, 22, 30, tzinfo=UTC), "Asia/Tokyo", datetime(2026, 2, 28, 23, 0, tzinfo=UTC)),  # 07:30 JST
    (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "America/New_York", datetime(2026, 7, 1, 12, 0, tzinfo=UTC)),  # EDT
])
def test_the_digest_moment_is_the_hour_in_the_zone(now, zone, expected):
    assert services.last_digest_moment(now, zoneinfo.ZoneInfo(zone)) == expected


def test_a_job_that_finished_with_failures_is_told(alice, team, sandbox, mailbox, alert_workers):
    from tests.support.rollout_helpers import start_bulk

    alice.email = "alice@example.com"
    alice.save()
    subscribe(team, alice, "job_failed")
    sandbox.add_fault({"kind": "error", "number": CARD_NUMBER, "methods": ["PATCH"], "status": 400, "code": 1002})
    job = start_bulk(team, alice, [CARD_NUMBER], {"last_name": "Refused"})
    alert_workers.run_batch()
    alert_workers.run_batch()
    (event,) = AlertEvent.objects.filter(kind=AlertKind.JOB_FAILED)
    assert event.facts["job_id"] == job.pk and (event.facts["failed"], event.facts["items"]) == (1, 1)
    (mail,) = mailbox.to("alice@example.com")
    assert f"Job {job.pk} finished: 1 of 1 items failed." in mailbox.body(mail)
    assert f"/t/acme/jobs/{job.pk}/" in mailbox.body(mail)
