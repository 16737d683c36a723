"""Audit streaming end to end: entries reach a real https receiver, signed, exactly once, in order - also
after the receiver was down for a while - and real syslog listeners; real `db_worker --batch` processes,
the tests' clock for the backoff (no sleeping)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks.webhooks import Webhook

from conftest import TOKEN
from contactcards.history.audit import record_team_change
from contactcards.models import AuditEntry, AuditStream, StreamMessage
from contactcards.streams import delivery, selectors, services
from contactcards.teams import services as team_services
from tests.support.helpers import URL, load, sign_in_as, text
from tests.support.worker import wait_until

STREAMS = "/t/acme/settings/streams/"
SETTINGS = "/t/acme/settings/"


def add_webhook_stream(client, url: str) -> tuple[AuditStream, str]:
    """An owner adds a webhook stream on the page; the secret is on the answer, once."""
    response = client.post(STREAMS + "add/", {"name": "SIEM", "kind": "webhook", "url": url, "syslog_facility": "13"})
    assert response.status_code == 200, text(response)
    secret = re.search(r'id="secret-value">(whsec_[^<]+)<', response.content.decode()).group(1)
    return AuditStream.objects.get(name="SIEM"), secret


def verified(receiver, secret: str) -> list[dict]:
    """Every delivery the receiver took, each checked against the signing secret."""
    webhook = Webhook(secret)
    return [webhook.verify(d.body, {k: d.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
            for d in receiver.taken]


def stream_gauges(settings, stream: AuditStream) -> dict[str, float]:
    """/metrics' gauges of ``stream`` (read as a scraper would, with the token)."""
    settings.METRICS_TOKEN = "scrape-token-for-stream-tests"
    answer = Client().get("/metrics", headers={"Authorization": "Bearer scrape-token-for-stream-tests"})
    labels = {"team": stream.team.slug, "stream": str(stream.pk), "kind": stream.kind}
    return {sample.name.removeprefix("linqadmin_audit_stream_"): sample.value
            for family in text_string_to_metric_families(answer.content.decode()) for sample in family.samples
            if sample.name.startswith("linqadmin_audit_stream_") and sample.labels == labels}


