"""Team settings: the Linq token, the connection test, members and numbers.

Every member may read the page (what a viewer can change is nothing, and the
template says so); every change needs the owner role and is refused with 403
otherwise, whatever the template shows. Outsiders get 404 from the access helper
before anything else happens, whatever the HTTP method.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from contactcards.common.access import get_number_for_user, get_team_for_user, require_owner
from contactcards.common.errors import meaning
from contactcards.common.http import client_ip
from contactcards.models import Membership, Role, Team
from contactcards.streams import selectors as stream_selectors
from contactcards.sync import health
from contactcards.teams import selectors as team_selectors
from contactcards.teams import services as team_services
from contactcards.teams.dashboard import clean_page, clean_query
from contactcards.teams.forms import ImportNumbersForm, LabelTagsForm, MemberRoleForm, NumbersForm, TokenForm


def _owner_or_403(request: HttpRequest, slug: str, *, methods: tuple[str, ...] = ("POST",)):
    """Access first (404 for outsiders, 403 for non-owners), then the method (405)."""
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method not in methods:
        return team, membership, HttpResponseNotAllowed(list(methods))
    return team, membership, None


def _render(request: HttpRequest, team: Team, membership: Membership, *, status: int = 200, **forms) -> HttpResponse:
    members = team_selectors.team_members(team=team)
    numbers_page = team_selectors.team_numbers_page(team=team, query=clean_query(request.GET.get("q", "")),
                                                    page=clean_page(request.GET.get("page")))
    context = {
        "team": team,
        "membership": membership,
        "members": [(m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in members],
        "owner_count": sum(1 for m in members if m.role == Role.OWNER),
        "numbers": [(n, LabelTagsForm(prefix=f"lt{n.pk}", initial={
            "label": n.label, "tags": ", ".join(t.name for t in n.tags.all())}))
            for n in numbers_page.numbers],
        "numbers_page": numbers_page,
        "numbers_qs": urlencode({"q": numbers_page.query}) if numbers_page.query else "",
        "token_form": forms.get("token_form") or TokenForm(),
        "numbers_form": forms.get("numbers_form") or NumbersForm(),
        "connection": forms.get("connection"),
        "connection_error": forms.get("connection_error"),
        "offer_add_unlisted": forms.get("offer_add_unlisted", False),
        "streams": stream_selectors.team_streams(team=team),  # each audit stream's state (one query)
        "assigned": team_selectors.assigned_offers(team=team),  # lines Linq assigned, not in the team yet
    }
    return render(request, "contactcards/settings.html", context, status=status)


def team_settings(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _render(request, team, membership)


@sensitive_variables("token")
@sensitive_post_parameters("token")
def settings_token(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership, refused = _owner_or_403(request, slug)
    if refused:
        return refused
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _render(request, team, membership, token_form=form, status=400)
    token = form.cleaned_data["token"]
    team_services.token_change(team=team, user=request.user, token=token, client_ip=client_ip(request))
    messages.success(request, _("Token saved (ends in …%(last4)s). Use “Test connection” to check it.")
                     % {"last4": team.token_last4})
    return redirect("team_settings", slug=team.slug)


def settings_test_connection(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership, refused = _owner_or_403(request, slug)
    if refused:
        return refused
    check = team_selectors.connection_check(team=team)
    error = meaning(check.error) if check.error else None
    return _render(request, team, membership, connection=check, connection_error=error)


def _member_or_404(team: Team, membership_id: int) -> Membership:
    member = team_selectors.team_member_get(team=team, membership_id=membership_id)
    if member is None:
        raise Http404("No such member.")
    return member


def settings_member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, membership, refused = _owner_or_403(request, slug)
    member = _member_or_404(team, membership_id)
    if refused:
        return refused
    form = MemberRoleForm(request.POST, prefix=f"m{member.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose owner, editor or viewer."))
        return _render(request, team, membership, status=400)
    try:
        team_services.membership_set_role(membership=member, role=form.cleaned_data["role"], actor=request.user,
                                          client_ip=client_ip(request))
    except team_services.TeamChangeError as error:
        messages.error(request, _words(error))
        return _render(request, team, membership, status=400)
    messages.success(request, _("%(name)s is now %(role)s.") % {"name": member.user.get_username(),
                                                                 "role": member.get_role_display()})
    return redirect("team_settings", slug=team.slug)


def settings_member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    team, membership, refused = _owner_or_403(request, slug, methods=("GET", "POST"))
    member = _member_or_404(team, membership_id)
    if refused:
        return refused
    name = member.user.get_username()
    if request.method == "GET":
        return _confirm(request, team, membership,
                        title=_("Remove %(name)s from %(team)s?") % {"name": name, "team": team.name},
                        text=_("%(name)s will no longer see this team. Their past changes stay in the history.")
                        % {"name": name},
                        button=_("Remove member"))
    try:
        team_services.membership_remove(membership=member, actor=request.user, client_ip=client_ip(request))
    except team_services.TeamChangeError as error:
        messages.error(request, _words(error))
        return _render(request, team, membership, status=400)
    messages.success(request, _("%(name)s was removed from the team.") % {"name": name})
    if member.user_id == request.user.pk:
        return redirect("home")
    return redirect("team_settings", slug=team.slug)


def settings_numbers_add(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership, refused = _owner_or_403(request, slug)
    if refused:
        return refused
    form = NumbersForm(request.POST)
    if not form.is_valid():
        return _render(request, team, membership, numbers_form=form, status=400)
    # Before adding: does the token see these numbers at Linq? (One free GET; a number it cannot
    # see would fail its first save with 403/2006 and spend a write on the way.)
    read = health.read_lines(team=team)  # records what Linq says about the team's lines, too
    at_linq = team_selectors.numbers_at_linq(team=team, e164s=form.cleaned_data["numbers"], lines=read.lines,
                                             error=read.error)
    if at_linq.unlisted and not form.cleaned_data["add_unlisted"]:
        form.add_error("numbers", render_to_string("includes/numbers_unlisted.txt", {"unlisted": at_linq.unlisted}))
        return _render(request, team, membership, numbers_form=form, offer_add_unlisted=True, status=400)
    try:
        result = team_services.numbers_add(team=team, e164s=form.cleaned_data["numbers"], refuse_existing=True,
                                           actor=request.user, client_ip=client_ip(request))
    except team_services.TeamChangeError as error:
        form.add_error("numbers", _words(error))
        return _render(request, team, membership, numbers_form=form, status=400)
    health.record_listing(team=team, read=read)  # the numbers just added: what Linq says about their lines
    messages.success(request, render_to_string("includes/numbers_added.txt",
                                               {"added": result.added, "at_linq": at_linq}).strip())
    return redirect("team_settings", slug=team.slug)


def settings_assigned_lines(request: HttpRequest, slug: str) -> HttpResponse:
    """An owner chooses whether lines Linq newly assigns to the token are added at once (POST)."""
    team, membership, refused = _owner_or_403(request, slug)
    if refused:
        return refused
    auto_add = request.POST.get("auto_add_assigned") == "on"
    if team_services.assigned_lines_auto_add(team=team, auto_add=auto_add, actor=request.user,
                                             client_ip=client_ip(request)):
        messages.success(request, _("Lines Linq assigns to the team's token are now added to the team at once.")
                         if auto_add else _("Lines Linq assigns to the team's token are now offered for import."))
    return redirect(f"{reverse('team_settings', args=[team.slug])}#assigned-lines")


def settings_number_remove(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    require_owner(membership)
    team = number.team
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "GET":
        return _confirm(request, team, membership,
                        title=_("Remove %(number)s from %(team)s?") % {"number": number.e164, "team": team.name},
                        text=_("The number leaves this dashboard; its card at Linq is not changed, and its "
                               "history stays in the team's audit log."),
                        button=_("Remove number"))
    team_services.number_remove(number=number, actor=request.user, client_ip=client_ip(request))
    messages.success(request, _("%(number)s was removed from the team.") % {"number": e164})
    return redirect("team_settings", slug=team.slug)


def settings_numbers_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Preview (GET: one call to GET /v3/phone_numbers), then add the ticked numbers (POST)."""
    team, membership, refused = _owner_or_403(request, slug, methods=("GET", "POST"))
    if refused:
        return refused
    if request.method == "POST":
        form = ImportNumbersForm(request.POST)
        if form.is_valid():
            result = team_services.numbers_add(team=team, e164s=form.cleaned_data["numbers"], imported=True,
                                               actor=request.user, client_ip=client_ip(request))
            health.read_lines(team=team)  # what Linq says about the lines just imported
            count = len(result.added)
            words = (ngettext("Imported %(count)d number: %(numbers)s.", "Imported %(count)d numbers: %(numbers)s.",
                              count) % {"count": count, "numbers": ", ".join(result.added)}
                     if count else _("Imported 0 numbers."))
            if result.existing:
                words += " " + _("Already in the team: %(numbers)s.") % {"numbers": ", ".join(result.existing)}
            messages.success(request, words)
            return redirect("team_settings", slug=team.slug)
        return _import_page(request, team, membership, form=form, status=400)
    return _import_page(request, team, membership)


