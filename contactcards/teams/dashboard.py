"""Read side of the team dashboard: one page of numbers with their last known cards, from the mirror.

Nothing here calls Linq. Cards come from the card mirror (``sync.mirror``), kept up to
date by every read and write the app makes, by webhooks, by reconcile and by the refresh button,
so the page renders in a fixed number of queries whatever the team's size, and still works when
Linq is down. Search, sort and the page are SQL (``LIMIT``/``OFFSET`` over a few hundred or
thousand numbers per team); the last change of each shown number comes from the audit log through
correlated subqueries in the same query that loads the page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from django.core.cache import caches
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat, Lower
from django.utils.translation import gettext_lazy as _

from contactcards.common.phones import E164_RE
from contactcards.lib.paging import PageLinks
from contactcards.models import (
    AuditEntry,
    BoardVersion,
    CardMirror,
    PhoneNumber,
    Tag,
    Team,
    TeamSync,
    attention_q,
    needs_attention,
    unsettled_q,
)

Status = Literal["active", "pending", "none", "error", "unknown"]
SORTS = {"number": _("Number"), "name": _("Name"), "label": _("Label"), "status": _("Status"),
         "last": _("Last change")}
# Status filters (issue 12), each a SQL condition over the number, its mirror row and its newest entry.
STATUS_FILTERS = {"active": _("Active"), "pending": _("Pending"), "none": _("No card"),
                  "error": _("Last change failed"), "outside": _("Changed outside linqadmin"),
                  "unknown": _("Not read yet"),
                  # line health (issue 23): what Linq says about the line (LineHealth), not the card
                  "attention": _("Line needs attention"), "flagged": _("Line flagged"),
                  "at_risk": _("Line at risk"), "critical": _("Line critical"), "released": _("Line released")}
HEALTH_FILTERS = ("attention", "flagged", "at_risk", "critical", "released")
DEFAULT_SORT = "number"
MAX_QUERY_LENGTH = 100
PAGE_SIZE = 50
MAX_PAGE = 100_000  # beyond any team; keeps OFFSET and the page links sane for absurd input
STATUSES = ("active", "pending", "none", "error", "unknown")


@dataclass(frozen=True)
class Row:
    """One number as the dashboard shows it: plain values, read in one query (no model instances)."""

    e164: str
    label: str
    known: bool  # the mirror has something for this number (a card or "no card")
    has_card: bool = False
    first_name: str = ""
    last_name: str = ""
    image_url: str = ""
    is_active: bool = False
    source: str = ""
    as_of: datetime | None = None
    changed_outside: bool = False
    last_at: datetime | None = None
    last_by: str = ""
    last_outcome: str | None = None
    last_code: int | None = None
    last_failed: bool = False  # the newest change did not take effect (``LAST_FAILED``)
    last_unknown: bool = False  # whether the newest change took effect is not known yet
    line_status: str = ""  # what Linq last said about the line (LineHealth): ACTIVE, FLAGGED, UNKNOWN, ""
    line_reputation: str = ""  # HEALTHY, AT_RISK, CRITICAL, UNKNOWN, ""
    line_released: bool = False

    @property
    def line_attention(self) -> bool:
        return needs_attention(status=self.line_status, reputation=self.line_reputation, released=self.line_released)

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part) if self.has_card else ""

    @property
    def initial(self) -> str:
        return self.first_name[:1].upper()

    @property
    def source_label(self) -> str:
        return CardMirror.Source(self.source).label if self.source in CardMirror.Source.values else self.source

    @property
    def status(self) -> Status:
        if self.last_failed:
            return "error"  # the latest change failed: someone should look
        if not self.known:
            return "unknown"
        if not self.has_card:
            return "none"
        return "active" if self.is_active else "pending"


@dataclass
class Dashboard(PageLinks):
    rows: list[Row]
    total: int  # the team's numbers
    matching: int  # numbers matching the search
    query: str = ""
    sort: str = DEFAULT_SORT
    tag: str = ""
    status: str = ""
    tags: list[str] = field(default_factory=list)  # the team's tags, for the filter
    page: int = 1
    page_size: int = PAGE_SIZE
    counts: dict[str, int] = field(default_factory=dict)
    oldest: datetime | None = None  # the oldest knowledge on the board (as_of)
    attention: int = 0  # the team's lines that need attention: flagged, at risk, critical or released
    sync: TeamSync | None = None
    # The "boards" cache key this board was computed for (its team, board version, search, filters,
    # sort and page), "" when it is not reusable: the page built from it may be cached under it too.
    key: str = ""

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.page_size))

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)

    @property
    def filtered(self) -> bool:
        return bool(self.query or self.tag or self.status)

    @property
    def never_loaded(self) -> int:
        return self.counts.get("unknown", 0)


def clean_query(query: str) -> str:
    return query.replace("\x00", "").strip()[:MAX_QUERY_LENGTH]


def clean_page(value: str | int | None) -> int:
    try:
        page = int(str(value or "1").strip()[:7])
    except ValueError:
        return 1
    return min(max(page, 1), MAX_PAGE)


def _search(query: str) -> tuple[Q, Concat]:
    full_name = Concat("mirror__first_name", Value(" "), "mirror__last_name", output_field=TextField())
    return (Q(e164__icontains=query) | Q(label__icontains=query)
            | Q(mirror__has_card=True, full_name__icontains=query)), full_name


# The newest change did not take effect: an error that says so, or one a later read settled "not
# applied". A change that took effect (answered or shown by a re-read) is not failed, and neither is
# one whose outcome nobody knows yet (still being sent, or unanswered and not settled: it says so).
LAST_FAILED = Case(
    When(last_entry__outcome__in=(AuditEntry.Outcome.SUCCESS, AuditEntry.Outcome.PENDING), then=Value(False)),
    When(last_entry__applied=True, then=Value(False)),
    When(unsettled_q("last_entry__"), then=Value(False)),
    When(last_entry__outcome__isnull=False, then=Value(True)),
    default=Value(False), output_field=BooleanField(),
)
LAST_UNKNOWN = Case(When(unsettled_q("last_entry__"), then=Value(True)), default=Value(False),
                    output_field=BooleanField())
_FAILED = Q(last_failed=True)


def status_condition(status: str) -> Q:
    """The numbers a status filter keeps (the same rules as ``Row.status``, in SQL)."""
    if status == "error":
        return _FAILED
    if status in HEALTH_FILTERS:
        return _health_condition(status)
    if status == "outside":
        return Q(mirror__outside_changed_at__isnull=False) & (
            Q(mirror__seen_at__isnull=True) | Q(mirror__seen_at__lt=F("mirror__outside_changed_at")))
    ok = Q(last_failed=False)
    if status == "unknown":
        return ok & Q(mirror__isnull=True)
    if status == "none":
        return ok & Q(mirror__has_card=False)
    return ok & Q(mirror__has_card=True, mirror__is_active=(status == "active"))


def _health_condition(status: str) -> Q:
    """The numbers a line-health filter keeps (``LineHealth`` through the reverse one-to-one ``health``)."""
    if status == "attention":
        return attention_q("health__")
    if status == "released":
        return Q(health__released=True)
    if status == "flagged":
        return Q(health__status="FLAGGED")
    return Q(health__reputation="AT_RISK" if status == "at_risk" else "CRITICAL")


def tag_condition(tag: str) -> Exists:
    return Exists(PhoneNumber.tags.through.objects.filter(phonenumber_id=OuterRef("pk"), tag__name=tag))


_STATUS_RANK = Case(When(_FAILED, then=Value(0)), When(mirror__isnull=True, then=Value(4)),
                    When(mirror__has_card=False, then=Value(1)), When(mirror__is_active=False, then=Value(2)),
                    default=Value(3), output_field=IntegerField())


def _ordering(sort: str) -> list:
    if sort == "label":  # unlabelled last
        return [Case(When(label="", then=Value(1)), default=Value(0), output_field=IntegerField()),
                Lower("label"), "e164"]
    if sort == "status":  # what needs attention first: failed, no card, pending, active, not read
        return [_STATUS_RANK, "e164"]
    if sort == "name":  # cardless and never-read numbers last
        return [F("mirror__has_card").desc(nulls_last=True), Lower("mirror__first_name"),
                Lower("mirror__last_name"), "e164"]
    if sort == "last":  # newest change first; never-changed numbers last
        return [F("last_entry__created_at").desc(nulls_last=True), "e164"]
    return ["e164"]


# What a page row reads: the number, its mirror row and its newest audit entry (two LEFT JOINs).
ROW_COLUMNS = (
    "e164", "label", "mirror__number_id", "mirror__has_card", "mirror__first_name", "mirror__last_name",
    "mirror__image_url", "mirror__is_active", "mirror__source", "mirror__as_of", "mirror__outside_changed_at",
    "mirror__seen_at", "last_entry__created_at", "last_entry__username", "last_entry__outcome",
    "last_entry__linq_code", "last_failed", "last_unknown", "health__status", "health__reputation",
    "health__released",
)


def team_numbers(team: Team) -> QuerySet[PhoneNumber]:
    """The team's numbers, the base of every dashboard query (filters are added to it)."""
    return PhoneNumber.objects.filter(team=team).annotate(last_failed=LAST_FAILED, last_unknown=LAST_UNKNOWN)


