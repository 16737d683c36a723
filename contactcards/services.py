"""Service functions: every call to Linq goes through here, and so does its audit row.

Each write follows one shape (fetch -> diff -> call -> audit): the diff decides
what is sent, the call is made once (never retried automatically), and the
outcome - success or the exact error - is written to the audit history by the
same function, in the same place, whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from .crypto import TokenDecryptionError
from .linq import Card, CardResult, LinqClient, LinqError
from .linq.client import CARD_FIELDS
from .models import AuditEntry, FormToken, PhoneNumber, Team

logger = logging.getLogger(__name__)

WRITE_LIMIT = 3
WRITE_WINDOW = timedelta(minutes=10)
WRITE_ACTIONS = (AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE)


def linq_client_for(team: Team) -> LinqClient:
    """The team's client. Without a usable token (none set, or no key decrypts it) every call fails
    with a LinqError of kind "token" before anything is sent: one place, for every caller."""
    problem = None
    try:
        token = team.get_token()
    except TokenDecryptionError as error:
        token, problem = "", str(error)
    if not token and problem is None:
        problem = "This team has no Linq token yet."
    return LinqClient(
        token,
        base_url=settings.LINQ_API_BASE_URL,
        connect_timeout=settings.LINQ_CONNECT_TIMEOUT,
        read_timeout=settings.LINQ_READ_TIMEOUT,
        token_problem=problem,
    )


# -- reads --------------------------------------------------------------------


@dataclass(frozen=True)
class CardLoad:
    card: Card | None
    error: LinqError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def card_fetch(*, number: PhoneNumber, client: LinqClient | None = None) -> CardLoad:
    """GET the number's card. Reads are not audited and do not spend the write budget."""
    try:
        return CardLoad(card=(client or linq_client_for(number.team)).get_card(number.e164))
    except LinqError as error:
        log_linq_failure("GET card", number.e164, error)
        return CardLoad(card=None, error=error)


def log_linq_failure(call: str, e164: str, error: LinqError) -> None:
    """One log line per failed call, with Linq's trace id for support (never the token)."""
    logger.warning("Linq %s for %s failed: %s [kind=%s status=%s code=%s trace_id=%s]", call, e164,
                   error.message, error.kind, error.status, error.code, error.trace_id or "-")


# -- the diff -----------------------------------------------------------------


def normalise(values: dict[str, str | None]) -> dict[str, str]:
    """Card fields as trimmed strings, absent values as ''."""
    return {name: (values.get(name) or "").strip() for name in CARD_FIELDS}


def changed_fields(loaded: dict[str, str | None], submitted: dict[str, str | None]) -> dict[str, list[str]]:
    """``{field: [old, new]}`` for each card field whose submitted value differs from the loaded one."""
    before, after = normalise(loaded), normalise(submitted)
    return {name: [before[name], after[name]] for name in CARD_FIELDS if before[name] != after[name]}


