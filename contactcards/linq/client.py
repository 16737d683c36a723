"""A small, strict client for Linq's contact-card and phone-number endpoints.

Design rules, from ``shared/docs/linq-api.md``:

* Every failure - an API error envelope, a timeout, a refused connection, a
  proxy's HTML 502, a 200 whose JSON is not the documented shape - becomes one
  exception type, :class:`LinqError`. Callers never see a ``requests`` error.
* Writes (POST, PATCH) are **never retried** here: each one spends the number's
  budget of three writes per ten minutes. Retrying is a decision for a person.
* ``update_card`` sends exactly the fields it is given and nothing else.
* Everything Linq sends is parsed defensively here, at the boundary, so no answer can break a
  page or a database write further in (see "Odd answers" below and docs/audit-history.md).

Odd answers, and what the client makes of them (each one is a row of the table-driven test
``tests/test_odd_answers.py``, sent over HTTP by the sandbox):

* waits (``retry_after`` in the body, ``Retry-After`` as seconds or an HTTP date) are clamped to
  ``0 .. MAX_RETRY_AFTER`` seconds: negative -> 0; ``1e400``, infinity, NaN, a date in 2105 -> the
  maximum (one day: longer than any wait Linq documents, short enough to show and to store);
* an error ``code`` outside ``0 .. MAX_CODE`` (Postgres ``integer``) is kept as text in
  ``code_text`` and ``code`` is None; a code sent as a numeric string or a whole float is accepted;
* a trace id longer than ``MAX_TRACE_ID`` characters keeps its start and gets a hash of the whole
  value (so support can still match it); control characters are removed;
* every string loses NUL characters and unpaired surrogates (Postgres refuses both), and texts
  shown to people (messages) are cut at ``MAX_MESSAGE`` characters;
* names and image URLs of the wrong type (a number, a list, an object) are treated as absent;
* a body larger than ``MAX_BODY_BYTES`` is not read beyond that; deeply nested JSON, a UTF-8 BOM,
  invalid UTF-8 or a redirect are "answers this app does not understand", never exceptions.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import json as jsonlib
import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import requests

if TYPE_CHECKING:  # (the tracing hook's types)
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    CallSpan = Callable[[str, str, str], AbstractContextManager[Callable[..., None]]]

DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
CARD_FIELDS = ("first_name", "last_name", "image_url")

# "token": no usable API token, so nothing was sent (see LinqClient's token_problem).
ErrorKind = Literal["api", "timeout", "connection", "malformed", "token"]

# Linq codes after which the same request may succeed if tried again later.
_RETRYABLE_CODES = {1007, 2015, 2022, 3001, 3002, 3003, 3004, 3005, 3006, 4004}

# Limits on what Linq can hand us (documented in the module docstring and the README).
MAX_RETRY_AFTER = 86_400  # seconds: a wait longer than a day is read as "a day"
MAX_CODE = 2**31 - 1  # the largest code stored as a number (Postgres integer)
MAX_TRACE_ID = 64  # characters, the audit column's size
MAX_MESSAGE = 1000  # characters of an error message kept
MAX_BODY_BYTES = 1_048_576  # bytes of an answer read; a card answer is well under 2 KB
_CHUNK = 65_536
logger = logging.getLogger(__name__)
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


# Tracing (contactcards/common/tracing_otel.py) puts a span around each call when it is on: a function
# of (method, route template, base URL) giving a context manager whose value is told the answer (status,
# Linq's code, the error's kind, Linq's trace id). None - tracing off - costs one check per call; this module never
# imports OpenTelemetry, and no hook ever sees the token, a header or a body.
_call_span: CallSpan | None = None


def set_call_span(hook: CallSpan | None) -> None:
    """Put ``hook`` around every call of every client (None: no span)."""
    global _call_span
    _call_span = hook


def _spanned(request: Callable[..., tuple[Any, int, str | None, int]]):
    """``LinqClient._request`` inside the call span, when there is one."""

    @functools.wraps(request)
    def call(self: LinqClient, method: str, path: str, **options: Any) -> tuple[Any, int, str | None, int]:
        hook = _call_span
        if hook is None:
            return request(self, method, path, **options)
        with hook(method, route_template(path), self.base_url) as answered:
            try:
                result = request(self, method, path, **options)
            except LinqError as error:
                answered(status=error.status, code=error.code if error.code is not None else error.code_text,
                         kind=error.kind, trace_id=error.trace_id)
                raise
            answered(status=result[1], code=None, kind=None, trace_id=result[2])
            return result

    return call


@dataclass(frozen=True)
class Card:
    """A contact card as Linq returns it."""

    phone_number: str
    first_name: str
    last_name: str | None = None
    image_url: str | None = None
    is_active: bool = False

    def fields(self) -> dict[str, str]:
        """The editable fields, with absent values as empty strings."""
        return {name: getattr(self, name) or "" for name in CARD_FIELDS}


@dataclass(frozen=True)
class CardResult:
    """The outcome of a successful write: the card Linq stored, plus call facts."""

    card: Card
    status: int
    trace_id: str | None
    duration_ms: int


# A line's health as Linq says it (§5): ``status`` of the line, ``reputation`` (BETA). A value this client does
# not know is kept as UNKNOWN (never an error); an absent or unreadable one is None ("not said").
LINE_STATUSES = ("ACTIVE", "FLAGGED")
REPUTATIONS = ("HEALTHY", "AT_RISK", "CRITICAL")
UNKNOWN = "UNKNOWN"
MAX_DOC_URL = 500


def parse_line_value(value: Any, known: tuple[str, ...]) -> str | None:
    """A status or reputation from Linq: one of ``known`` (any case, spaces or dashes for underscores),
    UNKNOWN for any other text, None when absent or not text."""
    if not isinstance(value, str):
        return None
    text = clean_text(value, 100).strip().upper().replace("-", "_").replace(" ", "_")
    if not text:
        return None
    return text if text in known else UNKNOWN


def parse_doc_url(value: Any) -> str | None:
    """Linq's documentation link, only when it is an http(s) URL of sane length (else None)."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", clean_text(value)).strip()
    if len(text) > MAX_DOC_URL or not re.match(r"^https?://[^\s/]+", text, re.IGNORECASE):
        return None
    return text