@pytest.mark.django_db(transaction=True)
def test_entries_reach_the_receiver_signed_once_in_order_after_it_was_down(
        client, alice, bob, team, receiver, stream_workers, clock, settings):
    owner = sign_in_as(client, alice)
    stream, secret = add_webhook_stream(owner, receiver.url)
    assert secret.startswith("whsec_") and secret not in stream.secret_encrypted
    stream_workers.run_batch()
    assert [p["data"]["action"] for p in verified(receiver, secret)] == ["stream_add"]

    receiver.stop()  # down: connections refused
    editor = sign_in_as(Client(), bob)
    assert editor.post(URL, {**load(editor), "last_name": "Night shift"}).status_code == 200
    team_services.token_change(team=team, user=alice, token=TOKEN)
    stream_workers.run_batch()
    stream.refresh_from_db()
    assert stream.failing_since is not None and stream.last_error == "connection" and stream.failures == 1
    page = text(owner.get(SETTINGS))
    assert "Behind by 3 messages" in page and "the connection was refused or broke" in page
    behind = stream_gauges(settings, stream)  # and so does /metrics
    assert (behind["waiting_messages"], behind["failing"], behind["paused"]) == (3, 1, 0)

    clock.advance(seconds=10)
    stream_workers.run_batch()  # still refused: the next wait doubles
    receiver.status = 503
    receiver.start()  # up again on the same port, but answering 503
    clock.advance(seconds=20)
    stream_workers.run_batch()
    stream.refresh_from_db()
    assert (stream.failures, stream.last_error, stream.last_error_status) == (3, "status", 503)
    assert len(receiver.attempts) == 2 and len(receiver.taken) == 1
    page = text(owner.get(STREAMS))
    assert "Behind by 3 messages" in page and "(HTTP 503)" in page and "3 tries in a row" in page

    receiver.status = 200
    clock.advance(seconds=40)
    stream_workers.run_batch()
    assert editor.post(URL, {**load(editor), "first_name": "Acme Co"}).status_code == 200
    stream_workers.run_batch()
    stream_workers.run_batch()  # nothing left: nothing is sent again
    caught_up = stream_gauges(settings, stream)
    assert (caught_up["waiting_messages"], caught_up["oldest_waiting_age_seconds"], caught_up["failing"]) == (0, 0, 0)

    payloads = verified(receiver, secret)
    ids = [d.headers["webhook-id"] for d in receiver.taken]
    assert len(ids) == len(set(ids)) == 6, ids
    assert [p["sequence"] for p in payloads] == [1, 2, 3, 4, 5, 6]
    assert [(p["type"], p["data"]["action"], p["data"]["outcome"]) for p in payloads] == [
        ("audit.entry.written", "stream_add", "success"),
        ("audit.entry.written", "update", "pending"),   # the attempt, written ahead of the call
        ("audit.entry.outcome", "update", "success"),   # its outcome, filled in once
        ("audit.entry.written", "token_change", "success"),
        ("audit.entry.written", "update", "pending"),
        ("audit.entry.outcome", "update", "success"),
    ]
    entries = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    assert [p["data"]["id"] for p in payloads] == [entries[0], entries[1], entries[1], entries[2], entries[3],
                                                   entries[3]]
    assert ids[1] == f"audit_{entries[1]}_written" and ids[2] == f"audit_{entries[1]}_outcome"
    save = payloads[2]["data"]
    assert save["changes"] == {"last_name": {"before": "Support", "after": "Night shift"}}
    assert (save["team"], save["number"], save["actor"]["username"], save["http_status"]) == (
        "acme", "+15550001001", "bob", 200)
    assert all(TOKEN not in d.body.decode() and secret not in d.body.decode() for d in receiver.attempts)
    stream.refresh_from_db()
    assert (stream.failing_since, stream.failures, stream.delivered) == (None, 0, 6)
    assert not StreamMessage.objects.exists()
    assert [(lag.waiting, lag.failing) for lag in selectors.lag_per_stream()] == [(0, False)]
    assert "Every entry sent" in text(owner.get(SETTINGS))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_entries_reach_a_syslog_server_as_rfc5424(transport, alice, team, stream_workers, udp_syslog, tcp_syslog):
    listener = udp_syslog if transport == "udp" else tcp_syslog
    services.stream_create(team=team, user=alice, name="Syslog", kind="syslog", syslog_host="127.0.0.1",
                           syslog_port=listener.port, syslog_transport=transport, syslog_facility=13)
    record_team_change(team=team, user=alice, action=AuditEntry.Action.MEMBER_INVITE, subject="dora@example.com")
    stream_workers.run_batch()
    wait_until(lambda: len(listener.messages) == 2, "two syslog messages")
    pattern = re.compile(rb'^<109>1 (\S+) (\S+) linqadmin - written \[linqadmin@32473 id="audit_(\d+)_written" '
                         rb'entry="(\d+)" team="acme" action="(\w+)" outcome="success" sequence="(\d)"\] '
                         rb'\xef\xbb\xbf(\{.*\})$', re.S)
    found = [pattern.match(message) for message in listener.messages]
    assert all(found), listener.messages
    assert [(m.group(5), m.group(6)) for m in found] == [(b"stream_add", b"1"), (b"member_invite", b"2")]
    assert b'"subject":"dora@example.com"' in found[1].group(7)


def test_a_message_that_commits_late_is_sent_next_not_skipped(alice, team, receiver, stream_settings):
    """Concurrent transactions can commit ids out of order: a row with a lower id that appears after
    higher ones were sent is numbered next and sent (there is no "last id" cursor to skip it)."""
    created = services.stream_create(team=team, user=alice, name="SIEM", kind="webhook", url=receiver.url)
    first = StreamMessage.objects.get().pk
    record_team_change(team=team, user=alice, action=AuditEntry.Action.MEMBER_INVITE, subject="dora@example.com")
    second = StreamMessage.objects.latest("pk").pk
    assert delivery.deliver(created.stream.pk) == "sent 2"
    late = StreamMessage.objects.create(pk=first, stream=created.stream, entry_id=999, event="written",
                                        payload={"type": "audit.entry.written", "timestamp": "", "data": {"id": 999}},
                                        created_at=created.stream.created_at)
    assert late.pk < second  # an id below one already sent
    assert delivery.deliver(created.stream.pk) == "sent 1"
    assert [(d.payload["sequence"], d.payload["data"]["id"]) for d in receiver.taken][-1] == (3, 999)
    assert [d.payload["sequence"] for d in receiver.taken] == [1, 2, 3]


def test_a_paused_stream_keeps_its_messages_and_sends_them_in_order_when_resumed(alice, team, receiver,
                                                                                 stream_settings):
    created = services.stream_create(team=team, user=alice, name="SIEM", kind="webhook", url=receiver.url)
    stream = created.stream
    services.stream_pause(stream=stream, user=alice, paused=True)
    for who in ("a@example.com", "b@example.com"):
        record_team_change(team=team, user=alice, action=AuditEntry.Action.MEMBER_INVITE, subject=who)
    assert delivery.deliver(stream.pk) == "paused" and receiver.attempts == []
    assert [lag.waiting for lag in selectors.lag_per_stream()] == [4]
    services.stream_pause(stream=stream, user=alice, paused=False)
    assert delivery.deliver(stream.pk) == "sent 5"
    assert [d.payload["data"]["action"] for d in receiver.taken] == [
        "stream_add", "stream_pause", "member_invite", "member_invite", "stream_resume"]
    assert [d.payload["data"]["subject"] for d in receiver.taken][2:4] == ["a@example.com", "b@example.com"]