def _counts(numbers: QuerySet[PhoneNumber], match: Q | None) -> tuple[dict[str, int], int, int, datetime | None]:
    """Numbers per status, the total, how many match the search, and the oldest knowledge: one query,
    grouped by the few combinations of (mirror state, last outcome, matches, line needs attention). The
    lines that need attention are counted in ``counts["attention"]`` (of the whole team)."""
    grouped = numbers.annotate(
        known=ExpressionWrapper(Q(mirror__isnull=False), output_field=BooleanField()),
        matches=ExpressionWrapper(match if match is not None else Value(True), output_field=BooleanField()),
        attention=Case(When(attention_q("health__"), then=Value(True)), default=Value(False),
                       output_field=BooleanField()),
    ).values("known", "mirror__has_card", "mirror__is_active", "last_failed", "matches", "attention").annotate(
        n=Count("pk"), oldest=Min("mirror__as_of"),
    ).order_by()
    counts = dict.fromkeys(STATUSES, 0)
    counts["attention"] = 0
    total = matching = 0
    oldest = None
    for group in grouped:
        row = Row(e164="", label="", known=bool(group["known"]),
                  has_card=bool(group["mirror__has_card"]), is_active=bool(group["mirror__is_active"]),
                  last_failed=bool(group["last_failed"]))
        counts[row.status] += group["n"]
        counts["attention"] += group["n"] if group["attention"] else 0
        total += group["n"]
        matching += group["n"] if group["matches"] else 0
        if group["oldest"] is not None and (oldest is None or group["oldest"] < oldest):
            oldest = group["oldest"]
    return counts, total, matching, oldest


