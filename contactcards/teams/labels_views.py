"""Labels and tags for a dashboard selection: set a label, add tags, remove tags; preview counts, then apply.

Owners only (403 for editors and viewers, 404 for outsiders, before anything else). The selection
is the bulk edit's: repeated ``n=<e164>``, or ``all=1`` with the dashboard's ``q``/``tag``/``status``
(``teams.dashboard.parse_selection``), carried through preview and apply as hidden inputs. The work
is ``teams.services.numbers_label_tags``: chunked, in one transaction, one history row.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contactcards.common.access import get_team_for_user, require_owner
from contactcards.common.http import client_ip
from contactcards.teams import services as team_services
from contactcards.teams.dashboard import STATUS_FILTERS, parse_selection, selected_numbers, selection_query
from contactcards.teams.forms import SelectionLabelTagsForm

BACK_IN_URL = 100  # ticked numbers brought back in a redirect's URL: 100 × 17 characters, well under 4 KB


def numbers_labels(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    data = request.POST if request.method == "POST" else request.GET
    selection = parse_selection(data)
    e164s = selected_numbers(team=team, selection=selection)
    # Afterwards, back to the dashboard with the selection ticked when it fits in a URL (a filter, or up to
    # BACK_IN_URL numbers; hundreds do not fit in a request line). "Change the selection" POSTs it, always.
    back = reverse("dashboard", args=[team.slug])
    fits = selection.all or len(selection.numbers) <= BACK_IN_URL
    back_url = f"{back}?{selection_query(data)}" if fits and selection_query(data) else back
    if not e164s:
        messages.warning(request, _("Select at least one number on the dashboard first."))
        return redirect(back_url)
    choosing = request.method == "GET" or request.POST.get("step") == "select"  # the dashboard's POST
    form = SelectionLabelTagsForm(None if choosing else request.POST)
    context = {"team": team, "membership": membership, "form": form, "e164s": e164s, "count": len(e164s),
               "selection": selection, "status_label": STATUS_FILTERS.get(selection.status, ""),
               "back_url": back_url}
    if choosing:
        return render(request, "contactcards/numbers_labels.html", context)
    if not form.is_valid():
        return render(request, "contactcards/numbers_labels.html", context, status=400)
    values = form.cleaned_data
    change = team_services.numbers_label_tags(
        team=team, e164s=e164s, label=values["label"] if values["set_label"] else None,
        add=values["add_tags"], remove=values["remove_tags"], apply=request.POST.get("action") == "apply",
        actor=request.user, client_ip=client_ip(request))
    if request.POST.get("action") != "apply":
        return render(request, "contactcards/numbers_labels.html", {**context, "change": change})
    count = len(change.changed)
    messages.success(request, ngettext("Labels and tags saved: %(count)d number changed.",
                                       "Labels and tags saved: %(count)d numbers changed.", count) % {"count": count})
    return redirect(context["back_url"])
