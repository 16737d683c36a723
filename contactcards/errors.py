"""Turn a LinqError into words a person can act on, and place it on a field or the form."""

from __future__ import annotations

from dataclasses import dataclass

from .linq import LinqError

# Linq codes that are about the image_url the person typed.
_IMAGE_CODES = {5001, 5002, 5004, 5005, 5006, 5007}


@dataclass(frozen=True)
class ErrorView:
    title: str
    advice: str
    field: str | None = None
    code: int | None = None
    status: int | None = None
    trace_id: str | None = None
    retry_after: int | None = None
    message: str = ""
    # Offer "Retry now" (the same changes, a new one-time token): only when the change
    # certainly did not take effect and trying again soon can help (2022, 5xx, nothing sent).
    offer_retry: bool = False
    # For 401/403: where an owner fixes the token (None for editors).
    settings_url: str | None = None
    applied: bool | None = None


def field_for(error: LinqError) -> str | None:
    if error.code in _IMAGE_CODES:
        return "image_url"
    if error.code in (1001, 1005) and error.message:
        for name in ("first_name", "last_name", "image_url"):
            if name in error.message:
                return name
    return None


def describe(
    error: LinqError, *, is_owner: bool = False, settings_url: str | None = None, applied: bool | None = None,
) -> ErrorView:
    """Plain words for what happened and what to do next.

    ``applied`` is what a re-read found after a write whose outcome was unknown.
    """
    code, status = error.code, error.status
    wait = error.retry_after
    token_advice = (
        "Check the team's Linq token in the team settings." if is_owner
        else "Ask an owner of this team to check the team's Linq token."
    )
    if error.kind == "token":
        title = error.message
        advice = ("Set it in the team settings." if is_owner
                  else "Ask an owner of this team to set the team's Linq token.")
    elif error.outcome_unknown and applied is True:
        title = _unanswered(error) + " The card was re-read afterwards: your change took effect."
        advice = "Nothing more to do; the card below is what Linq has now."
    elif error.outcome_unknown and applied is False:
        title = _unanswered(error) + " The card was re-read afterwards: your change did not take effect."
        advice = "Nothing changed at Linq. Your input is kept below; you can retry now."
    elif error.kind == "timeout":
        title = "Linq did not answer in time."
        advice = ("Linq may or may not have applied the change; reload the card to see its current state "
                  "before trying again." if error.sent else "Nothing was sent. Try again in a moment.")
    elif error.kind == "connection":
        title = "Linq could not be reached." if not error.sent else "The connection to Linq was dropped."
        advice = ("Nothing was sent. Check the network or Linq's status, then try again."
                  if not error.sent else
                  "Linq may or may not have applied the change; reload the card before trying again.")
    elif error.kind == "malformed":
        title = "Linq answered in an unexpected format."
        advice = "Reload the card to see its current state. If this keeps happening, contact Linq support."
    elif status == 429 or code == 1007:
        title = "This number has used its Linq write budget (3 changes per 10 minutes)."
        advice = f"Try again in {_seconds(wait)}." if wait is not None else "Wait a few minutes, then try again."
    elif code == 4004 or status == 503:
        title = ("Linq's upstream service is rate-limited: the change was not applied, and the card is left "
                 "not active (pending) until a later write succeeds.")
        advice = (f"Try again in {_seconds(wait)}, not sooner: repeated attempts extend Linq's limit."
                  if wait is not None else
                  "Wait at least a minute before trying again: repeated attempts extend Linq's limit.")
    elif code == 2022:
        title = "Linq could not complete the card setup."
        advice = "This is usually temporary: try again in a few seconds."
    elif code == 2004 or status == 401:
        title = "Linq rejected the team's API token."
        advice = token_advice
    elif code in (2005, 2006) or status == 403:
        title = "Linq refused access to this number."
        advice = "The team's token may not cover this number. " + token_advice
    elif code == 2014:
        title = "A contact card already exists for this number."
        advice = "The existing card has been loaded; edit it below."
    elif code == 2012:
        title = "Linq has no contact card for this number."
        advice = "Set one up with the form below."
    elif code == 1002:
        title = "Linq says this number is not in E.164 format."
        advice = "Check the number in the team settings."
    elif code in _IMAGE_CODES:
        title = "Linq could not use this image."
        advice = "Use a public https link to a JPEG or PNG image that opens without signing in."
    elif status is not None and status >= 500:
        title = "Linq had an internal problem."
        advice = "Try again in a little while. If it persists, contact Linq support with the trace id."
    elif status is not None and status >= 400:
        title = "Linq refused the change."
        advice = "Check the values and try again."
    else:
        title = "The call to Linq failed."
        advice = "Try again in a little while."
    token_problem = error.kind == "token" or code in (2004, 2005, 2006) or status in (401, 403)
    return ErrorView(
        title=title, advice=advice, field=field_for(error), code=code, status=status,
        trace_id=error.trace_id, retry_after=wait, message=error.message,
        offer_retry=_offer_retry(error, applied), applied=applied,
        settings_url=settings_url if is_owner and token_problem else None,
    )


def _unanswered(error: LinqError) -> str:
    if error.kind == "timeout":
        return "Linq did not answer in time."
    if error.kind == "connection":
        return "The connection to Linq was dropped."
    return "Linq's answer could not be read."


def _offer_retry(error: LinqError, applied: bool | None) -> bool:
    """Whether a "Retry now" of the same changes makes sense (a person decides; never automatic)."""
    if error.kind == "token":
        return False
    if error.outcome_unknown:
        return applied is False
    if not error.sent:
        return True
    if error.kind != "api" or error.code == 4004 or error.status in (429, 503):
        return False
    return error.code == 2022 or (error.status is not None and error.status >= 500)


def _seconds(value: int) -> str:
    if value < 90:
        return f"{value} second{'s' if value != 1 else ''}"
    minutes = (value + 59) // 60
    return f"{minutes} minutes"