def _page_rows(numbers: QuerySet[PhoneNumber], *, sort: str, offset: int, limit: int) -> list[Row]:
    """One page of rows, in one query, as plain values."""
    rows = []
    for value in numbers.order_by(*_ordering(sort)).values(*ROW_COLUMNS)[offset: offset + limit]:
        changed_at, seen_at = value["mirror__outside_changed_at"], value["mirror__seen_at"]
        rows.append(Row(
            e164=value["e164"], label=value["label"], known=value["mirror__number_id"] is not None,
            has_card=bool(value["mirror__has_card"]), first_name=value["mirror__first_name"] or "",
            last_name=value["mirror__last_name"] or "", image_url=value["mirror__image_url"] or "",
            is_active=bool(value["mirror__is_active"]), source=value["mirror__source"] or "",
            as_of=value["mirror__as_of"],
            changed_outside=changed_at is not None and (seen_at is None or seen_at < changed_at),
            last_at=value["last_entry__created_at"], last_by=value["last_entry__username"] or "",
            last_outcome=value["last_entry__outcome"], last_code=value["last_entry__linq_code"],
            last_failed=bool(value["last_failed"]), last_unknown=bool(value["last_unknown"]),
            line_status=value["health__status"] or "", line_reputation=value["health__reputation"] or "",
            line_released=bool(value["health__released"]),
        ))
    return rows


