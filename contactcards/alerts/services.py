"""Alerts: raising one (``raise_alert``, the one entry point), telling the subscribers, retrying, digests.

``raise_alert(team, kind, number=, entry=, facts=)`` writes an :class:`AlertEvent` (facts only) and, in the
same transaction, one :class:`AlertDelivery` per subscription that wants that kind at once; their delivery
tasks are enqueued after commit (``deliver_alert``). Nothing is sent inside the caller's transaction or
lock. A delivery is claimed by a conditional UPDATE (two tasks never send it twice), sent once
(``channels.send``), and on failure tried again after ``ALERT_RETRY_FIRST`` seconds, doubled per failure up
to ``ALERT_RETRY_MAX``, ``ALERT_MAX_ATTEMPTS`` tries in all; every try is recorded on its row.

Daily digests: ``send_digests`` runs at the top of every hour (``schedule_digests``, one chain); a digest
subscription whose ``ALERT_DIGEST_HOUR`` has come in its time zone since its last digest gets one delivery
with every event of its kinds since then (none when nothing happened). The same run gives back deliveries
whose task was lost (a worker died), so nothing waits forever.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from contactcards.alerts import channels
from contactcards.common import taskqueue
from contactcards.common.errors import reason_of
from contactcards.lib import metrics
from contactcards.linq import LinqError
from contactcards.models import (
    AlertDelivery,
    AlertEvent,
    AlertKind,
    AlertSubscription,
    AuditEntry,
    Membership,
    PhoneNumber,
    Team,
)

Status = AlertDelivery.Status
Cadence = AlertSubscription.Cadence
Channel = AlertSubscription.Channel

# Webhook deliveries refused for a while: this many refusals within REFUSED_WINDOW of the first one.
REFUSED_THRESHOLD = 5
REFUSED_WINDOW = timedelta(minutes=15)
# The token refused, webhooks refused: a team hears of each at most once in this long.
ONCE_PER = timedelta(hours=1)
# A delivery whose task has not run this long after it was due (its task row lost, its worker killed).
LOST_AFTER = timedelta(minutes=10)


# -- raising -----------------------------------------------------------------------------------------------------


def raise_alert(team: Team, kind: str, *, number: PhoneNumber | None = None, entry: AuditEntry | None = None,
                facts: dict | None = None, once_per: timedelta | None = None) -> AlertEvent | None:
    """Record that ``kind`` happened to ``team`` and tell whoever asked, after commit.

    ``facts``: JSON-able facts the templates word (``templates/alerts/event.txt``), never a secret.
    ``once_per``: not raised (returns None) when the team had an alert of this kind less than that long
    ago; a row keyed by the kind and the period (``dedupe_key``, unique per team) stops two raised at
    the same moment. Safe inside a transaction or a lock: it writes rows, and sends nothing.
    """
    if kind not in AlertKind.values:
        raise ValueError(f"unknown alert kind {kind!r}")  # no-i18n - a programming error
    now = timezone.now()
    dedupe_key = f"{kind}:{int(now.timestamp() // once_per.total_seconds())}" if once_per else ""
    event = AlertEvent(team=team, kind=kind, number=number, phone_number=number.e164 if number else "",
                       entry_id=entry.pk if entry is not None else None, facts=facts or {}, dedupe_key=dedupe_key,
                       created_at=now)
    with transaction.atomic():
        if once_per:
            if AlertEvent.objects.filter(team=team, kind=kind, created_at__gt=now - once_per).exists():
                return None
            try:
                with transaction.atomic():  # a savepoint: a concurrent twin loses, the caller goes on
                    event.save()
            except IntegrityError:
                return None
        else:
            event.save()
        deliveries = _immediate_deliveries(event)
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return event


def _wants(subscription: AlertSubscription, kind: str, members: set[int]) -> bool:
    return kind in (subscription.kinds or []) and (subscription.user_id is None or subscription.user_id in members)


def _members(team_id: int) -> set[int]:
    return set(Membership.objects.filter(team_id=team_id).values_list("user_id", flat=True))


def _immediate_deliveries(event: AlertEvent) -> list[AlertDelivery]:
    subscriptions = list(AlertSubscription.objects.filter(team_id=event.team_id, cadence=Cadence.IMMEDIATE)
                         .select_related("user"))
    if not subscriptions:
        return []
    members = _members(event.team_id)
    made = []
    for subscription in subscriptions:
        if _wants(subscription, event.kind, members):
            delivery = _new_delivery(subscription, kind=event.kind, at=event.created_at)
            delivery.events.add(event)
            made.append(delivery)
    return made


def _new_delivery(subscription: AlertSubscription, *, kind: str, at: datetime) -> AlertDelivery:
    return AlertDelivery.objects.create(
        team_id=subscription.team_id, subscription=subscription, user_id=subscription.user_id,
        channel=subscription.channel, cadence=subscription.cadence, target=subscription.target[:254], kind=kind,
        created_at=at, next_attempt_at=at)


def _enqueue(delivery_ids: list[int]) -> None:
    from contactcards.alerts.tasks import deliver_alert  # (tasks imports this module)

    for pk in delivery_ids:
        taskqueue.enqueue(deliver_alert, pk)


# -- the triggers that are facts of other domains ------------------------------------------------------------------


def note_linq_error(team_id: int, error: LinqError) -> None:
    """A call to Linq failed: when Linq refused the team's token (401, or code 2004), raise ``token_refused``
    (at most once an hour) - after the caller's commit, outside its lock."""
    if reason_of(error) != "token_rejected":
        return
    facts = {"status": error.status, "code": error.code, "trace_id": error.trace_id or ""}

    def raise_it() -> None:
        team = Team.objects.filter(pk=team_id).first()
        if team is not None:
            raise_alert(team, AlertKind.TOKEN_REFUSED, facts=facts, once_per=ONCE_PER)

    transaction.on_commit(raise_it, robust=True)


