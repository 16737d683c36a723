"""Read queries for the audit history (HackSoft "selectors"): filters, keyset pages, export rows.

Why it is shaped this way - the history must stay fast at millions of rows:

* Pages are keyset pages on ``(created_at, id)``, newest first: "Older" and "Newer" links carry
  the position of the last/first row shown, so a page is always an index range scan of 51 rows.
  There is no ``COUNT(*)`` and no OFFSET anywhere.
* Every structured filter (number, user, action, outcome, date range) has a composite index
  ``(team, <filter>, created_at DESC, id DESC)`` or rides on ``(team, created_at DESC, id DESC)``.
* Free text cannot use a B-tree index (it matches inside names, changed values and error
  messages), so on the history page it is *bounded*: one page looks at no more than
  ``SEARCH_WINDOW`` entries (newest first, after the other filters). When the window runs out
  before a page is full, the page says how far back it searched and "Older" continues from there.
  The CSV export applies the same text filter to every row (an export is a full read anyway).
* Filter choices come from the team's members (a small table), never from ``DISTINCT`` over the
  audit table. Numbers can be thousands, so the number filter is typed, not chosen from a list:
  ``number_suggestions`` answers the search as you type (at most ``NUMBER_SUGGESTIONS``), and
  ``history_number_lookup`` finds the one number a submitted filter names - neither reads more than
  the matching numbers, and the page itself renders nothing per number of the team.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from django.contrib.auth import get_user_model
from django.db.models import Case, CharField, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from contactcards.common.phones import PhoneNumberError, parse_e164
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import AuditEntry, Membership, PhoneNumber, Team

PAGE_SIZE = 50
SEARCH_WINDOW = 5000
# Columns the history list shows; request_body and client_ip are only needed on the detail page.
LIST_DEFERRED = ("request_body", "client_ip")


@dataclass(frozen=True)
class HistoryFilters:
    """What the reviewer asked for. Empty values mean "any"."""

    number: PhoneNumber | None = None
    user_id: int | None = None
    action: str = ""
    outcome: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    job_id: int | None = None  # a rollout's writes


class InvalidCursor(ValueError):
    pass


_CURSOR_RE = re.compile(r"^(\d{1,17})-(\d{1,19})$")


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: microseconds since the epoch (UTC) and the id."""

    created_at: datetime
    pk: int

    @classmethod
    def of(cls, entry: AuditEntry) -> Cursor:
        return cls(entry.created_at, entry.pk)

    def encode(self) -> str:
        delta = self.created_at - datetime(1970, 1, 1, tzinfo=UTC)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return f"{micros}-{self.pk}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        match = _CURSOR_RE.match(value or "")
        if not match:
            raise InvalidCursor(value)
        try:
            created_at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(match[1]))
        except OverflowError:
            raise InvalidCursor(value) from None
        pk = int(match[2])
        if pk > 2**63 - 1:  # beyond a bigint: the database driver would refuse it
            raise InvalidCursor(value)
        return cls(created_at, pk)


@dataclass
class HistoryPage:
    entries: list[AuditEntry]
    older: Cursor | None = None  # link target for "Older" (?before=)
    newer: Cursor | None = None  # link target for "Newer" (?after=)
    searched_back_to: datetime | None = None  # set when the text-search window ran out
    is_first: bool = True


# -- choices ------------------------------------------------------------------


def history_members(*, team: Team) -> list:
    """The team's members (users), for the "who" filter: a small table, not DISTINCT over the log."""
    user_ids = Membership.objects.filter(team=team).values("user_id")
    return list(get_user_model().objects.filter(pk__in=Subquery(user_ids)).order_by("username"))


NUMBER_SUGGESTIONS = 20
_NOT_DIGITS = re.compile(r"[^0-9]")