# -- the write budget ---------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """Writes left for a number in Linq's rolling window, derived from the audit history.

    ``blocked_by`` says why no write is possible now: "budget" (three attempts in the last ten
    minutes) or "linq" (Linq answered 429 or 503 with a wait that has not passed yet).
    """

    used: int
    limit: int
    next_write_at: datetime | None  # when a write is possible again, if none is left now
    blocked_by: str = ""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used) if self.next_write_at is None else 0

    @property
    def exhausted(self) -> bool:
        return self.next_write_at is not None

    def wait_seconds(self, now: datetime | None = None) -> int:
        if self.next_write_at is None:
            return 0
        delta = self.next_write_at - (now or timezone.now())
        return max(1, int(delta.total_seconds() + 0.999))


def write_budget(*, number: PhoneNumber, now: datetime | None = None) -> Budget:
    """Attempted writes in the last ten minutes (all workers, all restarts) and any wait Linq asked for.

    Every write that may have reached Linq counts, whatever its outcome: Linq does not say
    whether failed or refused calls spend its budget, so the dashboard assumes they do.
    """
    now = now or timezone.now()
    recent = list(
        AuditEntry.objects.filter(
            number=number, action__in=WRITE_ACTIONS, created_at__gt=now - WRITE_WINDOW
        )
        .exclude(request_sent=False)
        .order_by("created_at")
        .values_list("created_at", "http_status", "retry_after")
    )
    next_at: datetime | None = None
    blocked_by = ""
    if len(recent) >= WRITE_LIMIT:
        next_at = recent[-WRITE_LIMIT][0] + WRITE_WINDOW
        blocked_by = "budget"
    for created_at, status, retry_after in recent:
        # 429: the budget is spent at Linq; 503/4004: more attempts extend Linq's upstream limit.
        if status in (429, 503) and retry_after:
            blocked_until = created_at + timedelta(seconds=retry_after)
            if blocked_until > now and (next_at is None or blocked_until > next_at):
                next_at, blocked_by = blocked_until, "linq"
    if next_at is None or next_at <= now:
        return Budget(used=len(recent), limit=WRITE_LIMIT, next_write_at=None)
    return Budget(used=len(recent), limit=WRITE_LIMIT, next_write_at=next_at, blocked_by=blocked_by)


# -- one writer per number ------------------------------------------------------

LOCK_TIMEOUT_MS = 30_000


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


def form_token_used(token: str) -> FormToken | None:
    return FormToken.objects.select_related("entry").filter(token=token).first() if token else None


# A form token only has to outlive a double click, a resubmit or a second tab; an older form
# posted again is still safe (the save re-reads the card and shows a conflict), it just loses
# the "already saved" message. Old rows are removed as new ones are added (writes are rare).
FORM_TOKEN_TTL = timedelta(days=2)


def _consume_token(token: str, number: PhoneNumber) -> FormToken | None:
    """Insert the token's row; the unique constraint makes the first insert the only one."""
    if not token:
        return None
    with transaction.atomic():  # a savepoint, so a lost race leaves the outer transaction usable
        used = FormToken.objects.create(token=token, number=number)
    FormToken.objects.filter(used_at__lt=used.used_at - FORM_TOKEN_TTL).delete()
    return used


# -- writes -------------------------------------------------------------------

SaveStatus = Literal[
    "saved", "unchanged", "failed", "blocked", "exists", "conflict", "duplicate", "busy", "check_failed",
]


@dataclass(frozen=True)
class FieldConflict:
    """One field changed both by the person and at Linq since the form was loaded."""

    name: str
    loaded: str
    remote: str
    typed: str

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


@dataclass
class SaveResult:
    status: SaveStatus
    card: Card | None = None
    error: LinqError | None = None
    changes: dict[str, list[str]] = field(default_factory=dict)
    entry: AuditEntry | None = None
    budget: Budget | None = None
    conflicts: list[FieldConflict] = field(default_factory=list)
    remote_changed: list[str] = field(default_factory=list)  # changed at Linq, untouched by the person
    applied: bool | None = None  # after an unknown outcome: did a re-read show the change?
    previous: AuditEntry | None = None  # for a resubmitted form: the write it already caused

    @property
    def ok(self) -> bool:
        return self.status in ("saved", "unchanged")


def _took_effect(card: Card | None, changes: dict[str, list[str]]) -> bool:
    """Whether the re-read card shows every change.

    Linq re-hosts images, so a sent image_url never comes back as sent: for that field,
    "took effect" means the URL is no longer the one it was before the write.
    """
    if card is None:
        return False
    now = card.fields()
    for name, (old, new) in changes.items():
        if name == "image_url":
            if not now[name] or now[name] == old:
                return False
        elif now[name] != new:
            return False
    return True


