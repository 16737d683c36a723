"""Delivering a stream's outbox: in order, each message until the receiver takes it, with backoff.

One delivery task per stream is queued at a time (``schedule``: the stream's ``task_due_at`` coalesces
wake-ups); a run takes the stream's lease (a conditional UPDATE: one worker delivers a stream at a
time), numbers the messages it can see in id order (``StreamMessage.sequence``), sends them in
sequence order and deletes each one once the receiver took it (an HTTP 2xx; for syslog, the message
written to the socket). The first failure stops the run: the stream records the fact (since when, the
code, the HTTP status) and waits ``AUDIT_STREAM_RETRY_FIRST`` seconds, doubling per failure up to
``AUDIT_STREAM_RETRY_MAX``, then tries the same message again - same sequence, same body, same
``webhook-id``. Nothing here runs inside a request, a number's lock or the history's transaction.

A run is bounded (``RUN_SECONDS`` of sending, each call bounded by the outbound timeouts), well inside
its lease, so a second worker never sends a message the first is still sending. A worker killed during
a run leaves the lease; it expires after ``LEASE`` and the next run resends the unconfirmed message
(the receiver drops the repeat by its ``webhook-id``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from contactcards.common import taskqueue
from contactcards.common.crypto import TokenDecryptionError
from contactcards.models import AuditStream, StreamMessage
from contactcards.streams import messages, targets

LEASE = timedelta(minutes=2)
RUN_SECONDS = 30.0
BATCH = 100

Failure = AuditStream.Failure


Failed = targets.Failed  # a delivery that did not get through, as a fact (code, HTTP status)


def backoff(failures: int) -> timedelta:
    """How long to wait after ``failures`` failures in a row: the first wait, doubled each time, capped."""
    first, cap = settings.AUDIT_STREAM_RETRY_FIRST, settings.AUDIT_STREAM_RETRY_MAX
    return timedelta(seconds=min(cap, first * 2 ** min(max(failures - 1, 0), 30)))


# -- waking the task ---------------------------------------------------------------------------------------------


def schedule(stream_id: int, *, at: datetime | None = None) -> bool:
    """Make sure a delivery task for the stream runs at ``at`` (default: now), not before its backoff ends.

    At most one task is queued per moment: the stream's ``task_due_at`` says when the queued one runs,
    and a wake-up for the same time or later adds none. The mark and the task row are written in one
    transaction, so there is never a mark without its task. Call after commit (or from the task itself).
    """
    from contactcards.streams.tasks import deliver_stream  # (tasks imports this module)

    now = timezone.now()
    stream = AuditStream.objects.filter(pk=stream_id).values("paused", "retry_at", "task_due_at").first()
    if stream is None or stream["paused"]:
        return False
    due = max(moment for moment in (now, at, stream["retry_at"]) if moment is not None)
    if stream["task_due_at"] is not None and stream["task_due_at"] <= due:
        # A task comes in time (the usual case for a busy team: one read, no write). If it has started
        # meanwhile, it cleared the mark before reading the messages, so it reads ours too.
        return False
    with transaction.atomic():
        marked = AuditStream.objects.filter(pk=stream_id, paused=False).filter(
            Q(task_due_at__isnull=True) | Q(task_due_at__gt=due)).update(task_due_at=due)
        if marked:
            taskqueue.enqueue(deliver_stream, stream_id, run_after=due if due > now else None)
        return bool(marked)


STALE_TASK = timedelta(minutes=5)


def wake_waiting() -> int:
    """The watchdog (run with the periodic reconcile): wake every stream that has messages waiting and no
    delivery task that can still come - none marked, or one marked due more than ``STALE_TASK`` ago (its
    task row lost) - and no worker delivering it; and drop messages of streams deleted as they were queued.
    Returns how many streams it woke."""
    now = timezone.now()
    StreamMessage.objects.exclude(stream_id__in=AuditStream.objects.values("pk")).delete()  # of deleted streams
    stuck = (AuditStream.objects.filter(paused=False, messages__isnull=False)
             .filter(Q(task_due_at__isnull=True) | Q(task_due_at__lt=now - STALE_TASK))
             .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
             .values_list("pk", flat=True).distinct())
    woken = 0
    for pk in list(stuck):
        AuditStream.objects.filter(pk=pk, task_due_at__lt=now - STALE_TASK).update(task_due_at=None)
        woken += schedule(pk)
    return woken


# -- senders -----------------------------------------------------------------------------------------------------


class WebhookSender:
    """POSTs each message, signed (Standard Webhooks), to the stream's URL at its checked address."""

    def __init__(self, stream: AuditStream) -> None:
        try:
            self.webhook = Webhook(stream.get_secret())
        except (TokenDecryptionError, ValueError):
            raise Failed(Failure.SECRET) from None
        self.url = stream.url

    def send(self, message: StreamMessage) -> None:
        text = messages.body(message.payload, sequence=message.sequence)
        signed_at = datetime.fromtimestamp(int(timezone.now().timestamp()), tz=UTC)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message.message_id, "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": self.webhook.sign(message.message_id, signed_at, text),
        }
        targets.post(self.url, text.encode(), headers)

    def close(self) -> None:
        pass