def number_suggestions(*, team: Team, text: str, limit: int = NUMBER_SUGGESTIONS) -> list[PhoneNumber]:
    """At most ``limit`` of the team's numbers whose digits contain the digits typed, or whose label
    contains the text typed, by number: the history's number filter, as you type."""
    text = text.strip()
    if not text:
        return []
    digits = _NOT_DIGITS.sub("", text)
    matches = Q(label__icontains=text)
    if digits:
        matches |= Q(e164__contains=digits)
    return list(PhoneNumber.objects.filter(team=team).filter(matches).order_by("e164")
                .only("pk", "team_id", "e164", "label")[:limit])


def history_number_lookup(*, team: Team, text: str) -> list[PhoneNumber]:
    """The team's numbers a typed filter names: the number itself (as stored, ``+1 415 555 0123``, or its
    digits alone), else the numbers labelled exactly that (any case). Empty: none; more than one: the
    label is not unique (the form says so). Two small queries at most, two rows at most."""
    text = text.strip()
    candidates = {text}
    digits = _NOT_DIGITS.sub("", text)
    spellings = [text]
    if digits and not text.startswith("+") and not any(ch.isalpha() for ch in text):
        spellings.append("+" + digits)  # "1 415 555 0123": the digits without the +
    for spelling in spellings:
        try:
            candidates.add(parse_e164(spelling))
        except PhoneNumberError:
            pass
    number = PhoneNumber.objects.filter(team=team, e164__in=candidates).first()
    if number is not None:
        return [number]
    return list(PhoneNumber.objects.filter(team=team, label__iexact=text).order_by("e164")[:2])


# -- the filtered queryset ------------------------------------------------------


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def history_filtered(*, team: Team, filters: HistoryFilters, with_text: bool = True) -> QuerySet[AuditEntry]:
    """Entries of ``team`` matching ``filters``, newest first. ``with_text=False`` leaves out free text."""
    if filters.number is not None:
        # The number is one of the team's (the form and the access helper guarantee it) and its
        # entries are written with its team, so filtering on the number alone is the same set -
        # and leaves the planner only the (number, created_at, id) index, which stays a 51-row
        # scan even for a quiet number in a busy team.
        entries = AuditEntry.objects.filter(number=filters.number)
    else:
        entries = AuditEntry.objects.filter(team=team)
    if filters.user_id is not None:
        entries = entries.filter(user_id=filters.user_id)
    if filters.job_id is not None:
        entries = entries.filter(job_id=filters.job_id)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.outcome:
        entries = entries.filter(outcome=filters.outcome)
    if filters.date_from:
        entries = entries.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to and filters.date_to < date.max:  # date.max: nothing is later
        entries = entries.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if with_text and filters.q:
        entries = _text_filter(entries, team=team, q=filters.q)
    return entries.order_by("-created_at", "-id")


def _text_filter(entries: QuerySet[AuditEntry], *, team: Team, q: str) -> QuerySet[AuditEntry]:
    """Free text over the names and values an entry records (not indexable: callers bound it)."""
    labelled = PhoneNumber.objects.filter(team=team, label__icontains=q).values("pk")
    return entries.annotate(changes_text=Cast("changes", TextField())).filter(
        Q(username__icontains=q)
        | Q(phone_number__icontains=q)
        | Q(number_id__in=Subquery(labelled))
        | Q(changes_text__icontains=q)
        | Q(error_message__icontains=q)
        | Q(trace_id__icontains=q)
    )


# -- keyset pages ---------------------------------------------------------------

Direction = Literal["older", "newer"]


def _after_cursor(entries: QuerySet[AuditEntry], cursor: Cursor | None, direction: Direction) -> QuerySet:
    """Rows strictly past ``cursor`` in ``direction``, ordered that way.

    The redundant ``created_at <=`` / ``>=`` bound is what lets the database *start* the index
    scan at the cursor; the OR alone would be a filter applied while scanning from the top.
    """
    if direction == "older":
        if cursor is not None:
            entries = entries.filter(created_at__lte=cursor.created_at).filter(
                Q(created_at__lt=cursor.created_at) | Q(pk__lt=cursor.pk)
            )
        return entries.order_by("-created_at", "-id")
    if cursor is not None:
        entries = entries.filter(created_at__gte=cursor.created_at).filter(
            Q(created_at__gt=cursor.created_at) | Q(pk__gt=cursor.pk)
        )
    return entries.order_by("created_at", "id")


