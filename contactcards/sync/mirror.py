"""The card mirror: the last card we know per number, so the dashboard never waits on Linq.

Every card read and write the app makes is recorded here (``record_card``), and so is every
full read of a team's cards (``refresh_team``: one ``GET /v3/contact_card`` for all of them).
Webhooks and reconcile feed it too.

The guard: each piece of knowledge carries ``as_of``, the moment it was true at Linq (a
webhook's ``occurred_at``; for our own calls, the moment the request was sent, which is
conservative: the answer is at least that new). A row is only replaced by knowledge whose
``as_of`` is not older, in one conditional ``UPDATE ... WHERE as_of <= new``, so concurrent
workers and out-of-order events cannot move a number's card back in time. Nor far into the
future: an ``as_of`` later than now plus :data:`CLOCK_SKEW` counts as that - or else the row would
refuse every true read and event until that date came. (Within the skew, a webhook's time is
kept as Linq's clock says: two events from a clock a minute ahead must still keep their order.)

A read that finds exactly the card the row holds is not written (``read_confirms``): the card page
is opened far more often than cards change, and a write made by every view cost more than the rest
of its queries. Such a read moves ``as_of`` forward only once the row's is :data:`CONFIRM_EVERY`
old, so what the dashboard says ("as of") and the guard above lag a confirming read by at most that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from contactcards.linq import Card
from contactcards.models import CardMirror, PhoneNumber, Team

Source = CardMirror.Source
MAX_TEXT = 2000  # Linq documents no limits; a mirror row never needs more than this to be useful
# How far ahead of ours another clock may be (Linq's, in a webhook's occurred_at; Standard Webhooks
# allows the same for a signature's timestamp). Knowledge "as of" later than now plus this is not true.
CLOCK_SKEW = timedelta(minutes=5)
# How stale a row's ``as_of`` may get while reads keep finding the same card (see read_confirms).
CONFIRM_EVERY = timedelta(seconds=60)


def _clean(value: str | None) -> str:
    """Linq's text as we can store it on every database (Postgres refuses NUL), bounded."""
    return (value or "").replace("\x00", "")[:MAX_TEXT]


def card_values(card: Card | None) -> dict[str, object]:
    """The mirror columns for ``card`` (None: the number has no card)."""
    if card is None:
        return {"has_card": False, "first_name": "", "last_name": "", "image_url": "", "is_active": False}
    return {
        "has_card": True,
        "first_name": _clean(card.first_name),
        "last_name": _clean(card.last_name),
        "image_url": _clean(card.image_url),
        "is_active": bool(card.is_active),
    }


def record_card(*, number: PhoneNumber, card: Card | None, source: str, as_of: datetime) -> bool:
    """Remember ``card`` as the number's card as of ``as_of``, unless we already know something newer.

    Returns whether it was stored. Safe against concurrent writers: the update is conditional
    on the stored ``as_of``, and a first row is inserted with "do nothing on conflict".
    """
    now = timezone.now()
    as_of = min(as_of, now + CLOCK_SKEW)
    values = {**card_values(card), "source": source, "as_of": as_of, "recorded_at": now}
    newer_or_same = CardMirror.objects.filter(number_id=number.pk, as_of__lte=as_of)
    if newer_or_same.update(**values):
        return True
    CardMirror.objects.bulk_create([CardMirror(number_id=number.pk, **values)], ignore_conflicts=True)
    # Either our insert won (and this re-applies the same values), a concurrent writer inserted
    # older knowledge first (and this replaces it), or the stored row is newer (nothing happens).
    return bool(newer_or_same.update(**values))


def read_confirms(known: dict[str, object] | None, card: Card | None, *, as_of: datetime) -> bool:
    """Whether a read sent at ``as_of`` that found ``card`` adds nothing to ``known`` (the row's card
    columns and ``as_of``, read just after the answer came): the same card, and the row's ``as_of``
    no more than :data:`CONFIRM_EVERY` older. Then the read is not recorded - no write.

    A concurrent writer that changes the row between that read of it and this decision is
    newer or older knowledge of its own: newer stays (as record_card would keep it); an older
    event that lands there is followed by the event of the change back, whose ``as_of`` is later.
    """
    if known is None:
        return False
    values = card_values(card)
    return all(known.get(name) == value for name, value in values.items()) and (
        known["as_of"] >= min(as_of, timezone.now() + CLOCK_SKEW) - CONFIRM_EVERY)


def record_cards(*, team: Team, cards: Iterable[Card], source: str, as_of: datetime) -> list[CardChange]:
    """Record a full read of the team's cards: every number of the team gets its card or "no card".

    A constant number of queries whatever the team's size: one locked read of the team's rows,
    one UPDATE that moves ``as_of`` forward on every row the read confirms, and bulk writes for
    the rows that differ (few, normally). Rows holding newer knowledge (a webhook that arrived
    after the read was sent) are left alone. Returns the differences found, oldest value first.
    """
    by_number = {card.phone_number: card for card in cards}
    now = timezone.now()
    as_of = min(as_of, now + CLOCK_SKEW)
    changes: list[CardChange] = []
    with transaction.atomic():
        numbers = list(PhoneNumber.objects.filter(team=team))
        existing = {
            row.pk: row
            for row in CardMirror.objects.select_for_update(of=("self",)).filter(number__team=team)
        }
        to_update, to_create = [], []
        for number in numbers:
            values = card_values(by_number.get(number.e164))
            row = existing.get(number.pk)
            if row is None:
                to_create.append(CardMirror(number=number, **values, source=source, as_of=as_of, recorded_at=now))
                changes.append(CardChange(number=number, before=None, after=values))
            elif row.as_of <= as_of and _row_values(row) != values:
                changes.append(CardChange(number=number, before=_row_values(row), after=values, known_as_of=row.as_of))
                for name, value in {**values, "source": source, "as_of": as_of, "recorded_at": now}.items():
                    setattr(row, name, value)
                to_update.append(row)
        CardMirror.objects.filter(number__team=team, as_of__lte=as_of).exclude(
            pk__in=[row.pk for row in to_update]).update(source=source, as_of=as_of, recorded_at=now)
        CardMirror.objects.bulk_update(to_update, [*card_values(None), "source", "as_of", "recorded_at"])
        CardMirror.objects.bulk_create(to_create, ignore_conflicts=True)
    return changes


def _row_values(row: CardMirror) -> dict[str, object]:
    return {name: getattr(row, name) for name in card_values(None)}


@dataclass(frozen=True)
class CardChange:
    """A number whose card differs from what the mirror knew (``before`` None: never known)."""

    number: PhoneNumber
    before: dict[str, object] | None
    after: dict[str, object]
    known_as_of: datetime | None = None  # when ``before`` was true at Linq


def unseen(known: dict[str, object] | None) -> bool:
    """Whether a row (``outside_changed_at`` and ``seen_at`` of it) carries a "changed outside" mark."""
    if known is None or known.get("outside_changed_at") is None:
        return False
    return known.get("seen_at") is None or known["seen_at"] < known["outside_changed_at"]


def mark_seen(*, number: PhoneNumber) -> None:
    """Someone here looked at the number's card: its "changed outside" mark goes away (callers that
    read the row already call this only when it is marked: ``unseen``)."""
    now = timezone.now()
    unseen = Q(seen_at__isnull=True) | Q(seen_at__lt=F("outside_changed_at"))
    CardMirror.objects.filter(unseen, number_id=number.pk, outside_changed_at__isnull=False).update(seen_at=now)