class SyslogSender:
    """RFC 5424 messages over UDP (one datagram each) or TCP (octet counting, RFC 6587; one connection
    per run). UDP cannot tell whether a message arrived: a datagram sent counts as delivered."""

    def __init__(self, stream: AuditStream) -> None:
        self.stream = stream
        self.sock: socket.socket | None = None
        self.hostname = socket.gethostname()

    def _connect(self) -> socket.socket:
        stream = self.stream
        try:
            addresses = targets.syslog_addresses(stream.syslog_host, stream.syslog_port or 0)
        except targets.Refused:
            raise Failed(Failure.ADDRESS) from None
        address = addresses[0]
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        kind = socket.SOCK_STREAM if stream.syslog_transport == AuditStream.Transport.TCP else socket.SOCK_DGRAM
        sock = socket.socket(family, kind)
        sock.settimeout(settings.AUDIT_STREAM_CONNECT_TIMEOUT)
        with self._socket_errors(sock):
            sock.connect((str(address), stream.syslog_port))
        sock.settimeout(settings.AUDIT_STREAM_READ_TIMEOUT)
        return sock

    def send(self, message: StreamMessage) -> None:
        if self.sock is None:
            self.sock = self._connect()
        line = messages.syslog_line(message.payload, sequence=message.sequence, message_id=message.message_id,
                                    facility=self.stream.syslog_facility, hostname=self.hostname, at=timezone.now())
        with self._socket_errors(self.sock):
            if self.stream.syslog_transport == AuditStream.Transport.TCP:
                self.sock.sendall(str(len(line)).encode() + b" " + line)
            else:
                self.sock.send(line)

    @contextmanager
    def _socket_errors(self, sock: socket.socket) -> Iterator[None]:
        """A timeout or a socket error closes the socket and fails the message as that fact."""
        try:
            yield
        except TimeoutError:
            sock.close()
            self.sock = None
            raise Failed(Failure.TIMEOUT) from None
        except OSError:
            sock.close()
            self.sock = None
            raise Failed(Failure.CONNECTION) from None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def sender_for(stream: AuditStream):
    return WebhookSender(stream) if stream.kind == AuditStream.Kind.WEBHOOK else SyslogSender(stream)


# -- a run -------------------------------------------------------------------------------------------------------


def _numbered(stream_id: int) -> list[StreamMessage]:
    """Number the messages not numbered yet (in id order, after the last number given), then return the
    next undelivered ones in sequence order. Only the lease holder numbers."""
    with transaction.atomic():
        fresh = list(StreamMessage.objects.filter(stream_id=stream_id, sequence__isnull=True)
                     .order_by("id").values_list("pk", flat=True)[:BATCH])
        if fresh:
            first = AuditStream.objects.filter(pk=stream_id).values_list("next_sequence", flat=True).get()
            for offset, pk in enumerate(fresh):
                StreamMessage.objects.filter(pk=pk).update(sequence=first + offset)
            AuditStream.objects.filter(pk=stream_id).update(next_sequence=first + len(fresh))
    return list(StreamMessage.objects.filter(stream_id=stream_id, sequence__isnull=False).order_by("sequence")[:BATCH])


def _delivered(stream_id: int, message: StreamMessage) -> None:
    with transaction.atomic():
        StreamMessage.objects.filter(pk=message.pk).delete()
        AuditStream.objects.filter(pk=stream_id).update(
            delivered=F("delivered") + 1, last_delivered_at=timezone.now(), failures=0, failing_since=None,
            retry_at=None)


def _failed(stream: AuditStream, message: StreamMessage | None, failure: Failed, *, sent: int) -> None:
    """Record the failure; a run that delivered something first starts a new streak of failures."""
    now = timezone.now()
    failures = 1 if sent else stream.failures + 1
    since = now if sent else (stream.failing_since or now)
    with transaction.atomic():
        if message is not None:
            StreamMessage.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1)
        AuditStream.objects.filter(pk=stream.pk).update(
            failures=failures, failing_since=since, last_error=failure.code,
            last_error_status=failure.status, last_error_at=now, retry_at=now + backoff(failures))


def deliver(stream_id: int) -> str:
    """The delivery task's work for one stream; returns what it did (the task's result)."""
    now = timezone.now()
    AuditStream.objects.filter(pk=stream_id, task_due_at__lte=now).update(task_due_at=None)
    stream = AuditStream.objects.filter(pk=stream_id).first()
    if stream is None:
        return "stream deleted"
    if stream.paused:
        return "paused"
    if stream.retry_at is not None and stream.retry_at > now:
        schedule(stream_id)
        return f"waiting until {stream.retry_at.isoformat()}"
    claimed = AuditStream.objects.filter(pk=stream_id, paused=False).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)).update(lease_until=now + LEASE)
    if not claimed:  # come back when the lease ends (the holder wakes the stream sooner if it finishes)
        schedule(stream_id, at=stream.lease_until or now + timedelta(seconds=5))
        return "another worker is delivering"  # no-i18n
    sent, failure, current = 0, None, None
    try:
        sender = sender_for(stream)
        try:
            end = time.monotonic() + RUN_SECONDS
            while failure is None and time.monotonic() < end:
                batch = _numbered(stream_id)
                if not batch:
                    break
                for current in batch:
                    sender.send(current)
                    _delivered(stream_id, current)
                    sent += 1
                    if time.monotonic() >= end:
                        break
                current = None
        finally:
            sender.close()
    except Failed as error:
        failure = error
        _failed(stream, current, error, sent=sent)
    finally:
        AuditStream.objects.filter(pk=stream_id).update(lease_until=None)
    if failure is not None or StreamMessage.objects.filter(stream_id=stream_id).exists():
        schedule(stream_id)
    if failure is not None:
        return f"sent {sent}, then failed: {failure.code} {failure.status or ''}".strip()
    return f"sent {sent}"
