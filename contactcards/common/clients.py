"""The one place a team's Linq client is made; services (writes) and selectors (reads) both use it."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

from contactcards.common.crypto import TokenDecryptionError
from contactcards.lib.metrics import record_linq_call
from contactcards.linq import LinqClient, LinqError
from contactcards.models import Team

logger = logging.getLogger(__name__)

# Facts handed to the client as its ``token_problem`` (the message of its "token" errors);
# errors.py gives them a meaning, templates/includes/error_words.html the words (so not translated here).
TOKEN_MISSING = "no Linq token is set for this team"  # no-i18n
TOKEN_UNREADABLE = "the stored Linq token cannot be decrypted with the configured keys"  # no-i18n

# When the current request's time for Linq runs out (time.monotonic()); None outside a request.
_deadline: ContextVar[float | None] = ContextVar("linq_deadline", default=None)


@contextmanager
def linq_time_budget(seconds: float) -> Iterator[None]:
    """Within this block, every client made here shares ``seconds`` for all its calls (see
    linqadmin.middleware.LinqTimeBudgetMiddleware); an inner block cannot extend an outer one."""
    deadline = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def linq_time_left() -> float | None:
    """Seconds left of the current request's time for Linq (None: no limit, e.g. a command)."""
    deadline = _deadline.get()
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def team_token(team: Team) -> tuple[str, str | None]:
    """The team's token, or "" and why there is no usable one (none set, or no key decrypts it)."""
    try:
        token = team.get_token()
    except TokenDecryptionError:
        return "", TOKEN_UNREADABLE
    return token, None if token else TOKEN_MISSING


def linq_client_for(team: Team) -> LinqClient:
    """The team's client. Without a usable token (none set, or no key decrypts it) every call fails
    with a LinqError of kind "token" before anything is sent: one place, for every caller."""
    token, problem = team_token(team)
    return LinqClient(
        token,
        base_url=settings.LINQ_API_BASE_URL,
        connect_timeout=settings.LINQ_CONNECT_TIMEOUT,
        read_timeout=settings.LINQ_READ_TIMEOUT,
        token_problem=problem,
        time_budget=linq_time_left(),
        observer=record_linq_call,  # /metrics: every call by endpoint, status, code, latency
    )


def log_linq_failure(call: str, e164: str, error: LinqError) -> None:
    """One log line per failed call, with Linq's trace id for support (never the token)."""
    logger.warning("Linq %s for %s failed: %s [kind=%s status=%s code=%s trace_id=%s]", call, e164,
                   error.message, error.kind, error.status, error.code, error.trace_id or "-")
