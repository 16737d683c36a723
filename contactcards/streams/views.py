"""The audit streams page: every member sees each stream and how far its delivery got; owners add,
change, pause, resume, re-key and delete streams. Outsiders get 404 (the access helper), non-owners
403 on every change, whatever the template shows. A signing secret appears once, in the answer to the
request that created it (never stored in a session or shown again); that answer is not cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from contactcards.common.access import get_stream_for_user, get_team_for_user, require_owner
from contactcards.common.http import client_ip
from contactcards.models import AuditStream, Membership, Team
from contactcards.streams import selectors, services
from contactcards.streams.forms import StreamAddForm, StreamChangeForm


def _change_form(stream: AuditStream, data=None) -> StreamChangeForm:
    initial = {name: getattr(stream, name) for name in services.EDITABLE[stream.kind]}
    return StreamChangeForm(data, kind=stream.kind, prefix=f"s{stream.pk}", initial=initial)


@sensitive_variables("secret")
def _render(request: HttpRequest, team: Team, membership: Membership, *, status: int = 200,
            add_form: StreamAddForm | None = None, invalid: StreamChangeForm | None = None,
            secret: str = "", secret_stream: AuditStream | None = None, bad_action: bool = False) -> HttpResponse:
    states = selectors.team_streams(team=team)
    rows = []
    for state in states:
        form = None
        if membership.is_owner:
            form = invalid if invalid is not None and invalid.prefix == f"s{state.stream.pk}" else _change_form(
                state.stream)
        rows.append((state, form))
    context = {"team": team, "membership": membership, "rows": rows,
               "add_form": add_form or (StreamAddForm() if membership.is_owner else None),
               "secret": secret, "secret_stream": secret_stream, "bad_action": bad_action}
    response = render(request, "contactcards/streams.html", context, status=status)
    if secret:
        add_never_cache_headers(response)
    return response


def streams_page(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return _render(request, team, membership)


@sensitive_variables("created")
def streams_add(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = StreamAddForm(request.POST)
    if not form.is_valid():
        return _render(request, team, membership, add_form=form, status=400)
    data = form.cleaned_data
    created = services.stream_create(
        team=team, user=request.user, name=data["name"], kind=data["kind"], url=data.get("url", ""),
        syslog_host=data.get("syslog_host", ""), syslog_port=data.get("syslog_port"),
        syslog_transport=data.get("syslog_transport", ""), syslog_facility=data["syslog_facility"],
        client_ip=client_ip(request))
    if not created.secret:
        messages.success(request, _("Stream %(name)s added: every new history entry goes to it.")
                         % {"name": created.stream.name})
        return redirect("streams", slug=team.slug)
    return _render(request, team, membership, secret=created.secret, secret_stream=created.stream)


def stream_change(request: HttpRequest, slug: str, stream_id: int) -> HttpResponse:
    stream, membership = get_stream_for_user(request, slug, stream_id)
    require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = _change_form(stream, request.POST)
    if not form.is_valid():
        return _render(request, stream.team, membership, invalid=form, status=400)
    if services.stream_change(stream=stream, user=request.user, values=form.cleaned_data,
                              client_ip=client_ip(request)):
        messages.success(request, _("Stream %(name)s changed.") % {"name": stream.name})
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("streams", slug=stream.team.slug)


@sensitive_variables("secret")
def stream_action(request: HttpRequest, slug: str, stream_id: int) -> HttpResponse:
    """Pause, resume, rotate the secret of, or delete one stream."""
    stream, membership = get_stream_for_user(request, slug, stream_id)
    require_owner(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    action, team, ip = request.POST.get("action", ""), stream.team, client_ip(request)
    if action in ("pause", "resume"):
        services.stream_pause(stream=stream, user=request.user, paused=action == "pause", client_ip=ip)
        messages.success(request, _("Stream %(name)s paused: entries wait for it, in order.") % {"name": stream.name}
                         if action == "pause" else _("Stream %(name)s resumed.") % {"name": stream.name})
    elif action == "rotate" and stream.kind == AuditStream.Kind.WEBHOOK:
        secret = services.stream_rotate_secret(stream=stream, user=request.user, client_ip=ip)
        return _render(request, team, membership, secret=secret, secret_stream=stream)
    elif action == "delete":
        name = stream.name
        services.stream_delete(stream=stream, user=request.user, client_ip=ip)
        messages.success(request, _("Stream %(name)s deleted.") % {"name": name})
    else:
        return _render(request, team, membership, status=400, bad_action=True)
    return redirect("streams", slug=team.slug)
