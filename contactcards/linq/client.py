"""A small, strict client for Linq's contact-card and phone-number endpoints.

Design rules, from ``shared/docs/linq-api.md``:

* Every failure - an API error envelope, a timeout, a refused connection, a
  proxy's HTML 502, a 200 whose JSON is not the documented shape - becomes one
  exception type, :class:`LinqError`. Callers never see a ``requests`` error.
* Writes (POST, PATCH) are **never retried** here: each one spends the number's
  budget of three writes per ten minutes. Retrying is a decision for a person.
* ``update_card`` sends exactly the fields it is given and nothing else.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import requests

DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
CARD_FIELDS = ("first_name", "last_name", "image_url")

# "token": no usable API token, so nothing was sent (see LinqClient's token_problem).
ErrorKind = Literal["api", "timeout", "connection", "malformed", "token"]

# Linq codes after which the same request may succeed if tried again later.
_RETRYABLE_CODES = {1007, 2015, 2022, 3001, 3002, 3003, 3004, 3005, 3006, 4004}


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


@dataclass(frozen=True)
class PhoneNumberInfo:
    id: str
    phone_number: str
    line_type: str | None = None
    reputation: str | None = None
    forwarding_number: str | None = None


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
    sent: bool = True
    duration_ms: int = 0
    body: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"Linq code {self.code}")
        return " - ".join(parts)

    @property
    def outcome_unknown(self) -> bool:
        """True when a write may or may not have been applied by Linq."""
        return self.sent and self.kind in ("timeout", "connection", "malformed") and (
            self.status is None or self.status < 400
        )

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


def parse_retry_after(value: Any, *, now: float | None = None) -> int | None:
    """Seconds to wait, from a number or an HTTP date; None if unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return max(0, math.ceil(value))
    text = str(value).strip()
    try:
        return max(0, math.ceil(float(text)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = datetime.fromtimestamp(now if now is not None else time.time(), tz=UTC)
    return max(0, math.ceil((when - current).total_seconds()))


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{key} is not a string")
    return value


def parse_card(data: Any) -> Card:
    """Build a Card from one JSON object; TypeError/KeyError on a bad shape."""
    if not isinstance(data, dict):
        raise TypeError("card is not an object")
    phone_number = data["phone_number"]
    first_name = data.get("first_name")
    if not isinstance(phone_number, str):
        raise TypeError("phone_number is not a string")
    if first_name is not None and not isinstance(first_name, str):
        raise TypeError("first_name is not a string")
    is_active = data.get("is_active", False)
    if not isinstance(is_active, bool):
        raise TypeError("is_active is not a boolean")
    return Card(
        phone_number=phone_number,
        first_name=first_name or "",
        last_name=_optional_str(data, "last_name"),
        image_url=_optional_str(data, "image_url"),
        is_active=is_active,
    )


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
    ) -> None:
        """``token_problem``: why there is no usable token (none set, cannot be read). Every call
        then fails with a LinqError of kind "token" before anything is sent, so callers handle it
        like any other failed call."""
        self.base_url = base_url.rstrip("/")
        self._token_problem = token_problem or (None if token else "No Linq API token is set.")
        self.timeout = (connect_timeout, read_timeout)
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
        payload, status, trace_id, duration = self._request("GET", "/v3/phone_numbers")
        try:
            items = payload["phone_numbers"]
            if not isinstance(items, list):
                raise TypeError("phone_numbers is not a list")
            numbers = []
            for item in items:
                reputation = item.get("reputation")
                numbers.append(
                    PhoneNumberInfo(
                        id=str(item.get("id", "")),
                        phone_number=str(item["phone_number"]),
                        line_type=item.get("line_type"),
                        reputation=reputation.get("status") if isinstance(reputation, dict) else None,
                        forwarding_number=item.get("forwarding_number"),
                    )
                )
        except (KeyError, TypeError, AttributeError) as exc:
            raise self._malformed(status, trace_id, duration, f"phone_numbers: {exc}") from None
        return numbers

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

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> tuple[Any, int, str | None, int]:
        """Send one request; return (payload, status, trace_id, duration_ms) or raise LinqError."""
        if self._token_problem:
            raise LinqError(self._token_problem, kind="token", sent=False)
        url = self.base_url + path
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            response = self._session.request(
                method, url, params=params, json=json, headers=self._headers, timeout=self.timeout
            )
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
            raise LinqError(
                f"The request to Linq failed ({type(exc).__name__}).", kind="connection",
                sent=False, duration_ms=elapsed(),
            ) from None

        duration = elapsed()
        trace_id = response.headers.get("X-Trace-ID") or None
        try:
            payload = response.json()
        except ValueError:
            payload = None

        if response.status_code >= 400:
            raise self._api_error(response, payload, trace_id, duration)
        if payload is None:
            raise self._malformed(response.status_code, trace_id, duration, "the body is not JSON")
        return payload, response.status_code, trace_id, duration

    @staticmethod
    def _api_error(response: requests.Response, payload: Any, trace_id: str | None, duration: int) -> LinqError:
        status = response.status_code
        header_retry = parse_retry_after(response.headers.get("Retry-After"))
        error = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(error, dict):
            # Not Linq's envelope: a proxy page, an empty body, or something else.
            snippet = " ".join((response.text or "").split())[:120]
            return LinqError(
                message=f"Linq answered HTTP {status} without an error description"
                + (f" ({snippet!r})." if snippet else "."),
                kind="api", status=status, retry_after=header_retry, trace_id=trace_id,
                duration_ms=duration, body=snippet or None,
            )
        code = error.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        message = error.get("message")
        body_trace = payload.get("trace_id")
        retry_after = parse_retry_after(error.get("retry_after"))
        return LinqError(
            message=message if isinstance(message, str) and message else f"Linq answered HTTP {status}.",
            kind="api",
            status=status,
            code=code,
            retry_after=retry_after if retry_after is not None else header_retry,
            trace_id=body_trace if isinstance(body_trace, str) and body_trace else trace_id,
            doc_url=error.get("doc_url") if isinstance(error.get("doc_url"), str) else None,
            duration_ms=duration,
            body=payload,
        )
