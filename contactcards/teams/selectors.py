"""Reads for teams: memberships, members, numbers, and what Linq lists for the team's token."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from contactcards.common.clients import linq_client_for
from contactcards.common.phones import PhoneNumberError, parse_many
from contactcards.lib.paging import PageLinks, page_window
from contactcards.linq import LinqError, PhoneNumberInfo
from contactcards.models import AuditEntry, Membership, PhoneNumber, Role, Team


def memberships_of(*, user_id: int | None) -> list[Membership]:
    """The signed-in user's memberships, with their teams (for home)."""
    return list(Membership.objects.filter(user_id=user_id).select_related("team"))


def team_members(*, team: Team) -> list[Membership]:
    """The team's memberships with their users, by username (for the settings page)."""
    return list(Membership.objects.filter(team=team).select_related("user").order_by("user__username"))


def team_owner_names(*, team: Team) -> list[str]:
    """Usernames of the team's owners: who a viewer or an editor should ask (one query)."""
    return list(Membership.objects.filter(team=team, role=Role.OWNER).order_by("user__username")
                .values_list("user__username", flat=True))


def team_member_get(*, team: Team, membership_id: int) -> Membership | None:
    """One membership of ``team`` (None for another team's, so the view can answer 404)."""
    return Membership.objects.filter(team=team, pk=membership_id).select_related("user").first()


def team_numbers(*, team: Team) -> list[PhoneNumber]:
    return list(PhoneNumber.objects.filter(team=team).order_by("e164"))


def assigned_offers(*, team: Team, limit: int = 20) -> list[str]:
    """Lines Linq assigned to the token (``phone_number.assigned``) that the team does not have: offered for
    import on the numbers settings, newest first (one query)."""
    present = PhoneNumber.objects.filter(team=team, e164=OuterRef("phone_number"))
    rows = (AuditEntry.objects.filter(team=team, action=AuditEntry.Action.LINE_ASSIGNED, number__isnull=True)
            .exclude(Exists(present)).order_by("-created_at", "-id").values_list("phone_number", flat=True)[:limit * 5])
    return list(dict.fromkeys(rows))[:limit]


def numbers_existing(*, team: Team, e164s: list[str]) -> list[str]:
    """Which of these numbers the team already has, in the order given."""
    present = set(PhoneNumber.objects.filter(team=team, e164__in=e164s).values_list("e164", flat=True))
    return [e164 for e164 in e164s if e164 in present]


@dataclass(frozen=True)
class NumbersImport:
    """What Linq lists for the team's token, split into numbers the team has and new ones."""

    visible: list[str]
    new: list[str]
    error: LinqError | None = None
    refused: tuple[PhoneNumberError, ...] = ()  # listed by Linq but not E.164: never imported


def numbers_import_preview(*, team: Team, lines: list[PhoneNumberInfo] | None = None,
                           error: LinqError | None = None) -> NumbersImport:
    """What Linq lists for the token, split by whether the team has it: from ``lines`` (or ``error``), a
    listing read already (``sync.health.read_lines``, which records the lines' health), else one
    GET /v3/phone_numbers here; nothing is stored. Linq's numbers go through phones.parse_e164 too."""
    if error is not None:
        return NumbersImport(visible=[], new=[], error=error)
    try:
        listing = lines if lines is not None else linq_client_for(team).list_phone_numbers()
    except LinqError as failed:
        return NumbersImport(visible=[], new=[], error=failed)
    listed, refused = parse_many([info.phone_number for info in listing])
    existing = set(numbers_existing(team=team, e164s=listed))
    return NumbersImport(visible=listed, new=[e164 for e164 in listed if e164 not in existing],
                         refused=tuple(refused))


@dataclass(frozen=True)
class NumbersAtLinq:
    """Which of some numbers the team's token can see at Linq (one GET /v3/phone_numbers)."""

    unlisted: list[str]
    error: LinqError | None = None  # Linq could not be asked: nothing is known


def numbers_at_linq(*, team: Team, e164s: list[str], lines: list[PhoneNumberInfo] | None = None,
                    error: LinqError | None = None) -> NumbersAtLinq:
    listing = numbers_import_preview(team=team, lines=lines, error=error)
    if listing.error is not None:
        return NumbersAtLinq(unlisted=[], error=listing.error)
    visible = set(listing.visible)
    return NumbersAtLinq(unlisted=[e164 for e164 in e164s if e164 not in visible])


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of "Test connection": how many numbers the token sees, or the error."""

    count: int = 0
    error: LinqError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def connection_check(*, team: Team) -> ConnectionCheck:
    """GET /v3/phone_numbers with the team's token. Never raises for anything Linq answers."""
    try:
        return ConnectionCheck(count=len(linq_client_for(team).list_phone_numbers()))
    except LinqError as error:
        return ConnectionCheck(error=error)


SETTINGS_PAGE_SIZE = 50


@dataclass(frozen=True)
class NumbersPage(PageLinks):
    """One page of the team's numbers for the settings (search over number, label and tag)."""

    numbers: list[PhoneNumber]
    total: int  # numbers matching the search
    query: str
    page: int
    pages: int


def team_numbers_page(*, team: Team, query: str = "", page: int = 1,
                      page_size: int = SETTINGS_PAGE_SIZE) -> NumbersPage:
    """A page of the team's numbers with their tags, in three queries whatever the team's size (the
    count, the page, its tags). ``query`` matches part of the number, of the label or of a tag's name."""
    numbers = PhoneNumber.objects.filter(team=team)
    if query:
        tagged = PhoneNumber.tags.through.objects.filter(phonenumber_id=OuterRef("pk"), tag__name__icontains=query)
        numbers = numbers.filter(Q(e164__icontains=query) | Q(label__icontains=query) | Exists(tagged))
    total = numbers.count()
    page, pages, start = page_window(total, page, page_size)
    shown = list(numbers.order_by("e164").prefetch_related("tags")[start:start + page_size])
    return NumbersPage(numbers=shown, total=total, query=query, page=page, pages=pages)
