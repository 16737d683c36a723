"""A fork server for the tests' ``db_worker --batch`` runs (tests/support/worker.py, ``Workers.run_batch``).

Python and Django start once, in this process; each batch then runs in a child forked from that state, with
the environment the test asked for (its mail server, PUBLIC_URL, queues, the test clock's offset), through
``manage.py db_worker --batch`` as the command line would run it. The child is a process of its own with its
own database connection, as a freshly started worker is; what it saves is the second or so a new interpreter
spends importing Django and the app, which a test suite paid about a hundred times per database.

The settings are read again in the child (the settings modules are re-executed with the child's environment),
so a setting taken from the environment means what it would in a new process (database options included: the
child opens its connection with them). The system checks, which a worker runs as it starts, ran when the server
started; a worker whose environment changes how the process starts (tracing) is started as a new process instead.

Protocol, one JSON object per line: stdin ``{"env": {...}, "argv": [...], "log": "<path>"}``, stdout
``{"returncode": <n>}``; what the child prints goes to ``log``. It ends when stdin closes.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback


def _read_settings_again() -> None:
    """Re-execute the settings modules with this process's environment, as a new process would read them."""
    from asgiref.local import Local
    from django.conf import settings
    from django.db import connections
    from django.utils.functional import empty
    from django_tasks import task_backends

    import linqadmin.settings
    import linqadmin.settings_test
    from devtools.demo.apps import CLOCK_OFFSET_ENV, shift_django_now

    importlib.reload(linqadmin.settings)
    importlib.reload(linqadmin.settings_test)
    settings._wrapped = empty  # the next access builds them from the reloaded module
    for handler in (task_backends, connections):  # the queues and the database options come from the settings
        handler.__dict__.pop("settings", None)
        handler._connections = Local(handler.thread_critical)
    if os.environ.get(CLOCK_OFFSET_ENV):
        shift_django_now(float(os.environ[CLOCK_OFFSET_ENV]))


def _child(request: dict) -> None:
    """Run one ``manage.py`` command line in this forked child, then exit with its status (never returns)."""
    code = 1
    try:
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        stdin = os.open(os.devnull, os.O_RDONLY)  # the server's requests are not the child's
        os.dup2(stdin, 0)
        os.environ.update(request["env"])
        _read_settings_again()
        from django.core.management import execute_from_command_line

        try:
            execute_from_command_line(["manage.py", *request["argv"], "--skip-checks"])
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - whatever it was, the parent reads it in the log
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    # The answers have stdout to themselves: anything else this process prints goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    import django

    django.setup()
    from django.core import management
    from django.db import connections

    management.call_command("check")  # what each worker would run as it starts, once
    for line in sys.stdin:
        request = json.loads(line)
        connections.close_all()  # a child must open its own
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        out.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
