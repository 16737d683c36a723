"""Tracing with OpenTelemetry, on only when an OTLP endpoint is configured (README "Tracing").

This module is the switch and nothing else: it never imports OpenTelemetry. :func:`setup` (called
once per process from the app's ``ready()``: each gunicorn worker after its fork, each ``db_worker``,
each command) turns tracing on when ``settings.TRACING_ENABLED`` says so, by importing
:mod:`contactcards.common.tracing_otel`, which does the work. Off - the default - the hooks below
cost one check of a module flag, and no OpenTelemetry module is ever loaded
(``tests/common/test_tracing.py`` checks ``sys.modules`` in a fresh process).

What is traced: each request (its span from the Django instrumentation), its database queries
(statement text, never parameters), its calls to Linq (``linq GET /v3/contact_card``: status and
Linq's code, never the token or a body), each task it enqueues (``enqueue <task>``) and a worker's
run of that task (``run <task>``), in the same trace: the W3C ``traceparent`` travels in the task's
row (``args_kwargs["trace"]``), never as an argument of the task.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

# Where a task row carries the trace it was enqueued in (a W3C trace-context carrier: traceparent,
# and tracestate when there is one). Read by the worker (management/commands/db_worker.py).
TRACE_KEY = "trace"

_active = False


def active() -> bool:
    """Whether this process traces (set up by :func:`setup`)."""
    return _active


def setup() -> bool:
    """Turn tracing on in this process if an endpoint is configured; once per process. Returns whether it is on.

    A gunicorn worker loads the app after its fork, so each sets up its own exporter thread; with
    ``--preload`` the SDK restarts that thread in each child (it registers ``os.register_at_fork``)."""
    global _active
    from django.conf import settings

    if _active or not getattr(settings, "TRACING_ENABLED", False):
        return _active
    from contactcards.common import tracing_otel

    tracing_otel.setup()
    _active = True
    return True


@contextmanager
def enqueue_span(task: Any, count: int = 1) -> Iterator[dict[str, str]]:
    """Around enqueueing ``task`` (a bound django-tasks Task): a span, current while the row is written
    (the row picks up its traceparent then); yields the carrier to store in rows written without
    ``save()`` (``bulk_create``). Off: nothing, an empty carrier."""
    if not _active:
        yield {}
        return
    from contactcards.common import tracing_otel

    with tracing_otel.enqueue_span(task, count) as carrier:
        yield carrier


def task_run_span(row: Any):
    """Around a worker's run of one task row (django-tasks-db's ``DBTaskResult``): a span in the trace
    the row was enqueued in. Off: nothing."""
    if not _active:
        return nullcontext()
    from contactcards.common import tracing_otel

    return tracing_otel.task_run_span(row)