def _import_page(request: HttpRequest, team: Team, membership: Membership, *, form=None,
                 status: int = 200) -> HttpResponse:
    read = health.read_lines(team=team)  # records what Linq says about the team's lines, too
    preview = team_selectors.numbers_import_preview(team=team, lines=read.lines, error=read.error)
    error = meaning(preview.error) if preview.error is not None else None
    if form is None and not preview.error:
        form = ImportNumbersForm(choices=preview.new, initial={"numbers": preview.new})
    context = {"team": team, "membership": membership, "preview": preview, "error": error, "form": form}
    return render(request, "contactcards/settings_import.html", context, status=status)


def _words(error: team_services.TeamChangeError) -> str:
    return render_to_string("includes/team_change_error.txt", {"error": error}).strip()


def _confirm(request: HttpRequest, team: Team, membership: Membership, *, title: str, text: str,
             button: str) -> HttpResponse:
    return render(request, "contactcards/settings_confirm.html",
                  {"team": team, "membership": membership, "title": title, "text": text, "button": button})


def settings_number_labels(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    """An owner sets a number's label and tags (POST from the numbers list)."""
    number, membership = get_number_for_user(request, slug, e164)
    require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = LabelTagsForm(request.POST, prefix=f"lt{number.pk}")
    if not form.is_valid():
        problems = " ".join(e for errors in form.errors.values() for e in errors)
        messages.error(request, _("%(number)s: nothing changed. %(problems)s") % {"number": number.e164,
                                                                                 "problems": problems})
        return redirect(_numbers_back(request, number.team))
    team_services.number_label_tags(number=number, label=form.cleaned_data["label"], tags=form.cleaned_data["tags"])
    messages.success(request, _("%(number)s: label and tags saved.") % {"number": number.e164})
    return redirect(_numbers_back(request, number.team))


def _numbers_back(request: HttpRequest, team: Team) -> str:
    """Back to the numbers' search and page the form was sent from."""
    pairs = {"q": clean_query(request.POST.get("q", "")), "page": clean_page(request.POST.get("page"))}
    qs = urlencode({key: value for key, value in pairs.items() if value and value != 1})
    return f"{reverse('team_settings', args=[team.slug])}{'?' + qs if qs else ''}#numbers"
