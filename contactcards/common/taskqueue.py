"""The task queue: django-tasks with its database backend, and the `db_worker` processes that run it.

Work that must not happen inside a request (a rollout to hundreds of numbers, webhook processing)
is a ``django_tasks.task`` function enqueued with :func:`enqueue`. The tasks live in the
database (``django_tasks_db``), so they survive restarts and any number of workers on any
number of machines can share them (``SELECT ... FOR UPDATE SKIP LOCKED`` on Postgres,
an exclusive transaction on SQLite). Progress that users look at lives in our own tables.

``bin/run`` starts one worker beside the development server (:func:`start_worker`); in
production run ``python manage.py db_worker`` as its own service (see the README). The tests
start real worker processes against the test database (``tests/support/worker.py``).
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

BASE_DIR = Path(__file__).resolve().parents[2]


def queue_name() -> str:
    """The queue our tasks go to (``LINQADMIN_TASKS_QUEUE``; tests give their live worker its own)."""
    return settings.LINQADMIN_TASKS_QUEUE


def enqueue(task: Any, *args: Any, run_after: datetime | None = None, **kwargs: Any):
    """Enqueue ``task`` on our queue, not before ``run_after`` (a scheduled run, not a polling loop)."""
    return task.using(queue_name=queue_name(), run_after=run_after).enqueue(*args, **kwargs)


def worker_command(*, batch: bool = False, queue: str | None = None, interval: float | None = None,
                   worker_id: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The ``manage.py db_worker`` command line for our queue."""
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
