"""Linq's webhooks: receive (verify, store, queue) and process (history, mirror, matching our own writes).

Receiving is fast and changes nothing but the event table: the Standard Webhooks signature is
verified with the ``standardwebhooks`` package against the raw body (timestamps older or newer
than 5 minutes are refused by it), the raw body is stored, and ``webhook-id`` is unique per
team, so Linq's retries and replays are no-ops. Processing runs on the task queue, on a queue of
its own (``taskqueue.webhooks_queue_name``) so that no rollout can delay it.

A refused delivery is unauthenticated: anyone who knows the path can send one. It only counts
(``refused``, ``last_refused_at``) and records which check failed, as a code from a fixed list
(:class:`WebhookEndpoint.Refusal`); nothing it sent is stored or shown to the team's owners.
Refusals also count in a window (``refused_streak`` since ``refused_streak_since``): the
``REFUSED_THRESHOLD``-th refusal (5) within ``REFUSED_WINDOW`` (15 minutes) of the window's first raises the
"webhook deliveries refused" alert (at most once an hour per team) - one stray request is no alarm,
a secret out of step with Linq's is.

An event's time (``data.occurred_at``) is parsed at the boundary and must be plausible: not
before :data:`EARLIEST_EVENT_TIME`, not later than its arrival plus :data:`EVENT_CLOCK_SKEW`.
An implausible event is stored, recorded as ignored with the reason, and changes nothing (the
history, the mirror). So no signed event can crash its task or push a number's mirror into the
future beyond that skew (``sync.mirror`` refuses to as well).

Processing is idempotent (an event is processed once, under a row lock) and order-proof: the
mirror only moves forward in ``occurred_at`` (``sync.mirror``), so an event that arrives
after a newer one still enters the history but never overwrites newer knowledge. An event that
one of our own writes caused - or that a read or reconcile already found - is matched to that
entry instead of recorded twice.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks import task
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from contactcards.alerts.services import REFUSED_THRESHOLD, REFUSED_WINDOW, note_webhook_refused
from contactcards.common.crypto import TokenDecryptionError
from contactcards.common.phones import PhoneNumberError, parse_e164
from contactcards.lib.metrics import record_webhook
from contactcards.linq import Card
from contactcards.linq.client import LINE_STATUSES, clean_text, parse_line_value, parse_reputation
from contactcards.models import AuditEntry, CardMirror, PhoneNumber, WebhookEndpoint, WebhookEvent, unanswered_q
from contactcards.sync import health, mirror
from contactcards.sync.outside import card_diff, record_outside_change

logger = logging.getLogger(__name__)

CARD_EVENTS = ("contact_card.created", "contact_card.updated", "contact_card.deleted")
# What Linq says about lines (sync/health.py): status and reputation changes, lines assigned to or released
# from the token. A subscription asks for both kinds.
LINE_EVENTS = ("phone_number.status_updated", "phone_number.assigned", "phone_number.released")
SUBSCRIBED_EVENTS = CARD_EVENTS + LINE_EVENTS
FIELDS = ("first_name", "last_name", "image_url")
MAX_BODY = 256 * 1024
MATCH_WINDOW = timedelta(minutes=10)  # how far apart an event and the entry it confirms may be
# The plausible times for an event's data.occurred_at. Linq retries a delivery for days, so an event
# may be old - but not from before Linq's API existed - and no event happens after it arrives, but
# clocks differ by a little (the mirror's CLOCK_SKEW, 5 minutes, as Standard Webhooks allows for the
# signature's timestamp).
EARLIEST_EVENT_TIME = datetime(2020, 1, 1, tzinfo=UTC)
EVENT_CLOCK_SKEW = mirror.CLOCK_SKEW
_WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,200}$")


# -- receiving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """The receiver's answer: HTTP status and a one-word reason (no secrets, nothing Linq sent back)."""

    status: int
    reason: str


