"""A card's version, as the API hands it out: the card's fields as read, signed (no time in it).

The same card always gives the same version (a stable ETag), and a version gives back exactly the
values it was read at, so a PATCH is checked the way the card page checks a form's loaded values:
refused as a conflict when a field it changes was also changed at Linq since (``cards.diff.compare``),
while changes to other fields do not block it (Linq's PATCH merges).
"""

from __future__ import annotations

from django.core import signing

from contactcards.linq import Card
from contactcards.linq.client import CARD_FIELDS

_SALT = "contactcards.api.card-version"


def card_version(card: Card) -> str:
    fields = card.fields()
    return signing.Signer(salt=_SALT).sign_object([fields[name] for name in CARD_FIELDS], compress=True)


def loaded_of(version: str) -> dict[str, str] | None:
    """The values a version was read at; None when it is not one of ours (altered, or made up)."""
    try:
        values = signing.Signer(salt=_SALT).unsign_object(version or "")
    except (signing.BadSignature, ValueError, UnicodeError):
        return None
    if not isinstance(values, list) or len(values) != len(CARD_FIELDS) or not all(isinstance(v, str) for v in values):
        return None
    return dict(zip(CARD_FIELDS, values, strict=True))