def test_backoff_doubles_and_is_capped(settings):
    settings.AUDIT_STREAM_RETRY_FIRST, settings.AUDIT_STREAM_RETRY_MAX = 10, 600
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 6, 7, 50)] == [10, 20, 40, 320, 600, 600]


def test_a_stream_to_an_address_no_longer_allowed_fails_without_connecting(alice, team, receiver, stream_settings,
                                                                           settings):
    created = services.stream_create(team=team, user=alice, name="SIEM", kind="webhook", url=receiver.url)
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = []
    assert delivery.deliver(created.stream.pk).startswith("sent 0, then failed: address")
    assert receiver.attempts == []
    created.stream.refresh_from_db()
    assert created.stream.last_error == "address" and StreamMessage.objects.count() == 1


def test_each_change_of_a_written_ahead_entry_is_one_message(alice, team, stream_settings):
    """The attempt (pending), its outcome (an answer that did not say), and what a re-read found: three
    messages, each with the entry as it was then; a second settle changes nothing and sends nothing."""
    from django.utils import timezone

    from contactcards.history import audit
    from contactcards.linq import LinqError
    from contactcards.models import PhoneNumber

    services.stream_create(team=team, user=alice, name="SIEM", kind="webhook", url="https://127.0.0.1:9/x")
    number = PhoneNumber.objects.get(team=team, e164="+15550001001")
    attempt = audit.Attempt(number=number, user=alice, action=AuditEntry.Action.UPDATE,
                            changes={"last_name": ["Support", "Night"]}, body={"last_name": "Night"})
    entry = audit.write_ahead(attempt)
    audit.record_outcome(entry, error=LinqError("read timed out", kind="timeout"))
    assert audit.settle(entry, applied=True, at=timezone.now())
    assert not audit.settle(entry, applied=False, at=timezone.now())
    messages = list(StreamMessage.objects.exclude(entry_id__lt=entry.pk).order_by("id"))
    assert [(m.event, m.payload["data"]["outcome"], m.payload["data"]["applied"]) for m in messages] == [
        ("written", "pending", None), ("outcome", "network_error", None), ("settled", "network_error", True)]
    assert [m.message_id for m in messages] == [f"audit_{entry.pk}_{event}" for event in ("written", "outcome",
                                                                                          "settled")]
    assert messages[1].payload["data"]["error_kind"] == "timeout"


def test_the_watchdog_wakes_a_stream_whose_wake_up_was_lost(alice, team, stream_settings, clock):
    from django_tasks_db.models import DBTaskResult

    stream = services.stream_create(team=team, user=alice, name="SIEM", kind="webhook",
                                    url="https://127.0.0.1:9/x").stream  # its commit woke it: one task
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_stream").count() == 1
    assert delivery.wake_waiting() == 0  # a task is coming: nothing to do
    DBTaskResult.objects.all().delete()  # the task row lost; the mark stays
    assert delivery.wake_waiting() == 0  # (it may still be on its way)
    clock.advance(minutes=6)
    assert delivery.wake_waiting() == 1 and delivery.wake_waiting() == 0  # one task, not one per call
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_stream").count() == 1
    stream.refresh_from_db()
    assert stream.task_due_at is not None


def test_a_message_queued_as_its_stream_was_deleted_breaks_nothing_and_is_dropped(alice, team, stream_settings):
    """The outbox has no database constraint on its stream: a history write that races with a stream's
    deletion still commits; the watchdog drops what it queued for the stream that is gone."""
    entry = record_team_change(team=team, user=alice, action=AuditEntry.Action.MEMBER_INVITE, subject="d@example.com")
    StreamMessage.objects.create(stream_id=10**9, entry_id=entry.pk, event="written", payload={},
                                 created_at=entry.created_at)
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    delivery.wake_waiting()
    assert not StreamMessage.objects.exists()


def test_one_worker_delivers_a_stream_at_a_time(alice, team, receiver, stream_settings):
    from django.utils import timezone

    stream = services.stream_create(team=team, user=alice, name="SIEM", kind="webhook", url=receiver.url).stream
    held_until = timezone.now() + delivery.LEASE
    AuditStream.objects.filter(pk=stream.pk).update(lease_until=held_until)  # another worker holds it
    assert delivery.deliver(stream.pk) == "another worker is delivering" and receiver.attempts == []
    stream.refresh_from_db()
    assert stream.task_due_at == held_until  # it comes back when that lease ends
    AuditStream.objects.filter(pk=stream.pk).update(lease_until=None)
    assert delivery.deliver(stream.pk) == "sent 1"
    stream.refresh_from_db()
    assert stream.lease_until is None
