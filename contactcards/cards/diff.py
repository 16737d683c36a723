"""The diff: what the person changed, what changed at Linq meanwhile, and what to send.

Pure functions over card fields (``first_name``, ``last_name``, ``image_url`` as strings); no
database, no HTTP. ``cards.py`` calls them in order: ``changed_fields`` (form vs. loaded),
``compare`` (loaded vs. Linq's card now vs. typed), ``took_effect`` (after an unanswered write).

``sent`` (optional): the photo link sent to the number last and what Linq made of it. Linq re-hosts
images, so that link is never what the card shows; while the card shows what Linq made of it, the
link is no change (``photos.sent.photo_unchanged``, applied to every field comparison by ``same``).
"""

from __future__ import annotations

from dataclasses import dataclass

from contactcards.linq import Card
from contactcards.linq.client import CARD_FIELDS
from contactcards.photos.sent import SentLink, photo_unchanged

Changes = dict[str, list[str]]  # {field: [old, new]}, as the audit row stores it


def normalise(values: dict[str, str | None]) -> dict[str, str]:
    """Card fields as trimmed strings, absent values as ''."""
    return {name: (values.get(name) or "").strip() for name in CARD_FIELDS}


def same(name: str, shown: str, wanted: str, sent: SentLink | None) -> bool:
    """Whether a card showing ``shown`` in field ``name`` already has ``wanted`` (the photo link sent
    last counts as what Linq made of it)."""
    return shown == wanted or (name == "image_url" and photo_unchanged(sent, shown=shown, link=wanted))


def changed_fields(loaded: dict[str, str | None], submitted: dict[str, str | None], *,
                   sent: SentLink | None = None) -> Changes:
    """``{field: [old, new]}`` for each card field whose submitted value differs from the loaded one."""
    before, after = normalise(loaded), normalise(submitted)
    return {name: [before[name], after[name]] for name in CARD_FIELDS
            if not same(name, before[name], after[name], sent)}


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


@dataclass(frozen=True)
class Comparison:
    """The person's changes held against Linq's card as it is now."""

    conflicts: tuple[FieldConflict, ...]  # changed by both, to different values: send nothing
    to_send: Changes  # the person's changes Linq does not have yet, as {field: [now at Linq, new]}
    others_changed: tuple[str, ...]  # changed at Linq only, in fields the person left alone
    keep_mine: dict[str, str]  # Linq's card with the person's changed fields on top ("Save my version")


def compare(*, loaded: dict[str, str | None], submitted: dict[str, str | None], remote: Card,
            sent: SentLink | None = None) -> Comparison:
    before, typed, now = normalise(loaded), normalise(submitted), normalise(remote.fields())
    changes = changed_fields(before, typed, sent=sent)
    changed_remotely = [name for name in CARD_FIELDS if now[name] != before[name]]
    conflicts = tuple(
        FieldConflict(name=name, loaded=before[name], remote=now[name], typed=typed[name])
        for name in changes if name in changed_remotely and not same(name, now[name], typed[name], sent)
    )
    # Fields the person did not touch keep Linq's value, so keeping theirs never reverts others.
    keep_mine = {name: typed[name] if name in changes else now[name] for name in CARD_FIELDS}
    return Comparison(
        conflicts=conflicts,
        to_send={name: [now[name], new] for name, (_old, new) in changes.items()
                 if not same(name, now[name], new, sent)},
        others_changed=tuple(name for name in changed_remotely if name not in changes),
        keep_mine=keep_mine,
    )


def took_effect(card: Card | None, changes: Changes) -> bool:
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
