"""The registry one /metrics answer is made of: every process's counters, plus the database's gauges.

With ``PROMETHEUS_MULTIPROC_DIR`` set (bin/run, and production: README "Metrics"), counters are the
sum over every process that wrote to that folder - gunicorn's workers and the ``db_worker``
processes alike, dead ones included (a counter never goes back). Without it, only this process's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

from contactcards.lib.metrics import NAMESPACE
from contactcards.ops import selectors
from contactcards.streams.selectors import lag_per_stream

logger = logging.getLogger(__name__)


class DatabaseCollector:
    """Gauges read from the database at scrape time (``ops.selectors``)."""

    def describe(self) -> list[Metric]:
        return []  # nothing to check against other collectors' names up front (and no query at registration)

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        up = GaugeMetricFamily(f"{NAMESPACE}_metrics_database_up",
                               "1 when the gauges below could be read from the database at this scrape.")
        try:
            queues = selectors.task_queues(now=now)
            unsettled = selectors.unsettled_writes(now=now)
            streams = lag_per_stream(now=now)
        except DatabaseError as exc:
            logger.error("metrics: the database could not be read (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        waiting = GaugeMetricFamily(f"{NAMESPACE}_tasks_waiting", "Tasks due to run and not started, per queue.",
                                    labels=["queue"])
        scheduled = GaugeMetricFamily(f"{NAMESPACE}_tasks_scheduled",
                                      "Tasks waiting for their scheduled time (run_after), per queue.",
                                      labels=["queue"])
        age = GaugeMetricFamily(f"{NAMESPACE}_tasks_oldest_waiting_age_seconds",
                                "How long the oldest due task of each queue has been waiting (0: none).",
                                labels=["queue"])
        for queue in queues:
            waiting.add_metric([queue.queue], queue.waiting)
            scheduled.add_metric([queue.queue], queue.scheduled)
            since = queue.oldest_waiting_since
            age.add_metric([queue.queue], max(0.0, (now - since).total_seconds()) if since else 0.0)
        yield from (waiting, scheduled, age)
        yield GaugeMetricFamily(f"{NAMESPACE}_unsettled_writes",
                                "Writes sent to Linq whose outcome is unknown and that a read may settle now.",
                                value=unsettled.count)
        oldest = max(0.0, (now - unsettled.oldest).total_seconds()) if unsettled.oldest else 0.0
        yield GaugeMetricFamily(f"{NAMESPACE}_unsettled_writes_oldest_age_seconds",
                                "Age of the oldest write whose outcome is still unknown (0: none).", value=oldest)
        yield from _stream_gauges(streams)


def _stream_gauges(streams) -> Iterator[Metric]:
    """How far each team's audit stream is behind (labels: the team's slug and the stream's id, never its
    address or name)."""
    labels = ["team", "stream", "kind"]
    waiting = GaugeMetricFamily(f"{NAMESPACE}_audit_stream_waiting_messages",
                                "History messages not yet delivered, per audit stream.", labels=labels)
    age = GaugeMetricFamily(f"{NAMESPACE}_audit_stream_oldest_waiting_age_seconds",
                            "Age of the oldest message an audit stream has not delivered (0: none).", labels=labels)
    failing = GaugeMetricFamily(f"{NAMESPACE}_audit_stream_failing",
                                "1 while an audit stream's receiver refuses or cannot be reached.", labels=labels)
    paused = GaugeMetricFamily(f"{NAMESPACE}_audit_stream_paused", "1 while an audit stream is paused.",
                               labels=labels)
    for stream in streams:
        names = [stream.team, str(stream.stream_id), stream.kind]
        waiting.add_metric(names, stream.waiting)
        age.add_metric(names, stream.oldest_age)
        failing.add_metric(names, int(stream.failing))
        paused.add_metric(names, int(stream.paused))
    yield from (waiting, age, failing, paused)


class _ThisProcess:
    """The default registry's metrics (this process only): what /metrics shows without a multiprocess folder."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return registry
