"""The card page: show a number's card, edit it, or set one up."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .. import services
from ..access import get_number_for_user, require_write
from ..errors import describe
from ..forms import CardForm
from ..linq import Card
from ..models import AuditEntry, Membership, PhoneNumber
from .utils import client_ip


def _render(request: HttpRequest, number: PhoneNumber, membership: Membership, *, card: Card | None,
            form: CardForm | None, error=None, load_error=None, budget=None, status: int = 200) -> HttpResponse:
    if error is not None and error.field and form is not None:
        form.add_error(error.field, f"{error.title} {error.advice} (Linq: {error.message})")
        error = None if not error.code and not error.trace_id else error
    context = {
        "team": number.team,
        "number": number,
        "membership": membership,
        "card": card,
        "form": form,
        "mode": "unavailable" if form is None else ("edit" if form.editing else "create"),
        "error": error,
        "load_error": load_error,
        "budget": budget or services.write_budget(number=number),
        "recent": AuditEntry.objects.filter(number=number).select_related(None)[:5],
    }
    return render(request, "contactcards/card.html", context, status=status)


@require_http_methods(["GET", "POST"])
def card_detail(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    if request.method == "POST":
        require_write(membership)
        if request.POST.get("action") == "create":
            return _create(request, number, membership)
        return _update(request, number, membership)

    load = services.card_fetch(number=number)
    if load.error is not None:
        return _render(request, number, membership, card=None, form=None,
                       load_error=describe(load.error, is_owner=membership.is_owner))
    loaded = load.card.fields() if load.card else None
    return _render(request, number, membership, card=load.card, form=CardForm(loaded=loaded))


def _update(request: HttpRequest, number: PhoneNumber, membership: Membership) -> HttpResponse:
    form = CardForm(request.POST, loaded={})
    if not form.is_valid():
        if "loaded" in form.errors:  # tampered or stale: start again from Linq's current card
            messages.warning(request, form.errors["loaded"][0])
            load = services.card_fetch(number=number)
            fresh = CardForm(initial=_posted(request), loaded=load.card.fields() if load.card else {})
            return _render(request, number, membership, card=load.card, form=fresh)
        return _render(request, number, membership, card=None, form=form)

    result = services.card_update(
        number=number, user=request.user, loaded=form.loaded_values, submitted=form.submitted(),
        client_ip=client_ip(request),
    )
    if result.status == "unchanged":
        messages.info(request, "Nothing changed, so nothing was sent to Linq.")
        return _render(request, number, membership, card=None, form=form)
    if result.status == "saved":
        names = ", ".join(name.replace("_", " ") for name in result.changes)
        messages.success(request, f"Saved. Linq updated: {names}.")
        return _render(request, number, membership, card=result.card, form=CardForm(loaded=result.card.fields()))
    if result.status == "blocked":
        return _render(request, number, membership, card=None, form=form, budget=result.budget)
    return _render(request, number, membership, card=None, form=form,
                   error=describe(result.error, is_owner=membership.is_owner))


def _create(request: HttpRequest, number: PhoneNumber, membership: Membership) -> HttpResponse:
    form = CardForm(request.POST)
    if not form.is_valid():
        return _render(request, number, membership, card=None, form=form)
    result = services.card_create(
        number=number, user=request.user, submitted=form.submitted(), client_ip=client_ip(request),
    )
    if result.status == "saved":
        messages.success(request, "The card was set up at Linq.")
        return _render(request, number, membership, card=result.card, form=CardForm(loaded=result.card.fields()))
    if result.status == "exists":
        messages.warning(
            request,
            "A card already exists at Linq for this number, so nothing was created. It is loaded below "
            "with your input on top: review and save to change it.",
        )
        edit = CardForm(initial=form.submitted(), loaded=result.card.fields())
        return _render(request, number, membership, card=result.card, form=edit)
    if result.status == "blocked":
        return _render(request, number, membership, card=None, form=form, budget=result.budget)
    return _render(request, number, membership, card=None, form=form,
                   error=describe(result.error, is_owner=membership.is_owner))


def _posted(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in ("first_name", "last_name", "image_url")}
