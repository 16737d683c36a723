"""What a failed Linq call means, decided in this one place - never worded here.

The client (``linq/``) gives the facts: kind, HTTP status, Linq code, wait, trace id, Linq's
message, whether the request was sent. :func:`meaning` turns them into a ``reason`` (one word
per case), the form field it is about, whether "Retry now" can help, and whether the team's
token is the problem. ``templates/includes/error_words.html`` words each reason; pages and
commands render that template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contactcards.common.clients import TOKEN_UNREADABLE
from contactcards.linq import LinqError
from contactcards.linq.client import CARD_FIELDS

# Linq codes that are about the image_url the person typed.
IMAGE_CODES = frozenset({5001, 5002, 5004, 5005, 5006, 5007})
TOKEN_REASONS = frozenset({"token_missing", "token_unreadable"})
# 403/2027: the line is temporarily ineligible (reads work, writes are refused); not the token's fault.
LINE_INELIGIBLE = 2027


@dataclass(frozen=True)
class ErrorMeaning:
    """A failed call, understood. ``reason`` is one of the cases of :func:`reason_of`."""

    reason: str
    kind: str = "api"  # the client's kind: api, timeout, connection, malformed, token
    field: str | None = None  # the form field it is about, if any
    offer_retry: bool = False  # "Retry now" (the same changes, a person decides) can help
    fix_token: bool = False  # the team's token is the problem: an owner fixes it in the settings
    applied: bool | None = None  # after an unanswered write: True when the re-read showed it
    recheck_at: datetime | None = None  # an unanswered write the re-read did not show: when a read settles it
    sent: bool = True
    status: int | None = None
    code: int | None = None
    code_text: str | None = None  # a code Linq sent that is not a storable number (-1, 2**40): shown as sent
    trace_id: str | None = None
    retry_after: int | None = None
    message: str = ""  # Linq's own words (or the client's, for failures without an answer)

    @property
    def retry_after_minutes(self) -> int:
        return -(-(self.retry_after or 0) // 60)

    @property
    def no_token(self) -> bool:
        """No call could be made at all: there is no usable token."""
        return self.reason in TOKEN_REASONS


def meaning(error: LinqError, *, applied: bool | None = None, recheck_at: datetime | None = None) -> ErrorMeaning:
    """What ``error`` means. After a write whose answer did not say: ``applied`` True when the re-read
    showed the change, else ``recheck_at``, when a read settles it (Linq may still apply it until then)."""
    reason = reason_of(error, applied, unsettled=recheck_at is not None)
    return ErrorMeaning(
        reason=reason, kind=error.kind, field=field_for(error), offer_retry=_offer_retry(error),
        fix_token=reason in TOKEN_REASONS or reason in ("token_rejected", "access_refused"),
        applied=applied, recheck_at=recheck_at, sent=error.sent, status=error.status, code=error.code,
        code_text=error.code_text,
        trace_id=error.trace_id, retry_after=error.retry_after, message=error.message,
    )


def reason_of(error: LinqError, applied: bool | None = None, *, unsettled: bool = False) -> str:
    code, status = error.code, error.status
    if error.kind == "token":
        return "token_unreadable" if error.message == TOKEN_UNREADABLE else "token_missing"
    if error.outcome_unknown and applied is True:
        return "unanswered_applied"
    if error.outcome_unknown and unsettled:
        return "unanswered"
    if error.kind in ("timeout", "connection", "malformed"):
        return error.kind
    if status == 429 or code == 1007:
        return "budget_spent"
    if code == 4004 or status == 503:
        return "upstream_limited"
    if code == 2022:
        return "setup_incomplete"
    if code == 2004 or status == 401:
        return "token_rejected"
    if code == LINE_INELIGIBLE:
        return "line_ineligible"
    if code in (2005, 2006) or status == 403:
        return "access_refused"
    if code == 2014:
        return "card_exists"
    if code == 2012:
        return "no_card"
    if code == 1002:
        return "not_e164"
    if code in IMAGE_CODES:
        return "image"
    if status is not None and status >= 500:
        return "linq_internal"
    if status is not None and status >= 400:
        return "refused"
    return "failed"


def field_for(error: LinqError) -> str | None:
    if error.code in IMAGE_CODES:
        return "image_url"
    if error.code in (1001, 1005) and error.message:
        for name in CARD_FIELDS:
            if name in error.message:
                return name
    return None


def wait_asked(error: LinqError) -> bool:
    """Linq asked us to wait before writing again: 429 (the write budget, or a rate limit), 503/4004."""
    return error.status == 429 or (error.status == 503 and error.code in (4004, None))


def may_pass(error: LinqError) -> bool:
    """A refusal that trying the same change again can get past (the one rule pages and jobs follow):
    the call never left, Linq's own retryable codes (500/2022, 3001-3006, ...), or a server error."""
    if error.kind == "token" or error.outcome_unknown or wait_asked(error):
        return False
    return error.retryable or (error.status is not None and error.status >= 500)


def _offer_retry(error: LinqError) -> bool:
    """Whether a "Retry now" of the same changes makes sense (a person decides; never automatic)."""
    return may_pass(error)
