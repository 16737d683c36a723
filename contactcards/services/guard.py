"""What stands between a save and Linq: one writer per number, one write per form, the write budget.

``guarded`` runs a save's re-read -> diff -> call -> audit under the number's lock, after the
duplicate-form and budget checks; anything it refuses becomes an outcome (Duplicate, Blocked,
Busy) and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import OperationalError, connection, transaction

from ..models import AuditEntry, FormToken, PhoneNumber
from ..selectors.budget import write_budget
from ..selectors.cards import form_token_used
from .outcomes import Blocked, Busy, Duplicate, SaveOutcome

LOCK_TIMEOUT_MS = 30_000

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
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}")
            list(PhoneNumber.objects.select_for_update().filter(pk=number.pk).values_list("pk"))
            acquired = True
            yield
    except OperationalError as exc:
        if acquired:  # a database failure after the lock is not "busy": let it surface
            raise
        raise NumberBusy(str(exc)) from exc


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


def guarded(number: PhoneNumber, token: str, work: Callable[[], SaveOutcome]) -> SaveOutcome:
    """Run ``work`` under the number's write lock, after the duplicate and budget checks."""
    try:
        with number_write_lock(number):
            duplicate = duplicate_of(token)
            if duplicate is not None:
                return duplicate
            budget = write_budget(number=number)
            if budget.exhausted:
                return Blocked(budget=budget)
            return work()
    except NumberBusy:
        return Busy()
