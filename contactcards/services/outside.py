"""Changes made outside linqadmin: recorded in the history once, however we learned of them.

We learn of them three ways - Linq's webhook (with actor and origin), reconcile (a full read
that finds a card differing from what we last knew) and the card page's read. Each becomes one
history entry of action "outside"; a later webhook for a change already found by a read or
reconcile, or caused by one of our own writes, is matched to that entry instead of recorded again
(see ``services.webhooks``). The number is marked on the dashboard until someone here opens it,
and owners who asked are emailed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string

from contactcards.linq import Card
from contactcards.models import AuditEntry, CardMirror, Membership, OutsideChangeAlert, PhoneNumber, Role
from contactcards.services import mirror

logger = logging.getLogger(__name__)

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
    """One history entry for a change made outside linqadmin; marks the number and emails owners who asked."""
    entry = AuditEntry.objects.create(
        team=number.team, number=number, phone_number=number.e164, user=None,
        username=(actor_label or ACTOR_LABELS.get(actor_type, "someone at Linq"))[:150],
        action=AuditEntry.Action.OUTSIDE, changes=changes, outcome=AuditEntry.Outcome.SUCCESS,
        request_sent=False, actor_type=actor_type[:20], origin=origin[:20], found_by=found_by,
        occurred_at=occurred_at, trace_id=trace_id[:64],
    )
    when = occurred_at or entry.created_at
    CardMirror.objects.filter(number_id=number.pk).filter(
        Q(outside_changed_at__isnull=True) | Q(outside_changed_at__lt=when)).update(outside_changed_at=when)
    _email_owners(entry)
    return entry


def note_read(*, number: PhoneNumber, card: Card | None, as_of: datetime) -> AuditEntry | None:
    """Remember what a read of one card found; a difference from what we knew is an outside change."""
    before = CardMirror.objects.filter(number_id=number.pk).values(*mirror.card_values(None)).first()
    if not mirror.record_card(number=number, card=card, source=mirror.Source.READ, as_of=as_of) or before is None:
        return None  # older than what we know, or the first thing we know
    changes = card_diff(before if before["has_card"] else None, mirror.card_values(card) if card else None)
    if not changes or _our_write_in_flight(number):
        return None
    return record_outside_change(number=number, found_by="read", changes=changes)


def _our_write_in_flight(number: PhoneNumber) -> bool:
    """A write of ours is between "sent" and "answer recorded": a read now may already show it, and the
    difference is ours, not someone else's (its outcome updates the mirror; reconcile finds the rest)."""
    return AuditEntry.objects.writes().in_flight().filter(number_id=number.pk).exists()


def _email_owners(entry: AuditEntry) -> None:
    """Owners of the team who opted in get one email per change (never the secrets; facts only)."""
    owners = Membership.objects.filter(team_id=entry.team_id, role=Role.OWNER).values("user_id")
    user_ids = OutsideChangeAlert.objects.filter(team_id=entry.team_id, user_id__in=owners).values("user_id")
    emails = [email for email in get_user_model().objects.filter(pk__in=user_ids).exclude(email="")
              .values_list("email", flat=True)]
    if not emails:
        return
    context = {"entry": entry, "team": entry.team, "public_url": settings.PUBLIC_URL.rstrip("/")}
    subject = " ".join(render_to_string("emails/outside_change_subject.txt", context).split())
    try:
        send_mail(subject, render_to_string("emails/outside_change.txt", context), None, emails)
    except Exception:  # mail is a courtesy: the history already has the change
        logger.exception("Could not email owners of team %s about an outside change", entry.team_id)
