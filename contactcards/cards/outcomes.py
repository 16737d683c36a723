"""What a save can end in: one frozen type per case, built once by ``cards.services``, never changed.

Every rule that decides between them (a failed write that the re-read shows applied is ``Saved``;
which values "Save my version" starts from) lives in ``cards/services.py``. What an outcome means for
what happens next - done, wait until, retry, check later, a person must look, stop - is
:func:`next_step`, followed by the card page and by rollout jobs alike; what an error means is
``common/errors.py``; the words are templates.

    Saved           the change is at Linq (``unanswered`` set: the call got no answer, a re-read showed it)
    Unchanged       nothing to send (nothing typed differs, or Linq already has these values)
    Conflict        someone changed the same field at Linq meanwhile: nothing sent
    SwitchToEdit    a create found a card at Linq (or Linq said 409/2014): nothing created
    SwitchToCreate  an edit found no card at Linq any more, or one that is not active (pending), or
                    Linq refused the PATCH with 404/2012: set it up again (POST the whole card)
    ImageRefused    the new image link failed the check Linq's fetch would fail: nothing sent, no row
    Blocked         the write budget is spent (or Linq asked to wait): nothing sent
    Busy            another save held the number's lock too long: nothing sent
    Duplicate       this form was already submitted: nothing sent again
    NotChecked      the re-read before the write failed: nothing sent (recorded, not counted)
    Failed          the write was sent and Linq's answer says it did not take effect
    OutcomeUnknown  the write was sent, its answer did not say, and the re-read did not show it (or
                    failed): Linq may still apply it, so a read after its window settles it
    LineReleased    Linq released the line from the team's token: nothing sent, nothing recorded

Fields that hold several values are tuples or read-only mappings, so an outcome cannot be
changed by whoever receives it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from contactcards.cards.budget import Budget
from contactcards.cards.diff import FieldConflict
from contactcards.common.errors import may_pass, wait_asked
from contactcards.linq import Card, LinqError
from contactcards.models import AuditEntry
from contactcards.photos.services import ImageCheck


@dataclass(frozen=True)
class Saved:
    card: Card  # as Linq returned it (or as the re-read found it)
    entry: AuditEntry
    changed: tuple[str, ...]  # the fields sent
    created: bool = False  # a first card (POST), not an edit
    others_changed: tuple[str, ...] = ()  # changed at Linq meanwhile by someone else, left as they are
    unanswered: LinqError | None = None  # the write got no answer; the re-read showed it took effect


@dataclass(frozen=True)
class Unchanged:
    card: Card | None = None  # set when Linq already had the typed values (someone made the same change)


@dataclass(frozen=True)
class Conflict:
    card: Card  # Linq's card now
    conflicts: tuple[FieldConflict, ...]
    keep_mine: Mapping[str, str]  # what "Save my version" starts from: Linq's card, the person's changes on top


@dataclass(frozen=True)
class SwitchToEdit:
    card: Card  # the card that exists at Linq
    typed: Mapping[str, str]  # the person's input, to put on top of it


@dataclass(frozen=True)
class SwitchToCreate:
    typed: Mapping[str, str]  # the person's input, for a new card
    pending: bool = False  # Linq has a card that is not active: it is set up again, not edited
    refused: AuditEntry | None = None  # the PATCH Linq refused with 404/2012 (it is in the history)


@dataclass(frozen=True)
class ImageRefused:
    check: ImageCheck  # why the link would not work (checked before the lock, the budget and any call)


@dataclass(frozen=True)
class Blocked:
    budget: Budget


@dataclass(frozen=True)
class Busy:
    pass


@dataclass(frozen=True)
class Duplicate:
    previous: AuditEntry | None  # the write the first submission caused (None: no record of it)

    @property
    def took_effect(self) -> bool:
        return self.previous is not None and bool(self.previous.is_success or self.previous.applied)


@dataclass(frozen=True)
class NotChecked:
    error: LinqError  # why the card could not be re-read before the write
    entry: AuditEntry | None  # the recorded attempt (None without a token: no call was possible)


@dataclass(frozen=True)
class Failed:
    error: LinqError  # a definite answer: Linq's error with its code, or a refusal (4xx)
    entry: AuditEntry


@dataclass(frozen=True)
class OutcomeUnknown:
    error: LinqError
    entry: AuditEntry  # its ``recheck_after``: when a read settles it either way


@dataclass(frozen=True)
class LineReleased:
    """The line was released from the team's token (``sync.health``): refused before anything is sent."""