def _up_to(entries: QuerySet[AuditEntry], boundary: Cursor, direction: Direction) -> QuerySet[AuditEntry]:
    """Rows no further than ``boundary`` (inclusive) in ``direction``: a plain index range."""
    if direction == "older":
        return entries.filter(created_at__gte=boundary.created_at).filter(
            Q(created_at__gt=boundary.created_at) | Q(pk__gte=boundary.pk)
        )
    return entries.filter(created_at__lte=boundary.created_at).filter(
        Q(created_at__lt=boundary.created_at) | Q(pk__lte=boundary.pk)
    )


def _fetch(
    base: QuerySet[AuditEntry], *, team: Team, q: str, cursor: Cursor | None, direction: Direction
) -> tuple[list[AuditEntry], bool, Cursor | None]:
    """Up to PAGE_SIZE rows past ``cursor``, whether more exist, and the window boundary if it ran out.

    With free text, the rows looked at are first bounded to the next ``SEARCH_WINDOW`` entries:
    one cheap query finds the position of the last of them (an index-only scan), and the text
    filter then runs over that index range only - so a search costs the same at 10 thousand rows
    as at 10 million, whatever the planner thinks of the LIKE patterns.
    """
    scan = _after_cursor(base, cursor, direction)
    if not q:
        rows = list(scan.defer(*LIST_DEFERRED).select_related("api_token")[: PAGE_SIZE + 1])
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, None
    last = scan.values_list("created_at", "pk")[SEARCH_WINDOW - 1 : SEARCH_WINDOW]
    boundary = next((Cursor(created_at, pk) for created_at, pk in last), None)
    window = _up_to(scan, boundary, direction) if boundary is not None else scan
    rows = list(_text_filter(window, team=team, q=q).defer(*LIST_DEFERRED).select_related("api_token")[: PAGE_SIZE + 1])
    if len(rows) > PAGE_SIZE:
        return rows[:PAGE_SIZE], True, None
    return rows, False, boundary


