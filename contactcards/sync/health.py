"""Line health: what Linq says about each line - its status (ACTIVE / FLAGGED), its reputation (HEALTHY /
AT_RISK / CRITICAL, with Linq's page about it) and whether it was released from the team's token.

Fed like the card mirror (``sync.mirror``) by every phone-number read - the dashboard's refresh and the
periodic reconcile (``reconcile.reconcile_team``), the numbers settings (``read_lines``) - and by Linq's
``phone_number.status_updated``, ``phone_number.assigned`` and ``phone_number.released`` webhooks
(``sync.webhooks``). The same guard: each piece of knowledge carries ``as_of``, when it was true at Linq
(the moment our read was sent, or the event's time), and a row is only changed by knowledge that is not
older - under the row's lock - so an event that arrives late never overwrites a newer read.

Every change of what we know goes through :func:`health_changed`, the one place that records it (a
history entry of its own, ``history.audit.record_line_event``) and returns the entry - the hook for
anything else that must follow a change (alerts). First knowledge of a line that is fine (ACTIVE,
HEALTHY) is only remembered; first knowledge of a line in trouble is a change (from "not known").

A full read that no longer lists a line the team has, and that an earlier read or event did show, means
Linq released it from the token: it is marked released (numbers never seen at Linq are left alone - a
read cannot tell those from numbers added before this app read any). A released line's saves are refused
before anything is sent (``cards.services``), and its rollout items skip with that reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from contactcards.alerts.services import raise_alert
from contactcards.common.clients import linq_client_for, log_linq_failure
from contactcards.common.phones import PhoneNumberError, parse_e164
from contactcards.history.audit import record_line_event
from contactcards.linq import LinqClient, LinqError, PhoneNumberInfo
from contactcards.models import AlertKind, AuditEntry, LineHealth, PhoneNumber, Team
from contactcards.sync.mirror import CLOCK_SKEW

logger = logging.getLogger(__name__)

Source = LineHealth.Source
MAX_DOC_URL = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "older than anything": a row not written yet
# First knowledge of a line with these values is not news (nothing to record but the row).
FINE = {"status": LineHealth.Status.ACTIVE, "reputation": LineHealth.Reputation.HEALTHY}


@dataclass(frozen=True)
class LineState:
    """What is known of a line. "" for status or reputation: Linq has not said (a read without ``status``)."""

    status: str = ""
    reputation: str = ""
    doc_url: str = ""
    released: bool = False

    def merged(self, newer: LineState) -> LineState:
        """``newer`` on top of this: what it does not say is kept (a read without status keeps the last one)."""
        return LineState(status=newer.status or self.status, reputation=newer.reputation or self.reputation,
                         doc_url=newer.doc_url if (newer.reputation or newer.doc_url) else self.doc_url,
                         released=newer.released)


def state_of(row: LineHealth | None) -> LineState | None:
    if row is None:
        return None
    return LineState(status=row.status, reputation=row.reputation, doc_url=row.doc_url, released=row.released)


def state_from_info(info: PhoneNumberInfo) -> LineState:
    """A line as ``GET /v3/phone_numbers`` lists it (parsed by the client: odd values are UNKNOWN)."""
    return LineState(status=info.status or "", reputation=info.reputation or "",
                     doc_url=(info.doc_url or "")[:MAX_DOC_URL], released=False)


def _changes(before: LineState | None, after: LineState) -> dict[str, list]:
    """The facts of a change, {name: [from, to]}; empty when nothing worth recording changed."""
    known = before or LineState()
    changes: dict[str, list] = {}
    for name in ("status", "reputation"):
        old, new = getattr(known, name), getattr(after, name)
        if old == new or not new:
            continue
        if not old and new == FINE[name]:
            continue  # first knowledge of a line that is fine: nothing to tell
        changes[name] = [old, new]
    if known.released != after.released and (before is not None or after.released):
        changes["released"] = [known.released, after.released]
    return changes


def health_changed(*, team: Team, e164: str, number: PhoneNumber | None, changes: dict[str, list],
                   found_by: str, as_of: datetime | None, trace_id: str = "") -> AuditEntry:
    """THE place every line-health change goes through: records it in the history and returns the entry.

    ``changes``: {"status"|"reputation"|"released": [from, to]}; a line released (or back on the token) is
    "Line released" ("Line assigned"), anything else "Line health". Anything that must follow a change of a
    line's health (alerts) is called from here, with the entry."""
    if "released" in changes:
        action = AuditEntry.Action.LINE_RELEASED if changes["released"][1] else AuditEntry.Action.LINE_ASSIGNED
    else:
        action = AuditEntry.Action.LINE_HEALTH
    entry = record_line_event(team=team, action=action, e164=e164, number=number, changes=changes,
                              found_by=found_by, occurred_at=as_of, trace_id=trace_id)
    kind = alert_kind_of(changes)
    if kind:
        doc_url = LineHealth.objects.filter(number=number).values_list("doc_url", flat=True).first() if number else ""
        raise_alert(team, kind, number=number, entry=entry, facts={"doc_url": doc_url} if doc_url else {})
    return entry


