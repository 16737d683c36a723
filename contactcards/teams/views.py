"""Home and the team dashboard."""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from contactcards.common import csrfslot
from contactcards.common.access import get_team_for_user, user_memberships
from contactcards.common.clients import team_token
from contactcards.common.errors import meaning
from contactcards.linq import LinqError
from contactcards.sync.reconcile import reconcile_team
from contactcards.teams.dashboard import (
    SORTS,
    STATUS_FILTERS,
    Dashboard,
    Row,
    Selection,
    board_key,
    clean_page,
    clean_query,
    load_dashboard,
    parse_selection,
    selected_numbers,
    team_sync,
)
from contactcards.teams.selectors import memberships_of


def home(request: HttpRequest) -> HttpResponse:
    """Go to the team used last, else the first team; explain when the user has none."""
    memberships = memberships_of(user_id=request.user.pk)
    last = request.session.get("team")
    for membership in memberships:
        if membership.team.slug == last:
            return redirect("dashboard", slug=last)
    if len(memberships) >= 1:
        return redirect("dashboard", slug=memberships[0].team.slug)
    return render(request, "contactcards/no_team.html")


def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    """One page of the team's numbers with their last known cards, from the mirror (no call to Linq)."""
    team, membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.session.get("team") != team.slug:
        request.session["team"] = team.slug  # home goes back to the team used last
    # POST: "Change the selection" on bulk edit or labels brings the selection back (hundreds of ticked
    # numbers do not fit in a URL); it changes nothing, the page is the same as a GET's.
    data = request.POST if request.method == "POST" else request.GET
    wanted = {"team": team, "query": data.get("q", ""), "sort": data.get("sort", ""),
              "page": clean_page(data.get("page")), "tag": data.get("tag", ""), "status": data.get("status", "")}
    # A selection brought back: ticked numbers stay ticked, those on other pages ride along as hidden
    # inputs; all=1 ticks "select all matching".
    selection = parse_selection(data) if membership.can_write else Selection()
    ticked = frozenset(selected_numbers(team=team, selection=selection) if selection.numbers else ())
    facts = _page_facts(team=team, membership=membership, select_all=selection.all, ticked=ticked)
    # The whole page, when nothing but what the keys cover is on it (no messages to show once). Its
    # entry holds the "… ago" words it was rendered with: used only while they are still the words.
    key = board_key(**wanted)
    page_key = None
    if key is not None and not get_messages(request):
        page_key = _digest("whole", repr((key, facts, _header_facts(request))))
        cached = caches["pages"].get(page_key)
        if cached is not None and _since(cached[0], team_sync(team)) == cached[1]:
            # the board itself is not needed to answer (loaded only if something reads it: a test)
            board = SimpleLazyObject(lambda: load_dashboard(**wanted))
            return _page(request, team=team, membership=membership, board=board, html=cached[2])
    board = load_dashboard(**wanted)
    since = _since(board.oldest, board.sync)
    body = dashboard_body(team=team, membership=membership, board=board, select_all=selection.all,
                          ticked=ticked, facts=(board.key, facts, since) if board.key else None)
    html = render_to_string("contactcards/dashboard.html", {
        "team": team, "membership": membership, "board": board, "body_html": body, "csrf_token": csrfslot.SLOT,
    }, request=request)
    if page_key is not None:
        caches["pages"].set(page_key, (board.oldest, since, html), timeout=FRAGMENT_TIMEOUT)
    return _page(request, team=team, membership=membership, board=board, html=html)


def _page(request: HttpRequest, *, team, membership, board: Dashboard, html: str) -> HttpResponse:
    """The page's HTML with this request's CSRF token, through a one-node template (so the page is
    rendered like any other: the test client sees its context, the messages are marked as shown)."""
    page = mark_safe(csrfslot.with_token(html, request))  # noqa: S308 - our templates' output; the token is letters and digits
    return render(request, "contactcards/dashboard_page.html",
                  {"team": team, "membership": membership, "board": board, "page_html": page})


def _header_facts(request: HttpRequest) -> tuple:
    """What base.html and the header show beside the body: the person, their teams and roles, this
    address (the time-zone link comes back to it) and the zone's abbreviation now ({% now "T" %})."""
    return (request.user.pk, request.user.get_username(),
            tuple((m.team_id, m.team.slug, m.team.name, m.role) for m in user_memberships(request)),
            request.get_full_path(), date_filter(datetime.now(tz=timezone.get_current_timezone()), "T"))


def dashboard_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    """Read every card of the team from Linq in one call and remember them; any member may ask."""
    team, membership = get_team_for_user(request, slug)  # first: outsiders learn nothing, not even 405
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    result = reconcile_team(team=team, username=request.user.get_username())
    if result.ok:
        messages.success(request, _("Cards refreshed from Linq."))
    else:
        words = render_to_string("includes/refresh_failed.txt", {"error": meaning(result.error),
                                                                  "membership": membership})
        messages.error(request, " ".join(words.split()))
    query = clean_query(request.POST.get("q", ""))
    sort = request.POST.get("sort", "")
    back = reverse("dashboard", args=[team.slug])
    qs = _filter_qs(query, sort if sort in SORTS else "")
    return redirect(f"{back}?{qs}" if qs else back)


_PLACEHOLDER = "+10000000000"
ROW_TEMPLATE = "includes/dashboard_row.html"
BODY_TEMPLATE = "includes/dashboard_body.html"
FRAGMENT_TIMEOUT = 24 * 3600  # the page body's CSRF token goes in common.csrfslot's slot


