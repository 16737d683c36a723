"""Reads about audit streams: each stream's state for the settings page, and the lag for /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from contactcards.models import AuditStream, Team


@dataclass(frozen=True)
class StreamState:
    """One stream and where its delivery stands, as facts (``includes/stream_state.html`` words them).

    ``state``: ``paused``; ``failing`` (the last attempt failed; retried at ``retry_at``); ``behind``
    (messages wait longer than ``AUDIT_STREAM_BEHIND_AFTER``); ``delivering`` (nothing waits, or only
    for a moment).
    """

    stream: AuditStream
    waiting: int
    oldest_at: datetime | None

    @property
    def state(self) -> str:
        if self.stream.paused:
            return "paused"
        if self.stream.failing_since is not None and self.waiting:
            return "failing"
        if self.behind:
            return "behind"
        return "delivering"

    @property
    def behind(self) -> bool:
        return self.oldest_at is not None and (
            timezone.now() - self.oldest_at > timedelta(seconds=settings.AUDIT_STREAM_BEHIND_AFTER)
            or self.stream.failing_since is not None)


def team_streams(*, team: Team) -> list[StreamState]:
    """The team's streams with what waits for each: one query."""
    rows = (AuditStream.objects.filter(team=team).annotate(waiting=Count("messages"),
                                                           oldest_at=Min("messages__created_at"))
            .order_by("name", "id"))
    return [StreamState(stream=row, waiting=row.waiting, oldest_at=row.oldest_at) for row in rows]


@dataclass(frozen=True)
class StreamLag:
    """One stream's backlog, for the metrics collector: ``waiting`` messages, the oldest ``oldest_age``
    seconds old (0 when none waits); ``failing`` True while its last attempt failed."""

    stream_id: int
    team: str
    name: str
    kind: str
    paused: bool
    failing: bool
    waiting: int
    oldest_age: float


def lag_per_stream(*, now: datetime | None = None) -> list[StreamLag]:
    """Every stream of every team and how far behind it is (one query; the /metrics collector calls this)."""
    now = now or timezone.now()
    rows = (AuditStream.objects.annotate(waiting=Count("messages"), oldest_at=Min("messages__created_at"))
            .values_list("pk", "team__slug", "name", "kind", "paused", "failing_since", "waiting", "oldest_at")
            .order_by("pk"))
    return [StreamLag(stream_id=pk, team=slug, name=name, kind=kind, paused=paused, failing=failing_since is not None,
                      waiting=waiting, oldest_age=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
            for pk, slug, name, kind, paused, failing_since, waiting, oldest in rows]