def team_sync(team: Team) -> TeamSync | None:
    """The team's last full read from Linq (often already loaded with the team by the access check)."""
    try:
        return team.sync
    except TeamSync.DoesNotExist:
        return None


def filtered_numbers(*, team: Team, query: str = "", tag: str = "", status: str = ""):
    """The team's numbers and the condition the dashboard's search and filters put on them (None: all)."""
    numbers = team_numbers(team)
    conditions = []
    if query:
        match, full_name = _search(query)
        numbers = numbers.annotate(full_name=full_name)
        conditions.append(match)
    if tag:
        conditions.append(tag_condition(tag))
    if status in STATUS_FILTERS:
        conditions.append(status_condition(status))
    condition = None
    for part in conditions:
        condition = part if condition is None else condition & part
    return numbers, condition


def matching_numbers(*, team: Team, query: str = "", tag: str = "", status: str = "") -> list[str]:
    """Every number (E.164) the dashboard shows for this search and these filters, on all pages. A tag
    the team does not have matches no number (a made-up link must not select them all)."""
    if tag and tag not in team_tags(team):
        return []
    numbers, condition = filtered_numbers(team=team, query=clean_query(query), tag=tag, status=status)
    shown = numbers.filter(condition) if condition is not None else numbers
    return list(shown.order_by("e164").values_list("e164", flat=True))


def team_tags(team: Team) -> list[str]:
    return list(Tag.objects.filter(team=team).values_list("name", flat=True))


def board_version(team: Team) -> str | None:
    """The team's board version (often already loaded with the team by the access check); None
    while no change has been recorded since the triggers were installed (then nothing is reused)."""
    try:
        return team.board.version
    except BoardVersion.DoesNotExist:
        return None


BOARD_CACHE_TIMEOUT = 24 * 3600


def board_key(*, team: Team, query: str = "", sort: str = DEFAULT_SORT, page: int = 1, page_size: int = PAGE_SIZE,
              tag: str = "", status: str = "") -> str | None:
    """The key of this board in the "boards" cache (``Dashboard.key``), known without loading it: the
    team, its board version and the cleaned search, sort, page and filters. None while the team has
    no board version (nothing is reused then)."""
    version = board_version(team)
    if version is None:
        return None
    parts = repr((team.pk, version, clean_query(query), sort if sort in SORTS else DEFAULT_SORT, clean_page(page),
                  page_size, tag, status))
    return "board:" + hashlib.blake2b(parts.encode(), digest_size=16).hexdigest()


def load_dashboard(*, team: Team, query: str = "", sort: str = DEFAULT_SORT, page: int = 1,
                   page_size: int = PAGE_SIZE, tag: str = "", status: str = "") -> Dashboard:
    """One page of the team's numbers with their last known cards. No call to Linq.

    Computed in three small queries - the team's tags, the counts (one grouped query) and the page
    (numbers joined with their mirror row and newest audit entry) - then kept in the process's
    "boards" cache under the team's board version, which database triggers replace whenever
    anything shown here changes (migration 0013, ``BoardVersion``). A board is therefore reused
    only while it is exactly what the queries would return, and costs no query then.
    """
    query = clean_query(query)
    sort = sort if sort in SORTS else DEFAULT_SORT
    page = clean_page(page)
    cache = caches["boards"]
    key = board_key(team=team, query=query, sort=sort, page=page, page_size=page_size, tag=tag, status=status)
    if key is not None:
        board = cache.get(key)
        if board is not None:
            return replace(board, sync=team_sync(team))
    board = _compute_dashboard(team=team, query=query, sort=sort, page=page, page_size=page_size,
                               tag=tag, status=status)
    if key is not None:
        board = replace(board, key=key)
        cache.set(key, replace(board, sync=None), timeout=BOARD_CACHE_TIMEOUT)
    return board


