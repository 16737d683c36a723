"""The card page: show a number's card, edit it, or set one up.

Saves go through ``services.card_update`` / ``card_create``, which decide what (if anything)
is sent to Linq. This view turns each outcome into one page: what happened in plain words,
the form with the person's input kept whenever nothing took effect, and the next step
(retry, keep mine / take Linq's, wait for the budget). Nothing here retries a write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from .. import services
from ..access import get_number_for_user, require_write
from ..errors import ErrorView, describe
from ..forms import CardForm
from ..linq import Card, LinqError
from ..linq.client import CARD_FIELDS
from ..models import AuditEntry, Membership, PhoneNumber
from .utils import client_ip


def _render(request: HttpRequest, number: PhoneNumber, membership: Membership, *, card: Card | None,
            form: CardForm | None, error=None, load_error=None, budget=None, status: int = 200,
            **extra) -> HttpResponse:
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
        **extra,
    }
    return render(request, "contactcards/card.html", context, status=status)


def _settings_url(number: PhoneNumber) -> str | None:
    """The team settings page, once it exists (it is built separately); else None."""
    try:
        return reverse("team_settings", args=[number.team.slug])
    except NoReverseMatch:
        return None


def _describe(error: LinqError, number: PhoneNumber, membership: Membership,
              applied: bool | None = None) -> ErrorView:
    return describe(error, is_owner=membership.is_owner, settings_url=_settings_url(number), applied=applied)


@require_http_methods(["GET", "POST"])
def card_detail(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    if request.method == "POST":
        require_write(membership)
        if request.POST.get("action") == "create":
            return _create(request, number, membership)
        return _update(request, number, membership)
    return _show_current(request, number, membership)


def _show_current(request: HttpRequest, number: PhoneNumber, membership: Membership) -> HttpResponse:
    """Re-read the card from Linq (free: reads do not spend the write budget) and show a fresh form."""
    load = services.card_fetch(number=number)
    if load.error is not None:
        return _render(request, number, membership, card=None, form=None,
                       load_error=_describe(load.error, number, membership))
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
        token=form.cleaned_data["token"], client_ip=client_ip(request),
    )
    return _after_save(request, number, membership, form, result)


def _create(request: HttpRequest, number: PhoneNumber, membership: Membership) -> HttpResponse:
    form = CardForm(request.POST)
    if not form.is_valid():
        return _render(request, number, membership, card=None, form=form)
    result = services.card_create(
        number=number, user=request.user, submitted=form.submitted(), token=form.cleaned_data["token"],
        client_ip=client_ip(request),
    )
    return _after_save(request, number, membership, form, result)


def _after_save(request: HttpRequest, number: PhoneNumber, membership: Membership, form: CardForm,
                result: services.SaveResult) -> HttpResponse:
    """One page per outcome. The form keeps the person's input whenever nothing took effect."""
    status = result.status
    if status == "saved" or (status == "failed" and result.applied is True and result.card is not None):
        return _saved(request, number, membership, form, result)
    if status == "unchanged":
        if result.card is not None:
            messages.info(request, "Linq already has these values (someone made the same change), "
                                   "so nothing was sent.")
            return _render(request, number, membership, card=result.card, form=CardForm(loaded=result.card.fields()))
        messages.info(request, "Nothing changed, so nothing was sent to Linq.")
        return _render(request, number, membership, card=None, form=form)
    if status == "blocked":
        return _render(request, number, membership, card=None, form=form, budget=result.budget,
                       budget_refused=True)
    if status == "busy":
        messages.warning(request, "Another save for this number was still in progress, so nothing was sent. "
                                  "Your input is kept: check the card and save again.")
        return _render(request, number, membership, card=None, form=form)
    if status == "duplicate":
        return _duplicate(request, number, membership, form, result)
    if status == "conflict":
        return _conflict(request, number, membership, form, result)
    if status == "exists":
        messages.warning(
            request,
            "A card already exists at Linq for this number, so nothing was created. It is loaded below "
            "with your input on top: review and save to change it.",
        )
        edit = CardForm(initial=form.submitted(), loaded=result.card.fields())
        return _render(request, number, membership, card=result.card, form=edit)
    if status == "check_failed":
        return _render(request, number, membership, card=None, form=form,
                       error=_describe(result.error, number, membership),
                       error_heading="The card could not be re-read before saving, so nothing was sent.")
    # failed: a write was sent and did not (or may not) take effect. The form keeps the input
    # under a new one-time token; "Retry now" resends the same changes only if a person asks.
    form.renew_token()
    error = _describe(result.error, number, membership, applied=result.applied)
    retry_form = _retry_form(form) if error.offer_retry else None
    return _render(request, number, membership, card=result.card, form=form, error=error, retry_form=retry_form)


