"""Many numbers at once: bulk edit, CSV export/import, and the job pages that follow a rollout.

Every change goes preview -> confirm: the preview (``rollout.plan``) reads the cards once and says
what would happen per number; nothing is sent until the person confirms, and the confirm re-reads
and refuses to go ahead if the result differs from what was previewed (a signed fingerprint).
A confirmed plan becomes a job (``rollout.jobs``) that task workers run; the job page shows its
progress, live with JavaScript (a JSON endpoint it polls) and by refreshing without it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from django import forms
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from contactcards.common.access import get_team_for_user, require_write
from contactcards.common.clients import linq_client_for
from contactcards.common.errors import meaning
from contactcards.linq import LinqError
from contactcards.linq.client import CARD_FIELDS, clean_text
from contactcards.models import Job, JobItem, Membership, PhoneNumber
from contactcards.rollout import deferred, jobs
from contactcards.rollout.cards_csv import MAX_BYTES, export_rows, parse_cards_csv, write_csv
from contactcards.rollout.forms import DecisionForm, RescheduleForm, WhenForm
from contactcards.rollout.plan import FIELD_LABELS, Plan, PlanRow, Target, build_plan, owner_only_rows
from contactcards.teams.dashboard import STATUS_FILTERS, Selection, parse_selection, selected_numbers

_CSV_SALT = "contactcards.rollout.csv"
_PLAN_SALT = "contactcards.rollout.plan"


# -- preview fingerprint: confirm only what was previewed -----------------------------------


def fingerprint(plan: Plan) -> str:
    rows = [[r.e164, r.kind, r.changes, r.label, r.tags] for r in plan.rows]
    return signing.dumps(hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest(), salt=_PLAN_SALT)


def _same_plan(plan: Plan, signed: str) -> bool:
    try:
        expected = signing.loads(signed or "", salt=_PLAN_SALT)
    except signing.BadSignature:
        return False
    return signing.loads(fingerprint(plan), salt=_PLAN_SALT) == expected


def _owner_only_rows(plan: Plan, membership: Membership) -> Plan:
    """Labels and tags are changed by owners (``plan.owner_only_rows``)."""
    return owner_only_rows(plan, owner=membership.is_owner)


# A preview lists at most this many rows of each sort (thousands of rows made pages of megabytes); the
# counts above the list always cover every row, and refused rows come first in what is listed.
SHOWN_ROWS = {"cannot": 500, "sends": 200, "skip": 50}


def _shown_rows(plan: Plan) -> tuple[list[PlanRow], int]:
    """The rows the preview lists (file order, within SHOWN_ROWS per sort) and how many it leaves out."""
    left = dict(SHOWN_ROWS)
    shown = []
    for row in plan.rows:
        sort = "cannot" if row.kind == "cannot" else "skip" if row.kind == "skip" and not row.local_change else "sends"
        if left[sort] > 0:
            left[sort] -= 1
            shown.append(row)
    return shown, len(plan.rows) - len(shown)


def _plan_context(plan: Plan, membership: Membership) -> dict:
    error = meaning(plan.error) if plan.error is not None else None
    shown, more = _shown_rows(plan)
    return {"plan": plan, "plan_error": error, "counts": plan.counts, "fingerprint": fingerprint(plan),
            "shown_rows": shown, "more_rows": more}


def _confirmed(request: HttpRequest, plan: Plan, membership: Membership, context: dict, *, source: str,
               description: str) -> Job | None:
    """The preview's confirm step, for a bulk edit and a CSV import alike: the plan must be the one previewed and
    sendable (refused rows skipped only when asked), its time and approval valid; then the job. None: the preview
    is shown again, ``context`` saying why (``changed_since``, or the errors of ``when_form``)."""
    skip_refused = request.POST.get("skip_refused") == "1"
    confirming = request.POST.get("action") == "confirm"
    context["when_form"] = when_form = WhenForm(request.POST if confirming else None, prefix="when")
    if not (confirming and plan.ok):
        return None
    if not (_same_plan(plan, request.POST.get("fingerprint", "")) and plan.confirmable(skip_refused=skip_refused)):
        context["changed_since"] = True
        return None
    when = _when(when_form, membership, plan)
    if when is None:
        return None
    return jobs.job_create(team=membership.team, user=request.user, plan=plan, source=source,
                           skip_refused=skip_refused, when=when, description=description)


def _when(form: WhenForm, membership: Membership, plan: Plan) -> deferred.Deferral | None:
    """How a confirmed plan waits (issue 24): for an approver when the person needs one, and/or for the time
    they chose. None: the times are invalid, or the write budget cannot meet them (the form says why)."""
    if not form.is_valid():
        return None
    when = form.deferral(approval=membership.needs_approval)
    if when.start_at is not None or when.end_at is not None:
        try:
            deferred.check(numbers=[row.number for row in plan.rows if row.sends and row.number is not None],
                           when=when)
        except deferred.Refused as refusal:
            form.add_error(None, str(refusal))
            return None
    return when


# -- bulk edit -----------------------------------------------------------------------------------


class BulkForm(forms.Form):
    """Which fields to set on every selected number, and to what."""

    set_first_name = forms.BooleanField(required=False, label=_("Set the first name"))
    first_name = forms.CharField(required=False, max_length=100, strip=True, label=_("First name"),
                                 widget=forms.TextInput(attrs={"data-ticks": "id_set_first_name"}))
    set_last_name = forms.BooleanField(required=False, label=_("Set the last name"))
    last_name = forms.CharField(required=False, max_length=100, strip=True, label=_("Last name"),
                                widget=forms.TextInput(attrs={"data-ticks": "id_set_last_name"}))
    set_image_url = forms.BooleanField(required=False, label=_("Set the photo URL"))
    image_url = forms.CharField(required=False, max_length=2000, strip=True, label=_("Photo URL"),
                                widget=forms.TextInput(attrs={"data-ticks": "id_set_image_url"}))

    def clean(self) -> dict:
        cleaned = super().clean()
        chosen = [name for name in CARD_FIELDS if cleaned.get(f"set_{name}")]
        if not chosen:  # nothing ticked but values typed (the page ticks as you type; without JavaScript it can't)
            chosen = [name for name in CARD_FIELDS if cleaned.get(name)]
            for name in chosen:
                cleaned[f"set_{name}"] = True
        if not chosen:
            raise forms.ValidationError(_("Tick at least one field to set."))
        for name in chosen:
            if not cleaned.get(name):
                self.add_error(name, _("%(field)s: enter the new value (Linq cannot remove a field).")
                               % {"field": FIELD_LABELS[name]})
        return cleaned

    def values(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in CARD_FIELDS if self.cleaned_data.get(f"set_{name}")}


def _described(selection: Selection) -> str:
    """How an "all matching" selection was made, for the page ("" for ticked numbers)."""
    if not selection.all:
        return ""
    parts = (("search", selection.query), ("tag", selection.tag), ("status", STATUS_FILTERS.get(selection.status, "")))
    return ", ".join(f"{name} “{value}”" for name, value in parts if value) or "all numbers"


def bulk_edit(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_write(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    selection = parse_selection(request.POST if request.method == "POST" else request.GET)
    e164s = selected_numbers(team=team, selection=selection)  # no cap: "all matching" is every one
    # The dashboard POSTs its selection (step=select: hundreds of numbers do not fit in a URL); a link
    # with ?n=… or ?all=1 still works. Either way the fields come next, none of them chosen yet.
    choosing = request.method == "GET" or request.POST.get("step") == "select"
    form = BulkForm(None if choosing else request.POST)
    context = {"team": team, "membership": membership, "form": form, "e164s": e164s,
               "described": _described(selection), "selection": selection.fields(),
               "field_pairs": [(form[f"set_{name}"], form[name]) for name in CARD_FIELDS]}
    if not e164s:
        messages.warning(request, _("Select at least one number on the dashboard first."))
        return redirect("dashboard", slug=team.slug)
    if choosing:
        return render(request, "contactcards/rollout_bulk.html", context)
    if not form.is_valid():
        return render(request, "contactcards/rollout_bulk.html", context, status=400)
    plan = build_plan(team, [Target(e164=e164, values=form.values()) for e164 in e164s])
    changed = ", ".join(str(FIELD_LABELS[name]).lower() for name in form.values())
    job = _confirmed(request, plan, membership, context, source=Job.Source.BULK,
                     description=_("Set %(fields)s on %(count)d numbers") % {"fields": changed, "count": len(e164s)})
    if job is not None:
        return redirect("job_detail", slug=team.slug, pk=job.pk)
    carry = context["selection"] + [(name, value) for name, value in form.cleaned_data.items()
                                    if value and name in form.fields]
    carry = [(name, "on" if value is True else value) for name, value in carry]
    return render(request, "contactcards/rollout_bulk.html",
                  {**context, **_plan_context(plan, membership), "carry": carry})


# -- CSV out and in ----------------------------------------------------------------------------


def cards_export(request: HttpRequest, slug: str) -> HttpResponse:
    """Every card of the team as CSV (one call to Linq for all cards)."""
    team, _membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    numbers = list(PhoneNumber.objects.filter(team=team).prefetch_related("tags"))
    try:
        cards = {card.phone_number: card for card in linq_client_for(team).list_cards()}
    except LinqError:
        cards = None  # still export numbers, labels and tags; the status column says "unknown"
    response = HttpResponse(write_csv(export_rows(numbers, cards)), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-cards-{stamp}.csv"'
    return response


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), error_messages={"required": _("Choose a CSV file to upload.")})


def cards_import(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    require_write(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    context = {"team": team, "membership": membership, "max_mb": MAX_BYTES // (1024 * 1024)}
    if request.method == "GET":
        return render(request, "contactcards/rollout_import.html", {**context, "form": ImportForm()})
    if request.POST.get("action") == "confirm":
        try:
            raw = signing.loads(request.POST.get("payload", ""), salt=_CSV_SALT).encode()
        except signing.BadSignature:
            messages.error(request, _("That preview is out of date or was altered. Upload the file again."))
            return redirect("cards_import", slug=team.slug)
        name = clean_text(request.POST.get("filename", ""), 100)
    else:
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, "contactcards/rollout_import.html", {**context, "form": form}, status=400)
        upload = form.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            form.add_error("file", _("The file is larger than %(mb)s MB; split it.") % {"mb": context["max_mb"]})
            return render(request, "contactcards/rollout_import.html", {**context, "form": form}, status=400)
        raw, name = upload.read(), clean_text(upload.name or "", 100)
    parsed = parse_cards_csv(raw)
    context.update(form=ImportForm(), filename=name)
    if not parsed.ok:
        return render(request, "contactcards/rollout_import.html", {**context, "problems": parsed.problems},
                      status=400)
    plan = _owner_only_rows(build_plan(team, parsed.targets), membership)
    job = _confirmed(request, plan, membership, context, source=Job.Source.CSV,
                     description=_("Import of %(file)s (%(rows)d rows)") % {
                         "file": name or _("a CSV file"), "rows": len(parsed.targets)})
    if job is not None:
        return redirect("job_detail", slug=team.slug, pk=job.pk)
    payload = signing.dumps(raw.decode("utf-8-sig"), salt=_CSV_SALT, compress=True)
    carry = [("payload", payload), ("filename", name)]
    return render(request, "contactcards/rollout_import.html",
                  {**context, **_plan_context(plan, membership), "carry": carry, "show_rows": True})


# -- jobs ----------------------------------------------------------------------------------------------


def _job_for_user(request: HttpRequest, slug: str, pk: int) -> tuple[Job, Membership]:
    team, membership = get_team_for_user(request, slug)
    job = get_object_or_404(Job, pk=pk, team=team)
    job.team = team  # the row just read (no join for it)
    return job, membership


def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    recent = list(Job.objects.filter(team=team)[:50])
    rows = [(job, jobs.job_progress(job)) for job in recent]
    return render(request, "contactcards/rollout_jobs.html", {"team": team, "membership": membership, "rows": rows})


def _item_rows(job: Job, items: list[JobItem]) -> list[dict]:
    """The facts each item's row shows (worded by includes/job_item_row.html)."""
    slug = job.team.slug
    return [{"item": item, "entry_url": reverse("audit_entry", args=[slug, item.entry_id]) if item.entry_id else ""}
            for item in items]


