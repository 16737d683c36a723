"""``/api/v1/``: thin endpoints over the domains' selectors and services - nothing decided here.

Reads go to the same selectors as the pages (the dashboard's numbers, the history's filters and keyset
pages, its CSV); a card is read from Linq as the card page reads it (``sync.reads.card_fetch``); writes go
through the same services (``cards.services.card_update`` / ``card_create``: write budget, number lock,
conflict check, one write per one-time token, write-ahead audit; ``rollout.plan`` and ``rollout.jobs`` for
jobs). The history names the token as the actor. Every refusal is problem details (``problems.py``).
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, renderers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from contactcards.api import serializers as s
from contactcards.api.auth import HasScope, TokenAuthentication, TokenRateThrottle, token_scopes
from contactcards.api.problems import PROBLEM_TYPE, Problem, linq_problem, seconds_until
from contactcards.api.selectors import mirrored_card, numbers_tags, team_job, team_number, token_names
from contactcards.api.versions import card_version, loaded_of
from contactcards.cards import outcomes as o
from contactcards.cards.forms import CardForm, sign_loaded
from contactcards.cards.services import card_create, card_update
from contactcards.common.http import client_ip
from contactcards.history.export import csv_lines
from contactcards.history.forms import HistoryFilterForm
from contactcards.history.selectors import Cursor, history_export_rows, history_members, history_page
from contactcards.linq import Card
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import Job
from contactcards.rollout import jobs
from contactcards.rollout.cards_csv import parse_rows
from contactcards.rollout.plan import build_plan, owner_only_rows
from contactcards.sync.reads import card_fetch
from contactcards.teams.dashboard import _page_rows, clean_query, filtered_numbers


class ProblemRenderer(renderers.JSONRenderer):
    media_type = PROBLEM_TYPE


class CsvRenderer(renderers.BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


PROBLEMS = {code: OpenApiResponse(s.ProblemSerializer, description=words) for code, words in (
    (400, _("The request is not valid.")), (401, _("No valid token.")),
    (403, _("The token's scopes or role do not allow it.")),
    (404, _("Not found (or another team's).")), (429, _("Rate limit or write budget: see Retry-After.")),
)}
LINQ_PROBLEMS = {code: OpenApiResponse(s.ProblemSerializer, description=words) for code, words in (
    (502, _("Linq failed or refused the team's token.")), (503, _("Linq asked to wait, or the team has no token.")),
    (504, _("Linq did not answer in time.")),
)}
SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description=_("The token's team."))
E164 = OpenApiParameter("e164", OpenApiTypes.STR, OpenApiParameter.PATH,
                        description=_("The number, E.164 (+15550001001)."))
JOB_ID = OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description=_("The job's id."))
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=_("Send the same key again and nothing is sent to Linq again: the first request's result comes back."))


@method_decorator(login_not_required, name="dispatch")
class ApiView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [TokenRateThrottle]
    renderer_classes = [renderers.JSONRenderer, ProblemRenderer]
    parser_classes = [JSONParser]

    def finalize_response(self, request, response, *args, **kwargs):
        """Refusals are problem details whatever media type the endpoint serves (the CSV's too)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer, response.accepted_media_type = ProblemRenderer(), PROBLEM_TYPE
        return response

    def team(self, request, slug: str):
        """The token's team (404 for any other slug: a token reaches one team, as outsiders get 404)."""
        membership = request._request.api_membership
        if membership.team.slug != slug:
            raise exceptions.NotFound()
        return membership.team, membership

    def number(self, request, slug: str, e164: str):
        team, membership = self.team(request, slug)
        number = team_number(team=team, e164=e164)
        if number is None:
            raise exceptions.NotFound()
        return number, membership


def _query(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# -- teams and numbers -----------------------------------------------------------------------------


class TeamList(ApiView):
    @extend_schema(operation_id="teams_list", responses={200: s.TeamSerializer(many=True), **PROBLEMS})
    def get(self, request):
        """The token's team (a token reaches exactly one), with the person's role and the token's scopes now."""
        membership = request._request.api_membership
        team = membership.team
        return Response([{"slug": team.slug, "name": team.name, "role": membership.role,
                          "scopes": sorted(token_scopes(request))}])


class NumberList(ApiView):
    @extend_schema(operation_id="numbers_list", parameters=[SLUG, s.NumberQuerySerializer],
                   responses={200: s.NumberPageSerializer, **PROBLEMS})
    def get(self, request, slug: str):
        """The team's numbers by number, with labels, tags and status (as the dashboard shows them, from the card
        mirror: no call to Linq). Filters as on the dashboard; keyset pages (``after`` = the last number seen)."""
        team, _membership = self.team(request, slug)
        query = _query(s.NumberQuerySerializer, request)
        numbers, condition = filtered_numbers(team=team, query=clean_query(query.get("q", "")),
                                              tag=query.get("tag", ""), status=query.get("status", ""))
        shown = numbers.filter(condition) if condition is not None else numbers
        if query.get("after"):
            shown = shown.filter(e164__gt=query["after"])
        limit = query["limit"]
        rows = _page_rows(shown, sort="number", offset=0, limit=limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        tags = numbers_tags(team=team, e164s=[row.e164 for row in rows])
        return Response({"numbers": [{
            "number": row.e164, "label": row.label, "tags": tags.get(row.e164, []), "status": row.status,
            "first_name": row.first_name, "last_name": row.last_name, "image_url": row.image_url,
            "as_of": row.as_of, "changed_outside": row.changed_outside, "last_change_at": row.last_at,
            "last_change_by": row.last_by, "last_change_outcome": row.last_outcome,
        } for row in rows], "next": rows[-1].e164 if more and rows else None})


# -- a number's card -----------------------------------------------------------------------------


def _card(number, card: Card | None) -> dict | None:
    if card is None:
        return None
    fields = card.fields()
    return {"number": number.e164, **fields, "active": card.is_active, "version": card_version(card)}


def _save_token(request, key: str | None) -> str:
    """The save's one-time token for an ``Idempotency-Key``: the same key of the same API token is the same
    token, so a second identical request finds it used and sends nothing ("" without a key)."""
    if key is None:
        return ""
    key = key.strip()
    if not key or len(key) > 200 or not key.isascii() or not key.isprintable():
        raise Problem(400, "invalid", _("The Idempotency-Key header must be 1 to 200 printable ASCII characters."))
    return "api-" + hashlib.sha256(f"{request.auth.pk}:{key}".encode()).hexdigest()[:60]


def _checked(data: dict, *, loaded: dict[str, str] | None) -> CardForm:
    """The card page's own form over the values (its rules: names, the photo link), or a 400 naming the fields."""
    form_data = {**{name: data.get(name, "") for name in CARD_FIELDS}, "token": ""}
    if loaded is not None:
        form_data["loaded"] = sign_loaded(loaded)
    form = CardForm(form_data, loaded={} if loaded is not None else None)
    if not form.is_valid():
        raise Problem(400, "invalid", _("The request is not valid."),
                      errors={name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return form


def _result(number, outcome: o.SaveOutcome, *, submitted: dict[str, str], created: bool = False) -> Response:
    """One answer per save outcome (the card page's ``after_save``, in HTTP)."""
    match outcome:
        case o.Saved(card=card, entry=entry):
            return Response({"outcome": "saved", "card": _card(number, card), "changed": list(outcome.changed),
                             "others_changed": list(outcome.others_changed), "entry_id": entry.pk,
                             "recheck_after": None}, status=201 if created else 200)
        case o.Unchanged(card=card):
            return Response({"outcome": "unchanged", "card": _card(number, card), "changed": [], "others_changed": [],
                             "entry_id": None, "recheck_after": None})
        case o.Conflict(card=card, conflicts=conflicts):
            raise Problem(409, "conflict", _("The card was changed at Linq since your version: nothing was sent."),
                          _("Read the card again, and send your change with its new version."),
                          version=card_version(card),
                          conflicts=[{"field": c.name, "yours_was": c.loaded, "linq_now": c.remote, "yours": c.typed}
                                     for c in conflicts])
        case o.SwitchToEdit(card=card):
            raise Problem(409, "card_exists", _("The number has a card already: change it with PATCH."),
                          version=card_version(card))
        case o.SwitchToCreate(pending=pending, refused=refused):
            raise Problem(409, "card_pending" if pending else "no_card",
                          _("The card is not active at Linq: set it up again with POST (the whole card).") if pending
                          else _("The number has no card: set one up with POST."),
                          entry_id=refused.pk if refused is not None else None)
        case o.ImageRefused(check=check):
            raise Problem(422, "image_refused", _("The photo link would not work at Linq: nothing was sent."),
                          reason=check.reason, errors={"image_url": [str(check.message)]})
        case o.Blocked(budget=budget):
            raise Problem(429, "write_budget", _("No write is left for this number now: nothing was sent."),
                          retry_after=seconds_until(budget.next_write_at), reason=budget.blocked_by)
        case o.Busy():
            raise Problem(409, "busy", _("Another change of this number is being sent; try again shortly."),
                          retry_after=1)
        case o.Duplicate(previous=None):
            raise Problem(409, "duplicate", _("This Idempotency-Key was used already; its write is not on record."))
        case o.Duplicate(previous=entry):
            return _replayed(number, entry, submitted=submitted)
        case o.NotChecked(error=error, entry=entry):
            raise linq_problem(error, entry_id=entry.pk if entry is not None else None)
        case o.Failed(error=error, entry=entry):
            raise linq_problem(error, entry_id=entry.pk)
        case o.OutcomeUnknown(entry=entry):
            return Response({"outcome": "unknown", "card": None, "changed": list(entry.changes), "others_changed": [],
                             "entry_id": entry.pk, "recheck_after": entry.recheck_after}, status=202)
    raise TypeError(f"unhandled save outcome {outcome!r}")


def _replayed(number, entry, *, submitted: dict[str, str]) -> Response:
    """A second request with the same Idempotency-Key: nothing is sent; the first request's result comes back
    (from its history entry, and the card as the mirror has it since). The same key with other values is refused."""
    sent = {name: values[1] for name, values in (entry.changes or {}).items()
            if isinstance(values, list) and len(values) == 2}
    if any((submitted.get(name) or "").strip() != (value or "") for name, value in sent.items()):
        raise Problem(422, "idempotency_key_reused",
                      _("This Idempotency-Key was used for a different change."), entry_id=entry.pk)
    if entry.is_success or entry.applied:
        return Response({"outcome": "replayed", "card": _card(number, mirrored_card(number=number)),
                         "changed": list(sent), "others_changed": [], "entry_id": entry.pk, "recheck_after": None})
    if entry.unsettled:
        return Response({"outcome": "unknown", "card": None, "changed": list(sent), "others_changed": [],
                         "entry_id": entry.pk, "recheck_after": entry.recheck_after}, status=202)
    raise Problem(422 if entry.http_status and entry.http_status < 500 else 502, "replayed_failure",
                  _("The first request with this Idempotency-Key failed; send a new key to try again."),
                  entry_id=entry.pk, linq={"status": entry.http_status, "code": entry.linq_code,
                                           "message": entry.error_message, "trace_id": entry.trace_id})


class CardDetail(ApiView):
    @extend_schema(operation_id="card_read", parameters=[SLUG, E164],
                   responses={200: s.CardReadSerializer, **PROBLEMS, **LINQ_PROBLEMS})
    def get(self, request, slug: str, e164: str):
        """The card as Linq has it now (one free GET, as the card page reads it), with its version."""
        number, _membership = self.number(request, slug, e164)
        load = card_fetch(number=number)
        if load.error is not None:
            raise linq_problem(load.error)
        card = _card(number, load.card)
        headers = {"ETag": f'"{card["version"]}"'} if card else None
        return Response({"card": card}, headers=headers)

    @extend_schema(operation_id="card_update", parameters=[SLUG, E164, IDEMPOTENCY], request=s.CardPatchSerializer,
                   responses={200: s.SaveResultSerializer, 202: s.SaveResultSerializer, **PROBLEMS,
                              409: OpenApiResponse(s.ProblemSerializer, description=_("Changed at Linq since your "
                                                   "version (conflict), no card, or busy: nothing was sent.")),
                              422: OpenApiResponse(s.ProblemSerializer, description=_("Refused by Linq or the photo "
                                                   "check.")), **LINQ_PROBLEMS})
    def patch(self, request, slug: str, e164: str):
        """Change some fields of an active card: only the fields given, checked against the version read (a field
        also changed at Linq since is a 409 conflict, and nothing is sent)."""
        number, _membership = self.number(request, slug, e164)
        body = s.CardPatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        loaded = loaded_of(body.validated_data["version"])
        if loaded is None:
            raise Problem(400, "invalid", _("The request is not valid."),
                          errors={"version": [_("Not a version this API gave; read the card again.")]})
        wanted = {name: body.validated_data.get(name, loaded[name]) for name in CARD_FIELDS}
        form = _checked(wanted, loaded=loaded)
        token = _save_token(request, request.headers.get("Idempotency-Key"))
        outcome = card_update(number=number, user=request.user, loaded=loaded, submitted=form.submitted(),
                              token=token, client_ip=client_ip(request._request), api_token=request.auth)
        return _result(number, outcome, submitted=form.submitted())

    @extend_schema(operation_id="card_create", parameters=[SLUG, E164, IDEMPOTENCY], request=s.CardCreateSerializer,
                   responses={201: s.SaveResultSerializer, 202: s.SaveResultSerializer, **PROBLEMS,
                              409: OpenApiResponse(s.ProblemSerializer,
                                                   description=_("The number has a card already.")),
                              422: OpenApiResponse(s.ProblemSerializer, description=_("Refused by Linq or the photo "
                                                   "check.")), **LINQ_PROBLEMS})
    def post(self, request, slug: str, e164: str):
        """Set up the number's card (or set a pending one up again): the whole card."""
        number, _membership = self.number(request, slug, e164)
        body = s.CardCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        form = _checked(body.validated_data, loaded=None)
        token = _save_token(request, request.headers.get("Idempotency-Key"))
        outcome = card_create(number=number, user=request.user, submitted=form.submitted(), token=token,
                              client_ip=client_ip(request._request), api_token=request.auth)
        return _result(number, outcome, submitted=form.submitted(), created=True)


# -- the history ---------------------------------------------------------------------------------


def _filters(request, team):
    """The history page's own filter form over the query (400 with its messages when it refuses)."""
    query = _query(s.HistoryQuerySerializer, request)
    form = HistoryFilterForm(request.query_params, team=team, members=history_members(team=team))
    if not form.is_valid():
        raise Problem(400, "invalid", _("The request is not valid."),
                      errors={name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return form.filters(), query


class HistoryList(ApiView):
    @extend_schema(operation_id="history_list", parameters=[SLUG, s.HistoryQuerySerializer],
                   responses={200: s.HistoryPageSerializer, **PROBLEMS})
    def get(self, request, slug: str):
        """The team's history, newest first, 50 a page, filtered as on the history page (keyset cursors)."""
        team, _membership = self.team(request, slug)
        filters, query = _filters(request, team)
        before = Cursor.decode(query["before"]) if query.get("before") else None
        after = Cursor.decode(query["after"]) if query.get("after") and before is None else None
        page = history_page(team=team, filters=filters, before=before, after=after)
        names = token_names(ids={e.api_token_id for e in page.entries if e.api_token_id})
        return Response({
            "entries": [{
                "id": e.pk, "created_at": e.created_at, "number": e.phone_number, "username": e.username,
                "api_token": names.get(e.api_token_id) if e.api_token_id else None, "action": e.action,
                "subject": e.subject, "changes": e.changes, "outcome": e.outcome, "request_sent": e.request_sent,
                "applied": e.applied, "http_status": e.http_status, "linq_code": e.linq_code,
                "error_message": e.error_message, "trace_id": e.trace_id, "job": e.job_id,
            } for e in page.entries],
            "older": page.older.encode() if page.older else None,
            "newer": page.newer.encode() if page.newer else None,
            "searched_back_to": page.searched_back_to,
        })


class HistoryCsv(ApiView):
    renderer_classes = [CsvRenderer, ProblemRenderer]

    @extend_schema(operation_id="history_csv", parameters=[SLUG, s.HistoryQuerySerializer],
                   responses={(200, "text/csv"): OpenApiResponse(
                       OpenApiTypes.STR, description=_("The filtered history as CSV, as the history page exports.")),
                              **PROBLEMS})
    def get(self, request, slug: str):
        team, _membership = self.team(request, slug)
        filters, _query_data = _filters(request, team)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response = StreamingHttpResponse(csv_lines(history_export_rows(team=team, filters=filters)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{team.slug}-history-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


# -- jobs -------------------------------------------------------------------------------------------


def _job(job: Job) -> dict:
    progress = jobs.job_progress(job)
    return {"id": job.pk, "source": job.source, "description": job.description, "created_at": job.created_at,
            "created_by": job.username, "finished": progress.finished, "cancelled": progress.cancelled,
            "total": progress.total, "done": progress.done, "percent": progress.percent,
            "counts": progress.counts, "waiting_until": progress.waiting_until}


class JobCreate(ApiView):
    @extend_schema(operation_id="jobs_create", parameters=[SLUG], request=s.JobCreateSerializer,
                   responses={200: s.JobResultSerializer, 201: s.JobResultSerializer, **PROBLEMS,
                              422: OpenApiResponse(s.ProblemSerializer, description=_("Some rows are refused "
                                                   "(skip_refused sends the others), or nothing to do.")),
                              **LINQ_PROBLEMS})
    def post(self, request, slug: str):
        """Change many cards from rows, exactly as the CSV import does (the same columns, checks and preview):
        ``dry_run`` previews only; otherwise a job is made and run by the task queue. Labels and tags need an
        owner's token with the admin scope."""
        team, membership = self.team(request, slug)
        body = s.JobCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        parsed = parse_rows([dict(row) for row in data["rows"]])
        if not parsed.ok:
            raise Problem(400, "invalid_rows", _("The rows cannot be read."), errors={"rows": parsed.problems})
        owner = membership.is_owner and "admin" in token_scopes(request)
        plan = owner_only_rows(build_plan(team, parsed.targets), owner=owner)
        if plan.error is not None:
            raise linq_problem(plan.error)
        skip_refused = data["skip_refused"]
        rows = [{"row": r.row, "number": r.e164, "kind": r.kind, "changes": r.changes,
                 "reasons": [str(reason) for reason in r.reasons], "label": r.label, "tags": r.tags,
                 "waits_until": r.waits_until} for r in plan.rows]
        answer = {"dry_run": data["dry_run"], "confirmable": plan.confirmable(skip_refused=skip_refused),
                  "counts": plan.counts, "rows": rows, "job": None}
        if data["dry_run"]:
            return Response(answer)
        if not answer["confirmable"]:
            raise Problem(422, "not_confirmable", _("Nothing was started: some rows are refused, or nothing would "
                                                    "change."), counts=plan.counts, rows=rows)
        job = jobs.job_create(team=team, user=request.user, plan=plan, source=Job.Source.API,
                              skip_refused=skip_refused, api_token=request.auth,
                              description=data.get("description") or _("API: %(rows)d rows") % {"rows": len(rows)})
        return Response({**answer, "job": _job(job)}, status=201)


def _job_id(text: str) -> int:
    """A job id from the path (any other text: no such job, 0)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0


class JobDetail(ApiView):
    @extend_schema(operation_id="jobs_read", parameters=[SLUG, JOB_ID], responses={200: s.JobSerializer, **PROBLEMS})
    def get(self, request, slug: str, pk: str):
        """A job's progress: counts per state, done, percent, finished."""
        team, _membership = self.team(request, slug)
        job = team_job(team=team, pk=_job_id(pk))
        if job is None:
            raise exceptions.NotFound()
        return Response(_job(job))


class JobCancel(ApiView):
    @extend_schema(operation_id="jobs_cancel", parameters=[SLUG, JOB_ID], request=None,
                   responses={200: s.CancelSerializer, **PROBLEMS})
    def post(self, request, slug: str, pk: str):
        """Cancel the items not yet sent (an item being sent finishes)."""
        team, _membership = self.team(request, slug)
        job = team_job(team=team, pk=_job_id(pk))
        if job is None:
            raise exceptions.NotFound()
        stopped = jobs.job_cancel(job=job, user=request.user)
        return Response({"stopped": stopped, "job": _job(job)})


# -- the schema and its docs page ------------------------------------------------------------------


@method_decorator(login_not_required, name="dispatch")
class Schema(SpectacularAPIView):
    """The OpenAPI 3.0 schema, generated from the views above (no token needed)."""

    renderer_classes = [OpenApiJsonRenderer]
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []


@login_not_required
@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    """Swagger UI over the schema, from our own static files (no CDN; the page's CSP holds)."""
    return render(request, "api/docs.html", {"schema_url": reverse("api_schema")})
