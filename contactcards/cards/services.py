"""Saving a card: every card write to Linq goes through ``card_update`` or ``card_create``.

Each save reads top to bottom in two phases: (1) inside ``with write_slot(...)`` - the number's
lock - re-read the card (one free GET) -> diff (``diff.py``) -> store the attempt ahead of the write
(``history.audit.write_ahead``); leaving the block commits it; (2) call once, never retried, and fill
in the attempt's outcome (``send.send_write``) -> the save outcome (``_outcome_of``). It returns one frozen
outcome (``outcomes.py``); every rule that decides between them is here.

A card that is not active (its set-up did not complete) cannot be PATCHed - Linq answers 404/2012
and wants the whole card POSTed again - so an edit of such a card, or an edit Linq refuses that
way, switches to the set-up form with the person's input kept (``SwitchToCreate``), the mirror of
a set-up that finds a card (409/2014, ``SwitchToEdit``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError

from contactcards.cards.diff import Changes, changed_fields, compare, normalise
from contactcards.cards.guard import consume_form_token, duplicate_of, link_form_token, write_slot
from contactcards.cards.outcomes import (
    Blocked,
    Conflict,
    Duplicate,
    Failed,
    ImageRefused,
    LineReleased,
    NotChecked,
    OutcomeUnknown,
    Saved,
    SaveOutcome,
    SwitchToCreate,
    SwitchToEdit,
    Unchanged,
)
from contactcards.cards.send import WriteRecord, send_write
from contactcards.common.clients import linq_client_for
from contactcards.history.audit import Attempt, record_not_sent, write_ahead
from contactcards.lib.metrics import record_budget_refusal, record_save
from contactcards.linq import LinqClient
from contactcards.models import ApiToken, AuditEntry, Job, PhoneNumber
from contactcards.photos.services import ImageCheck, check_new_image, photo_sent, photo_used, sent_link
from contactcards.sync.health import is_released
from contactcards.sync.reads import card_fetch
from contactcards.sync.recheck import schedule_recheck


def _counted(save: Callable[..., SaveOutcome]) -> Callable[..., SaveOutcome]:
    """Count the save's outcome for /metrics (and a spent budget as a refusal) once it has returned:
    outside the number's lock and any transaction. The action is the save's name (card_update: update)."""
    action = save.__name__.removeprefix("card_")

    @functools.wraps(save)
    def counted(**kwargs) -> SaveOutcome:
        outcome = save(**kwargs)
        record_save(action, outcome)
        if isinstance(outcome, Blocked):
            record_budget_refusal(outcome.budget.blocked_by)
        return outcome
    return counted


@_counted
def card_update(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    loaded: dict[str, str | None],
    submitted: dict[str, str | None],
    token: str = "",
    client_ip: str | None = None,
    restored_from: int | None = None,
    job: Job | None = None,
    api_token: ApiToken | None = None,
) -> SaveOutcome:
    """PATCH the person's changes, at most once per form, never over someone else's change.
    (``restored_from``: the history entry whose version this save restores, recorded on its row; ``api_token``:
    the API token the save came through, named in the history.)

    Under the number's lock: skip a form whose token was already used, refuse a spent budget,
    re-read the card, stop with a conflict if a field the person changed was also changed at
    Linq since the form was loaded, else PATCH only the person's changed fields that Linq does
    not already have.
    """
    # The photo link sent last is no change while Linq shows what it made of it (``photos.sent``).
    changes = changed_fields(loaded, submitted, sent=sent_link(number))
    if not changes:
        return Unchanged()
    if is_released(number):  # the token no longer has the line: Linq would refuse it (nothing sent)
        return LineReleased()
    typed = MappingProxyType(normalise(submitted))
    image = check_new_image(changes, job=job)  # a link Linq could not fetch costs no write (before the lock)
    if image is not None and not image.ok:
        return ImageRefused(check=image)
    client = linq_client_for(number.team)  # one client (one connection) for the re-read and the write

    # 1. Under the number's lock: re-read, diff, store the attempt ahead of the write.
    with write_slot(number, token) as slot:
        if slot.refused:
            return slot.refused
        current = card_fetch(number=number, client=client)
        if current.error is not None:
            body = {name: new for name, (_old, new) in changes.items()}
            attempt = Attempt(number=number, user=user, action=AuditEntry.Action.UPDATE, changes=changes,
                              restored_from=restored_from, body=body, client_ip=client_ip, job=job,
                              api_token=api_token)
            return NotChecked(error=current.error, entry=record_not_sent(attempt, current.error))
        # (the re-read settled earlier attempts whose outcome was unknown: reads.card_fetch)
        if current.card is None:  # deleted at Linq since the form was loaded
            return SwitchToCreate(typed=typed)
        if not current.card.is_active:  # PATCH needs an active card: set it up again (POST), nothing sent
            return SwitchToCreate(typed=typed, pending=True)
        # (asked again: the re-read may have just learned what Linq made of the link sent last)
        seen = compare(loaded=loaded, submitted=submitted, remote=current.card, sent=sent_link(number))
        if seen.conflicts:
            return Conflict(card=current.card, conflicts=seen.conflicts, keep_mine=MappingProxyType(seen.keep_mine))
        if not seen.to_send:  # someone else already made exactly this change
            return Unchanged(card=current.card)
        body = {name: new for name, (_old, new) in seen.to_send.items()}
        attempt = Attempt(number=number, user=user, action=AuditEntry.Action.UPDATE, changes=seen.to_send,
                          restored_from=restored_from, body=body, client_ip=client_ip, job=job,
                              api_token=api_token)
        entry = _write_ahead(attempt, token)
        if not isinstance(entry, AuditEntry):
            return entry  # the form's token was used by a write that got in first

    # 2. The attempt is committed: send the write once, record its outcome, say what it means.
    record = send_write(entry, attempt, client=client, call=lambda c: c.update_card(number.e164, body))
    outcome = _outcome_of(record, attempt, created=False, others_changed=seen.others_changed, typed=typed)
    return _remember_photo(outcome, number=number, user=user, image=image)


@_counted
def card_create(
    *,
    number: PhoneNumber,
    user: AbstractBaseUser,
    submitted: dict[str, str | None],
    token: str = "",
    client_ip: str | None = None,
    job: Job | None = None,
    api_token: ApiToken | None = None,
) -> SaveOutcome:
    """POST a first card, at most once per form.

    The card is re-read first (free): if someone set one up meanwhile, nothing is sent and the
    outcome is SwitchToEdit. On 409/2014 (a card appeared between re-read and POST), the card
    is fetched for the same reason.
    """
    if is_released(number):  # the token no longer has the line: Linq would refuse it (nothing sent)
        return LineReleased()
    typed = MappingProxyType(normalise(submitted))
    changes: Changes = {name: ["", value] for name, value in typed.items() if value}
    fields = {"first_name": typed["first_name"], "last_name": typed["last_name"] or None,
              "image_url": typed["image_url"] or None}
    image = check_new_image(changes, job=job)  # a link Linq could not fetch costs no write (before the lock)
    if image is not None and not image.ok:
        return ImageRefused(check=image)
    attempt = Attempt(number=number, user=user, action=AuditEntry.Action.CREATE, changes=changes,
                      body=LinqClient.create_body(number.e164, **fields), client_ip=client_ip, job=job,
                      api_token=api_token)
    client = linq_client_for(number.team)  # one client (one connection) for the re-read and the write

    # 1. Under the number's lock: re-read, store the attempt ahead of the write.
    with write_slot(number, token) as slot:
        if slot.refused:
            return slot.refused
        current = card_fetch(number=number, client=client)
        if current.error is not None:
            return NotChecked(error=current.error, entry=record_not_sent(attempt, current.error))
        if current.card is not None and current.card.is_active:
            return SwitchToEdit(card=current.card, typed=typed)
        entry = _write_ahead(attempt, token)
        if not isinstance(entry, AuditEntry):
            return entry

    # 2. The attempt is committed: send the write once, record its outcome, say what it means.
    record = send_write(entry, attempt, client=client, call=lambda c: c.create_card(number.e164, **fields))
    outcome = _outcome_of(record, attempt, created=True, others_changed=())
    if isinstance(outcome, Failed) and outcome.error.code == 2014:  # a card appeared after the re-read
        existing = card_fetch(number=number)
        if existing.card is not None:
            return SwitchToEdit(card=existing.card, typed=typed)
    return _remember_photo(outcome, number=number, user=user, image=image)


def _write_ahead(attempt: Attempt, token: str) -> AuditEntry | Duplicate:
    """Under the lock: consume the form's token and store the attempt as "pending" (committed with the lock).
    A token used already (only reachable without the lock) means a write got in first: Duplicate."""
    try:
        used = consume_form_token(token, attempt.number)
    except IntegrityError:
        return duplicate_of(token) or Duplicate(previous=None)
    entry = write_ahead(attempt)
    link_form_token(used, entry)
    # The read that settles the attempt if nothing else does commits with it: even a process killed right
    # after the commit leaves both (a task row written in this transaction, not a side effect of it).
    schedule_recheck(entry)
    return entry


def _remember_photo(outcome: SaveOutcome, *, number: PhoneNumber, user: AbstractBaseUser,
                    image: ImageCheck | None) -> SaveOutcome:
    """A photo link a card now uses joins the team's library, to be picked again for another number, and
    is remembered as the link sent last with the image Linq's card shows for it (the answer's card, or
    the re-read that showed an unanswered write applied). A write whose outcome is unknown is not: the
    read that settles it as applied remembers it (``sync.settle`` -> ``photos.services.photo_read``)."""
    if image is not None and isinstance(outcome, Saved) and "image_url" in outcome.changed:
        photo_used(team=number.team, url=image.url, user=user, check=image)
        shown = outcome.card.image_url if outcome.card is not None else None
        photo_sent(number=number, entry=outcome.entry, url=image.url, linq_url=shown or "")
    return outcome


def _outcome_of(record: WriteRecord, attempt: Attempt, *, created: bool,
                others_changed: tuple[str, ...], typed: Mapping[str, str] | None = None) -> SaveOutcome:
    """``typed``: an edit's input, for the set-up form when Linq refuses the PATCH (None for a set-up)."""
    changed = tuple(attempt.changes)
    error = record.error
    if error is not None and typed is not None and error.status == 404 and error.code == 2012:
        # Linq refused the PATCH: no active card (its set-up did not complete). Set it up again.
        return SwitchToCreate(typed=typed, pending=True, refused=record.entry)
    if record.error is None:
        return Saved(card=record.card, entry=record.entry, changed=changed, created=created,
                     others_changed=others_changed)
    if record.applied is True and record.card is not None:  # unanswered, but the re-read shows it
        return Saved(card=record.card, entry=record.entry, changed=changed, created=created,
                     others_changed=others_changed, unanswered=record.error)
    if record.error.outcome_unknown:  # Linq may still apply it: a read after its window settles it
        return OutcomeUnknown(error=record.error, entry=record.entry)
    return Failed(error=record.error, entry=record.entry)
