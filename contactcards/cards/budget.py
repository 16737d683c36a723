"""The write budget: how many writes Linq still allows a number now, read from the audit history."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from contactcards.models import AuditEntry, PhoneNumber

WRITE_LIMIT = 3
WRITE_WINDOW = timedelta(minutes=10)
WRITE_ACTIONS = (AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE)


@dataclass(frozen=True)
class Budget:
    """Writes left for a number in Linq's rolling window, derived from the audit history.

    ``blocked_by`` says why no write is possible now: "budget" (three attempts in the last ten
    minutes) or "linq" (Linq answered 429 or 503 with a wait that has not passed yet).
    """

    used: int
    limit: int
    next_write_at: datetime | None  # when a write is possible again, if none is left now
    blocked_by: str = ""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.next_write_at is None else 0

    @property
    def exhausted(self) -> bool:
        return self.next_write_at is not None

    def wait_seconds(self, now: datetime | None = None) -> int:
        if self.next_write_at is None:
            return 0
        delta = self.next_write_at - (now or timezone.now())
        return max(1, int(delta.total_seconds() + 0.999))


def write_budget(*, number: PhoneNumber, now: datetime | None = None) -> Budget:
    """Attempted writes in the last ten minutes (all workers, all restarts) and any wait Linq asked for.

    Every write that may have reached Linq counts, whatever its outcome: Linq does not say
    whether failed or refused calls spend its budget, so the dashboard assumes they do.
    """
    now = now or timezone.now()
    recent = list(
        AuditEntry.objects.filter(
            number=number, action__in=WRITE_ACTIONS, created_at__gt=now - WRITE_WINDOW
        )
        .exclude(request_sent=False)
        .order_by("created_at")
        .values_list("created_at", "http_status", "retry_after")
    )
    return budget_of(recent, now=now)


def write_budgets(*, numbers: Iterable[PhoneNumber], now: datetime | None = None) -> dict[int, Budget]:
    """:func:`write_budget` of many numbers in one query (a preview of thousands of numbers): by number id."""
    now = now or timezone.now()
    numbers = list(numbers)
    ids = {number.pk for number in numbers}
    recent: dict[int, list[tuple[datetime, int | None, int | None]]] = {pk: [] for pk in ids}
    rows = (
        AuditEntry.objects.filter(action__in=WRITE_ACTIONS, created_at__gt=now - WRITE_WINDOW)
        .exclude(request_sent=False)
        .order_by("created_at")
        .values_list("number_id", "created_at", "http_status", "retry_after")
    )
    if len(ids) <= 1000:
        rows = rows.filter(number_id__in=ids)
    else:  # the teams' recent writes, filtered here (no list of thousands of ids in the SQL)
        rows = rows.filter(team_id__in={number.team_id for number in numbers})
    for number_id, created_at, status, retry_after in rows:
        if number_id in recent:
            recent[number_id].append((created_at, status, retry_after))
    return {pk: budget_of(writes, now=now) for pk, writes in recent.items()}


def budget_of(recent: list[tuple[datetime, int | None, int | None]], *, now: datetime) -> Budget:
    """The budget that a number's writes of the last ten minutes leave (oldest first: created_at,
    http_status, retry_after)."""
    next_at: datetime | None = None
    blocked_by = ""
    if len(recent) >= WRITE_LIMIT:
        next_at = recent[-WRITE_LIMIT][0] + WRITE_WINDOW
        blocked_by = "budget"
    for created_at, status, retry_after in recent:
        # 429: the budget is spent at Linq; 503/4004: more attempts extend Linq's upstream limit.
        if status in (429, 503) and retry_after:
            blocked_until = created_at + timedelta(seconds=retry_after)
            if blocked_until > now and (next_at is None or blocked_until > next_at):
                next_at, blocked_by = blocked_until, "linq"
    if next_at is None or next_at <= now:
        return Budget(used=len(recent), limit=WRITE_LIMIT, next_write_at=None)
    return Budget(used=len(recent), limit=WRITE_LIMIT, next_write_at=next_at, blocked_by=blocked_by)


# A schedule (issue 24) books at most one of a number's writes per window: a scheduled change may need a
# retry of its own, and people still edit the card by hand in between, so two scheduled changes to one
# number (a change and its end, or two changes) less than WRITE_WINDOW apart are refused when they are made.
SCHEDULED_PER_WINDOW = 1


def schedule_clash(planned: Iterable[datetime], at: datetime) -> datetime | None:
    """The first of a number's ``planned`` write times that leaves no room for a write at ``at``
    (closer than WRITE_WINDOW), or None when ``at`` fits."""
    near = sorted(when for when in planned if abs(when - at) < WRITE_WINDOW)
    return near[0] if len(near) >= SCHEDULED_PER_WINDOW else None