def receive(*, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> Receipt:
    """Verify one delivery and store it (once per webhook-id); queue its processing. Counted for /metrics."""
    receipt, refusal = _receive(endpoint=endpoint, body=body, headers=headers)
    if receipt.status in (200, 202):
        record_webhook(receipt.reason)  # accepted, or duplicate (a retry already stored)
    else:
        record_webhook("refused", refusal or receipt.reason)
    return receipt


def _receive(*, endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> tuple[Receipt, str]:
    """The receipt, and for a refused delivery which check failed (``WebhookEndpoint.Refusal``)."""
    try:
        secret = endpoint.get_secret()
    except TokenDecryptionError:
        logger.error("The webhook secret of team %s cannot be decrypted", endpoint.team_id)
        return Receipt(503, "secret_unreadable"), ""  # ours to fix; Linq retries meanwhile
    if not secret:
        return Receipt(410, "no_subscription"), ""
    webhook_id = headers.get("webhook-id", "")
    signed = {name: headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    try:
        if not _WEBHOOK_ID.match(webhook_id):
            raise ValueError("webhook-id is missing, too long or not printable ASCII")  # no-i18n
        Webhook(secret).verify(body, signed, json_parse=False)
        signed_at = datetime.fromtimestamp(int(float(signed["webhook-timestamp"])), tz=UTC)
    except WebhookVerificationError as exc:
        refusal = _refusal_of(exc)
        return _refuse(endpoint, refusal, type(exc).__name__), refusal
    except Exception as exc:  # noqa: BLE001 - the library raises several kinds; all mean "refused"
        refusal = WebhookEndpoint.Refusal.MALFORMED
        return _refuse(endpoint, refusal, type(exc).__name__), refusal
    payload = _json(body)
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    occurred_at = _when(data.get("occurred_at") or data.get("changed_at"))  # phone_number.*: changed_at
    if occurred_at is not None and occurred_at_problem(occurred_at, arrived=timezone.now()):
        occurred_at = None  # stored as "no time": processing records the event as ignored, and why
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                team_id=endpoint.team_id, webhook_id=webhook_id, signed_at=signed_at, body=body,
                event_type=_text(payload.get("event_type"), 100), event_id=_text(payload.get("event_id"), 200),
                phone_number=_text(data.get("phone_number"), 32), occurred_at=occurred_at,
            )
    except IntegrityError:
        return Receipt(200, "duplicate"), ""  # a retry or replay: already stored, nothing changes
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(received=F("received") + 1,
                                                          last_received_at=timezone.now())
    transaction.on_commit(lambda: _enqueue(event.pk))
    return Receipt(202, "accepted"), ""


def _enqueue(event_pk: int) -> None:
    from contactcards.common import taskqueue

    taskqueue.enqueue(process_webhook_event, event_pk, queue=taskqueue.webhooks_queue_name())


def _refusal_of(exc: WebhookVerificationError) -> str:
    """Which check failed, from the library's own (fixed) messages - never from what the sender sent."""
    message = str(exc)
    if "timestamp too" in message:  # "Message timestamp too old" / "too new"
        return WebhookEndpoint.Refusal.STALE
    if "No matching signature" in message:
        return WebhookEndpoint.Refusal.SIGNATURE
    return WebhookEndpoint.Refusal.MALFORMED  # "Missing required headers", "Invalid Signature Headers"


def _refuse(endpoint: WebhookEndpoint, refusal: str, kind: str) -> Receipt:
    """Count a refused delivery. The sender is unauthenticated: what the owners see (and the log) is
    which of our checks failed, a code from a fixed list, never any of the sender's text."""
    logger.warning("Refused a webhook delivery for team %s: %s (%s)", endpoint.team_id, refusal, kind)
    now = timezone.now()
    fresh = Q(refused_streak_since__isnull=True) | Q(refused_streak_since__lt=now - REFUSED_WINDOW)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        refused=F("refused") + 1, last_refused_at=now, last_refused_reason=refusal,
        refused_streak=Case(When(fresh, then=Value(1)), default=F("refused_streak") + 1),
        refused_streak_since=Case(When(fresh, then=Value(now)), default=F("refused_streak_since")))
    streak = WebhookEndpoint.objects.filter(pk=endpoint.pk).values("refused_streak", "refused_streak_since").first()
    if streak and streak["refused_streak"] == REFUSED_THRESHOLD:  # once per window: the alert says "for a while"
        note_webhook_refused(endpoint.team_id, streak=streak["refused_streak"], since=streak["refused_streak_since"],
                             reason=refusal)
    return Receipt(400, "refused")


def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _text(value: Any, limit: int) -> str:
    return clean_text(value, limit) if isinstance(value, str) else ""


def _when(value: Any) -> datetime | None:
    """An ISO 8601 time (any year a datetime can hold, any offset), or None when it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = parse_datetime(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def occurred_at_problem(occurred_at: datetime, *, arrived: datetime) -> str | None:
    """Why an event's time cannot be true (a fact for the event's note), or None when it can be.

    Comparisons only, no arithmetic on ``occurred_at``: year 1 and year 9999, in any offset, are
    answered without an overflow.
    """
    if occurred_at < EARLIEST_EVENT_TIME:
        return f"implausible data.occurred_at: before {EARLIEST_EVENT_TIME.date().isoformat()}"  # no-i18n
    if occurred_at > arrived + EVENT_CLOCK_SKEW:
        return "implausible data.occurred_at: after its arrival, by more than the clock skew"  # no-i18n
    return None


# -- processing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardEvent:
    """A contact-card event, parsed and cleaned at the boundary."""

    event_type: str
    event_id: str
    occurred_at: datetime
    phone_number: str
    card: dict[str, str | None]  # first_name, last_name, image_url
    is_active: bool | None
    change: dict[str, list[str]]  # {field: [from, to]}, '' for null
    actor_type: str
    actor_label: str
    origin: str
    trace_id: str


def parse_card_event(event: WebhookEvent) -> CardEvent | str:
    """The event, or why it cannot be used (a fact, stored on the event)."""
    payload = _json(bytes(event.body))
    if not payload:
        return "the body is not a JSON object"  # no-i18n
    if event.event_type not in CARD_EVENTS:
        return f"not a contact-card event ({event.event_type or 'no event_type'})"  # no-i18n
    data = payload.get("data")
    if not isinstance(data, dict) or not event.phone_number:
        return "no data.phone_number"  # no-i18n
    if event.occurred_at is None:
        raw = _when(data.get("occurred_at"))
        if raw is not None:  # readable, but refused at the receiver (see occurred_at_problem)
            return occurred_at_problem(raw, arrived=event.received_at) or "implausible data.occurred_at"  # no-i18n
        return "no readable data.occurred_at"  # no-i18n
    problem = occurred_at_problem(event.occurred_at, arrived=event.received_at)  # stored before this check
    if problem:
        return problem
    raw_card = data.get("contact_card") if isinstance(data.get("contact_card"), dict) else {}
    card = {name: (_text(raw_card.get(name), 2000) or None) for name in FIELDS}
    change: dict[str, list[str]] = {}
    raw_change = data.get("change") if isinstance(data.get("change"), dict) else {}
    for name in FIELDS:
        pair = raw_change.get(name)
        if isinstance(pair, dict):
            change[name] = [_text(pair.get("from"), 2000), _text(pair.get("to"), 2000)]
    actor = data.get("actor") if isinstance(data.get("actor"), dict) else {}
    actor_type = _text(actor.get("type"), 20) or "unknown"
    label = ""
    if actor_type == "team_member":
        name, email = _text(actor.get("name"), 100), _text(actor.get("email"), 120)
        label = f"{name} <{email}>" if name and email else (name or email or "a team member")
    active = raw_card.get("is_active")
    return CardEvent(
        event_type=event.event_type, event_id=event.event_id, occurred_at=event.occurred_at,
        phone_number=event.phone_number, card=card, is_active=active if isinstance(active, bool) else None,
        change=change, actor_type=actor_type, actor_label=label, origin=_text(data.get("origin"), 20),
        trace_id=_text(payload.get("trace_id"), 64),
    )


@task()
def process_webhook_event(event_pk: int) -> str:
    """The task: process one stored event (a no-op when it was processed already)."""
    return process_event(event_pk=event_pk)


def process_event(*, event_pk: int) -> str:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if event is None or event.status != WebhookEvent.Status.PENDING:
            return event.status if event is not None else "missing"
        if event.event_type in LINE_EVENTS:
            return _apply_line_event(event)
        parsed = parse_card_event(event)
        if isinstance(parsed, str):
            return _done(event, WebhookEvent.Status.IGNORED, parsed)
        if _processed_before(event, parsed.event_id):
            return _done(event, WebhookEvent.Status.IGNORED, "the same event_id was processed already")  # no-i18n
        number = PhoneNumber.objects.select_related("team").filter(team_id=event.team_id,
                                                                   e164=parsed.phone_number).first()
        if number is None:
            return _done(event, WebhookEvent.Status.IGNORED, "not one of the team's numbers")  # no-i18n
        return _apply(event, parsed, number)


def _apply(event: WebhookEvent, parsed: CardEvent, number: PhoneNumber) -> str:
    deleted = parsed.event_type == "contact_card.deleted"
    active = True if parsed.is_active is None else parsed.is_active  # an event means Linq applied it
    card = None if deleted else Card(phone_number=number.e164, first_name=parsed.card["first_name"] or "",
                                     last_name=parsed.card["last_name"], image_url=parsed.card["image_url"],
                                     is_active=active)
    before = mirror_state(number)
    mirror.record_card(number=number, card=card, source=mirror.Source.WEBHOOK, as_of=parsed.occurred_at)
    event.card_active = None if deleted else active
    matched = _matching_entry(number, parsed)
    if matched is not None:
        event.entry = matched
        return _done(event, WebhookEvent.Status.MATCHED, "")
    if parsed.event_type == "contact_card.updated" and parsed.change:
        changes = {name: pair for name, pair in parsed.change.items() if pair[0] != pair[1]}
    else:
        after = None if deleted else {name: parsed.card[name] for name in FIELDS}
        changes = card_diff(before if not deleted else (before or parsed.card), after)
    event.entry = record_outside_change(
        number=number, changes=changes, found_by="webhook", actor_type=parsed.actor_type,
        actor_label=parsed.actor_label, origin=parsed.origin, occurred_at=parsed.occurred_at,
        trace_id=parsed.trace_id)
    return _done(event, WebhookEvent.Status.RECORDED, "")


def mirror_state(number: PhoneNumber) -> dict[str, object] | None:
    """The card the mirror holds for ``number`` (None: no card, or nothing known)."""
    return CardMirror.objects.filter(number_id=number.pk, has_card=True).values(*FIELDS).first()


def _matching_entry(number: PhoneNumber, parsed: CardEvent) -> AuditEntry | None:
    """The entry this event is about, if we have it already: one of our writes with the same new
    values (the event confirms it), or an outside change a read or reconcile found first."""
    window = AuditEntry.objects.filter(
        number=number, created_at__gte=parsed.occurred_at - MATCH_WINDOW,
        created_at__lte=parsed.occurred_at + MATCH_WINDOW, webhook_events__isnull=True,
    ).order_by("-created_at", "-id")
    # Our writes, except those Linq refused with a definite answer: one whose answer did not say
    # (no answer, an error page without Linq's code) may be what this event reports.
    ours = window.filter(action__in=(AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE), request_sent=True).filter(
        ~Q(outcome=AuditEntry.Outcome.API_ERROR) | unanswered_q())
    found = window.filter(action=AuditEntry.Action.OUTSIDE, found_by__in=("read", "reconcile"))
    deleted = parsed.event_type == "contact_card.deleted"
    wanted = {name: "" if deleted else (parsed.card[name] or "") for name in FIELDS}
    image_changed = deleted or parsed.event_type == "contact_card.created" or "image_url" in parsed.change
    candidates = list(found[:20]) if deleted else [*ours[:20], *found[:20]]
    return next((entry for entry in candidates if _same_new_values(entry.changes, wanted, image_changed)), None)


def _same_new_values(changes: Any, wanted: dict[str, str], image_changed: bool) -> bool:
    """Whether every field the entry changed has the event's value. Linq re-hosts images, so for
    ``image_url`` "the event changed it too" is enough."""
    if not isinstance(changes, dict) or not changes:
        return False
    for name, pair in changes.items():
        if name not in wanted or not isinstance(pair, list) or len(pair) != 2:
            return False
        if name == "image_url" and wanted[name]:
            if not image_changed:
                return False
        elif (pair[1] or "") != wanted[name]:
            return False
    return True


# -- phone_number.* events ------------------------------------------------------------------------


@dataclass(frozen=True)
class LineEvent:
    """A ``phone_number.*`` event, parsed and cleaned at the boundary (values Linq's client would keep)."""

    event_type: str
    event_id: str
    occurred_at: datetime
    phone_number: str
    status: str | None = None  # status_updated: the new status (ACTIVE, FLAGGED, UNKNOWN)
    reputation: str | None = None  # status_updated: the new reputation (HEALTHY, AT_RISK, CRITICAL, UNKNOWN)
    doc_url: str | None = None
    trace_id: str = ""


def _new_value(data: dict[str, Any], name: str) -> Any:
    """The new value of ``name`` in a status_updated event: ``new_<name>`` (with ``previous_<name>``), or
    ``<name>`` as ``{"previous": .., "new": ..}``, or ``<name>`` itself."""
    if "new_" + name in data:
        return data["new_" + name]
    value = data.get(name)
    if isinstance(value, dict) and ("new" in value or "previous" in value):
        return value.get("new")
    return value


def parse_line_event(event: WebhookEvent) -> LineEvent | str:
    """The event, or why it cannot be used (a fact, stored on the event)."""
    payload = _json(bytes(event.body))
    data = payload.get("data")
    if not isinstance(data, dict) or not event.phone_number:
        return "no data.phone_number"  # no-i18n
    try:
        e164 = parse_e164(event.phone_number)
    except PhoneNumberError:
        return "data.phone_number is not E.164"  # no-i18n
    if event.occurred_at is None:
        return "no readable and plausible data.changed_at"  # no-i18n
    problem = occurred_at_problem(event.occurred_at, arrived=event.received_at)
    if problem:
        return problem
    status = reputation = doc_url = None
    if event.event_type == "phone_number.status_updated":
        status = parse_line_value(_new_value(data, "status"), LINE_STATUSES)
        reputation, doc_url = parse_reputation(_new_value(data, "reputation"))
        if status is None and reputation is None:
            return "no new status or reputation"  # no-i18n
    return LineEvent(event_type=event.event_type, event_id=event.event_id, occurred_at=event.occurred_at,
                     phone_number=e164, status=status, reputation=reputation, doc_url=doc_url,
                     trace_id=_text(payload.get("trace_id"), 64))


def _processed_before(event: WebhookEvent, event_id: str) -> bool:
    """Linq delivers at least once: another delivery of this event (same ``event_id``) was processed."""
    return bool(event_id) and WebhookEvent.objects.filter(team_id=event.team_id, event_id=event_id).exclude(
        pk=event.pk).exclude(status=WebhookEvent.Status.PENDING).exists()


def _apply_line_event(event: WebhookEvent) -> str:
    """A line's status or reputation changed, or it was assigned to / released from the token: recorded in
    the line's health (newest knowledge wins), through ``sync.health`` (its history entry, once)."""
    parsed = parse_line_event(event)
    if isinstance(parsed, str):
        return _done(event, WebhookEvent.Status.IGNORED, parsed)
    if _processed_before(event, parsed.event_id):
        return _done(event, WebhookEvent.Status.IGNORED, "the same event_id was processed already")  # no-i18n
    number = PhoneNumber.objects.select_related("team").filter(team_id=event.team_id,
                                                               e164=parsed.phone_number).first()
    if number is None:
        if parsed.event_type != "phone_number.assigned":
            return _done(event, WebhookEvent.Status.IGNORED, "not one of the team's numbers")  # no-i18n
        event.entry = health.line_assigned_to_team(team=event.team, e164=parsed.phone_number,
                                                   as_of=parsed.occurred_at, trace_id=parsed.trace_id)
        return _done(event, WebhookEvent.Status.RECORDED, "")
    state = health.LineState(status=parsed.status or "", reputation=parsed.reputation or "",
                             doc_url=parsed.doc_url or "", released=parsed.event_type == "phone_number.released")
    event.entry = health.record_line(number=number, state=state, source=health.Source.WEBHOOK,
                                     as_of=parsed.occurred_at, trace_id=parsed.trace_id)
    if event.entry is None:
        return _done(event, WebhookEvent.Status.IGNORED, "nothing new: newer knowledge, or the same")  # no-i18n
    return _done(event, WebhookEvent.Status.RECORDED, "")


def _done(event: WebhookEvent, status: str, note: str) -> str:
    event.status, event.note, event.processed_at = status, note[:300], timezone.now()
    event.save(update_fields=["status", "note", "processed_at", "entry", "card_active"])
    return status
