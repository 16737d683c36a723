"""The outbox: one message per stream of the team for each change of the history, in the same transaction.

Called by ``history.audit`` (the one writer of the history) right after it inserts an entry or fills one
in, inside a transaction that holds both: the message commits exactly when the change does, and a
process that dies before the commit leaves neither. The delivery task is woken after the commit
(``transaction.on_commit``), never inside the caller's transaction or lock.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from contactcards.models import AuditEntry, AuditStream, StreamMessage
from contactcards.streams.messages import message_payload


def stream_ids_of(team_id: int) -> list[int]:
    """The team's streams (paused ones too: they keep every message until they are resumed)."""
    return list(AuditStream.objects.filter(team_id=team_id).values_list("pk", flat=True))


def entry_changed(entry: AuditEntry, event: str, *, stream_ids: list[int] | None = None) -> int:
    """Queue ``event`` of ``entry`` for every stream of its team; returns how many messages were queued.
    Must run in the transaction that wrote the change (``history.audit`` makes sure it does)."""
    ids = stream_ids if stream_ids is not None else stream_ids_of(entry.team_id)
    if not ids:
        return 0
    at = {"written": entry.created_at, "outcome": entry.outcome_at,
          "settled": entry.reconciled_at}.get(event) or timezone.now()
    payload = message_payload(entry, event, team_slug=entry.team.slug, at=at)
    now = timezone.now()
    StreamMessage.objects.bulk_create(
        [StreamMessage(stream_id=pk, entry_id=entry.pk, event=event, payload=payload, created_at=now) for pk in ids])
    # robust: the change is committed whatever happens here; a failed wake-up is logged, and the next change
    # of the team (or a resume) wakes the stream again - its messages are safe in the outbox meanwhile.
    transaction.on_commit(lambda: _wake(ids), robust=True)
    return len(ids)


def _wake(stream_ids: list[int]) -> None:
    from contactcards.streams.delivery import schedule  # (delivery's task module imports this package)

    for pk in stream_ids:
        schedule(pk)
