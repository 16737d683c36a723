"""Read side of the team dashboard: every number with its card, in one Linq call and a fixed number of queries.

The cards come from a single ``GET /v3/contact_card`` without ``phone_number``
(Linq returns every card on the account); the last change of each number comes
from the audit log through correlated subqueries in the same SQL query that
loads the numbers. Search and sort happen in Python because the card names only
exist at Linq.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from django.db.models import OuterRef, QuerySet, Subquery

from ..clients import linq_client_for
from ..linq import Card, LinqError
from ..models import AuditEntry, PhoneNumber, Team

Status = Literal["active", "pending", "none", "error", "unknown"]
SORTS = {"number": "Number", "name": "Name", "last": "Last change"}
DEFAULT_SORT = "number"
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class Row:
    number: PhoneNumber  # annotated with last_at, last_by, last_action, last_outcome, last_code
    card: Card | None
    status: Status

    @property
    def name(self) -> str:
        if self.card is None:
            return ""
        return " ".join(part for part in (self.card.first_name, self.card.last_name or "") if part)

    @property
    def last_failed(self) -> bool:
        return self.number.last_outcome not in (None, AuditEntry.Outcome.SUCCESS)


@dataclass
class Dashboard:
    rows: list[Row]
    total: int
    query: str = ""
    sort: str = DEFAULT_SORT
    error: LinqError | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def cards_loaded(self) -> bool:
        return self.error is None


def numbers_with_last_change(team: Team) -> QuerySet[PhoneNumber]:
    """The team's numbers, each annotated with its newest audit entry, in one query."""
    newest = AuditEntry.objects.filter(number=OuterRef("pk")).order_by("-created_at", "-id")

    def latest(column: str) -> Subquery:
        return Subquery(newest.values(column)[:1])

    return PhoneNumber.objects.filter(team=team).annotate(
        last_at=latest("created_at"),
        last_by=latest("username"),
        last_action=latest("action"),
        last_outcome=latest("outcome"),
        last_code=latest("linq_code"),
    )


def _status(number: PhoneNumber, card: Card | None, loaded: bool) -> Status:
    if not loaded:
        return "unknown"
    if number.last_outcome not in (None, AuditEntry.Outcome.SUCCESS):
        return "error"  # the latest change failed: someone should look
    if card is None:
        return "none"
    return "active" if card.is_active else "pending"


def _matches(row: Row, needle: str) -> bool:
    haystack = f"{row.number.e164} {row.number.label} {row.name}".lower()
    return needle in haystack


def _sort_key(sort: str):
    if sort == "name":
        return lambda row: (row.name == "", row.name.lower(), row.number.e164)
    if sort == "last":  # newest first; never-changed numbers last
        return lambda row: (row.number.last_at is None, -(row.number.last_at.timestamp()) if row.number.last_at
                            else 0, row.number.e164)
    return lambda row: row.number.e164


def load_dashboard(*, team: Team, query: str = "", sort: str = DEFAULT_SORT) -> Dashboard:
    """All of the team's numbers with their cards; the page still renders when Linq fails."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    sort = sort if sort in SORTS else DEFAULT_SORT
    numbers = list(numbers_with_last_change(team))

    cards: dict[str, Card] = {}
    error: LinqError | None = None
    if numbers:
        try:
            cards = {card.phone_number: card for card in linq_client_for(team).list_cards()}
        except LinqError as exc:  # includes "no usable token": nothing is sent then
            error = exc
    loaded = bool(numbers) and error is None

    rows = [Row(number=n, card=cards.get(n.e164), status=_status(n, cards.get(n.e164), loaded)) for n in numbers]
    counts = {status: sum(1 for row in rows if row.status == status)
              for status in ("active", "pending", "none", "error", "unknown")}
    if query:
        rows = [row for row in rows if _matches(row, query.lower())]
    rows.sort(key=_sort_key(sort))
    return Dashboard(rows=rows, total=len(numbers), query=query, sort=sort, error=error, counts=counts)