def alert_kind_of(changes: dict[str, list]) -> str | None:
    """Which alert a change of a line's health raises: the worst news it brings, or None (a line that got
    better). Released / assigned first, then flagged, critical, at risk."""
    if "released" in changes:
        return AlertKind.LINE_RELEASED if changes["released"][1] else AlertKind.LINE_ASSIGNED
    status = (changes.get("status") or [None, None])[1]
    reputation = (changes.get("reputation") or [None, None])[1]
    if status == "FLAGGED":
        return AlertKind.LINE_FLAGGED
    return {"CRITICAL": AlertKind.LINE_CRITICAL, "AT_RISK": AlertKind.LINE_AT_RISK}.get(reputation)


def line_assigned_to_team(*, team: Team, e164: str, as_of: datetime, trace_id: str = "") -> AuditEntry:
    """Linq assigned a line the team does not have to its token (``phone_number.assigned``). A team that
    opted in (``Team.auto_add_assigned``) gets the number at once; otherwise the entry (no number) is what
    the numbers settings offer for import (``assigned_offers``). Either way through ``health_changed``."""
    number = None
    with transaction.atomic():
        if team.auto_add_assigned:
            PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164)], ignore_conflicts=True)
            number = PhoneNumber.objects.select_related("team").get(team=team, e164=e164)
            LineHealth.objects.bulk_create([LineHealth(number=number, source=Source.WEBHOOK, as_of=as_of,
                                                       recorded_at=timezone.now())], ignore_conflicts=True)
        return health_changed(team=team, e164=e164, number=number, changes={"released": [True, False]},
                              found_by=Source.WEBHOOK, as_of=as_of, trace_id=trace_id)


def record_line(*, number: PhoneNumber, state: LineState, source: str, as_of: datetime,
                trace_id: str = "") -> AuditEntry | None:
    """Remember ``state`` (merged over what is known) as the line's as of ``as_of``, unless newer knowledge
    is stored. Returns the history entry when what we know changed (``health_changed``), else None."""
    now = timezone.now()
    as_of = min(as_of, now + CLOCK_SKEW)
    with transaction.atomic():
        # A first row is inserted "older than anything" and then treated like any other (one code path,
        # safe against a concurrent first writer: ignore_conflicts, then the row's lock).
        LineHealth.objects.bulk_create([LineHealth(number_id=number.pk, source=source, as_of=_EPOCH,
                                                   recorded_at=now)], ignore_conflicts=True)
        row = LineHealth.objects.select_for_update().get(number_id=number.pk)
        if row.as_of > as_of:
            return None  # we know something newer (a later read or event)
        first = row.as_of == _EPOCH
        before = None if first else state_of(row)
        after = (before or LineState()).merged(state)
        row.status, row.reputation, row.doc_url, row.released = (after.status, after.reputation,
                                                                 after.doc_url[:MAX_DOC_URL], after.released)
        row.source, row.as_of, row.recorded_at = source, as_of, now
        row.save()
        changes = _changes(before, after)
        if not changes:
            return None
        return health_changed(team=number.team, e164=number.e164, number=number, changes=changes,
                              found_by=source, as_of=as_of, trace_id=trace_id)