def _saved(request: HttpRequest, number: PhoneNumber, membership: Membership, form: CardForm,
           result: services.SaveResult) -> HttpResponse:
    card = result.card
    if result.status == "failed":  # unknown outcome, and the re-read showed the change
        messages.success(request, _describe(result.error, number, membership, applied=True).title)
    elif form.editing:
        names = ", ".join(_label(name) for name in result.changes)
        messages.success(request, f"Saved. Linq updated: {names}.")
    else:
        messages.success(request, "The card was set up at Linq.")
    if result.remote_changed:
        others = ", ".join(_label(name) for name in result.remote_changed)
        messages.warning(request, f"Someone else changed {others} at Linq since you opened this page. "
                                  "Only your changes were sent; the card below is as Linq returned it.")
    return _render(request, number, membership, card=card, form=CardForm(loaded=card.fields()))


def _conflict(request: HttpRequest, number: PhoneNumber, membership: Membership, form: CardForm,
              result: services.SaveResult) -> HttpResponse:
    """Nothing was sent. Offer "keep mine" (a form loaded with Linq's values, the person's on top)."""
    remote = result.card.fields() if result.card else {name: "" for name in CARD_FIELDS}
    typed = form.submitted()
    # Fields the person did not touch take Linq's current value, so keeping theirs never reverts others.
    keep = {name: typed[name] if name in result.changes else remote[name] for name in CARD_FIELDS}
    keep_form = CardForm(initial=keep, loaded=remote)
    return _render(request, number, membership, card=result.card, form=keep_form, conflicts=result.conflicts,
                   status=409)


def _duplicate(request: HttpRequest, number: PhoneNumber, membership: Membership, form: CardForm,
               result: services.SaveResult) -> HttpResponse:
    """A resubmitted form: nothing is sent again; say what the first submission did.

    If that first submission failed, the input is kept (under a new token) so the person can
    save it deliberately; otherwise the current card is shown.
    """
    previous = result.previous
    text = "This form was already submitted, so nothing was sent again."
    if previous is not None:
        when = timezone.localtime(previous.created_at).strftime("%H:%M:%S")
        if previous.is_success or previous.applied:
            text = f"Already saved at {when}: this form was submitted before, so nothing was sent again."
        else:
            messages.warning(request, f"{text} The first submission at {when} ended with an error: "
                                      f"{previous.error_message} Your input is kept: save again to retry.")
            form.renew_token()
            load = services.card_fetch(number=number)
            return _render(request, number, membership, card=load.card, form=form)
    messages.info(request, text)
    return _show_current(request, number, membership)


def _retry_form(form: CardForm) -> CardForm:
    """The same changes as the failed save (same values, same loaded), under a new one-time token."""
    # auto_id=False: its hidden copies must not reuse the ids of the visible form's inputs (labels, aria).
    return CardForm(initial=form.submitted(), loaded=form.loaded_values if form.editing else None,
                    auto_id=False)


def _label(name: str) -> str:
    return name.replace("_", " ")


def _posted(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in CARD_FIELDS}