SaveOutcome = (
    Saved | Unchanged | Conflict | SwitchToEdit | SwitchToCreate | ImageRefused | Blocked | Busy | Duplicate
    | NotChecked | Failed | OutcomeUnknown | LineReleased
)


# -- what comes next: the one reading of an outcome that pages and jobs share ---------------------------

DEFAULT_LINQ_WAIT = timedelta(minutes=1)  # Linq asked to wait without saying how long
MAX_LINQ_WAIT = timedelta(hours=1)  # a longer wait is read as this (a job does not sleep for a day)


class Next(StrEnum):
    DONE = "done"  # the change is at Linq
    NOTHING = "nothing"  # nothing was sent: Linq already has these values
    WAIT = "wait"  # nothing may be sent before ``at``: the write budget, or Linq asked to wait
    RETRY = "retry"  # a failure the same change can get past if tried again
    CHECK = "check"  # Linq did not say whether it took effect: a read after ``at`` tells
    REVIEW = "review"  # a person must look again: a conflict, a card that appeared or went, a refused link
    STOP = "stop"  # refused for good (the token, the input, the number): trying again cannot help


@dataclass(frozen=True)
class NextStep:
    next: Next
    at: datetime | None = None  # WAIT: the first moment a write may go; CHECK: when a read can tell
    entry: AuditEntry | None = None  # the history row the save wrote, or the one it found


def next_step(outcome: SaveOutcome, *, now: datetime) -> NextStep:
    """What an outcome means for what happens next - the rules every caller of the save follows (the card
    page shows them, a rollout's job acts on them); the error rules are ``common.errors``'."""
    match outcome:
        case Saved(entry=entry):
            return NextStep(Next.DONE, entry=entry)
        case Unchanged():
            return NextStep(Next.NOTHING)
        case Duplicate(previous=None):
            return NextStep(Next.STOP)  # a write was recorded without its row: look at the history
        case Duplicate(previous=entry) if entry.is_success or entry.applied:
            return NextStep(Next.DONE, entry=entry)
        case Duplicate(previous=entry) if entry.unsettled:
            return NextStep(Next.CHECK, at=entry.recheck_after, entry=entry)
        case Duplicate(previous=entry):
            return NextStep(Next.STOP, entry=entry)
        case Blocked(budget=budget):
            return NextStep(Next.WAIT, at=budget.next_write_at)
        case Busy():
            return NextStep(Next.RETRY)
        case Conflict() | SwitchToEdit() | SwitchToCreate() | ImageRefused():
            return NextStep(Next.REVIEW, entry=getattr(outcome, "refused", None))
        case NotChecked(error=error, entry=entry):  # the re-read failed: nothing was sent
            return NextStep(Next.RETRY if error.retryable else Next.STOP, entry=entry)
        case Failed(error=error, entry=entry) if wait_asked(error):
            return NextStep(Next.WAIT, at=now + linq_wait(error.retry_after), entry=entry)
        case Failed(error=error, entry=entry):
            return NextStep(Next.RETRY if may_pass(error) else Next.STOP, entry=entry)
        case OutcomeUnknown(entry=entry):
            return NextStep(Next.CHECK, at=entry.recheck_after, entry=entry)
        case LineReleased():
            return NextStep(Next.STOP)  # the token no longer has the line: no save can pass
    raise TypeError(f"unexpected save outcome {outcome!r}")


def linq_wait(seconds: int | None) -> timedelta:
    """How long to wait when Linq asked (``Retry-After``), within sane bounds."""
    if not seconds or seconds <= 0:
        return DEFAULT_LINQ_WAIT
    return min(timedelta(seconds=seconds), MAX_LINQ_WAIT)