def parse_reputation(value: Any) -> tuple[str | None, str | None]:
    """(reputation, doc_url) from ``{"status": ..., "doc_url": ...}``, or from a bare string."""
    if isinstance(value, dict):
        return parse_line_value(value.get("status"), REPUTATIONS), parse_doc_url(value.get("doc_url"))
    return parse_line_value(value, REPUTATIONS), None


@dataclass(frozen=True)
class PhoneNumberInfo:
    id: str
    phone_number: str
    line_type: str | None = None
    reputation: str | None = None  # HEALTHY, AT_RISK, CRITICAL, UNKNOWN, or None (not said)
    forwarding_number: str | None = None
    status: str | None = None  # ACTIVE, FLAGGED, UNKNOWN, or None (not said)
    doc_url: str | None = None  # Linq's page about the reputation (http/https only)


@dataclass
class LinqError(Exception):
    """Any failed call to Linq.

    ``kind`` tells API errors (Linq answered with an error) from network
    failures (``timeout``, ``connection``) and answers we could not read
    (``malformed``). ``sent`` is False only when the request certainly did not
    reach Linq (connect failure), so a write's outcome is known to be "nothing
    happened"; after a read timeout the outcome of a write is unknown.
    """

    message: str
    kind: ErrorKind = "api"
    status: int | None = None
    code: int | None = None
    retry_after: int | None = None
    trace_id: str | None = None
    doc_url: str | None = None
    code_text: str | None = None  # a code Linq sent that does not fit ``code`` (see parse_code)
    sent: bool = True
    duration_ms: int = 0
    body: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None or self.code_text:
            parts.append(f"Linq code {self.code if self.code is not None else self.code_text}")
        return " - ".join(parts)

    @property
    def outcome_unknown(self) -> bool:
        """True when a write may or may not have been applied by Linq: no usable answer, or an error
        page (HTTP 5xx) without Linq's error code - a proxy's 502/504 says nothing about what Linq did.
        Only Linq's own error (with its code) or a 4xx says "not applied" (models.unanswered_q: the same rule)."""
        if not self.sent:
            return False
        if self.kind in ("timeout", "connection", "malformed"):
            return self.status is None or self.status < 400
        return (self.kind == "api" and self.status is not None and self.status >= 500
                and self.code is None and self.code_text is None)

    @property
    def retryable(self) -> bool:
        """Whether trying the same request again later can help."""
        if self.kind == "token":
            return False
        if self.kind != "api":
            return True
        if self.code in _RETRYABLE_CODES:
            return True
        if self.code is None and self.status is not None:
            return self.status == 429 or self.status >= 500
        return False