def _audited_write(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    action: str,
    changes: dict[str, list[str]],
    body: dict[str, str],
    client_ip: str | None,
    client: LinqClient,
    call: Callable[[LinqClient], CardResult],
    token: str = "",
) -> SaveResult:
    """Make one write call and record it, whatever its outcome. Never retries.

    When the outcome is unknown (timeout, dropped connection, unreadable answer), the card
    is re-read *before* the audit row is written, so the row (immutable once saved) says
    whether the change took effect.
    """
    try:
        used = _consume_token(token, number)
    except IntegrityError:  # only without the lock (it makes this unreachable), but never send twice
        return _duplicate(token) or SaveResult(status="duplicate")
    entry = _new_entry(number=number, user=user, action=action, changes=changes, body=body, client_ip=client_ip)
    try:
        result = call(client)
    except LinqError as error:
        log_linq_failure(action, number.e164, error)
        applied: bool | None = None
        card: Card | None = None
        if error.outcome_unknown:
            try:
                card = client.get_card(number.e164)
                applied = _took_effect(card, changes)
            except LinqError:
                applied = None
        _record_error(entry, error, note=_applied_note(applied, error))
        entry.applied = applied
        entry.save()
        _link_token(used, entry)
        return SaveResult(status="failed", error=error, changes=changes, entry=entry, applied=applied, card=card)
    entry.outcome = AuditEntry.Outcome.SUCCESS
    entry.http_status = result.status
    entry.trace_id = result.trace_id or ""
    entry.duration_ms = result.duration_ms
    entry.save()
    _link_token(used, entry)
    return SaveResult(status="saved", card=result.card, changes=changes, entry=entry)


def _new_entry(*, number: PhoneNumber, user: AbstractBaseUser, action: str, changes: dict[str, list[str]],
               body: dict[str, str], client_ip: str | None) -> AuditEntry:
    return AuditEntry(
        team=number.team, number=number, phone_number=number.e164, user=user,
        username=user.get_username(), action=action, changes=changes, request_body=body,
        client_ip=client_ip,
    )


def _record_error(entry: AuditEntry, error: LinqError, *, note: str = "") -> None:
    entry.outcome = (AuditEntry.Outcome.API_ERROR if error.kind == "api" or error.status
                     else AuditEntry.Outcome.NETWORK_ERROR)
    entry.http_status = error.status
    entry.request_sent = error.sent
    entry.linq_code = error.code
    entry.error_message = (str(error.message) + note)[:2000]
    entry.trace_id = error.trace_id or ""
    entry.retry_after = error.retry_after
    entry.duration_ms = error.duration_ms


def _check_failed(*, number: PhoneNumber, user: AbstractBaseUser, action: str, changes: dict[str, list[str]],
                  body: dict[str, str], client_ip: str | None, error: LinqError) -> SaveResult:
    """The re-read before a write failed, so the write was not sent; the attempt is still recorded.

    The row has ``request_sent=False`` (the write never left), so it does not count against the
    write budget, but the history shows that someone tried to save and why nothing happened.
    Without a usable token no call was even attempted, so there is nothing to record.
    """
    if error.kind == "token":
        return SaveResult(status="check_failed", error=error, changes=changes)
    entry = _new_entry(number=number, user=user, action=action, changes=changes, body=body, client_ip=client_ip)
    _record_error(entry, error, note=" (The card could not be re-read before saving, so the change was not sent.)")
    entry.request_sent = False
    entry.save()
    return SaveResult(status="check_failed", error=error, changes=changes, entry=entry)


def _applied_note(applied: bool | None, error: LinqError) -> str:
    if not error.outcome_unknown:
        return ""
    if applied is True:
        return " Re-read afterwards: the change took effect."
    if applied is False:
        return " Re-read afterwards: the change did not take effect."
    return " The card could not be re-read afterwards: outcome unknown."


def _link_token(used: FormToken | None, entry: AuditEntry) -> None:
    if used is not None:
        used.entry = entry
        used.save(update_fields=["entry"])


def _blocked(number: PhoneNumber) -> SaveResult | None:
    budget = write_budget(number=number)
    if budget.exhausted:
        return SaveResult(status="blocked", budget=budget)
    return None


def _duplicate(token: str) -> SaveResult | None:
    used = form_token_used(token)
    if used is None:
        return None
    return SaveResult(status="duplicate", previous=used.entry)