@dataclass(frozen=True)
class LinesRead:
    """One ``GET /v3/phone_numbers``: the lines Linq listed (E.164 as Linq wrote it), when the read was sent,
    or why it failed; ``entries``: the line-health changes it recorded."""

    lines: list[PhoneNumberInfo] = field(default_factory=list)
    as_of: datetime | None = None
    error: LinqError | None = None
    entries: list[AuditEntry] = field(default_factory=list)


def read_lines(*, team: Team, source: str = Source.READ, client: LinqClient | None = None) -> LinesRead:
    """Read the lines the team's token sees and record what it says about the team's numbers."""
    started = timezone.now()
    try:
        lines = (client or linq_client_for(team)).list_phone_numbers()
    except LinqError as error:
        if error.kind != "token":
            log_linq_failure("GET phone numbers", team.slug, error)
        return LinesRead(error=error)
    read = LinesRead(lines=lines, as_of=started)
    return replace(read, entries=record_listing(team=team, read=read, source=source))


def record_listing(*, team: Team, read: LinesRead, source: str = Source.READ) -> list[AuditEntry]:
    """Record a full listing for the team's numbers (also after numbers were added from it): each number
    listed gets what Linq says; one missing from it that Linq listed or announced before is released.

    Rows the listing confirms only get their ``as_of`` moved forward (one UPDATE); the few that differ go
    through ``record_line`` under their lock. A failed read records nothing."""
    if read.error is not None or read.as_of is None:
        return []
    listed: dict[str, LineState] = {}
    for info in read.lines:
        try:
            listed[parse_e164(info.phone_number)] = state_from_info(info)
        except PhoneNumberError:
            continue  # not a number this app can have (the settings name it)
    now = timezone.now()
    as_of = min(read.as_of, now + CLOCK_SKEW)
    entries, confirmed, first = [], [], []
    for number in PhoneNumber.objects.filter(team=team).select_related("team", "health"):
        row = getattr(number, "health", None)
        state = listed.get(number.e164)
        if state is None:
            if row is None or row.released or not (row.status or row.reputation):
                continue  # never seen at Linq, or already released: nothing a listing can add
            state = LineState(released=True)
        if row is None and not _changes(None, state):  # first knowledge of a line that is fine
            first.append(LineHealth(number=number, status=state.status, reputation=state.reputation,
                                    doc_url=state.doc_url, source=source, as_of=as_of, recorded_at=now))
            continue
        if row is not None and row.as_of <= as_of and state_of(row) == state_of(row).merged(state):
            confirmed.append(number.pk)
            continue
        entry = record_line(number=number, state=state, source=source, as_of=as_of)
        if entry is not None:
            entries.append(entry)
    # A constant number of queries for the lines nothing changed about, whatever the team's size.
    LineHealth.objects.bulk_create(first, ignore_conflicts=True, batch_size=500)
    for start in range(0, len(confirmed), 500):
        LineHealth.objects.filter(number_id__in=confirmed[start:start + 500], as_of__lt=as_of).update(
            as_of=as_of, source=source, recorded_at=now)
    return entries


def is_released(number: PhoneNumber) -> bool:
    """Whether Linq released this line from the team's token (as last known)."""
    return LineHealth.objects.filter(number_id=number.pk, released=True).exists()


def line_health_of(number: PhoneNumber) -> LineHealth | None:
    """What we last knew of the line (None: never read); no query when the number was loaded with it
    (``select_related("health")``, as ``common.access.get_number_for_user`` does)."""
    return getattr(number, "health", None)