def clean_text(value: str, limit: int | None = None) -> str:
    """A string from Linq made safe to store: no NUL, no unpaired surrogates, at most ``limit`` chars."""
    value = _UNSAFE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)
    return value[:limit] if limit is not None else value


def _clean_payload(value: Any) -> Any:
    """Every string in a decoded JSON answer (keys too) passed through clean_text."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_payload(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(str(key)): _clean_payload(item) for key, item in value.items()}
    return value


def _clamp_wait(seconds: float) -> int:
    if math.isnan(seconds) or seconds >= MAX_RETRY_AFTER:
        return MAX_RETRY_AFTER
    return 0 if seconds <= 0 else math.ceil(seconds)


def parse_retry_after(value: Any, *, now: float | None = None) -> int | None:
    """Seconds to wait, from a number or an HTTP date, clamped to 0..MAX_RETRY_AFTER; None if unreadable."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return _clamp_wait(float(value))
        except OverflowError:  # an integer too large for a float
            return MAX_RETRY_AFTER if value > 0 else 0
    if not isinstance(value, str):
        return None
    text = clean_text(value, 200).strip()
    try:
        return _clamp_wait(float(text))  # "1e400" -> inf -> the maximum; "nan" -> the maximum
    except (ValueError, OverflowError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC)
    try:
        return _clamp_wait((when - current).total_seconds())
    except OverflowError:
        return MAX_RETRY_AFTER


def parse_code(value: Any) -> tuple[int | None, str | None]:
    """Linq's error code as (code, code_text): any integer is accepted; one outside 0..MAX_CODE
    (or not an integer at all) keeps ``code`` None and its text in ``code_text``."""
    if value is None or isinstance(value, bool):
        return None, None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,40}", value.strip()):
        number = int(value.strip())
    if number is not None and 0 <= number <= MAX_CODE:
        return number, None
    text = clean_text(str(number if number is not None else value), 200)
    return None, (text[:40] + "…" if len(text) > 40 else text) or None


