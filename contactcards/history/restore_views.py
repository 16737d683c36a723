""""Restore this version": from a history entry, show what would change against Linq's current card,
then save it through the normal save (budget, conflict check, one PATCH of only the fields that differ,
an audit entry that links to the version restored)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from contactcards.cards import outcomes as o
from contactcards.cards.diff import changed_fields
from contactcards.cards.forms import CardForm
from contactcards.cards.services import card_update
from contactcards.common.access import get_team_for_user, require_write
from contactcards.common.errors import meaning
from contactcards.common.http import client_ip
from contactcards.history.selectors import audit_entry_get
from contactcards.history.versions import restorable, version_after
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import AuditEntry
from contactcards.photos.services import sent_link
from contactcards.rollout import deferred
from contactcards.rollout.forms import WhenForm
from contactcards.sync.reads import card_fetch


def restore_version(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    entry = audit_entry_get(team=team, pk=pk)
    if entry is None or not restorable(entry) or entry.number is None:
        raise Http404(_("No version to restore here."))
    require_write(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    number = entry.number
    number.team = team
    version = version_after(entry)
    when_form = WhenForm(request.POST if request.method == "POST" else None, prefix="when")
    if request.method == "POST":
        form = CardForm(request.POST, loaded={})
        if form.is_valid() and when_form.is_valid():
            when = when_form.deferral(approval=membership.needs_approval)
            if when.defers:  # a request for an approver, or a restore for later (issue 24): one job of one item
                return _defer(request, team, membership, entry, version, form, when, when_form)
            outcome = card_update(number=number, user=request.user, loaded=form.loaded_values,
                                  submitted=_restoring(version, form.loaded_values), token=form.cleaned_data["token"],
                                  client_ip=client_ip(request), restored_from=entry.pk)
            if isinstance(outcome, o.Saved):
                messages.success(request, render_to_string("includes/restored_message.txt", {
                    "entry": entry, "changed": outcome.changed}).strip())
                return redirect("card", slug=team.slug, e164=number.e164)
            return _page(request, team, membership, entry, version, outcome=outcome, status=409
                         if isinstance(outcome, o.Conflict) else 200)
        if form.is_valid():
            return _page(request, team, membership, entry, version, when_form=when_form, status=400)
        messages.warning(request, _("The form was stale: here is the comparison with Linq's card as it is now."))
    return _page(request, team, membership, entry, version, when_form=when_form)


def _defer(request, team, membership, entry, version, form, when, when_form) -> HttpResponse:
    """Restore as a request or a schedule: held as a job of one item, checked when sent against the card as
    this page showed it (``loaded``), and recorded with the version restored (``restored_from``)."""
    loaded = form.loaded_values
    target = _restoring(version, loaded)
    changes = changed_fields(loaded, target, sent=sent_link(entry.number))
    if not changes:
        return _page(request, team, membership, entry, version, when_form=when_form)
    try:
        job = deferred.card_change(number=entry.number, user=request.user, loaded=loaded, desired=target,
                                   changes=changes, when=when, restored_from=entry.pk)
    except deferred.Refused as refusal:
        when_form.add_error(None, str(refusal))
        return _page(request, team, membership, entry, version, when_form=when_form, status=400)
    return redirect("job_detail", slug=team.slug, pk=job.pk)


def _restoring(version: dict[str, str | None], current: dict[str, str | None]) -> dict[str, str | None]:
    """What to submit: the version's known fields, the current value for fields the history does not know."""
    return {name: version[name] if version[name] is not None else (current.get(name) or "") for name in CARD_FIELDS}


def _page(request, team, membership, entry: AuditEntry, version, *, outcome=None, status: int = 200,
          when_form: WhenForm | None = None) -> HttpResponse:
    load = card_fetch(number=entry.number)
    current = load.card.fields() if load.card else None
    differences = []
    form = None
    if current is not None:
        target = _restoring(version, current)
        # the same diff as the save: the photo link sent last is no change while Linq shows what it made of it
        changed = changed_fields(current, target, sent=sent_link(entry.number))
        differences = [(name, current[name], target[name]) for name in CARD_FIELDS if name in changed]
        form = CardForm(initial=target, loaded=current)
    unknown = [name for name in CARD_FIELDS if version[name] is None]  # the history never said: left as they are
    context = {"team": team, "membership": membership, "entry": entry, "number": entry.number,
               "differences": differences, "form": form, "unknown": unknown,
               "known": [name for name in CARD_FIELDS if version[name] is not None], "outcome": outcome,
               "outcome_kind": type(outcome).__name__ if outcome is not None else "",
               "load_error": meaning(load.error) if load.error else None, "no_card": load.error is None and not current,
               "when_form": when_form or WhenForm(prefix="when")}
    return render(request, "contactcards/restore.html", context, status=status)
