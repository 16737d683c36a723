"""Changes made outside linqadmin: recorded in the history once, however we learned of them.

We learn of them three ways - Linq's webhook (with actor and origin), reconcile (a full read
that finds a card differing from what we last knew) and the card page's read. Each becomes one
history entry of action "outside"; a later webhook for a change already found by a read or
reconcile, or caused by one of our own writes, is matched to that entry instead of recorded again
(see ``sync.webhooks``). The number is marked on the dashboard until someone here opens it,
and an ``outside_change`` alert tells whoever asked (``alerts``: from the task queue, after commit).

A read settles our own writes first (``settle.settle_attempts``): a write of ours whose answer did not
say may be applied by Linq after we stopped waiting, and the difference it makes is ours, not
someone else's (``unexplained``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from contactcards.alerts.services import raise_alert
from contactcards.cards.diff import took_effect
from contactcards.history.audit import record_outside_entry
from contactcards.lib import metrics
from contactcards.linq import Card
from contactcards.models import AlertKind, AuditEntry, CardMirror, PhoneNumber, unknown_window
from contactcards.sync import mirror
from contactcards.sync.settle import settle_attempts

ACTOR_LABELS = {"api": "API", "system": "Linq", "unknown": "someone at Linq"}


def card_diff(before: dict[str, object] | None, after: dict[str, object] | None) -> dict[str, list[str]]:
    """``{field: [old, new]}`` between two card states (None: no card), absent values as ''."""
    fields = ("first_name", "last_name", "image_url")
    old = {name: str((before or {}).get(name) or "") for name in fields}
    new = {name: str((after or {}).get(name) or "") for name in fields}
    return {name: [old[name], new[name]] for name in fields if old[name] != new[name]}


def record_outside_change(*, number: PhoneNumber, changes: dict[str, list[str]], found_by: str,
                          actor_type: str = "unknown", actor_label: str = "", origin: str = "",
                          occurred_at: datetime | None = None, trace_id: str = "") -> AuditEntry:
    """One history entry for a change made outside linqadmin; marks the number and raises the alert."""
    entry = record_outside_entry(number=number, changes=changes, found_by=found_by,
                                 who=actor_label or ACTOR_LABELS.get(actor_type, "someone at Linq"),
                                 actor_type=actor_type, origin=origin, occurred_at=occurred_at, trace_id=trace_id)
    when = occurred_at or entry.created_at
    CardMirror.objects.filter(number_id=number.pk).filter(
        Q(outside_changed_at__isnull=True) | Q(outside_changed_at__lt=when)).update(outside_changed_at=when)
    raise_alert(number.team, AlertKind.OUTSIDE_CHANGE, number=number, entry=entry,
                facts={"changes": changes, "found_by": found_by, "who": entry.username,
                       "actor_type": actor_type, "origin": origin})
    metrics.record_outside_change(found_by)
    return entry


def note_read(*, number: PhoneNumber, card: Card | None, as_of: datetime, seen: bool = False) -> list[AuditEntry]:
    """Remember what a read of one card (sent at ``as_of``) found. Our own writes come first: the card
    settles those whose outcome was unknown (``settle.settle_attempts``); then a difference from what we knew
    that none of our writes explains is an outside change. Returns our writes it settled.

    A read that finds the card the mirror holds writes nothing (``mirror.read_confirms``). ``seen``: a
    person is looking at the card, so the number's "changed outside" mark goes (written only if it is set).
    """
    before = CardMirror.objects.filter(number_id=number.pk).values(
        *mirror.card_values(None), "as_of", "outside_changed_at", "seen_at").first()
    if seen and mirror.unseen(before):
        mirror.mark_seen(number=number)
    if mirror.read_confirms(before, card, as_of=as_of):
        stored = False  # nothing new: no write (and no difference to look into)
    else:
        stored = mirror.record_card(number=number, card=card, source=mirror.Source.READ, as_of=as_of)
    settled = settle_attempts(number, card, read_at=as_of)
    if not stored or before is None:
        return settled  # older than what we know, or the first thing we know
    changes = card_diff(before if before["has_card"] else None, mirror.card_values(card) if card else None)
    changes = unexplained(number=number, changes=changes, card=card, read_at=as_of, known_as_of=before["as_of"])
    if changes:
        record_outside_change(number=number, found_by="read", changes=changes)
    return settled


def unexplained(*, number: PhoneNumber, changes: dict[str, list[str]], card: Card | None, read_at: datetime,
                known_as_of: datetime) -> dict[str, list[str]]:
    """The part of ``changes`` (from what we knew as of ``known_as_of`` to ``card``, read at ``read_at``)
    that none of our own writes explains.

    A write of ours explains the fields it changed when the card shows its whole change
    (``diff.took_effect``, the rule that settles it as applied) and it may have been applied after
    what we knew was true: sent before the read, not refused by a definite answer nor settled "did
    not take effect", and created no more than its window (``models.unknown_window``) before that
    knowledge - an older write had been applied, or not, by then.
    """
    if not changes or card is None:  # the API cannot delete a card: a card gone is never our doing
        return changes
    ours = AuditEntry.objects.not_known_failed().filter(
        number_id=number.pk, created_at__lt=read_at, created_at__gte=known_as_of - unknown_window(),
    ).values_list("changes", flat=True)
    explained = {name for change in ours if isinstance(change, dict) and change and took_effect(card, change)
                 for name in change}
    return {name: pair for name, pair in changes.items() if name not in explained}