def history_page(
    *,
    team: Team,
    filters: HistoryFilters,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> HistoryPage:
    """One page of the filtered history, newest first, positioned by ``before`` or ``after``."""
    base = _with_restored_at(history_filtered(team=team, filters=filters, with_text=False))
    if after is not None:
        rows, more, boundary = _fetch(base, team=team, q=filters.q, cursor=after, direction="newer")
        rows.reverse()
        if more or boundary is not None or len(rows) == PAGE_SIZE:
            newer = Cursor.of(rows[0]) if more else boundary
            older = Cursor.of(rows[-1]) if rows else after
            return HistoryPage(rows, older=older, newer=newer, is_first=newer is None)
        before = None  # fewer than a page is newer than the cursor: that is simply the first page
    rows, more, boundary = _fetch(base, team=team, q=filters.q, cursor=before, direction="older")
    older = Cursor.of(rows[-1]) if more else boundary
    newer = None
    if before is not None:
        newer = Cursor.of(rows[0]) if rows else before
    return HistoryPage(
        rows, older=older, newer=newer, is_first=before is None,
        searched_back_to=boundary.created_at if boundary is not None else None,
    )


def number_page(*, number: PhoneNumber, before: Cursor | None = None, after: Cursor | None = None) -> HistoryPage:
    """The per-number timeline: the number filter alone, on its own index."""
    return history_page(team=number.team, filters=HistoryFilters(number=number), before=before, after=after)


# -- one entry, and the export ---------------------------------------------------


def _with_restored_at(entries):
    """A restore's row says which version it restored by that entry's time ("Restore of <date>")."""
    return entries.annotate(
        restored_at=Subquery(AuditEntry.objects.filter(pk=OuterRef("restored_from")).values("created_at")[:1]))


def audit_entry_get(*, team: Team, pk: int) -> AuditEntry | None:
    """An entry of ``team`` (None for another team's entry, so the view can answer 404)."""
    return _with_restored_at(AuditEntry.objects.filter(team=team, pk=pk)).first()


EXPORT_CHUNK = 5000

# The export's columns, in history_csv.HEADER order. The database does the per-row work Python is
# slow at: it picks each change's before/after out of the JSON (JsonItemText) and hands request_body over as
# text (so Django does not decode JSON it would only encode again) - no model objects, no dicts.
EXPORT_FIELDS = (
    "id", "created_at", "phone_number", "username", "action", "subject", "outcome", "request_sent", "applied",
    "http_status", "linq_code", "error_message", "trace_id", "retry_after", "duration_ms", "client_ip",
)
EXPORT_CHANGES = tuple(f"{name}_{side}" for name in CARD_FIELDS for side in ("before", "after"))
# Rows whose changes are card fields (the columns above); any other row's changes go to other_changes.
CARD_CHANGE_ACTIONS = (AuditEntry.Action.CREATE, AuditEntry.Action.UPDATE, AuditEntry.Action.OUTSIDE)


class IsoTimestamp(Func):
    """A timestamp as ISO 8601 text in UTC with microseconds, ``2026-06-01T12:00:00.000000+00:00``,
    written by the database (the same text ``datetime.isoformat(timespec="microseconds")`` gives)."""

    output_field = CharField()
    # Postgres: a timestamptz, shown in UTC.
    template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite keeps Django's UTC text, "YYYY-MM-DD HH:MM:SS" plus ".ffffff" unless it is zero.
        return self.as_sql(compiler, connection, template=(
            "replace(CASE WHEN length(%(expressions)s) = 19 THEN %(expressions)s || '.000000' "
            "ELSE %(expressions)s END, ' ', 'T') || '+00:00'"), **extra_context)


class JsonItemText(Func):
    """``field[key][index]`` of a JSON column as text, SQL NULL for a missing item *or* a JSON null
    (Django's KT gives the text "null" for the latter on SQLite)."""

    output_field = TextField()

    def __init__(self, field: str, key: str, index: int) -> None:
        super().__init__(F(field))
        self.key, self.index = key, index

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"jsonb_extract_path_text({sql}, %s, %s)", (*params, self.key, str(self.index))

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"json_extract({sql}, %s)", (*params, f'$."{self.key}"[{self.index}]')


def history_export_rows(*, team: Team, filters: HistoryFilters) -> Iterator[tuple]:
    """Every entry of the filtered view (free text unbounded), newest first, as tuples read in chunks:
    EXPORT_FIELDS (created_at as ISO text), then EXPORT_CHANGES (text or None), then the changes of a
    team-administration row (a role, the two-factor requirement) as JSON text (None for card writes),
    then request_body as JSON text (or None).

    ``iterator()`` keeps memory flat: Postgres uses a server-side cursor, SQLite fetches in chunks.
    """
    changes = {f"{name}_{side}": JsonItemText("changes", name, index)
               for name in CARD_FIELDS for index, side in enumerate(("before", "after"))}
    columns = ["created_at_text" if name == "created_at" else name for name in EXPORT_FIELDS]
    return (history_filtered(team=team, filters=filters)
            .annotate(**changes, created_at_text=IsoTimestamp("created_at"),
                      team_changes_text=Case(When(action__in=CARD_CHANGE_ACTIONS, then=Value(None)),
                                             default=Cast("changes", TextField()), output_field=TextField()),
                      request_body_text=Cast("request_body", TextField()))
            .values_list(*columns, *EXPORT_CHANGES, "team_changes_text", "request_body_text")
            .iterator(chunk_size=EXPORT_CHUNK))
