"""django-tasks-db's ``db_worker``, kept running through SQLite's "database is locked".

On SQLite one writer holds the database at a time, and a worker that waits for it longer than the
connection's busy timeout gets ``OperationalError: database is locked``. django-tasks-db tolerates that
only while it looks for a task - not when it opens the transaction that claims one, nor when it records a
task's result - so the worker process died and queued work (rollouts, webhook processing) stopped until
someone restarted it. This worker logs the error and goes on; a task whose result could not be recorded
stays "running", and a rollout's watchdog gives its item back. PostgreSQL never raises it (row locks,
``SKIP LOCKED``). Everything else - options, signals, batch mode - is django-tasks-db's.

A worker keeps its database connection from one task to the next (:data:`WORKER_CONN_MAX_AGE` when the
settings say 0, as they do by default for requests): django-tasks-db closes "old" connections around
every task, and with ``CONN_MAX_AGE=0`` that is a new PostgreSQL connection - a server process and
an authentication - per task, the largest single cost of a rollout item after the calls to Linq.
The connection is health-checked before each reuse (``CONN_HEALTH_CHECKS``), so a dropped one is
replaced, not used.

With tracing on (README "Tracing"), each task's run is a span in the trace that enqueued it.
"""

from __future__ import annotations

import os

from django.core.management.base import CommandError
from django.db import OperationalError, connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV, run_with_reloader
from django_tasks_db.management.commands import db_worker
from django_tasks_db.utils import is_locked_database_exception

from contactcards.common import tracing

WORKER_CONN_MAX_AGE = 600  # seconds a worker reuses its database connection between tasks


class Worker(db_worker.Worker):
    def run(self) -> None:
        while True:
            try:
                return super().run()
            except OperationalError as error:
                if not is_locked_database_exception(error) or not self.running:
                    raise
                db_worker.logger.warning("The database stayed locked longer than its busy timeout (%s); going on.",
                                         error)
                self.running_task = False
                self.startup_delay = False  # no second random start-up pause

    def run_task(self, db_task_result) -> None:
        # With tracing on, the run is a span in the trace the task was enqueued in (its row carries it).
        with tracing.task_run_span(db_task_result):
            super().run_task(db_task_result)


class Command(db_worker.Command):
    def handle(self, *, verbosity: int, queue_name: str, interval: float, batch: bool, backend_name: str,
               startup_delay: bool, reload: bool, max_tasks: int | None, worker_id: str, exclude_queues: str,
               **options) -> None:
        # django-tasks-db's handle(), with this module's Worker.
        self.configure_logging(verbosity)
        for alias in connections:  # (each connection's settings_dict is this same dict)
            if not connections.settings[alias].get("CONN_MAX_AGE"):
                connections.settings[alias]["CONN_MAX_AGE"] = WORKER_CONN_MAX_AGE
        if reload and batch:
            db_worker.logger.warning("Warning: --reload and --batch cannot be specified together. "
                                     "Disabling autoreload.")
            reload = False
        queue_names = queue_name.split(",")
        excluded_queue_names = exclude_queues.split(",") if exclude_queues else []
        if excluded_queue_names and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = Worker(queue_names=queue_names, interval=interval, batch=batch, backend_name=backend_name,
                        startup_delay=startup_delay, max_tasks=max_tasks, worker_id=worker_id,
                        excluded_queue_names=excluded_queue_names)
        if reload:
            if os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
                worker.configure_signals()  # only the child process configures its signals
            run_with_reloader(worker.run)
        else:
            worker.configure_signals()
            worker.run()
