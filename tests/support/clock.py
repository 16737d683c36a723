"""A controllable clock for tests of scheduled work: time moves when the test says so, never by sleeping.

Everything in the app that asks "what time is it" uses ``django.utils.timezone.now`` (the write
budget, audit timestamps, django-tasks' ``run_after`` check in the worker), and the sandbox has its
own ``clock``. :class:`Clock` shifts all of them by the same offset: in this process by patching
``timezone.now``, in worker processes through ``LINQADMIN_TEST_CLOCK_OFFSET`` (read by
the ``devtools.demo`` app, installed in the tests).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from devtools.demo.apps import CLOCK_OFFSET_ENV as OFFSET_ENV

_real_now = timezone.now


class Clock:
    def __init__(self, monkeypatch, sandbox, workers) -> None:
        self.monkeypatch, self.sandbox, self.workers = monkeypatch, sandbox, workers
        self.offset = 0.0
        self._apply()

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta).total_seconds()
        self._apply()

    def _apply(self) -> None:
        offset = self.offset
        self.monkeypatch.setattr(timezone, "now", lambda: _real_now() + timedelta(seconds=offset))
        self.sandbox.clock = lambda: time.time() + offset
        self.workers.extra_env[OFFSET_ENV] = str(offset)
