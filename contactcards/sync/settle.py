"""Settling our own writes whose outcome is unknown: what one read of the card says about each.

Every read of a card calls this before it looks for changes made outside linqadmin
(``sync.reads.card_fetch`` -> ``sync.outside.note_read``), and so does the team-wide reconcile; the
rows are written by the history's one writer (``history.audit.settle``). ``sync.recheck`` reads the
cards that still have such writes once their window is over.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from contactcards.cards.diff import took_effect
from contactcards.history import audit
from contactcards.linq import Card
from contactcards.models import AuditEntry, PhoneNumber, unknown_window
from contactcards.photos.services import photo_read


def settle_attempts(number: PhoneNumber, card: Card | None, *, read_at: datetime) -> list[AuditEntry]:
    """Settle what ``card`` - read from Linq by a request sent at ``read_at`` - tells about the number's
    writes whose outcome is unknown (``AuditEntry.objects.unsettled``). Returns the writes settled.

    A write the card shows took effect, whenever the read was made. One it does not show did not -
    but only if the read began after the write's window (``models.unknown_window``); until then Linq
    may still apply it and it stays unknown. A read sent before a write was stored says nothing about
    it, and attempts still in flight are left to their own request.

    A pending attempt (its process never recorded an answer) becomes "outcome unknown" with
    ``applied``; an answered attempt whose answer did not say gets ``applied``. Each is written
    once; a concurrent settler that got there first wins and this one skips the row.

    The photo link sent last (``photos.services.photo_read``) learns what the read shows: a write settled
    as applied that sent a link is remembered as sent only now, and a link whose write's answer did not
    say what Linq made of it learns that here.
    """
    done = []
    now = timezone.now()
    window_over_for = read_at - unknown_window()  # writes created up to then can no longer be applied later
    waiting = AuditEntry.objects.awaiting_settlement(now=now).filter(number=number, created_at__lt=read_at)
    for entry in waiting.order_by("created_at", "id"):
        if took_effect(card, entry.changes or {}):
            applied = True
        elif entry.created_at <= window_over_for:
            applied = False
        else:
            continue  # not shown yet, and Linq may still apply it: unknown, as it was
        if audit.settle(entry, applied=applied, at=now):
            done.append(entry)
    photo_read(number=number, card=card, read_at=read_at, applied=[entry for entry in done if entry.applied])
    return done
