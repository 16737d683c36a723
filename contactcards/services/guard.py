"""What stands between a save and Linq: one writer per number, one write per form, the write budget.

``guarded`` runs a save's re-read -> diff -> write-ahead attempt under the number's lock, after
the in-flight, duplicate-form and budget checks; the lock's transaction commits the attempt, and
only then is the write sent (outside any transaction, so the attempt is durable whatever happens
to this process during the call). Anything it refuses becomes an outcome (Duplicate, Blocked,
Busy) and nothing is sent.

One writer per number: the lock serialises the re-read and the attempt; while an attempt is in
flight (stored as "pending", not yet answered) the next save waits for its outcome, then re-reads
and sees its change - the same order as before, without holding a database transaction (on SQLite
the whole database's write lock) during the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import OperationalError, connection, transaction

from contactcards.clients import linq_time_left
from contactcards.models import AuditEntry, FormToken, PhoneNumber
from contactcards.selectors.budget import write_budget
from contactcards.selectors.cards import form_token_used
from contactcards.services.outcomes import Blocked, Busy, Duplicate, SaveOutcome

LOCK_TIMEOUT_MS = 10_000  # at most; never more than what is left of the request's time for Linq
IN_FLIGHT_WAIT = 10.0  # seconds a save waits for another save's write of the same number to be answered
_POLL = 0.1

# A form token only has to outlive a double click, a resubmit or a second tab; an older form
# posted again is still safe (the save re-reads the card and shows a conflict), it just loses
# the "already saved" message. Old rows are removed as new ones are added (writes are rare).
FORM_TOKEN_TTL = timedelta(days=2)


class NumberBusy(Exception):
    """Another save for the same number held the lock for too long."""


@contextmanager
def number_write_lock(number: PhoneNumber) -> Iterator[None]:
    """Hold the number's write lock for re-read -> diff -> call -> audit, across all workers.

    Postgres: a row lock (SELECT ... FOR UPDATE on the PhoneNumber) inside a transaction;
    a second writer waits until the first commits, then sees its audit row, its used form
    token and, on re-reading the card, its change. SQLite has no row locks: the settings open
    every transaction with BEGIN IMMEDIATE (``transaction_mode``), which takes the database's
    single write lock at the start of ``atomic()``, so writers are serialised the same way
    (readers are not blocked in WAL mode). Waiting too long raises :class:`NumberBusy`
    before anything is sent.
    """
    acquired = False
    wait_ms = _lock_wait_ms()
    try:
        with _sqlite_busy_timeout(wait_ms), transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {wait_ms}")
            list(PhoneNumber.objects.select_for_update().filter(pk=number.pk).values_list("pk"))
            acquired = True
            yield
    except OperationalError as exc:
        if acquired:  # a database failure after the lock is not "busy": let it surface
            raise
        raise NumberBusy(str(exc)) from exc


def _lock_wait_ms() -> int:
    left = linq_time_left()
    return max(1, int(min(LOCK_TIMEOUT_MS, LOCK_TIMEOUT_MS if left is None else left * 1000)))


@contextmanager
def _sqlite_busy_timeout(wait_ms: int) -> Iterator[None]:
    """On SQLite, BEGIN IMMEDIATE waits up to the connection's busy timeout: bound it like Postgres's."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    default_ms = int(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {min(wait_ms, default_ms)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {default_ms}")


def consume_form_token(token: str, number: PhoneNumber) -> FormToken | None:
    """Insert the token's row; the unique constraint makes the first insert the only one.

    Raises IntegrityError when the token was used already (only reachable without the lock).
    """
    if not token:
        return None
    with transaction.atomic():  # a savepoint, so a lost race leaves the outer transaction usable
        used = FormToken.objects.create(token=token, number=number)
    FormToken.objects.filter(used_at__lt=used.used_at - FORM_TOKEN_TTL).delete()
    return used


def link_form_token(used: FormToken | None, entry: AuditEntry) -> None:
    """Point a used token at the audit row of the write it caused ("Already saved at ...")."""
    if used is not None:
        used.entry = entry
        used.save(update_fields=["entry"])


def duplicate_of(token: str) -> Duplicate | None:
    used = form_token_used(token)
    return None if used is None else Duplicate(previous=used.entry)


# What ``work`` returns: an outcome, or - once it has stored a write-ahead attempt under the
# lock - the rest of the save (send the write, record its outcome), run after the lock's commit.
Then = Callable[[], SaveOutcome]


def guarded(number: PhoneNumber, token: str, work: Callable[[], SaveOutcome | Then]) -> SaveOutcome:
    """Run ``work`` under the number's write lock, after the in-flight, duplicate and budget checks;
    if it returns the rest of a save, run that after the lock's transaction has committed."""
    left = linq_time_left()
    give_up = time.monotonic() + (IN_FLIGHT_WAIT if left is None else min(IN_FLIGHT_WAIT, left))
    while True:
        try:
            with number_write_lock(number):
                waiting = AuditEntry.objects.in_flight().filter(number=number).exists()
                if not waiting:
                    result = _checked(number, token, work)
        except NumberBusy:
            return Busy()
        if not waiting:
            return result() if callable(result) else result
        if time.monotonic() >= give_up:
            return Busy()
        time.sleep(_POLL)  # another save's write is on its way: wait for its outcome, then re-read


def _checked(number: PhoneNumber, token: str, work: Callable[[], SaveOutcome | Then]) -> SaveOutcome | Then:
    duplicate = duplicate_of(token)
    if duplicate is not None:
        return duplicate
    budget = write_budget(number=number)
    if budget.exhausted:
        return Blocked(budget=budget)
    return work()
