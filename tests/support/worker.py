"""Real processes for tests on the test database: `manage.py db_worker` task workers, and gunicorn.

Two ways to run tasks, both real worker processes, neither depending on timing:

* :meth:`Workers.run_batch` runs ``db_worker --batch`` on our queues (the work queue ``default``
  and ``webhooks``, or the ones a test names): it processes every task that is due, then exits.
  A test enqueues, runs one batch, and asserts. The process is forked from the session's batch server
  (``batch_server.py``: Django already set up), or started afresh when the test changed how a worker starts.
* the session's live workers (``live_worker`` fixture), one per queue as ``bin/run`` starts them,
  poll the ``live`` and ``live-webhooks`` queues continuously, for tests that watch work happen
  (the browser's progress bar); such tests wait for a condition (the job finished), never for a
  duration.

Tests that use either must be transactional (``django_db(transaction=True)`` or ``live_server``):
a worker is another process and only sees committed rows.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.test import Client

from contactcards.common import taskqueue
from devtools.processes import worker_env
from tests.support.helpers import sign_in_as

WORK_QUEUE, WEBHOOKS_QUEUE = "default", "webhooks"  # the settings' defaults
LIVE_QUEUE, LIVE_WEBHOOKS_QUEUE = "live", "live-webhooks"




class BatchServer:
    """The session's fork server for batches (``batch_server.py``), started on the test database."""

    def __init__(self, sandbox_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.batch_server"], cwd=taskqueue.BASE_DIR,
            env={**os.environ, **worker_env(sandbox_url)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)  # its own process group: a batch that hangs is killed with it
        self.busy = threading.Lock()

    def run(self, command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        """Run ``command`` (a ``manage.py`` command line) in a child forked from the server; as subprocess.run."""
        with tempfile.NamedTemporaryFile("r", prefix="db_worker-batch-", suffix=".log") as log:
            self.process.stdin.write(json.dumps({"env": env, "argv": command[2:], "log": log.name}) + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            if not ready:
                self.stop()
                raise subprocess.TimeoutExpired(command, timeout)
            answer = self.process.stdout.readline()
            assert answer, f"the batch server exited with status {self.process.poll()}"
            return subprocess.CompletedProcess(command, json.loads(answer)["returncode"], log.read(), "")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()


class Workers:
    """Starts real `db_worker` processes on the test database; stops whatever it started."""

    def __init__(self, sandbox_url: str, batch_server: BatchServer | None = None) -> None:
        self.sandbox_url = sandbox_url
        self.batch_server = batch_server
        self.started: list[subprocess.Popen] = []
        self.extra_env: dict[str, str] = {}  # e.g. the test clock's offset

    def env(self, work_queue: str = WORK_QUEUE, webhooks_queue: str = WEBHOOKS_QUEUE) -> dict[str, str]:
        return worker_env(self.sandbox_url, LINQADMIN_TASKS_QUEUE=work_queue,
                          LINQADMIN_WEBHOOKS_QUEUE=webhooks_queue, **self.extra_env)

    def run_batch(self, queues: tuple[str, ...] = (WORK_QUEUE, WEBHOOKS_QUEUE),
                  timeout: float = 180) -> subprocess.CompletedProcess:
        """Run every task that is due on ``queues`` (by default both of ours) in a worker process of its own,
        then return."""
        command = taskqueue.worker_command(batch=True, queue=",".join(queues))
        env = {**os.environ, **self.env()}
        server = self.batch_server
        # Forked (the settings read again from this environment, the clock's offset applied as at start-up); a fresh
        # process when the test turned tracing on (set up as a process starts), or when another thread's batch is
        # running (two at once stay two processes).
        tracing = any(name.startswith("OTEL_") for name in self.extra_env)
        if server is not None and not tracing and server.busy.acquire(blocking=False):
            try:
                done = server.run(command, env, timeout)
            finally:
                server.busy.release()
        else:
            done = subprocess.run(command, env=env, cwd=taskqueue.BASE_DIR, capture_output=True, text=True,
                                  timeout=timeout)
        assert done.returncode == 0, f"db_worker --batch failed:\n{done.stdout}\n{done.stderr}"
        return done

    def start(self, queue: str = LIVE_QUEUE, *, webhooks_queue: str = LIVE_WEBHOOKS_QUEUE, interval: float = 0.1,
              own_group: bool = False, **options) -> subprocess.Popen:
        """Start a long-running worker polling ``queue`` (its tasks enqueue webhooks on ``webhooks_queue``).
        What it prints goes to a file (``process.log``), read back if it dies (``died``).
        ``own_group``: in a process group of its own, so a test can kill it and anything it started at once."""
        log = tempfile.NamedTemporaryFile("w+", prefix=f"db_worker-{queue}-", suffix=".log", delete=False)  # noqa: SIM115
        command = taskqueue.worker_command(queue=queue, interval=interval, extra=["--verbosity", "1"], **options)
        process = subprocess.Popen(command, env={**os.environ, **self.env(queue, webhooks_queue)},
                                   cwd=taskqueue.BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=own_group)
        process.log = log  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def start_live(self) -> list[subprocess.Popen]:
        """One long-running worker per queue, as ``bin/run`` starts them (``taskqueue.start_workers``)."""
        return [self.start(LIVE_QUEUE), self.start(LIVE_WEBHOOKS_QUEUE)]

    def stop_all(self) -> None:
        for process in self.started:
            taskqueue.stop_worker(process)
            process.log.close()  # type: ignore[attr-defined]
            os.unlink(process.log.name)  # type: ignore[attr-defined]
        self.started.clear()


def printed(process: subprocess.Popen) -> str:
    """What a long-running worker started by ``Workers.start`` has printed so far."""
    with open(process.log.name) as reader:  # type: ignore[attr-defined]
        return reader.read()


def died(process: subprocess.Popen) -> str:
    """Why a long-running worker is not running any more: its exit status and the end of what it printed."""
    return f"db_worker exited with status {process.returncode}:\n{printed(process)[-4000:]}"


# -- gunicorn: the app served as in production ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, limit: float = 60.0):
    """Poll until ``condition()`` is truthy (never a duration); fail, saying what, if it never is."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def gunicorn_worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@contextmanager
def serving_gunicorn(sandbox_url: str, log_path: Path, *, workers: int = 1,
                     **env: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """gunicorn serving the app on an ephemeral port against the test database: (master process, URL).
    Its output goes to ``log_path`` (a file, not a pipe nobody reads: it can never fill up)."""
    port = free_port()
    log = log_path.open("w+")
    environment = {**os.environ, **worker_env(sandbox_url, CSRF_COOKIE_SECURE="0", SESSION_COOKIE_SECURE="0",
                                              **env)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "linqadmin.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
         str(workers), "--timeout", "60", "--graceful-timeout", "1"],
        cwd=taskqueue.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"gunicorn exited: {log.read()}")
        try:
            return requests.get(url + "/accounts/login/", timeout=10).status_code == 200
        except requests.RequestException:  # not listening yet, or still loading the app
            return False
    try:
        wait_until(up, "gunicorn to answer")
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def signed_in(url: str, user) -> requests.Session:
    """A browser session for ``user`` (a session row in the test database, its cookie in requests)."""
    django_client = Client()
    sign_in_as(django_client, user)
    session = requests.Session()
    session.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    return session
