"""Pages for changes that wait (issue 24): the team's requests and schedules, deciding a request,
changing a schedule's times, and the team's approval rule (owners)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from contactcards.common.access import get_team_for_user, require_owner, require_write
from contactcards.common.http import client_ip
from contactcards.models import Job, Membership, Role
from contactcards.rollout import deferred
from contactcards.rollout.forms import ApprovalSettingsForm, DecisionForm, RescheduleForm
from contactcards.rollout.selectors import awaiting_requests, upcoming_changes


def _job(request: HttpRequest, slug: str, pk: int) -> tuple[Job, Membership]:
    team, membership = get_team_for_user(request, slug)
    job = get_object_or_404(Job, pk=pk, team=team)
    job.team = team
    return job, membership


def planned_changes(request: HttpRequest, slug: str) -> HttpResponse:
    """The team's change requests (the approvers' queue) and its upcoming scheduled changes."""
    team, membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    context = {"team": team, "membership": membership, "requests": list(awaiting_requests(team=team)[:200]),
               "upcoming": list(upcoming_changes(team=team)[:200])}
    return render(request, "contactcards/planned_changes.html", context)


def job_decide(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Approve or reject a request (owners and approvers; never the requester: refused here, 403)."""
    job, membership = _job(request, slug, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not membership.may_approve:
        raise PermissionDenied(_("Only owners and approvers decide change requests."))
    if job.created_by_id == request.user.pk:
        raise PermissionDenied(_("Nobody approves their own request: another approver decides it."))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect("job_detail", slug=slug, pk=job.pk)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        deferred.decide(job=job, user=request.user, membership=membership, approve=approve,
                        comment=form.cleaned_data["comment"], client_ip=client_ip(request))
    except deferred.Refused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Approved: the change is sent at its time.") if approve else _("Rejected."))
    return redirect("job_detail", slug=slug, pk=job.pk)


def job_reschedule(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """New times for a change not started yet (writers); refused with the reason when the budget cannot meet them."""
    job, membership = _job(request, slug, pk)
    require_write(membership)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = RescheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the times as date and time."))
        return redirect("job_detail", slug=slug, pk=job.pk)
    try:
        deferred.reschedule(job=job, start_at=form.cleaned_data["start_at"], end_at=form.cleaned_data["end_at"],
                            user=request.user)
    except deferred.Refused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("The new time is saved."))
    return redirect("job_detail", slug=slug, pk=job.pk)


def approval_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Owners: whether card changes need approval, how long requests wait, which editors approve."""
    team, membership = get_team_for_user(request, slug)
    require_owner(membership)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    editors = list(Membership.objects.filter(team=team, role=Role.EDITOR).select_related("user")
                   .order_by("user__username"))
    initial = {"changes_need_approval": team.changes_need_approval, "approval_hours": team.approval_hours,
               "approvers": [str(m.pk) for m in editors if m.can_approve]}
    form = ApprovalSettingsForm(request.POST if request.method == "POST" else None, initial=initial, editors=editors)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = deferred.approval_rule_set(
            team=team, editors=editors, required=data["changes_need_approval"], hours=data["approval_hours"],
            approvers={int(pk) for pk in data["approvers"]}, actor=request.user, client_ip=client_ip(request))
        messages.success(request, _("The approval rule is saved.") if changed else _("Nothing changed."))
        return redirect("approval_settings", slug=team.slug)
    return render(request, "contactcards/approval_settings.html",
                  {"team": team, "membership": membership, "form": form},
                  status=400 if form.is_bound else 200)

