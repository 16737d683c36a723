"""The audit history: team-wide (filtered, keyset-paged), per number, one entry, and the CSV export.

Every view is read-only (GET/HEAD only; anything else is 405, after the access check) and open to every member, viewers
included; outsiders get 404 from the access helpers. Anything a user can put in the URL - filters,
dates, page cursors - is validated and answered with a plain message, never a 500.
"""

from __future__ import annotations

import json

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcards.common.access import get_number_for_user, get_team_for_user
from contactcards.history.export import csv_lines
from contactcards.history.forms import MAX_TEXT, HistoryFilterForm
from contactcards.history.selectors import (
    PAGE_SIZE,
    SEARCH_WINDOW,
    Cursor,
    HistoryFilters,
    InvalidCursor,
    audit_entry_get,
    history_export_rows,
    history_members,
    history_page,
    number_page,
    number_suggestions,
)

READ_METHODS = ("GET", "HEAD")

BAD_CURSOR = _("That page link is broken or out of date, so the newest entries are shown instead.")
CURSOR_PARAMS = ("before", "after")


def _not_a_read(request: HttpRequest) -> HttpResponse | None:
    """405 for anything but GET/HEAD - checked *after* the access helper, so outsiders get 404."""
    return None if request.method in READ_METHODS else HttpResponseNotAllowed(READ_METHODS)


def _cursors(request: HttpRequest) -> tuple[Cursor | None, Cursor | None, str]:
    """``?before=`` / ``?after=`` positions, or a notice when they cannot be read."""
    try:
        before = Cursor.decode(request.GET["before"]) if request.GET.get("before") else None
        after = Cursor.decode(request.GET["after"]) if request.GET.get("after") else None
    except InvalidCursor:
        return None, None, BAD_CURSOR
    if before and after:
        return None, None, BAD_CURSOR
    return before, after, ""


def _without_cursor(query: QueryDict) -> str:
    """The query string of the current filters, for pager links and the export link."""
    params = QueryDict(mutable=True)
    for name, values in query.lists():
        kept = [value for value in values if value]
        if name not in CURSOR_PARAMS and kept:
            params.setlist(name, kept)
    return params.urlencode()


def _filter_form(request: HttpRequest, team) -> HistoryFilterForm:
    return HistoryFilterForm(request.GET, team=team, members=history_members(team=team))


def team_history(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if refused := _not_a_read(request):
        return refused
    form = _filter_form(request, team)
    before, after, notice = _cursors(request)
    page = None
    if form.is_valid():
        page = history_page(team=team, filters=form.filters(), before=before, after=after)
    return render(request, "contactcards/history.html", {
        "team": team, "membership": membership, "form": form, "page": page, "notice": notice,
        "filter_bar": form.render_context(), "history_url": reverse("team_history", args=[team.slug]),
        "filter_qs": _without_cursor(request.GET), "page_size": PAGE_SIZE, "search_window": SEARCH_WINDOW,
    })


def history_number_search(request: HttpRequest, slug: str) -> HttpResponse:
    """The number filter's suggestions as you type: at most ``NUMBER_SUGGESTIONS`` of the team's numbers
    matching ``?q=`` (digits of the number, or part of its label), as JSON. Members only (404 otherwise)."""
    team, _membership = get_team_for_user(request, slug)
    if refused := _not_a_read(request):
        return refused
    text = request.GET.get("q", "")
    if len(text) > MAX_TEXT or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):  # a NUL: refused by Postgres
        return JsonResponse({"numbers": [], "error": str(_("Type at most 100 characters, and no control characters."))},
                            status=400, headers={"Cache-Control": "no-store"})
    numbers = number_suggestions(team=team, text=text)
    return JsonResponse({"numbers": [{"e164": n.e164, "label": n.label} for n in numbers]},
                        headers={"Cache-Control": "no-store"})


def number_history(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    if refused := _not_a_read(request):
        return refused
    before, after, notice = _cursors(request)
    page = number_page(number=number, before=before, after=after)
    return render(request, "contactcards/number_history.html", {
        "team": number.team, "membership": membership, "number": number, "page": page, "notice": notice,
        "filter_qs": "", "history_url": reverse("team_history", args=[number.team.slug]),
    })


def entry_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    entry = audit_entry_get(team=team, pk=pk)
    if entry is None:
        raise Http404("No such entry.")
    if refused := _not_a_read(request):
        return refused
    body = json.dumps(entry.request_body, indent=2, ensure_ascii=False) if entry.request_body is not None else ""
    return render(request, "contactcards/audit_entry.html", {
        "team": team, "membership": membership, "entry": entry, "request_body_json": body,
    })


def history_export(request: HttpRequest, slug: str) -> HttpResponse:
    """The filtered view as CSV, streamed row by row: memory stays flat whatever the row count."""
    team, _membership = get_team_for_user(request, slug)
    if refused := _not_a_read(request):
        return refused
    form = _filter_form(request, team)
    if not form.is_valid():
        problems = "\n".join(f"- {msg}" for errors in form.errors.values() for msg in errors)
        heading = _("The export was not made because some filters are not valid:")
        return HttpResponse(f"{heading}\n{problems}\n",
                            status=400, content_type="text/plain; charset=utf-8")
    filters: HistoryFilters = form.filters()
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_lines(history_export_rows(team=team, filters=filters)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-history-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