def note_webhook_refused(team_id: int, *, streak: int, since: datetime, reason: str) -> None:
    """Linq's deliveries to the team's receiver were refused ``streak`` times since ``since``: at
    ``REFUSED_THRESHOLD`` within ``REFUSED_WINDOW`` raise ``webhooks_refused`` (once an hour)."""
    if streak < REFUSED_THRESHOLD:
        return
    team = Team.objects.filter(pk=team_id).first()
    if team is not None:
        raise_alert(team, AlertKind.WEBHOOKS_REFUSED, once_per=ONCE_PER,
                    facts={"refused": streak, "since": since.isoformat(), "reason": reason,
                           "window_minutes": int(REFUSED_WINDOW.total_seconds() // 60)})


# -- delivering --------------------------------------------------------------------------------------------------


def backoff(failures: int) -> timedelta:
    first, cap = settings.ALERT_RETRY_FIRST, settings.ALERT_RETRY_MAX
    return timedelta(seconds=min(cap, first * 2 ** min(max(failures - 1, 0), 30)))


def deliver(delivery_id: int) -> str:
    """The delivery task's work: claim the delivery if it is due, send it once, record what happened."""
    from contactcards.alerts.tasks import deliver_alert  # (tasks imports this module)

    now = timezone.now()
    claimed = AlertDelivery.objects.filter(
        pk=delivery_id, status__in=(Status.PENDING, Status.FAILED), next_attempt_at__lte=now,
    ).update(status=Status.SENDING, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return "not due, or being sent, or done"  # no-i18n
    delivery = AlertDelivery.objects.select_related("team", "subscription", "user").get(pk=delivery_id)
    events = list(delivery.events.order_by("created_at", "id"))
    kind = delivery.kind or "digest"
    try:
        channels.send(delivery, events)
    except channels.Failed as failed:
        give_up = delivery.attempts >= settings.ALERT_MAX_ATTEMPTS or failed.code == AlertDelivery.Failure.NO_ADDRESS
        retry_at = None if give_up else timezone.now() + backoff(delivery.attempts)
        with transaction.atomic():
            AlertDelivery.objects.filter(pk=delivery_id, status=Status.SENDING).update(
                status=Status.GAVE_UP if give_up else Status.FAILED, error=failed.code,
                error_status=failed.status, next_attempt_at=retry_at)
            if retry_at is not None:
                taskqueue.enqueue(deliver_alert, delivery_id, run_after=retry_at)
        metrics.record_alert(_metric_channel(delivery), False, kind=kind)
        return f"failed: {failed.code} {failed.status or ''}".strip()
    AlertDelivery.objects.filter(pk=delivery_id, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), error="", error_status=None, next_attempt_at=None)
    metrics.record_alert(_metric_channel(delivery), True, kind=kind)
    return "sent"


def _metric_channel(delivery: AlertDelivery) -> str:
    return "email" if delivery.channel == Channel.EMAIL else "webhook"


def give_back_lost(now: datetime | None = None) -> int:
    """Deliveries whose task is gone: due for ``LOST_AFTER`` and not sent, or claimed by a worker that died
    (claimed ``LOST_AFTER`` ago). Enqueued again; the claim keeps a twin task from sending twice."""
    from contactcards.alerts.tasks import deliver_alert  # (tasks imports this module)

    now = now or timezone.now()
    AlertDelivery.objects.filter(status=Status.SENDING, last_attempt_at__lt=now - LOST_AFTER).update(
        status=Status.FAILED, next_attempt_at=now)
    lost = list(AlertDelivery.objects.filter(status__in=(Status.PENDING, Status.FAILED),
                                             next_attempt_at__lt=now - LOST_AFTER).values_list("pk", flat=True)[:500])
    for pk in lost:
        taskqueue.enqueue(deliver_alert, pk)
    return len(lost)


# -- digests -----------------------------------------------------------------------------------------------------


def last_digest_moment(now: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The latest ``ALERT_DIGEST_HOUR``:00 in ``zone`` at or before ``now``."""
    local = now.astimezone(zone)
    moment = local.replace(hour=settings.ALERT_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if moment > local:
        moment = (local - timedelta(days=1)).replace(hour=settings.ALERT_DIGEST_HOUR, minute=0, second=0,
                                                     microsecond=0)
    return moment


def send_digests(now: datetime | None = None) -> int:
    """Make the digests that are due (see the module's docstring); returns how many deliveries it made."""
    now = now or timezone.now()
    made: list[int] = []
    for subscription in AlertSubscription.objects.filter(cadence=Cadence.DIGEST).select_related("user"):
        due = last_digest_moment(now, channels.zone_for(subscription.user_id))
        since = subscription.digest_until or subscription.created_at
        if due <= since:
            continue
        with transaction.atomic():
            # The claim: of two runs, one moves the subscription's cursor and makes the digest.
            if not AlertSubscription.objects.filter(pk=subscription.pk).filter(
                    Q(digest_until=subscription.digest_until) if subscription.digest_until
                    else Q(digest_until__isnull=True)).update(digest_until=due):
                continue
            if subscription.user_id is not None and subscription.user_id not in _members(subscription.team_id):
                continue
            events = list(AlertEvent.objects.filter(team_id=subscription.team_id, kind__in=subscription.kinds or [],
                                                    created_at__gt=since, created_at__lte=due))
            if not events:
                continue
            delivery = _new_delivery(subscription, kind="", at=now)
            delivery.events.add(*events)
            made.append(delivery.pk)
    if made:
        transaction.on_commit(lambda: _enqueue(made), robust=True)
    return len(made)


def schedule_digests() -> None:
    """Enqueue the next hourly digest run unless one is already waiting (one chain, however often called)."""
    from django_tasks_db.models import DBTaskResult

    from contactcards.alerts.tasks import digests_and_watchdog  # (tasks imports this module)

    if DBTaskResult.objects.filter(task_path=digests_and_watchdog.module_path, status="READY").exists():
        return
    now = timezone.now()
    taskqueue.enqueue(digests_and_watchdog, run_after=now.replace(minute=0, second=0, microsecond=0)
                      + timedelta(hours=1))


# -- subscriptions -----------------------------------------------------------------------------------------------


def subscription_create(*, team: Team, user, personal: bool, channel: str, kinds: list[str], cadence: str,
                        email: str = "", webhook_url: str = "", webhook_host: str = "") -> AlertSubscription:
    """A person's own subscription (``personal``) or a team channel (owners only: the views check)."""
    subscription = AlertSubscription(
        team=team, user=user if personal else None, channel=channel,
        email="" if personal or channel != Channel.EMAIL else email,
        webhook_host=webhook_host if channel == Channel.CHAT else "",
        kinds=[kind for kind in AlertKind.values if kind in kinds], cadence=cadence, created_at=timezone.now(),
        created_by=user.get_username())
    if channel == Channel.CHAT:
        subscription.set_webhook_url(webhook_url)
    subscription.save()
    if cadence == Cadence.DIGEST:
        transaction.on_commit(schedule_digests, robust=True)
    return subscription


def subscription_change(*, subscription: AlertSubscription, kinds: list[str], cadence: str) -> bool:
    kinds = [kind for kind in AlertKind.values if kind in kinds]
    if kinds == subscription.kinds and cadence == subscription.cadence:
        return False
    if cadence == Cadence.DIGEST and subscription.cadence != Cadence.DIGEST:
        subscription.digest_until = timezone.now()  # the first digest covers what happens from now
    subscription.kinds, subscription.cadence = kinds, cadence
    subscription.save(update_fields=["kinds", "cadence", "digest_until"])
    if cadence == Cadence.DIGEST:
        transaction.on_commit(schedule_digests, robust=True)
    return True


def subscription_delete(*, subscription: AlertSubscription) -> None:
    """Delete it; deliveries already made stay recorded (and one waiting is given up: nowhere to send)."""
    with transaction.atomic():
        AlertDelivery.objects.filter(subscription=subscription, status__in=(Status.PENDING, Status.FAILED)).update(
            status=Status.GAVE_UP, next_attempt_at=None, error=AlertDelivery.Failure.ADDRESS)
        subscription.delete()