def _page_number(value) -> int:
    try:
        return max(1, min(int(value or 1), 1_000_000))
    except (TypeError, ValueError):
        return 1


def _item_ids(data) -> list[int] | None:
    """The ids of the rows the page shows (``items=1.2.3``, at most a page of them); None: every item."""
    raw = data.get("items", "")
    if not raw:
        return None
    parts = raw.split(".")[:jobs.ITEMS_PER_PAGE]
    ids = [int(part) for part in parts if part.isascii() and part.isdigit() and len(part) <= 18]
    return [pk for pk in ids if 0 < pk < 2**62]


def _since(value: str):
    """The poll cursor the client sent back (an ISO time we gave it); anything else means "everything"."""
    try:
        since = parse_datetime(value or "")
        if since is None or timezone.is_naive(since):
            return None
        return since.astimezone(UTC)  # a year-1 or year-9999 time with an offset cannot be in UTC
    except (ValueError, OverflowError):
        return None


def job_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    job, membership = _job_for_user(request, slug, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    progress = jobs.job_progress(job)
    cursor = timezone.now() - jobs.OVERLAP  # before the page's rows are read: the first poll misses nothing
    shown = jobs.job_items_page(job, show=request.GET.get("show", ""), page=_page_number(request.GET.get("page")))
    context = {"team": job.team, "membership": membership, "job": job, "progress": progress, "shown": shown,
               "items": _item_rows(job, shown.items), "cursor": cursor.isoformat(),
               "csv": job.source == Job.Source.CSV, "retry": job.retries.order_by("pk").first(),
               "states": JobItem.State.choices, "shown_states": {state for state, n in progress.counts.items() if n},
               # issue 24: a request's decision, a schedule's times, the job that ends it
               "decision_form": DecisionForm(), "endings": list(job.endings.order_by("pk")),
               "reschedule_form": RescheduleForm(initial={"start_at": job.start_at, "end_at": job.end_at})}
    return render(request, "contactcards/rollout_job.html", context)


def job_progress(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The job page's live data (polled by static/js/job.js): the counts, and only the items changed
    since the client's cursor (``?since=``; the client merges rows by id)."""
    job, _membership = _job_for_user(request, slug, pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    progress = jobs.job_progress(job)
    items, cursor = jobs.job_items_since(job, _since(request.GET.get("since", "")), ids=_item_ids(request.GET))
    row = loader.get_template("includes/job_item_row.html")
    csv = job.source == Job.Source.CSV
    waiting = progress.waiting_until
    data = {**progress.as_dict(), "cursor": cursor.isoformat(),
            "items": [{"id": r["item"].pk, "state": r["item"].state,
                       "html": row.render({**r, "csv": csv}, request)} for r in _item_rows(job, items)],
            "waiting_label": f"{timezone.localtime(waiting):%H:%M}" if waiting else ""}
    return JsonResponse(data, headers={"Cache-Control": "no-store"})


def job_retry(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """"Retry the failed items": a new job of just those, sent the same way; its page opens."""
    job, membership = _job_for_user(request, slug, pk)
    require_write(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        retry = jobs.job_retry(job=job, user=request.user)
    except ValueError as refusal:
        messages.error(request, str(refusal))
        return redirect("job_detail", slug=job.team.slug, pk=job.pk)
    return redirect("job_detail", slug=job.team.slug, pk=retry.pk)


def job_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    job, membership = _job_for_user(request, slug, pk)
    require_write(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    stopped = jobs.job_cancel(job=job, user=request.user)
    messages.success(request, ngettext("Cancelled: %(count)d item will not be sent. Items already being sent finish.",
                                       "Cancelled: %(count)d items will not be sent. Items already being sent finish.",
                                       stopped) % {"count": stopped})
    return redirect("job_detail", slug=job.team.slug, pk=job.pk)