def clean_trace_id(value: Any) -> str | None:
    """A trace id safe to store and show: text without control characters, at most MAX_TRACE_ID chars.

    A longer one keeps its first characters and ends with ``~`` and 16 hex digits of its SHA-256,
    so two long ids still differ and support can match the original."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", clean_text(value)).strip()
    if not text:
        return None
    if len(text) <= MAX_TRACE_ID:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
    return text[: MAX_TRACE_ID - 17] + "~" + digest


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    """A text field; absent when missing or of the wrong type (a number, a list, an object)."""
    value = data.get(key)
    return clean_text(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class Subscription:
    """A webhook subscription at Linq. ``signing_secret`` is only ever in the answer to a create."""

    id: str
    target_url: str
    subscribed_events: tuple[str, ...] = ()
    phone_numbers: tuple[str, ...] = ()
    is_active: bool = True
    signing_secret: str | None = field(default=None, repr=False)


def parse_subscription(data: Any) -> Subscription:
    """A Subscription from one JSON object; TypeError/KeyError on a bad shape."""
    if not isinstance(data, dict):
        raise TypeError("subscription is not an object")
    ident, target = data["id"], data.get("target_url") or ""
    events, numbers = data.get("subscribed_events") or [], data.get("phone_numbers") or []
    if not isinstance(ident, (str, int)) or isinstance(ident, bool) or not isinstance(target, str):
        raise TypeError("id or target_url has the wrong type")
    if not isinstance(events, list) or not isinstance(numbers, list):
        raise TypeError("subscribed_events or phone_numbers is not a list")
    active = data.get("is_active", True)
    secret = data.get("signing_secret")
    return Subscription(
        id=clean_text(str(ident), 200), target_url=clean_text(target, 2000),
        subscribed_events=tuple(clean_text(str(e), 100) for e in events),
        phone_numbers=tuple(clean_text(str(n), 32) for n in numbers),
        is_active=active if isinstance(active, bool) else True,
        signing_secret=secret if isinstance(secret, str) and secret else None,
    )


def parse_card(data: Any) -> Card:
    """Build a Card from one JSON object; TypeError/KeyError when it has no usable phone number."""
    if not isinstance(data, dict):
        raise TypeError("card is not an object")
    phone_number = data["phone_number"]
    if not isinstance(phone_number, str):
        raise TypeError("phone_number is not a string")
    return Card(
        phone_number=clean_text(phone_number),
        first_name=_optional_str(data, "first_name") or "",
        last_name=_optional_str(data, "last_name"),
        image_url=_optional_str(data, "image_url"),
        is_active=data.get("is_active") is True,
    )


@dataclass(frozen=True)
class CallRecord:
    """What an observer learns of one request sent to Linq: never the token, the number or a card value.

    ``endpoint`` is the method and the path's template (``"PATCH /v3/contact_card"``,
    ``"PUT /v3/webhook-subscriptions/{id}"``); ``status`` is None when no HTTP answer came; ``code`` is
    Linq's error code (an int), or its text when it did not fit (``LinqError.code_text``), else None;
    ``error`` is the LinqError kind (None for a 2xx read as JSON); ``outcome_unknown`` as
    ``LinqError.outcome_unknown`` (a write Linq may still apply)."""

    endpoint: str
    status: int | None
    code: int | str | None
    seconds: float
    error: ErrorKind | None = None
    outcome_unknown: bool = False


CallObserver = Callable[[CallRecord], None]


def route_template(path: str) -> str:
    """``path`` with the one variable segment we send (a subscription id) as ``{id}``: what metrics and
    spans name a call by, never an id."""
    if path.startswith("/v3/webhook-subscriptions/"):
        return "/v3/webhook-subscriptions/{id}"
    return path.split("?", 1)[0]


def endpoint_template(method: str, path: str) -> str:
    """``"METHOD /route"`` (see ``route_template``)."""
    return f"{method} {route_template(path)}"


class LinqClient:
    """One team's connection to Linq. Cheap to create; reuses a requests session."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        session: requests.Session | None = None,
        user_agent: str = "linqadmin",
        token_problem: str | None = None,
        time_budget: float | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        """``token_problem``: why there is no usable token (none set, cannot be read). Every call
        then fails with a LinqError of kind "token" before anything is sent, so callers handle it
        like any other failed call.

        ``time_budget``: seconds that all calls made through this client may spend together (one
        web request's share of the worker timeout). Each call's timeouts shrink to what is left, a
        call that would start with less than ``MIN_CALL_SECONDS`` left is not sent (a "timeout"
        error with ``sent=False``), and one call never takes longer than connect + read timeout in
        total, however slowly Linq sends its body.

        ``observer``: called once per request sent (answered or not) with a :class:`CallRecord` - the
        metrics hook (``common.clients``); nothing is called for a call that was not sent (no token, no
        time left). An observer that raises is logged and ignored: it never changes a call's result."""
        self._observer = observer
        self.base_url = base_url.rstrip("/")
        self._token_problem = token_problem or (None if token else "No Linq API token is set.")
        self.timeout = (connect_timeout, read_timeout)
        self._deadline = time.monotonic() + time_budget if time_budget is not None else None
        self._session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }

    def __repr__(self) -> str:  # never show the token
        return f"<LinqClient {self.base_url}>"

    # -- contact cards -------------------------------------------------

    def get_card(self, phone_number: str) -> Card | None:
        """The card of one number, or None when it has none (404/2012 or an empty list)."""
        try:
            payload, _, _, _ = self._request(
                "GET", "/v3/contact_card", params={"phone_number": phone_number}
            )
        except LinqError as error:
            if error.status == 404 and error.code in (2012, None):
                return None
            raise
        cards = self._parse_card_list(payload)
        for card in cards:
            if card.phone_number == phone_number:
                return card
        return cards[0] if cards else None

    def list_cards(self) -> list[Card]:
        """Every card on the account, in one call."""
        payload, _, _, _ = self._request("GET", "/v3/contact_card")
        return self._parse_card_list(payload)

    def create_card(
        self,
        phone_number: str,
        *,
        first_name: str,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> CardResult:
        body = self.create_body(phone_number, first_name=first_name, last_name=last_name, image_url=image_url)
        return self._write("POST", body=body, params=None)

    def update_card(self, phone_number: str, changes: Mapping[str, str]) -> CardResult:
        """PATCH exactly ``changes`` (a subset of first_name/last_name/image_url)."""
        unknown = set(changes) - set(CARD_FIELDS)
        if unknown:
            raise ValueError(f"not card fields: {sorted(unknown)}")
        if not changes:
            raise ValueError("update_card needs at least one field")
        return self._write("PATCH", body=dict(changes), params={"phone_number": phone_number})

    @staticmethod
    def create_body(
        phone_number: str, *, first_name: str, last_name: str | None = None, image_url: str | None = None
    ) -> dict[str, str]:
        """The JSON body ``create_card`` sends, for callers that record it."""
        body: dict[str, str] = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            body["last_name"] = last_name
        if image_url:
            body["image_url"] = image_url
        return body

    # -- phone numbers -------------------------------------------------

    def list_phone_numbers(self) -> list[PhoneNumberInfo]:
        """The numbers the token sees; ``phone_number`` as Linq wrote it (callers normalise it)."""
        payload, status, trace_id, duration = self._request("GET", "/v3/phone_numbers")
        try:
            items = payload["phone_numbers"]
            if not isinstance(items, list):
                raise TypeError("phone_numbers is not a list")
            numbers = []
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("phone_number"), str):
                    raise TypeError("a phone number is not an object with a phone_number string")
                reputation, doc_url = parse_reputation(item.get("reputation"))
                numbers.append(
                    PhoneNumberInfo(
                        id=clean_text(str(item.get("id", "")), 100),
                        phone_number=item["phone_number"],
                        line_type=_optional_str(item, "line_type"),
                        reputation=reputation,
                        forwarding_number=_optional_str(item, "forwarding_number"),
                        status=parse_line_value(item.get("status"), LINE_STATUSES),
                        doc_url=doc_url,
                    )
                )
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._malformed(status, trace_id, duration, f"phone_numbers: {exc}") from None
        return numbers

    # -- webhook subscriptions ------------------------------------------

    def list_webhook_subscriptions(self) -> list[Subscription]:
        payload, status, trace_id, duration = self._request("GET", "/v3/webhook-subscriptions")
        try:
            items = payload if isinstance(payload, list) else next(
                (payload[key] for key in ("subscriptions", "webhook_subscriptions", "data") if key in payload), None)
            if not isinstance(items, list):
                raise TypeError("no list of subscriptions")
            return [parse_subscription(item) for item in items]
        except (KeyError, TypeError) as exc:
            raise self._malformed(status, trace_id, duration, f"subscriptions: {exc}") from None

    def create_webhook_subscription(self, target_url: str, events: list[str],
                                    phone_numbers: list[str] | None = None) -> Subscription:
        """Create a subscription; the answer carries the signing secret, once."""
        body: dict[str, Any] = {"target_url": target_url, "subscribed_events": list(events)}
        if phone_numbers:
            body["phone_numbers"] = list(phone_numbers)
        payload, status, trace_id, duration = self._request("POST", "/v3/webhook-subscriptions", json=body)
        try:
            return parse_subscription(payload.get("subscription", payload) if isinstance(payload, dict) else payload)
        except (KeyError, TypeError) as exc:
            raise self._malformed(status, trace_id, duration, f"subscription: {exc}") from None

    def set_webhook_subscription_active(self, subscription_id: str, active: bool) -> None:
        self._request("PUT", self._subscription_path(subscription_id), json={"is_active": active}, empty_ok=True)

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        self._request("DELETE", self._subscription_path(subscription_id), empty_ok=True)

    @staticmethod
    def _subscription_path(subscription_id: str) -> str:
        return "/v3/webhook-subscriptions/" + quote(subscription_id, safe="")

    # -- plumbing ------------------------------------------------------

    def _write(self, method: str, *, body: dict[str, str], params: dict[str, str] | None) -> CardResult:
        payload, status, trace_id, duration = self._request(method, "/v3/contact_card", params=params, json=body)
        try:
            data = payload.get("contact_card", payload) if isinstance(payload, dict) else payload
            card = parse_card(data)
        except (KeyError, TypeError) as exc:
            raise self._malformed(status, trace_id, duration, f"card: {exc}") from None
        return CardResult(card=card, status=status, trace_id=trace_id, duration_ms=duration)

    def _parse_card_list(self, payload: Any) -> list[Card]:
        try:
            items = payload["contact_cards"]
            if not isinstance(items, list):
                raise TypeError("contact_cards is not a list")
            return [parse_card(item) for item in items]
        except (KeyError, TypeError) as exc:
            raise self._malformed(200, None, 0, f"contact_cards: {exc}") from None

    @staticmethod
    def _malformed(status: int | None, trace_id: str | None, duration: int, detail: str) -> LinqError:
        return LinqError(
            message=f"Linq answered in a shape this app does not understand ({detail}).",
            kind="malformed",
            status=status,
            trace_id=trace_id,
            duration_ms=duration,
        )

    MIN_CALL_SECONDS = 1.0

    def _timeouts(self) -> tuple[float, float]:
        """(connect, read) timeouts for the next call, within what is left of the time budget."""
        if self._deadline is None:
            return self.timeout
        left = self._deadline - time.monotonic()
        if left < self.MIN_CALL_SECONDS:
            raise LinqError(
                "This page ran out of time for calls to Linq, so the request was not sent. Try again.",
                kind="timeout", sent=False,
            )
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    @_spanned
    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        empty_ok: bool = False,
    ) -> tuple[Any, int, str | None, int]:
        """Send one request; return (payload, status, trace_id, duration_ms) or raise LinqError.

        ``empty_ok``: a 2xx without a body is an answer (payload None), as for a DELETE."""
        if self._token_problem:
            raise LinqError(self._token_problem, kind="token", sent=False)
        timeouts = self._timeouts()
        started = time.monotonic()
        try:
            answer = self._exchange(method, path, params=params, json=json, empty_ok=empty_ok,
                                    timeouts=timeouts, started=started)
        except LinqError as error:
            self._observe(CallRecord(
                endpoint=endpoint_template(method, path), status=error.status,
                code=error.code if error.code is not None else error.code_text,
                seconds=time.monotonic() - started, error=error.kind, outcome_unknown=error.outcome_unknown))
            raise
        self._observe(CallRecord(endpoint=endpoint_template(method, path), status=answer[1], code=None,
                                 seconds=time.monotonic() - started))
        return answer

    def _observe(self, record: CallRecord) -> None:
        if self._observer is None:
            return
        try:
            self._observer(record)
        except Exception:  # noqa: BLE001 - metrics must never change what a call returns
            logger.exception("The Linq call observer failed")

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        json: Any,
        empty_ok: bool,
        timeouts: tuple[float, float],
        started: float,
    ) -> tuple[Any, int, str | None, int]:
        """One HTTP exchange (see ``_request``)."""
        url = self.base_url + path
        call_deadline = started + sum(timeouts)

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            # No redirects: a write must never be re-sent somewhere else (a 3xx is an odd answer).
            response = self._session.request(
                method, url, params=params, json=json, headers=self._headers, timeout=timeouts,
                stream=True, allow_redirects=False,
            )
            try:
                raw, complete = self._read_body(response, call_deadline)
            finally:
                response.close()
        except requests.exceptions.ConnectTimeout:
            raise LinqError(
                "Linq could not be reached in time (connect timeout).",
                kind="timeout", sent=False, duration_ms=elapsed(),
            ) from None
        except requests.exceptions.Timeout:
            raise LinqError(
                "Linq did not answer in time (read timeout).", kind="timeout", duration_ms=elapsed()
            ) from None
        except requests.exceptions.ConnectionError as exc:
            # A refused or unresolvable connection never reached Linq; a reset may have.
            reason = str(exc)
            never_sent = any(
                marker in reason
                for marker in ("Connection refused", "Name or service not known", "NewConnectionError",
                               "Failed to resolve", "No route to host")
            )
            raise LinqError(
                "Linq could not be reached (connection failed)." if never_sent
                else "The connection to Linq was dropped before it answered.",
                kind="connection", sent=not never_sent, duration_ms=elapsed(),
            ) from None
        except requests.exceptions.RequestException as exc:
            # Raised while reading the body (e.g. a broken chunked encoding): the request was sent.
            raise LinqError(
                f"Linq's answer could not be read ({type(exc).__name__}).", kind="connection",
                sent=response_started(exc), duration_ms=elapsed(),
            ) from None

        duration = elapsed()
        status = response.status_code
        trace_id = clean_trace_id(response.headers.get("X-Trace-ID"))
        if complete is None and status < 400:  # a refusal (>= 400) is known even if its body is cut short
            raise LinqError("Linq did not finish its answer in time (read timeout).", kind="timeout",
                            trace_id=trace_id, duration_ms=duration)
        payload = self._decode(raw) if complete else None

        if status >= 400:
            raise self._api_error(status, response.headers, raw, payload, trace_id, duration)
        if not complete:
            raise self._malformed(status, trace_id, duration,
                                  f"the answer is larger than {MAX_BODY_BYTES // 1024} KB")
        if payload is None and not (empty_ok and not raw.strip()):
            raise self._malformed(status, trace_id, duration,
                                  f"HTTP {status}, the body is not JSON" if status != 200 else "the body is not JSON")
        return payload, status, trace_id, duration

    @staticmethod
    def _read_body(response: requests.Response, deadline: float) -> tuple[bytes, bool | None]:
        """At most MAX_BODY_BYTES of the body: (bytes, True) when complete, (first bytes, False) when
        larger, (bytes so far, None) when the call's deadline passed first."""
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return b"".join(chunks)[:MAX_BODY_BYTES], False
            if time.monotonic() > deadline:
                return b"".join(chunks), None
        return b"".join(chunks), True

    @staticmethod
    def _decode(raw: bytes) -> Any:
        """The JSON payload with every string cleaned (clean_text), or None when it is not JSON we can read."""
        try:
            return _clean_payload(jsonlib.loads(raw.decode("utf-8")))
        except (ValueError, RecursionError):  # includes invalid UTF-8, a BOM, huge integers
            return None

    @staticmethod
    def _api_error(status: int, headers: Mapping[str, str], raw: bytes, payload: Any, trace_id: str | None,
                   duration: int) -> LinqError:
        header_retry = parse_retry_after(headers.get("Retry-After"))
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            # Not Linq's envelope: a proxy page, an empty body, or something else.
            text = clean_text(raw[:2000].decode("utf-8", "replace"))
            snippet = " ".join(_CONTROL.sub(" ", text).split())[:120]
            return LinqError(
                message=f"Linq answered HTTP {status} without an error description"
                + (f" ({snippet!r})." if snippet else "."),
                kind="api", status=status, retry_after=header_retry, trace_id=trace_id,
                duration_ms=duration, body=snippet or None,
            )
        code, code_text = parse_code(error.get("code"))
        message = error.get("message")
        message = clean_text(message, MAX_MESSAGE).strip() if isinstance(message, str) else ""
        retry_after = parse_retry_after(error.get("retry_after"))
        doc_url = error.get("doc_url")
        return LinqError(
            message=message or f"Linq answered HTTP {status}.",
            kind="api",
            status=status,
            code=code,
            code_text=code_text,
            retry_after=retry_after if retry_after is not None else header_retry,
            trace_id=clean_trace_id(payload.get("trace_id")) or trace_id,
            doc_url=doc_url if isinstance(doc_url, str) and doc_url.startswith("https://") and len(doc_url) < 500
            else None,
            duration_ms=duration,
            body=payload,
        )