def _compute_dashboard(*, team: Team, query: str, sort: str, page: int, page_size: int, tag: str,
                       status: str) -> Dashboard:
    tags = team_tags(team)
    tag = tag if tag in tags else ""
    status = status if status in STATUS_FILTERS else ""
    numbers, match = filtered_numbers(team=team, query=query, tag=tag, status=status)
    counts, total, matching, oldest = _counts(numbers, match)
    pages = max(1, -(-matching // page_size))
    page = min(page, pages)
    shown = numbers.filter(match) if match is not None else numbers
    rows = _page_rows(shown, sort=sort, offset=(page - 1) * page_size, limit=page_size) if matching else []
    return Dashboard(
        rows=rows, total=total, matching=matching, query=query, sort=sort, page=page, page_size=page_size,
        tag=tag, status=status, tags=tags,
        counts=counts, oldest=oldest, sync=team_sync(team), attention=counts["attention"],
    )


# -- a selection of numbers (the dashboard's ticks, bulk edit, labels and tags) -------------------

SELECTION_FILTERS = ("q", "tag", "status")


@dataclass(frozen=True)
class Selection:
    """Which numbers someone chose: the ticked ones (``numbers``), or every number matching the
    dashboard's search and filters (``all``, with ``query``/``tag``/``status``)."""

    all: bool = False
    numbers: tuple[str, ...] = ()
    query: str = ""
    tag: str = ""
    status: str = ""

    @property
    def empty(self) -> bool:
        return not self.all and not self.numbers

    def fields(self) -> list[tuple[str, str]]:
        """The selection as (name, value) pairs: hidden inputs, or a query string."""
        if self.all:
            return [("all", "1")] + [(name, value) for name, value in
                                     (("q", self.query), ("tag", self.tag), ("status", self.status)) if value]
        return [("n", e164) for e164 in self.numbers]


def _text(value) -> str:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else ""  # a NUL matches nothing stored


def parse_selection(data) -> Selection:
    """The selection in request data (a QueryDict, or a dict of lists): repeated ``n=<e164>``, or
    ``all=1`` with ``q``/``tag``/``status``. Anything that is not an E.164 number is dropped."""
    if _text(data.get("all", "")) == "1":
        status = _text(data.get("status", ""))
        return Selection(all=True, query=clean_query(_text(data.get("q", ""))), tag=_text(data.get("tag", ""))[:40],
                         status=status if status in STATUS_FILTERS else "")
    values = data.getlist("n") if hasattr(data, "getlist") else data.get("n", [])
    if isinstance(values, str):
        values = [values]
    numbers = tuple(dict.fromkeys(v.strip() for v in values if isinstance(v, str) and E164_RE.match(v.strip())))
    return Selection(numbers=numbers)


def selection_query(data) -> str:
    """The dashboard's query string that brings a selection back ("Change the selection"): the ticked
    numbers as repeated ``n=``, or ``all=1`` with the filter (which the dashboard then shows)."""
    return urlencode(parse_selection(data).fields())


def selected_numbers(*, team: Team, selection: Selection) -> list[str]:
    """The team's numbers (E.164) in a selection, in order; no cap: "all" is every matching number."""
    if selection.all:
        return matching_numbers(team=team, query=selection.query, tag=selection.tag, status=selection.status)
    known: set[str] = set()
    chosen = list(selection.numbers)
    for start in range(0, len(chosen), 500):
        known |= set(PhoneNumber.objects.filter(team=team, e164__in=chosen[start:start + 500])
                     .values_list("e164", flat=True))
    return [e164 for e164 in chosen if e164 in known]
