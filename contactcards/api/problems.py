"""Errors as problem details (RFC 9457, ``application/problem+json``): one shape for every refusal.

``type`` is a URN naming the case (``urn:linqadmin:problem:conflict``), ``title`` and ``detail`` say it in
words, ``status`` repeats the HTTP status. When Linq refused, ``linq`` carries what Linq said: its HTTP
status, code, message and trace id. Which case a Linq error is comes from ``common.errors.reason_of`` -
the same reading the pages use.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from contactcards.common.errors import reason_of, wait_asked
from contactcards.linq import LinqError

PROBLEM_TYPE = "application/problem+json"


class Problem(exceptions.APIException):
    """A refusal with its case (``kind``), words, and anything else the client may use (``extra``)."""

    def __init__(self, status_code: int, kind: str, title: str, detail: str = "", *,
                 retry_after: int | None = None, **extra) -> None:
        super().__init__(detail or title)
        self.status_code, self.kind, self.title, self.text = status_code, kind, title, detail
        self.retry_after, self.extra = retry_after, extra


def problem_response(status_code: int, kind: str, title: str, detail: str = "", *,
                     retry_after: int | None = None, **extra) -> Response:
    body = {"type": f"urn:linqadmin:problem:{kind}", "title": str(title), "status": status_code}
    if detail:
        body["detail"] = str(detail)
    body.update({name: value for name, value in extra.items() if value is not None})
    headers = {"Retry-After": str(max(0, int(retry_after)))} if retry_after is not None else None
    if status_code == status.HTTP_401_UNAUTHORIZED:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="api"'}
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_TYPE)


def seconds_until(moment: datetime | None) -> int:
    if moment is None:
        return 0
    return max(1, int((moment - timezone.now()).total_seconds() + 0.999))


def linq_facts(error: LinqError) -> dict:
    return {"status": error.status, "code": error.code if error.code is not None else error.code_text,
            "message": error.message or "", "trace_id": error.trace_id or "", "kind": error.kind}


def linq_problem(error: LinqError, *, entry_id: int | None = None) -> Problem:
    """Linq refused, or could not be reached: what status we answer, with Linq's own facts."""
    reason = reason_of(error)
    extra = {"linq": linq_facts(error), "entry_id": entry_id, "reason": reason}
    if wait_asked(error):
        return Problem(429 if error.status == 429 else 503, "linq_wait", _("Linq asked to wait before writing again."),
                       retry_after=error.retry_after or 60, **extra)
    if error.kind == "token":
        return Problem(503, "linq_token", _("The team has no usable Linq token; an owner must set one."), **extra)
    if error.kind == "timeout":
        return Problem(504, "linq_timeout", _("Linq did not answer in time."), **extra)
    if error.kind in ("connection", "malformed"):
        return Problem(502, "linq_unreachable", _("Linq could not be reached or gave an answer we do not understand."),
                       **extra)
    if error.status in (401, 403):
        return Problem(502, "linq_token", _("Linq refused the team's token; an owner must check it."), **extra)
    if error.status is not None and 400 <= error.status < 500:
        return Problem(422, "linq_refused", _("Linq refused the change."), error.message or "", **extra)
    return Problem(502, "linq_error", _("Linq failed to handle the request."), error.message or "", **extra)


def exception_handler(exc, context) -> Response | None:
    """DRF's exception handler, answering in problem details. Anything not handled here is a bug (a 500)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.kind, exc.title, exc.text, retry_after=exc.retry_after,
                                **exc.extra)
    if isinstance(exc, exceptions.Throttled):
        return problem_response(429, "rate_limited", _("Too many requests for this token; wait and try again."),
                                retry_after=int(exc.wait or 1) if exc.wait is not None else 1)
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return problem_response(400, "invalid", _("The request is not valid."), errors=errors)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return problem_response(401, "unauthenticated",
                                _("Send a valid, unexpired, unrevoked API token: Authorization: Bearer <token>."),
                                str(exc.detail) if isinstance(exc, exceptions.AuthenticationFailed) else "")
    if isinstance(exc, exceptions.PermissionDenied):
        return problem_response(403, "forbidden", _("This token may not do that."), str(exc.detail))
    if isinstance(exc, exceptions.NotFound):
        return problem_response(404, "not_found", _("Not found."))
    if isinstance(exc, exceptions.MethodNotAllowed):
        return problem_response(405, "method_not_allowed", _("Method not allowed."))
    if isinstance(exc, exceptions.NotAcceptable):
        return problem_response(406, "not_acceptable", _("The requested media type cannot be served."))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return problem_response(415, "unsupported_media_type", _("Send JSON (Content-Type: application/json)."))
    if isinstance(exc, exceptions.ParseError):
        return problem_response(400, "parse_error", _("The request body is not valid JSON."))
    return problem_response(exc.status_code, "error", str(exc.detail))
