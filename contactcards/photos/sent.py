"""The one rule for a photo link we sent before (no Django, no database: ``cards.diff`` applies it).

Linq re-hosts every image on its CDN, so a card never shows the link that was sent; a team sheet
that keeps its own links would otherwise differ from Linq's card on every import, and each import
would spend a write per number re-sending the same photo. So we remember, per number, the link
sent last and what Linq made of it (``photos.models.SentPhoto``; ``photos.services`` keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SentLink:
    """The photo link sent to a number last (``url``) and the image_url Linq's card showed after that
    write (``linq_url``, "" while no answer or read has told us)."""

    url: str
    linq_url: str


def photo_unchanged(sent: SentLink | None, *, shown: str, link: str) -> bool:
    """Whether putting ``link`` on a card that shows ``shown`` changes nothing: ``link`` is the link sent
    last, and Linq still shows what it made of it. When Linq shows anything else (the photo was changed
    at Linq, the card was set up again) or we never learned what it made of it, the link is a change."""
    return (sent is not None and bool(link) and bool(sent.linq_url)
            and link == sent.url and shown == sent.linq_url)
