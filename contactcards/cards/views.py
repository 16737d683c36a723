"""The card page: show a number's card, edit it, or set one up.

Saves go through ``cards.services.card_update`` / ``card_create``, which decide what (if
anything) is sent to Linq and return one outcome (``cards/outcomes.py``). This view is one
``match`` over those outcomes that picks the form and the context (what comes next - retry, wait, check
later - is ``outcomes.next_step``, the same reading a rollout's job follows); the words are in the templates.
Nothing here retries a write.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contactcards.cards import outcomes as o
from contactcards.cards.budget import write_budget
from contactcards.cards.diff import changed_fields
from contactcards.cards.forms import CardForm
from contactcards.cards.selectors import known_card, recent_entries
from contactcards.cards.services import card_create, card_update
from contactcards.common.access import get_number_for_user, require_write
from contactcards.common.errors import meaning
from contactcards.common.http import client_ip
from contactcards.linq import Card
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import Membership, PhoneNumber
from contactcards.photos.forms import CardPhotoForm
from contactcards.photos.services import team_photos
from contactcards.photos.views import card_photo
from contactcards.rollout import deferred
from contactcards.rollout.forms import WhenForm
from contactcards.rollout.selectors import waiting_for_number
from contactcards.sync.health import line_health_of
from contactcards.sync.reads import card_fetch


@require_http_methods(["GET", "POST"])
def card_detail(request: HttpRequest, slug: str, e164: str) -> HttpResponse:
    number, membership = get_number_for_user(request, slug, e164)
    page = _Page(request, number, membership)
    if request.method == "GET":
        return page.current(seen=True)  # someone here looked: the dashboard's "changed outside" mark goes
    require_write(membership)
    page.when_form = WhenForm(request.POST, prefix="when")
    # Issue 14: an uploaded (stored now) or picked photo is sent as its link, and checked like a typed one.
    photo = card_photo(team=number.team, user=request.user, data=request.POST, files=request.FILES)
    page.photo_form = photo.form
    data = request.POST.copy()
    if photo.url:
        data["image_url"] = photo.url
    for note in photo.advice:
        messages.warning(request, note)
    if request.POST.get("action") == "create":
        form = CardForm(data)
        if not form.is_valid() or photo.error or not page.when_form.is_valid():
            return page.render(form=_with_photo_error(form, photo.error))
        when = page.when_form.deferral(approval=membership.needs_approval)
        if when.defers:
            return page.deferred(form, when, create=True)
        outcome = card_create(number=number, user=request.user, submitted=form.submitted(),
                              token=form.cleaned_data["token"], client_ip=client_ip(request))
        return page.after_save(form, outcome)
    form = CardForm(data, loaded={})
    if not form.is_valid() or photo.error:
        if "loaded" in form.errors:  # tampered or stale: start again from Linq's current card
            messages.warning(request, form.errors["loaded"][0])
            posted = {name: data.get(name, "") for name in CARD_FIELDS}
            return page.current(initial=posted)
        return page.render(form=_with_photo_error(form, photo.error))
    if not page.when_form.is_valid():
        return page.render(form=form, status=400)
    when = page.when_form.deferral(approval=membership.needs_approval)
    if when.defers:  # a request for an approver, or a change for later: held as a job of one item
        return page.deferred(form, when)
    outcome = card_update(number=number, user=request.user, loaded=form.loaded_values, submitted=form.submitted(),
                          token=form.cleaned_data["token"], client_ip=client_ip(request))
    return page.after_save(form, outcome)


class _Page:
    """One number's card page for one request: the shared context, and a page per outcome."""

    def __init__(self, request: HttpRequest, number: PhoneNumber, membership: Membership) -> None:
        self.request, self.number, self.membership = request, number, membership
        self.photo_form = CardPhotoForm()  # the upload / library controls (kept with their errors on a POST)
        self.when_form = WhenForm(prefix="when")  # a note and a schedule (issue 24)

    def render(self, *, form: CardForm | None, card: Card | None = None, status: int = 200, **extra) -> HttpResponse:
        error = extra.get("error")
        if card is None and form is not None and (error is not None or form.errors or extra.get("refused")):
            card = known_card(number=self.number)  # a refused save: the box still shows what Linq has
        if error is not None and error.field and form is not None:
            words = render_to_string("includes/error_field.txt", {"error": error, "membership": self.membership})
            form.add_error(error.field, words.strip())
            if not error.code and not error.trace_id:
                extra["error"] = None
        error = extra.get("error")
        budget = extra.pop("budget", None) or write_budget(number=self.number)
        # A wait Linq asked for is said once, under Save (with its countdown): not in the error banner too.
        waiting = error is not None and budget.exhausted and error.reason in ("budget_spent", "upstream_limited")
        context = {
            "error_banner": error is not None and not (waiting and error.reason == "budget_spent"),
            "error_advice": not waiting,
            "wait_error": error if waiting else None,
            "team": self.number.team,
            "number": self.number,
            "membership": self.membership,
            "card": card,
            "pending": card is not None and not card.is_active,  # set up again (POST), not edited
            "form": form,
            "mode": "unavailable" if form is None else ("edit" if form.editing else "create"),
            "budget": budget,
            "recent": recent_entries(number=self.number),
            "line": line_health_of(self.number),  # what Linq last said about the line (sync.health)
            "photo_form": self.photo_form,
            "library": team_photos(team=self.number.team, limit=12) if self.membership.can_write else (),
            "when_form": self.when_form,
            "waiting": waiting_for_number(number=self.number),
            **extra,
        }
        return render(self.request, "contactcards/card.html", context, status=status)

    def current(self, *, initial: dict[str, str] | None = None, seen: bool = False, **extra) -> HttpResponse:
        """Re-read the card from Linq (free: reads do not spend the write budget) and show a fresh form.

        Opening the number also settles earlier writes whose outcome is unknown (the read does:
        ``reads.card_fetch``). A card that is not active gets the set-up form pre-filled with what
        Linq has: PATCH cannot complete it, one POST with the whole card can. ``seen``: a person opened
        the page (a GET), so the dashboard's "changed outside" mark goes. A view that finds the card as
        the mirror has it writes nothing (``sync.mirror.read_confirms``).
        """
        load = card_fetch(number=self.number, seen=seen)
        if load.error is not None:
            return self.render(form=None, load_error=meaning(load.error), **extra)
        if load.card is not None and not load.card.is_active:
            return self.render(card=load.card, form=CardForm(initial={**load.card.fields(), **(initial or {})}),
                               **extra)
        loaded = load.card.fields() if load.card else ({} if initial is not None else None)
        return self.render(card=load.card, form=CardForm(initial=initial, loaded=loaded), **extra)

    def deferred(self, form: CardForm, when: deferred.Deferral, *, create: bool = False) -> HttpResponse:
        """The change is held (for an approver, or its time) as a job of one item, checked when it is sent
        against the card as this form loaded it. Nothing changed: nothing held. A schedule the write
        budget cannot meet is refused here, with the reason, input kept."""
        loaded = {} if create else form.loaded_values
        changes = changed_fields(loaded, form.submitted())
        if not changes:
            return self.render(form=form, unchanged=o.Unchanged())
        try:
            job = deferred.card_change(number=self.number, user=self.request.user, loaded=loaded,
                                       desired=form.submitted(), changes=changes, when=when, create=create)
        except deferred.Refused as refusal:
            self.when_form.add_error(None, str(refusal))
            return self.render(form=form, status=400)
        return redirect("job_detail", slug=self.number.team.slug, pk=job.pk)

    def after_save(self, form: CardForm, outcome: o.SaveOutcome) -> HttpResponse:
        """One page per outcome. The form keeps the person's input whenever nothing took effect."""
        match outcome:
            case o.Saved(card=card):
                return self.render(card=card, form=CardForm(loaded=card.fields()), saved=outcome,
                                   unanswered=meaning(outcome.unanswered, applied=True) if outcome.unanswered else None)
            case o.Unchanged(card=None):
                return self.render(form=form, unchanged=outcome)
            case o.Unchanged(card=card):
                return self.render(card=card, form=CardForm(loaded=card.fields()), unchanged=outcome)
            case o.Conflict(card=card, keep_mine=keep_mine):
                return self.render(card=card, form=CardForm(initial=keep_mine, loaded=card.fields()),
                                   conflicts=outcome.conflicts, status=409)
            case o.SwitchToEdit(card=card, typed=typed):
                return self.render(card=card, form=CardForm(initial=typed, loaded=card.fields()), switched=outcome)
            case o.SwitchToCreate(typed=typed):
                return self.render(form=CardForm(initial=typed), switched=outcome, pending=outcome.pending)
            case o.ImageRefused(check=check):
                form.add_error("image_url", render_to_string("includes/image_refused.txt", {"check": check}).strip())
                return self.render(form=form)
            case o.Blocked(budget=budget):
                return self.render(form=form, budget=budget, budget_refused=True, refused=True)
            case o.LineReleased():
                return self.render(form=form, line_released=True, status=409, refused=True)
            case o.Busy():
                return self.render(form=form, busy=outcome, refused=True)
            case o.Duplicate() if outcome.took_effect:
                return self.current(duplicate=outcome)
            case o.Duplicate(previous=None):
                return self.current(duplicate=outcome)
            case o.Duplicate():
                form.renew_token()  # the first submission failed: keep the input for a deliberate save
                return self.render(card=card_fetch(number=self.number).card, form=form, duplicate=outcome)
            case o.NotChecked(error=error):
                return self.render(form=form, error=meaning(error), not_checked=True)
            case o.OutcomeUnknown(error=error, entry=entry):
                form.renew_token()  # the input stays; whether to save again is the person's call
                return self.render(form=form, error=meaning(error, recheck_at=entry.recheck_after))
            case o.Failed(error=error):
                # The form keeps the input under a new one-time token; "Retry now" - offered where a
                # rollout would try again (``next_step``) - resends the same changes only if a person asks.
                form.renew_token()
                retry = o.next_step(outcome, now=timezone.now()).next is o.Next.RETRY
                return self.render(form=form, error=meaning(error), retry_form=_retry_form(form) if retry else None)
        raise TypeError(f"unhandled save outcome {outcome!r}")


def _with_photo_error(form: CardForm, error: str) -> CardForm:
    """The card form, with the photo's problem (shown under the file input too) in its error summary."""
    if error:
        form.add_error(None, error)
    return form


def _retry_form(form: CardForm) -> CardForm:
    """The same changes as the failed save (same values, same loaded), under a new one-time token."""
    # auto_id=False: its hidden copies must not reuse the ids of the visible form's inputs (labels, aria).
    return CardForm(initial=form.submitted(), loaded=form.loaded_values if form.editing else None,
                    auto_id=False)