def _page_facts(*, team, membership, select_all: bool, ticked: frozenset[str]) -> tuple:
    """What the page body shows besides the board and the "… ago" words, for its cache keys."""
    sync = team_sync(team)
    return (team.pk, team.slug, team.name, membership.role, select_all, tuple(sorted(ticked)), _token_problem(team),
            (sync.refreshed_at, sync.refreshed_by, sync.error_at, sync.error_message) if sync else None,
            timezone.get_current_timezone_name(), translation.get_language())


_TOKEN_PROBLEMS: dict[tuple, str | None] = {}


def _token_problem(team) -> str | None:
    """Why the team's token cannot be used (``team_token``), remembered per stored value and keys: the
    answer depends on nothing else, and decrypting it on every view cost more than the page's cache."""
    key = (team.token_encrypted, tuple(settings.LINQADMIN_ENCRYPTION_KEYS))
    if key not in _TOKEN_PROBLEMS:
        if len(_TOKEN_PROBLEMS) > 1000:
            _TOKEN_PROBLEMS.clear()
        _TOKEN_PROBLEMS[key] = team_token(team)[1]
    return _TOKEN_PROBLEMS[key]


def _since(oldest, sync) -> tuple[str, str]:
    """The freshness line's "… ago" words (the oldest card, the last refresh), to the minute."""
    return (timesince(oldest) if oldest else "",
            timesince(sync.refreshed_at) if sync is not None and sync.refreshed_at else "")


def dashboard_body(*, team, membership, board: Dashboard, select_all: bool, ticked: frozenset[str],
                   facts: tuple | None) -> SafeString:
    """The dashboard's page body (everything inside <main> but the messages), rendered once per content.

    Rendering it (about 200 template nodes, most of them translated words) cost several times
    what the rest of the request does, on every view of an unchanged board. It is kept in the
    "pages" cache under the board's own key (team, board version, search, filters, sort, page:
    replaced by triggers whenever a number, card, tag or outcome shown changes) plus everything
    else the body shows (``_page_facts``, ``_since``): the team's name and slug, the viewer's role, the
    selection, the token problem, the sync facts, the "… ago" words (so they stay current to the
    minute), the time zone and the language. The body template may use nothing else (no request,
    no user); its CSRF token is a slot the view fills per request. A board that is not reusable
    (no version yet) is rendered every time.
    """
    key = _digest("body", repr(facts)) if facts is not None else None
    if key is not None:
        html = caches["pages"].get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 - our own template's output, escaped there
    oldest_since, refreshed_since = _since(board.oldest, board.sync)
    url_prefix = numbers_url(team)
    shown = {row.e164 for row in board.rows}
    html = render_to_string(BODY_TEMPLATE, {
        "team": team,
        "membership": membership,
        "board": board,
        "rows_html": rendered_rows(board.rows, numbers_url=url_prefix, selectable=membership.can_write,
                                   ticked=ticked),
        "select_all": select_all,
        "ticked_elsewhere": sorted(ticked - shown),
        "ticked_count": len(ticked),
        "sorts": SORTS,
        "status_filters": STATUS_FILTERS,
        "filter_qs": _filter_qs(board.query, board.sort, board.tag, board.status),
        "error": _token_error(team),
        "oldest_since": oldest_since,
        "refreshed_since": refreshed_since,
        "csrf_token": csrfslot.SLOT,
    })
    if key is not None:
        caches["pages"].set(key, html, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - our own template's output, escaped there


def rendered_rows(rows: list[Row], *, numbers_url: str, selectable: bool = False,
                  ticked: frozenset[str] = frozenset()) -> SafeString:
    """The table rows' HTML, rendered once per content and reused from the fragment cache.

    Keys are digests of every value the row template shows (the Row, the link prefix, the time
    zone and language the dates are formatted in), so a cached row is never out of date: when
    anything about a number changes, its key changes. The row template may use nothing else.
    A whole page is cached under the digest of its rows, and each row under its own, so a page
    where one number changed re-renders one row.
    """
    context_key = repr((numbers_url, timezone.get_current_timezone_name(), translation.get_language(), selectable))
    # a dataclass repr names every field; a ticked row's box is part of what it shows
    row_keys = [_digest(context_key, repr(row), "ticked" if row.e164 in ticked else "") for row in rows]
    cache = caches["fragments"]
    page_key = _digest(*row_keys)
    html = cache.get(page_key)
    if html is None:
        found = cache.get_many(row_keys)
        missing = {}
        for key, row in zip(row_keys, rows, strict=True):
            if key not in found:
                found[key] = missing[key] = render_to_string(ROW_TEMPLATE, {
                    "row": row, "numbers_url": numbers_url, "selectable": selectable, "ticked": row.e164 in ticked})
        html = "".join(found[key] for key in row_keys)
        cache.set_many({**missing, page_key: html}, timeout=FRAGMENT_TIMEOUT)
    return mark_safe(html)  # noqa: S308 - our own template's output, escaped there


def _digest(*parts: str) -> str:
    return "dash:" + hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def numbers_url(team) -> str:
    """The URL prefix of the team's card pages ("<prefix><e164>/", "<prefix><e164>/history/"): reversed
    once per page rather than twice per row."""
    return reverse("card", args=[team.slug, _PLACEHOLDER]).removesuffix(f"{_PLACEHOLDER}/")


def _token_error(team):
    """Why no call can be made for the team (no token, or none that decrypts), checked without a call."""
    problem = team_token(team)[1]
    return meaning(LinqError(problem, kind="token", sent=False)) if problem else None


def _filter_qs(query: str, sort: str, tag: str = "", status: str = "") -> str:
    """The search, filters and sort as a query string, for page links and the way back after a refresh."""
    pairs = (("q", query), ("tag", tag), ("status", status), ("sort", sort))
    return urlencode({key: value for key, value in pairs if value and value != "number"})