def _guarded(number: PhoneNumber, token: str, work: Callable[[], SaveResult]) -> SaveResult:
    """Run ``work`` under the number's write lock, after the duplicate and budget checks."""
    try:
        with number_write_lock(number):
            duplicate = _duplicate(token)
            if duplicate is not None:
                return duplicate
            blocked = _blocked(number)
            if blocked is not None:
                return blocked
            return work()
    except NumberBusy:
        return SaveResult(status="busy")


def card_update(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    loaded: dict[str, str | None],
    submitted: dict[str, str | None],
    token: str = "",
    client_ip: str | None = None,
) -> SaveResult:
    """PATCH the person's changes, at most once per form, never over someone else's change.

    Under the number's lock: skip a form whose token was already used, refuse a spent budget,
    re-read the card (one GET, free), stop with a conflict if a field the person changed was
    also changed at Linq since the form was loaded, else PATCH only the person's changed
    fields that Linq does not already have.
    """
    changes = changed_fields(loaded, submitted)
    if not changes:
        return SaveResult(status="unchanged")

    def work() -> SaveResult:
        client = linq_client_for(number.team)  # one client (one connection) for the re-read and the write
        current = card_fetch(number=number, client=client)
        if current.error is not None:
            return _check_failed(number=number, user=user, action=AuditEntry.Action.UPDATE, changes=changes,
                                 body={name: new for name, (_old, new) in changes.items()},
                                 client_ip=client_ip, error=current.error)
        remote = normalise(current.card.fields() if current.card else {})
        before, typed = normalise(loaded), normalise(submitted)
        remote_changed = [name for name in CARD_FIELDS if remote[name] != before[name]]
        conflicts = [
            FieldConflict(name=name, loaded=before[name], remote=remote[name], typed=typed[name])
            for name in changes if name in remote_changed and remote[name] != typed[name]
        ]
        if conflicts:
            return SaveResult(status="conflict", card=current.card, conflicts=conflicts, changes=changes,
                              remote_changed=remote_changed)
        to_send = {name: [remote[name], new] for name, (_old, new) in changes.items() if remote[name] != new}
        others = [name for name in remote_changed if name not in changes]
        if not to_send:  # someone else already made exactly this change
            return SaveResult(status="unchanged", card=current.card, remote_changed=others)
        body = {name: new for name, (_old, new) in to_send.items()}
        result = _audited_write(
            number=number, user=user, action=AuditEntry.Action.UPDATE, changes=to_send, body=body,
            client_ip=client_ip, client=client, call=lambda c: c.update_card(number.e164, body), token=token,
        )
        result.remote_changed = others
        return result

    result = _guarded(number, token, work)
    result.changes = result.changes or changes
    return result


def card_create(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    submitted: dict[str, str | None],
    token: str = "",
    client_ip: str | None = None,
) -> SaveResult:
    """POST a first card, at most once per form.

    The card is re-read first (free): if someone set one up meanwhile, nothing is sent and the
    caller switches to editing it. On 409/2014 (a card appeared between re-read and POST), the
    card is fetched for the same reason.
    """
    values = normalise(submitted)
    changes = {name: ["", value] for name, value in values.items() if value}
    fields = {"first_name": values["first_name"], "last_name": values["last_name"] or None,
              "image_url": values["image_url"] or None}
    body = LinqClient.create_body(number.e164, **fields)

    def work() -> SaveResult:
        client = linq_client_for(number.team)  # one client (one connection) for the re-read and the write
        current = card_fetch(number=number, client=client)
        if current.error is not None:
            return _check_failed(number=number, user=user, action=AuditEntry.Action.CREATE, changes=changes,
                                 body=body, client_ip=client_ip, error=current.error)
        if current.card is not None and current.card.is_active:
            return SaveResult(status="exists", card=current.card, changes=changes)
        return _audited_write(
            number=number, user=user, action=AuditEntry.Action.CREATE, changes=changes, body=body,
            client_ip=client_ip, token=token, client=client, call=lambda c: c.create_card(number.e164, **fields),
        )

    result = _guarded(number, token, work)
    result.changes = result.changes or changes
    if result.error is not None and result.error.code == 2014:
        existing = card_fetch(number=number)
        if existing.card is not None:
            result.status = "exists"
            result.card = existing.card
    return result
