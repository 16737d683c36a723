"""A number's card as it was after one history entry: the "version" a person can restore.

Rebuilt by replaying the number's entries that changed the card (our successful writes, and
changes made outside linqadmin) in order, up to and including the chosen one. Fields no entry
ever set are unknown (None) and are not restored; a set-up through linqadmin (a create) sends the whole card,
so a field it did not set was empty then (a photo added later goes when restoring a version before it).
"""

from __future__ import annotations

from django.db.models import Q

from contactcards.linq.client import CARD_FIELDS
from contactcards.models import AuditEntry

WRITES = (AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE)
CHANGED_CARD = (Q(action__in=WRITES, outcome=AuditEntry.Outcome.SUCCESS) | Q(action__in=WRITES, applied=True)
                | Q(action=AuditEntry.Action.OUTSIDE))


def restorable(entry: AuditEntry) -> bool:
    """Entries after which the card is known to have been a version: changes that took effect."""
    took_effect = entry.action == AuditEntry.Action.OUTSIDE or (
        entry.action in WRITES and (entry.outcome == AuditEntry.Outcome.SUCCESS or entry.applied is True))
    return entry.number_id is not None and took_effect and bool(entry.changes)


def version_after(entry: AuditEntry) -> dict[str, str | None]:
    """The card fields right after ``entry`` (None: not known from the history)."""
    card: dict[str, str | None] = dict.fromkeys(CARD_FIELDS)
    replay = AuditEntry.objects.filter(CHANGED_CARD, number_id=entry.number_id).filter(
        Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, id__lte=entry.pk)
    ).order_by("created_at", "id").values_list("action", "changes")
    for action, changes in [*replay.iterator(), (entry.action, entry.changes)]:
        if action == AuditEntry.Action.CREATE:
            card = dict.fromkeys(CARD_FIELDS, "")  # the whole card was sent: what it did not set was empty
        if isinstance(changes, dict):
            for name, pair in changes.items():
                if name in card and isinstance(pair, list) and len(pair) == 2:
                    card[name] = pair[1] or ""
    return card
