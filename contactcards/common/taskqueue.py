"""The task queue: django-tasks with its database backend, and the `db_worker` processes that run it.

Work that must not happen inside a request (a rollout to hundreds of numbers, webhook processing)
is a ``django_tasks.task`` function enqueued with :func:`enqueue`. The tasks live in the
database (``django_tasks_db``), so they survive restarts and any number of workers on any
number of machines can share them (``SELECT ... FOR UPDATE SKIP LOCKED`` on Postgres,
an exclusive transaction on SQLite). Progress that users look at lives in our own tables.

Two queues, each served by workers of its own, so that nothing on one can delay the other:

* the **work** queue (``LINQADMIN_TASKS_QUEUE``): rollout items and their watchdog, the periodic
  reconcile - tasks that call Linq, check photo links, wait on a number's lock;
* the **webhooks** queue (``LINQADMIN_WEBHOOKS_QUEUE``): processing the events Linq delivers,
  short database work that keeps the history and the mirror current.

``bin/run`` starts one worker per queue beside the development server (:func:`start_workers`);
in production run ``python manage.py db_worker --queue-name <queue>`` for each queue as services
of their own (see the README). The tests start real worker processes against the test database
(``tests/support/worker.py``) the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from contactcards.common import tracing

BASE_DIR = Path(__file__).resolve().parents[2]


def queue_name() -> str:
    """The work queue (``LINQADMIN_TASKS_QUEUE``; tests give their live worker its own)."""
    return settings.LINQADMIN_TASKS_QUEUE


def webhooks_queue_name() -> str:
    """The webhooks queue (``LINQADMIN_WEBHOOKS_QUEUE``), served by workers that take nothing else."""
    return settings.LINQADMIN_WEBHOOKS_QUEUE


def queue_names() -> tuple[str, str]:
    """Every queue our tasks use: each needs workers of its own."""
    return queue_name(), webhooks_queue_name()


def enqueue(task: Any, *args: Any, run_after: datetime | None = None, queue: str | None = None, **kwargs: Any):
    """Enqueue ``task`` on the work queue (or ``queue``), not before ``run_after`` (a scheduled run,
    not a polling loop). With tracing on, inside an ``enqueue <task>`` span whose trace the row carries
    to the worker (``tracing``)."""
    bound = task.using(queue_name=queue or queue_name(), run_after=run_after)
    if not tracing.active():
        return bound.enqueue(*args, **kwargs)
    with tracing.enqueue_span(bound):
        return bound.enqueue(*args, **kwargs)


def enqueue_many(task: Any, calls: Sequence[Sequence[Any]], *, queue: str | None = None) -> int:
    """Enqueue one run of ``task`` per argument list in ``calls``, in one transaction and a few INSERTs.

    The rows are what :func:`enqueue` stores one by one (django-tasks-db's own row for each), so
    workers see no difference; a rollout of thousands of items is enqueued in well under a second
    instead of one committed INSERT per item. Returns how many were enqueued.
    """
    from django.db import transaction
    from django_tasks.signals import task_enqueued
    from django_tasks_db.backend import DatabaseBackend, normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    bound = task.using(queue_name=queue or queue_name())
    backend = bound.get_backend()
    if not isinstance(backend, DatabaseBackend):  # another backend: its own enqueue, one by one
        for args in calls:
            bound.enqueue(*args)
        return len(calls)
    backend.validate_task(bound)
    with tracing.enqueue_span(bound, len(calls)) as carrier:  # bulk_create sends no pre_save: the trace is added here
        trace = {tracing.TRACE_KEY: carrier} if carrier else {}
        rows = [DBTaskResult(id=backend._get_id(),
                             args_kwargs=normalize_json({"args": list(args), "kwargs": {}, **trace}),
                             priority=bound.priority, task_path=bound.module_path, queue_name=bound.queue_name,
                             run_after=bound.run_after or get_date_max(),  # as its pre_save handler sets it
                             backend_name=backend.alias)
                for args in calls]
        with transaction.atomic():
            DBTaskResult.objects.bulk_create(rows, batch_size=1000)
    for row in rows:
        task_enqueued.send(type(backend), task_result=row.task_result)
    return len(rows)


def worker_command(*, batch: bool = False, queue: str | None = None, interval: float | None = None,
                   worker_id: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The ``manage.py db_worker`` command line for one queue (default: the work queue), or for several
    (comma-separated: a batch that runs whatever is due on them)."""
    command = [sys.executable, str(BASE_DIR / "manage.py"), "db_worker", "--no-reload",
               "--queue-name", queue or queue_name()]
    if batch:
        command += ["--batch", "--no-startup-delay"]
    if interval is not None:
        command += ["--interval", str(interval)]
    if worker_id:
        command += ["--worker-id", worker_id]
    return [*command, *extra]


def start_worker(env: Mapping[str, str] | None = None, **options: Any) -> subprocess.Popen:
    """Start a ``db_worker`` process with this process's environment plus ``env``."""
    return subprocess.Popen(worker_command(**options), env={**os.environ, **(env or {})}, cwd=BASE_DIR)


def worker_commands(env: Mapping[str, str] | None = None, **options: Any) -> list[tuple[list[str], dict[str, str]]]:
    """One ``db_worker`` command line per queue (:func:`queue_names`), each with the environment it adds
    (both queue names, for the tasks its tasks enqueue, plus ``env``)."""
    names = {"LINQADMIN_TASKS_QUEUE": queue_name(), "LINQADMIN_WEBHOOKS_QUEUE": webhooks_queue_name()}
    return [(worker_command(queue=queue, **options), {**names, **(env or {})}) for queue in queue_names()]


def start_workers(env: Mapping[str, str] | None = None, **options: Any) -> list[subprocess.Popen]:
    """Start one ``db_worker`` per queue: a slow rollout never delays webhooks."""
    return [subprocess.Popen(command, env={**os.environ, **added}, cwd=BASE_DIR)
            for command, added in worker_commands(env, **options)]


def stop_worker(process: subprocess.Popen, timeout: float = 20.0) -> int:
    """Stop a worker gracefully (SIGTERM lets the running task finish); kill it if it will not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
