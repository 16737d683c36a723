"""The task queue runs on real `db_worker` processes against the test database (both databases)."""

from __future__ import annotations

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.common import taskqueue
from tests.support import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_worker_runs_what_is_due_and_exits(workers, team):
    result = taskqueue.enqueue(sample_tasks.numbers_of, "acme")
    failing = taskqueue.enqueue(sample_tasks.fail, "on purpose")
    assert result.status == TaskResultStatus.READY

    workers.run_batch()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == sorted([CARD_NUMBER, EMPTY_NUMBER])
    assert len(result.worker_ids) == 1
    failing.refresh()
    assert failing.status == TaskResultStatus.FAILED
    assert "on purpose" in failing.errors[0].traceback


def test_a_task_scheduled_for_later_is_left_for_later(workers, team):
    from datetime import timedelta

    from django.utils import timezone

    later = taskqueue.enqueue(sample_tasks.numbers_of, "acme", run_after=timezone.now() + timedelta(hours=1))
    workers.run_batch()
    later.refresh()
    assert later.status == TaskResultStatus.READY
    assert DBTaskResult.objects.get(id=later.id).run_after > timezone.now()


def test_the_session_worker_runs_tasks_as_they_come(live_worker, team):
    from tests.support.worker import LIVE_QUEUE

    result = taskqueue.enqueue(sample_tasks.numbers_of, "acme")
    assert DBTaskResult.objects.get(id=result.id).queue_name == LIVE_QUEUE
    wait_until_finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == sorted([CARD_NUMBER, EMPTY_NUMBER])


def test_bin_run_starts_a_worker_for_each_queue(settings):
    """The demo (bin/run) starts its workers with ``start_workers``: one per queue (these command lines),
    each serving only its queue, each told both queue names (for what its tasks enqueue)."""
    settings.LINQADMIN_TASKS_QUEUE, settings.LINQADMIN_WEBHOOKS_QUEUE = "work-q", "hooks-q"
    assert taskqueue.queue_names() == ("work-q", "hooks-q")
    commands = taskqueue.worker_commands({"LINQ_API_BASE_URL": "http://sandbox"}, interval=0.5)
    assert [command[command.index("--queue-name") + 1] for command, _env in commands] == ["work-q", "hooks-q"]
    for _command, env in commands:
        assert env == {"LINQADMIN_TASKS_QUEUE": "work-q", "LINQADMIN_WEBHOOKS_QUEUE": "hooks-q",
                       "LINQ_API_BASE_URL": "http://sandbox"}


def test_the_tests_live_workers_are_one_per_queue_like_bin_run(live_worker, team):
    from tests.support.worker import LIVE_QUEUE, LIVE_WEBHOOKS_QUEUE

    assert taskqueue.queue_names() == (LIVE_QUEUE, LIVE_WEBHOOKS_QUEUE)
    result = taskqueue.enqueue(sample_tasks.numbers_of, "acme", queue=LIVE_WEBHOOKS_QUEUE)
    wait_until_finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_the_worker_command_line():
    command = taskqueue.worker_command(batch=True, queue="q1")
    assert command[-6:] == ["db_worker", "--no-reload", "--queue-name", "q1", "--batch", "--no-startup-delay"]


def wait_until_finished(result, limit: float = 60.0) -> None:
    """Wait for a condition (the task finished), with a generous upper bound for a stuck worker."""
    import time

    deadline = time.monotonic() + limit
    while True:
        result.refresh()
        if result.is_finished:
            return
        assert time.monotonic() < deadline, f"task {result.id} still {result.status} after {limit}s"
        time.sleep(0.05)


def test_a_worker_goes_on_after_sqlite_stayed_locked_past_its_busy_timeout(workers, team):
    """SQLite has one write lock; a worker that waits for it longer than its busy timeout gets "database is
    locked". django-tasks-db's worker died of it (queued work stopped until a restart); ours logs it and
    goes on. The test holds the lock until the worker has said so - a condition, not a duration."""
    import sqlite3

    from django.db import connection

    from tests.support.worker import died, printed, wait_until

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single write lock")
    workers.extra_env["SQLITE_BUSY_TIMEOUT"] = "0.05"
    process = workers.start("default", interval=0.05)
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the database's one write lock, held by someone else
    try:
        wait_until(lambda: "stayed locked" in printed(process) or process.poll() is not None,
                   "the worker to meet the lock")
        assert process.poll() is None, died(process)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    result = taskqueue.enqueue(sample_tasks.numbers_of, "acme")
    wait_until_finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL and process.poll() is None