def response_started(exc: requests.exceptions.RequestException) -> bool:
    """Whether a failed request had already been sent (anything but a failure to connect)."""
    return not isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                                requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader))


@dataclass(frozen=True)
class Reachability:
    """Whether Linq answered a probe: any HTTP answer below 500 (401 is the expected one)."""

    reachable: bool
    status: int | None
    duration_ms: int
    detail: str


def probe(base_url: str, *, timeout: float = 5.0, session: requests.Session | None = None) -> Reachability:
    """Is Linq there? One GET of ``/v3/phone_numbers`` sent *without* a token.

    It reads nothing, writes nothing and needs no secret: Linq answers 401 to it, which proves
    that DNS, TLS and Linq's front door work. 5xx, timeouts and refused connections mean not reachable.
    """
    started = time.monotonic()
    try:
        response = (session or requests).get(base_url.rstrip("/") + "/v3/phone_numbers",
                                              headers={"Accept": "application/json", "User-Agent": "linqadmin"},
                                              timeout=(timeout, timeout), allow_redirects=False)
    except requests.exceptions.Timeout:
        return Reachability(False, None, int((time.monotonic() - started) * 1000), "timed out")
    except requests.exceptions.RequestException as exc:
        return Reachability(False, None, int((time.monotonic() - started) * 1000),
                            f"connection failed ({type(exc).__name__})")
    duration = int((time.monotonic() - started) * 1000)
    return Reachability(response.status_code < 500, response.status_code, duration, f"HTTP {response.status_code}")
