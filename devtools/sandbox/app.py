"""The sandbox's WSGI application and its state.

Semantics follow ``shared/docs/linq-api.md``: GET returns ``{"contact_cards": [...]}``
(404/2012 when a number has no card), POST creates (409/2014 once a card is
active), PATCH merges the given fields, writes share a budget of 3 per 10
minutes per number (429/1007 with ``Retry-After``), and every error uses Linq's
envelope with a ``trace_id`` that is also sent as ``X-Trace-ID``.

Faults can be injected per number or globally to rehearse Linq's failures:
latency, timeouts, error answers (2022, 4004, 429, ...), non-JSON bodies,
dropped connections, a card changed "by someone else", writes that leave
the card not active ("inactive"), "hold" (wait until ``release_holds()``), and
"answer": any status, headers and raw body, including the odd-but-valid answers in ``ODD_ANSWERS`` (``{"kind": "answer",
"preset": "retry_after_1e400"}``), to check that no answer Linq can send breaks the
app. PATCH on a card that is not active is refused with 404/2012, as Linq does.

A write that a timeout, drop or answer fault cuts off is applied first (``apply_write`` True), never
(False), or later (``"later"``): parked, and applied after the failed answer - by ``apply_deferred()``,
or ``apply_after`` seconds later - as Linq may do with a request whose client stopped waiting. Every
request is logged (``requests``); a write's entry says whether and when it changed the card
(``applied``, ``applied_at``). A reset ends everything from before it: a request still sleeping in a
fault when the state is reset never touches the new state. ``pick_fault`` lets a test choose a fault
per request (it may block, e.g. until the test has killed the client).
"""

from __future__ import annotations

import copy
import email.utils
import hashlib
import json
import os
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devtools.sandbox.webhooks import WebhookFaults, Webhooks

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CARD_FIELDS = ("first_name", "last_name", "image_url")
WRITE_LIMIT = 3
WRITE_WINDOW = 600  # seconds
API_PREFIX = "/api/partner"

FAULT_KINDS = ("latency", "timeout", "error", "non_json", "drop", "remote_change", "inactive", "answer", "hold")


def _envelope(status: int, code: object, message: str = "Error.", **extra: object) -> str:
    """An error envelope as JSON text; ``extra`` goes into the error object (values are JSON text)."""
    fields = "".join(f", {json.dumps(k)}: {v}" for k, v in extra.items())
    return (f'{{"success": false, "error": {{"status": {status}, "code": {code}, '
            f'"message": {json.dumps(message)}{fields}}}, "trace_id": "odd-%TRACE%"}}')


_CARD = '{"phone_number": "%NUMBER%", "first_name": %FIRST%, "last_name": "Odd", "image_url": null, "is_active": true}'


def _card_body(first_name_json: str, *, listed: bool) -> str:
    """A card answer (``{"contact_cards": [...]}`` for a GET, the bare card for a write) with an odd first name."""
    card = _CARD.replace("%FIRST%", first_name_json)
    return f'{{"contact_cards": [{card}]}}' if listed else card


# Odd but valid answers Linq (or something between us and Linq) can send; each is a preset of the
# "answer" fault, so tests (tests/test_odd_answers.py), `manage.py sandboxfault answer --preset NAME`
# and people rehearsing a demo send exactly the same bytes over HTTP. "%NUMBER%" is the request's
# number; card presets send the GET shape (a list) to a GET and the bare card to a write.
ODD_ANSWERS: dict[str, dict[str, Any]] = {
    # waits
    "retry_after_1e400": {"status": 429, "body": _envelope(429, 1007, "Rate limit exceeded.", retry_after="1e400")},
    "retry_after_http_date_2105": {"status": 429, "headers": {"Retry-After": "Tue, 01 Jun 2105 00:00:00 GMT"},
                                   "body": _envelope(429, 1007, "Rate limit exceeded.")},
    "retry_after_negative": {"status": 429, "headers": {"Retry-After": "-30"},
                             "body": _envelope(429, 1007, "Rate limit exceeded.", retry_after="-30")},
    "retry_after_nan": {"status": 503, "body": _envelope(503, 4004, "Upstream limited.", retry_after="NaN")},
    "retry_after_huge_integer": {"status": 503, "headers": {"Retry-After": "9" * 400},
                                 "body": _envelope(503, 4004, "Upstream limited.", retry_after="9" * 400)},
    # codes
    "code_negative": {"status": 500, "body": _envelope(500, -1, "Negative code.")},
    "code_huge": {"status": 500, "body": _envelope(500, 2**40, "Huge code.")},
    "code_string": {"status": 400, "body": _envelope(400, '"E1005"', "Code as text.")},
    "code_float": {"status": 500, "body": _envelope(500, "2022.5", "Fractional code.")},
    # ids and messages
    "trace_id_long": {"status": 500, "headers": {"X-Trace-ID": "h" * 300},
                      "body": _envelope(500, 3006, "Long trace id.").replace("odd-%TRACE%", "b" * 300)},
    "message_nul": {"status": 400, "body": _envelope(400, 1005, "first_name has a\u0000NUL and \ud800 half")},
    "message_huge": {"status": 400, "body": _envelope(400, 1005, "x" * 200_000)},
    "message_wrong_type": {"status": 400, "body": _envelope(400, 1005).replace('"Error."', '{"text": 1}')},
    "error_not_an_object": {"status": 500, "body": '{"success": false, "error": "boom"}'},
    "empty_503": {"status": 503, "body": ""},
    "status_418": {"status": 418, "body": "I'm a teapot", "content_type": "text/plain"},
    "redirect_302": {"status": 302, "headers": {"Location": "https://login.example.invalid/"},
                     "body": "<html>Moved</html>", "content_type": "text/html"},
    # success-shaped answers
    "name_nul": {"status": 200, "card_first_name": '"Ac\\u0000me"'},
    "name_lone_surrogate": {"status": 200, "card_first_name": '"Ac\\ud800me"'},
    "name_wrong_type": {"status": 200, "card_first_name": '["Acme"]'},
    "name_nan": {"status": 200, "card_first_name": "NaN"},
    "name_bidi_override": {"status": 200, "card_first_name": '"Acme\\u202egnp.exe"'},
    "written_204_empty": {"status": 204, "body": ""},
    "body_huge": {"status": 200, "card_first_name": '"Acme"', "pad_bytes": 2_000_000},
    "body_deeply_nested": {"status": 200, "body": "[" * 50_000 + "]" * 50_000},
    "body_bom": {"status": 200, "card_first_name": '"Acme"', "body_prefix": "\ufeff"},
    "body_invalid_utf8": {"status": 200, "card_first_name": '"Acm\xe9"', "body_encoding": "latin-1"},
    "body_huge_integer": {"status": 200, "card_first_name": "9" * 5000},
}

STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}

ERROR_MESSAGES = {
    1001: "A required field is missing.",
    1002: "Phone number must be in E.164 format.",
    1003: "The request body is invalid.",
    1005: "A parameter has an invalid value.",
    1007: "Rate limit exceeded.",
    2004: "Missing or invalid bearer token.",
    2006: "Phone number is not assigned to your account.",
    2010: "Webhook subscription not found.",
    2012: "Contact card not found.",
    2015: "Conflicts with the current state.",
    2014: "A contact card already exists for this phone number. Use PATCH to update it.",
    2022: "Contact card setup failed. Please retry.",
    2027: "The sending line is temporarily ineligible.",
    3006: "Internal server error.",
    4004: "Service unavailable: the upstream write was rate-limited.",
    5007: "Could not download an image from the given URL.",
}


DASHBOARD_ACTOR = {"type": "team_member", "id": "tm_sandbox_dana", "name": "Dana Dashboard",
                   "email": "dana@example.com"}
API_ACTOR = {"type": "api"}


class DropConnection(Exception):
    """Raised by the app to make the server close the socket without answering."""


@dataclass
class Fault:
    """One injected misbehaviour. ``number`` None means every number."""

    kind: str
    number: str | None = None
    methods: tuple[str, ...] = ("GET", "POST", "PATCH")
    status: int | None = None
    code: int | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    times: int | None = None  # None: until cleared
    skip: int = 0  # let this many matching requests through first (e.g. fail only the second GET)
    # For timeout/drop/answer on writes: whether the write still happens - True (before the failure),
    # False (never) or "later" (parked until apply_deferred(), or apply_after seconds if > 0).
    apply_write: bool | str = True
    apply_after: float = 0.0
    changes: dict[str, Any] = field(default_factory=dict)  # for remote_change
    # For error faults with retry_after: where Linq puts the wait ("both", "header", "body")
    # and how the header spells it ("seconds" or "http_date"), so clients rehearse every form.
    retry_after_in: str = "both"
    retry_after_format: str = "seconds"
    # For "answer": exactly what to send instead of the normal answer (after the write happened,
    # unless apply_write is False). A preset from ODD_ANSWERS fills the fields not given.
    preset: str | None = None
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    body_encoding: str = "utf-8"
    pad_bytes: int = 0  # trailing spaces after the body (still valid JSON), to make it large
    trickle_seconds: float = 0.0  # send the body in small pieces spread over this long
    card_first_name: str | None = None  # JSON text: the body is a card with this first name
    body_prefix: str = ""  # e.g. a byte order mark

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        if data.get("kind") not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}")
        if data.get("preset") is not None:
            if data["preset"] not in ODD_ANSWERS:
                raise ValueError(f"preset must be one of {sorted(ODD_ANSWERS)}")
            data = {**ODD_ANSWERS[data["preset"]], **data}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "methods" in known:
            known["methods"] = tuple(m.upper() for m in known["methods"])
        if known.get("retry_after_in", "both") not in ("both", "header", "body"):
            raise ValueError("retry_after_in must be both, header or body")
        if known.get("retry_after_format", "seconds") not in ("seconds", "http_date"):
            raise ValueError("retry_after_format must be seconds or http_date")
        if known.get("apply_write", True) not in (True, False, "later"):
            raise ValueError('apply_write must be true, false or "later"')
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) if name != "methods" else list(self.methods)
                for name in self.__dataclass_fields__}
        if len(self.body) > 200:  # a listing, not a copy: presets can be hundreds of KB
            data["body"] = self.body[:200] + f"… ({len(self.body)} characters)"
        return data


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    token: str | None
    status: int = 0
    at: float = 0.0
    # A write (POST/PATCH of a card): whether it changed the card, and when. None while it is parked
    # (apply_write "later") - and for every other request.
    applied: bool | None = None
    applied_at: float | None = None
    deferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query, "body": self.body,
                "status": self.status, "at": self.at, "applied": self.applied, "applied_at": self.applied_at}


def _number_of(record: RecordedRequest) -> str | None:
    """The number a request names (a PATCH's query, a POST's body)."""
    if record.query.get("phone_number"):
        return record.query["phone_number"]
    return record.body.get("phone_number") if isinstance(record.body, dict) else None


class SandboxState:
    """Everything the sandbox knows. Thread-safe; tests may read and change it directly."""

    def __init__(self, clock: Callable[[], float] = time.time, path: str | os.PathLike | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        # Where the demo keeps the sandbox between restarts (``save``/``load``); None: memory only.
        self.path = Path(path) if path is not None else None
        # Where the fake CDN's images are published (``publish_cdn``): (https URL, folder); None: the
        # sandbox serves them itself, over plain http.
        self.cdn: tuple[str, Path] | None = None
        self.reset()

    def reset(self) -> None:
        if getattr(self, "released", None) is not None:
            self.released.set()  # nothing stays held across a reset
        with self.lock:
            if getattr(self, "webhooks", None) is None:
                self.webhooks = Webhooks(self)
            self.webhooks.reset()
            self.accounts: dict[str, set[str]] = {}
            self.cards: dict[str, dict[str, Any]] = {}
            self.writes: dict[str, deque[float]] = {}
            self.faults: list[Fault] = []
            self.requests: list[RecordedRequest] = []
            self.number_ids: dict[str, str] = {}
            # Each line's health as GET /v3/phone_numbers lists it (set_line): status, reputation, doc_url.
            self.lines: dict[str, dict[str, Any]] = {}
            # Origins the sandbox really fetches images from (https://host:port -> CA file to trust),
            # like Linq fetching a public URL; the fetched bytes are what its fake CDN serves.
            self.fetchable_origins: dict[str, str] = {}
            self.images: dict[str, tuple[str, bytes]] = {}  # CDN digest -> (content type, bytes)
            self.released = threading.Event()  # "hold" faults wait for this (release_holds)
            self.deferred: list[tuple[RecordedRequest, Callable[[], Any]]] = []  # writes to apply later
            self.pick_fault: Callable[[RecordedRequest], Fault | dict[str, Any] | None] | None = None
            # Requests compare this before they change anything: one from before a reset never does.
            self.generation = getattr(self, "generation", 0) + 1

    def release_holds(self) -> None:
        """Let every request held by a "hold" fault continue (and the ones that come later)."""
        self.released.set()

    def apply_deferred(self, number: str | None = None) -> int:
        """Apply the parked writes (of ``number``, or all), oldest first, as Linq would after the client
        gave up; returns how many were applied (a write Linq refuses then - budget, no card - is not)."""
        with self.lock:
            due = [item for item in self.deferred if number is None or _number_of(item[0]) == number]
            self.deferred = [item for item in self.deferred if not any(item is taken for taken in due)]
        return sum(1 for record, apply in due if self._apply_parked(record, apply))

    def _apply_parked(self, record: RecordedRequest, apply: Callable[[], Any]) -> bool:
        try:
            apply()
        except Answer:
            pass
        with self.lock:
            record.deferred = False
            if not record.applied:
                record.applied = False
            return bool(record.applied)

    def parked(self) -> list[RecordedRequest]:
        """The writes waiting to be applied (apply_write "later")."""
        with self.lock:
            return [record for record, _apply in self.deferred]

    # -- setup helpers -------------------------------------------------

    def add_account(self, token: str, numbers: Iterable[str]) -> None:
        with self.lock:
            self.accounts.setdefault(token, set()).update(numbers)
            for number in numbers:
                self.number_ids.setdefault(number, str(uuid.uuid5(uuid.NAMESPACE_URL, number)))

    def set_card(self, number: str, *, is_active: bool = True, actor: dict[str, Any] | None = None,
                 origin: str = "dashboard", **fields: Any) -> dict[str, Any]:
        """Create or change a card directly, as if someone changed it in Linq's own dashboard.

        Subscriptions get the event (by default from a team member in Linq's dashboard).
        """
        with self.lock:
            before = copy.deepcopy(self.cards.get(number))
            card = self.cards.setdefault(
                number, {"phone_number": number, "first_name": "", "last_name": None,
                         "image_url": None, "is_active": is_active})
            card.update(fields)
            card["is_active"] = is_active
            self.webhooks.card_changed(number, before, copy.deepcopy(card), actor=actor or DASHBOARD_ACTOR,
                                       origin=origin)
            return copy.deepcopy(card)

    def delete_card(self, number: str, *, actor: dict[str, Any] | None = None, origin: str = "dashboard") -> None:
        """Remove a card, as only Linq's dashboard can (there is no DELETE in the API)."""
        with self.lock:
            before = self.cards.pop(number, None)
            self.webhooks.card_changed(number, before, None, actor=actor or DASHBOARD_ACTOR, origin=origin)

    # -- line health (issue 23): what Linq says about each line, and lines assigned or released ----------

    LINE_STATUSES = ("ACTIVE", "FLAGGED")
    REPUTATIONS = ("HEALTHY", "AT_RISK", "CRITICAL")

    def line(self, number: str) -> dict[str, Any]:
        """A line's health as listed (ACTIVE and HEALTHY until someone changes it)."""
        with self.lock:
            return copy.deepcopy(self.lines.get(number) or {"status": "ACTIVE", "reputation": "HEALTHY",
                                                            "doc_url": None})

    def set_line(self, number: str, *, status: str | None = None, reputation: str | None = None,
                 doc_url: str | None = None) -> dict[str, Any]:
        """Change a line's status and/or reputation, as Linq does; subscribers get
        ``phone_number.status_updated`` with the previous and new values. Any text is accepted on purpose
        (a value Linq may add later), so clients can be tried with one they do not know."""
        with self.lock:
            before = self.line(number)
            after = {**before, **{k: v for k, v in (("status", status), ("reputation", reputation),
                                                    ("doc_url", doc_url)) if v is not None}}
            if reputation is not None and doc_url is None and reputation != before["reputation"]:
                after["doc_url"] = f"https://docs.linqapp.com/reputation/{str(reputation).lower()}"
            self.lines[number] = after
            if (after["status"], after["reputation"]) != (before["status"], before["reputation"]):
                self.webhooks.line_changed("phone_number.status_updated", number, {
                    "previous_status": before["status"], "new_status": after["status"],
                    "previous_reputation": {"status": before["reputation"], "doc_url": before["doc_url"]},
                    "new_reputation": {"status": after["reputation"], "doc_url": after["doc_url"]},
                })
            return copy.deepcopy(after)

    def assign_line(self, number: str, token: str) -> None:
        """Linq assigns a line to an account: listed from now on; ``phone_number.assigned`` to its subscribers."""
        with self.lock:
            self.add_account(token, [number])
            self.webhooks.line_changed("phone_number.assigned", number, {}, owners=[token])

    def release_line(self, number: str, token: str | None = None) -> None:
        """Linq releases a line from an account (every account that has it, without ``token``): no longer
        listed, its writes refused (403/2006); ``phone_number.released`` to the subscribers it had."""
        with self.lock:
            owners = [t for t, numbers in self.accounts.items() if number in numbers and token in (None, t)]
            for owner in owners:
                self.accounts[owner].discard(number)
            self.webhooks.line_changed("phone_number.released", number, {}, owners=owners)

    def allow_fetch(self, origin: str, ca_file: str) -> None:
        """Let the sandbox fetch images from ``origin`` (``https://127.0.0.1:PORT``), trusting ``ca_file``."""
        with self.lock:
            self.fetchable_origins[origin.rstrip("/")] = ca_file

    def publish_cdn(self, url: str, folder: str | os.PathLike) -> None:
        """Publish the fake CDN's images as files in ``folder``, served over https at ``url`` (the demo's
        local https file server): the image_url of every card the sandbox re-hosts is then https, as
        Linq's own are. Without it the sandbox serves its CDN itself, on its own plain-http port."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        self.cdn = (url.rstrip("/") + "/", Path(folder))

    def cdn_link(self, name: str, data: bytes, fallback: str) -> str:
        """The image_url of a CDN image called ``name`` (``<digest>.<ext>``): https when published
        (``publish_cdn``, the file is written once), else ``fallback`` (the sandbox's own http CDN)."""
        if self.cdn is None:
            return fallback
        url, folder = self.cdn
        target = folder / "contact-card" / name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            partial.write_bytes(data)
            os.replace(partial, target)
        return f"{url}contact-card/{name}"

    def add_fault(self, fault: Fault | dict[str, Any]) -> Fault:
        if isinstance(fault, dict):
            fault = Fault.from_dict(fault)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def writes_for(self, number: str) -> list[RecordedRequest]:
        """The POST/PATCH requests that named this number."""
        with self.lock:
            return [r for r in self.requests if r.method in ("POST", "PATCH") and _number_of(r) == number]

    # -- persistence (the demo keeps cards and spent writes across restarts, like its history) ------

    PERSISTED = ("accounts", "cards", "writes", "number_ids", "lines")

    def save(self) -> None:
        """Write accounts, cards and recent writes to ``self.path`` (atomically). Faults are not kept."""
        if self.path is None:
            return
        with self.lock:
            data = {"accounts": {token: sorted(numbers) for token, numbers in self.accounts.items()},
                    "cards": self.cards, "writes": {n: list(times) for n, times in self.writes.items()},
                    "number_ids": self.number_ids, "lines": self.lines}
            text = json.dumps(data, indent=1, sort_keys=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(text)
        os.replace(partial, self.path)

    def load(self) -> bool:
        """Read what ``save`` wrote; False (and nothing changed) when there is no usable file."""
        if self.path is None or not self.path.is_file():
            return False
        try:
            data = json.loads(self.path.read_text())
            accounts = {token: set(numbers) for token, numbers in data["accounts"].items()}
            writes = {n: deque(float(t) for t in times) for n, times in data["writes"].items()}
            cards, number_ids = dict(data["cards"]), dict(data["number_ids"])
            lines = dict(data.get("lines") or {})
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False
        with self.lock:
            self.accounts, self.writes, self.cards, self.number_ids = accounts, writes, cards, number_ids
            self.lines = lines
        return True

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "cards": copy.deepcopy(list(self.cards.values())),
                "faults": [f.to_dict() for f in self.faults],
                "requests": [r.to_dict() for r in self.requests[-200:]],
                "numbers": sorted({n for nums in self.accounts.values() for n in nums}),
                "lines": copy.deepcopy(self.lines),
            }

    # -- demo data -----------------------------------------------------

    DEMO_TOKEN = "sandbox-demo-token"
    DEMO_NUMBERS = ("+15550100001", "+15550100002", "+15550100003", "+15550100004", "+15550100005")
    # Numbers the demo token can see at Linq that the demo team has not added yet, so that
    # "Import from Linq" in the team settings has something to offer.
    DEMO_SPARE_NUMBERS = ("+15550100006", "+15550100007", "+15550100008")

    def load_demo(self, root_url: str = "https://cdn.sandbox.invalid") -> None:
        """A small account: four numbers with cards (one pending), one without (its line at risk), three spare ones.

        ``root_url`` is where the sandbox is served, so the demo photo (served by
        the sandbox's fake CDN) shows in the browser.
        """
        self.add_account(self.DEMO_TOKEN, self.DEMO_NUMBERS + self.DEMO_SPARE_NUMBERS)
        image_url = self.cdn_link("acme.svg", SandboxApp._avatar("/cdn/contact-card/acme.svg"),
                                  f"{root_url}{API_PREFIX}/cdn/contact-card/acme.svg")
        self.set_card("+15550100001", first_name="Acme", last_name="Support", image_url=image_url)
        self.set_card("+15550100002", first_name="Acme", last_name="Sales")
        self.set_card("+15550100003", first_name="Acme Billing", last_name=None)
        self.set_card("+15550100004", first_name="Acme", last_name="Onboarding", is_active=False)
        self.set_card("+15550100006", first_name="Acme", last_name="Returns")
        self.set_line("+15550100005", reputation="AT_RISK")  # a line that needs attention (line health)

    # -- fault matching --------------------------------------------------

    def take_faults(self, method: str, number: str | None) -> list[Fault]:
        with self.lock:
            matched = []
            for fault in list(self.faults):
                if method not in fault.methods:
                    continue
                if fault.number is not None and fault.number != number:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                matched.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
            return matched


class Answer(Exception):
    """Internal: stop handling and answer with this status and JSON body."""

    def __init__(self, status: int, body: Any, headers: list[tuple[str, str]] | None = None,
                 content_type: str | None = None, trickle_seconds: float = 0.0) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []
        self.content_type = content_type
        self.trickle_seconds = trickle_seconds


def odd_answer(fault: Fault, number: str | None, method: str, trace_id: str) -> Answer:
    """The raw answer an "answer" fault sends (see ODD_ANSWERS)."""
    text = fault.body if fault.card_first_name is None else _card_body(fault.card_first_name, listed=method == "GET")
    text = fault.body_prefix + text.replace("%NUMBER%", number or "").replace("%TRACE%", trace_id)
    raw = text.encode(fault.body_encoding) + b" " * fault.pad_bytes
    return Answer(fault.status or 200, raw, list(fault.headers.items()), content_type=fault.content_type,
                  trickle_seconds=fault.trickle_seconds)


def error(status: int, code: int, message: str | None = None, retry_after: int | None = None,
          *, retry_after_in: str = "both", retry_after_format: str = "seconds") -> Answer:
    """Linq's error envelope; a wait goes in the ``Retry-After`` header and/or the body."""
    payload: dict[str, Any] = {"status": status, "code": code,
                               "message": message or ERROR_MESSAGES.get(code, "Error."),
                               "doc_url": f"https://docs.linqapp.com/error/codes/{code}"}
    headers = []
    if retry_after is not None:
        if retry_after_in in ("both", "body"):
            payload["retry_after"] = retry_after
        if retry_after_in in ("both", "header"):
            value = (email.utils.formatdate(time.time() + retry_after, usegmt=True)
                     if retry_after_format == "http_date" else str(retry_after))
            headers.append(("Retry-After", value))
    return Answer(status, {"success": False, "error": payload}, headers)


def _trickle(payload: bytes, seconds: float, pieces: int = 20) -> Iterator[bytes]:
    """The body in ``pieces`` parts, a pause before each: each read is quick, the whole is slow."""
    size = max(1, -(-len(payload) // pieces))
    for start in range(0, len(payload), size):
        time.sleep(seconds / pieces)
        yield payload[start:start + size]


class SandboxApp:
    """WSGI entry point. ``SandboxApp(state)`` is the whole fake API."""

    def __init__(self, state: SandboxState | None = None) -> None:
        self.state = state or SandboxState()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        trace_id = uuid.uuid4().hex
        raw = self._read_body(environ)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth[7:] if auth.startswith("Bearer ") else None

        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX):]
        record = RecordedRequest(method, path, query, body, token, at=self.state.clock())
        headers: list[tuple[str, str]] = [("X-Trace-ID", trace_id)]

        if path.startswith("/cdn/"):
            stored = self.state.images.get(path.rsplit("/", 1)[-1].split(".", 1)[0])
            if stored is not None:
                return self._respond(start_response, 200, stored[1], headers, content_type=stored[0])
            return self._respond(start_response, 200, self._avatar(path), headers,
                                 content_type="image/svg+xml")
        if path.startswith("/_sandbox"):
            status, payload = self._control(method, path, body)
            if method != "GET":
                self.state.save()
            return self._respond(start_response, status, json.dumps(payload).encode(), headers)

        with self.state.lock:
            self.state.requests.append(record)
        content_type, trickle = None, 0.0
        try:
            status, payload, extra = self._api(method, path, query, body, token, environ, trace_id, record)
        except Answer as answer:
            status, payload, extra = answer.status, answer.body, answer.headers
            content_type, trickle = answer.content_type, answer.trickle_seconds
            if isinstance(payload, dict) and payload.get("success") is False:
                payload["trace_id"] = trace_id
        finally:
            with self.state.lock:
                if record.method in ("POST", "PATCH") and record.applied is None and not record.deferred:
                    record.applied = False  # refused, dropped before it, or cut off by a reset
        record.status = status
        if any(name.lower() == "x-trace-id" for name, _ in extra):
            headers = [h for h in headers if h[0] != "X-Trace-ID"]
        if method != "GET":
            self.state.save()
        headers.extend(extra)
        if isinstance(payload, bytes):
            return self._respond(start_response, status, payload, headers,
                                 content_type=content_type or "text/html", trickle_seconds=trickle)
        return self._respond(start_response, status, json.dumps(payload).encode(), headers)

    # -- the API -------------------------------------------------------

    def _api(self, method: str, path: str, query: dict[str, str], body: Any, token: str | None,
             environ: dict[str, Any], trace_id: str = "",
             record: RecordedRequest | None = None) -> tuple[int, Any, list[tuple[str, str]]]:
        number = query.get("phone_number") or (body.get("phone_number") if isinstance(body, dict) else None)
        number = number if isinstance(number, str) else None
        generation = self.state.generation
        faults = self.state.take_faults(method, number)
        if self.state.pick_fault is not None and record is not None:
            picked = self.state.pick_fault(record)  # may block: the test decides when this request goes on
            if picked is not None:
                faults.append(picked if isinstance(picked, Fault) else Fault.from_dict(picked))
        write_applies: bool | str = True
        for fault in faults:
            if fault.kind == "remote_change" and number:
                self.state.set_card(number, is_active=self.state.cards.get(number, {}).get("is_active", True),
                                    **fault.changes)
            elif fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "hold":  # wait until a test says go (at most ``seconds``), then go on
                self.state.released.wait(fault.seconds or 60)
            elif fault.kind == "error":
                # A fault without a code gets the one Linq sends with its status (a 429 is 1007, "Rate limit
                # exceeded."), not "Internal server error".
                status = fault.status or 500
                code = fault.code or {429: 1007, 503: 4004}.get(status, 3006)
                raise error(status, code, retry_after=fault.retry_after,
                            retry_after_in=fault.retry_after_in, retry_after_format=fault.retry_after_format)
            elif fault.kind == "non_json":
                raise Answer(fault.status or 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
            elif fault.kind in ("timeout", "drop"):
                write_applies = fault.apply_write
                if method == "GET" or write_applies is False:
                    self._sleep_then(fault)
            elif fault.kind == "answer" and (method == "GET" or fault.apply_write is False):
                raise odd_answer(fault, number, method, trace_id)
        if self.state.generation != generation:
            raise DropConnection()  # the sandbox was reset while this request waited: it never happened
        contact_card = path.rstrip("/") == "/v3/contact_card"
        later = [f for f in faults if f.kind in ("timeout", "drop", "answer") and f.apply_write == "later"]
        if later and method != "GET" and contact_card and record is not None:
            self._park(record, later[0], lambda: self._contact_card(method, query, body, token, environ, record),
                       generation)
            if later[0].kind == "answer":
                raise odd_answer(later[0], number, method, trace_id)
            self._sleep_then(later[0])
        if contact_card:
            result = self._contact_card(method, query, body, token, environ, record)
        elif path.rstrip("/").startswith("/v3/webhook-subscriptions"):
            result = self._subscriptions(method, path.rstrip("/")[len("/v3/webhook-subscriptions"):].strip("/"),
                                         body, token)
        elif path.rstrip("/") == "/v3/phone_numbers":
            result = self._phone_numbers(method, token)
        else:
            raise error(404, 2001, "Resource not found.")
        for fault in faults:
            if fault.kind == "inactive" and method != "GET" and number and result[0] < 300:
                # Stored but not applied to the line (yet): Linq answers is_active false.
                with self.state.lock:
                    self.state.cards[number]["is_active"] = False
                    result = (result[0], copy.deepcopy(self.state.cards[number]), result[2])
            if fault.kind in ("timeout", "drop") and method != "GET" and write_applies:
                self._sleep_then(fault)  # the write happened; the answer never arrives
            if fault.kind == "answer" and method != "GET":
                raise odd_answer(fault, number, method, trace_id)  # the write happened; this is the answer
        return result

    def _park(self, record: RecordedRequest, fault: Fault, apply: Callable[[], Any], generation: int) -> None:
        """Keep a write to apply after its failed answer (``SandboxState.apply_deferred``, or a timer)."""
        state = self.state
        with state.lock:
            record.deferred = True
            state.deferred.append((record, apply))
        if fault.apply_after > 0:
            def apply_when_due() -> None:
                with state.lock:
                    item = next((item for item in state.deferred if item[0] is record), None)
                    if item is None or state.generation != generation:
                        return
                    state.deferred.remove(item)
                state._apply_parked(record, apply)
                state.save()

            timer = threading.Timer(fault.apply_after, apply_when_due)
            timer.daemon = True
            timer.start()

    @staticmethod
    def _sleep_then(fault: Fault) -> None:
        if fault.kind == "timeout":
            time.sleep(fault.seconds or 30)
            raise DropConnection()
        time.sleep(fault.seconds)
        raise DropConnection()

    def _authorise(self, token: str | None) -> set[str]:
        if token is None or token not in self.state.accounts:
            raise error(401, 2004)
        return self.state.accounts[token]

    def _contact_card(self, method: str, query: dict[str, str], body: Any, token: str | None,
                      environ: dict[str, Any],
                      record: RecordedRequest | None = None) -> tuple[int, Any, list[tuple[str, str]]]:
        numbers = self._authorise(token)
        state = self.state
        if method == "GET":
            number = query.get("phone_number")
            with state.lock:
                if number is None:
                    cards = [copy.deepcopy(c) for n, c in state.cards.items() if n in numbers]
                    return 200, {"contact_cards": cards}, []
                if not E164.match(number):
                    raise error(400, 1002)
                if number not in numbers or number not in state.cards:
                    raise error(404, 2012)
                return 200, {"contact_cards": [copy.deepcopy(state.cards[number])]}, []

        if method not in ("POST", "PATCH"):
            raise error(405, 1005, "Method not allowed.")
        if not isinstance(body, dict):
            raise error(400, 1003)
        number = body.get("phone_number") if method == "POST" else query.get("phone_number")
        if not number:
            raise error(400, 1001, "phone_number is required.")
        if not isinstance(number, str) or not E164.match(number):
            raise error(400, 1002)
        allowed = set(CARD_FIELDS) | ({"phone_number"} if method == "POST" else set())
        for key, value in body.items():
            if key not in allowed:
                raise error(400, 1005, f"Unknown field: {key}.")
            if not isinstance(value, str):
                raise error(400, 1005, f"{key} must be a string.")
        if method == "POST" and not body.get("first_name", "").strip():
            raise error(400, 1001, "first_name is required.")
        if method == "PATCH" and "first_name" in body and not body["first_name"].strip():
            raise error(400, 1005, "first_name cannot be empty.")
        if number not in numbers:
            raise error(403, 2006)

        with state.lock:
            existing = state.cards.get(number)
            if method == "POST" and existing and existing.get("is_active"):
                raise error(409, 2014)
            if method == "PATCH" and not (existing and existing.get("is_active")):
                # Linq: PATCH "requires an active contact card to exist"; a pending one is set up with POST.
                raise error(404, 2012)
            self._spend_budget(number)
            image = body.get("image_url")
            if image:
                body = dict(body, image_url=self._rehost(image, environ, state))
            before = copy.deepcopy(existing)
            if record is not None:
                record.applied, record.applied_at = True, state.clock()
            if method == "POST":
                card = {"phone_number": number, "first_name": body["first_name"],
                        "last_name": body.get("last_name") or None,
                        "image_url": body.get("image_url") or None, "is_active": True}
                state.cards[number] = card
                state.webhooks.card_changed(number, before, copy.deepcopy(card), actor=API_ACTOR, origin="api")
                return 201, copy.deepcopy(card), []
            card = existing
            for name in CARD_FIELDS:
                if name in body:
                    card[name] = body[name] or None
            card["is_active"] = True
            state.webhooks.card_changed(number, before, copy.deepcopy(card), actor=API_ACTOR, origin="api")
            return 200, copy.deepcopy(card), []

    def _subscriptions(self, method: str, subscription_id: str, body: Any,
                       token: str | None) -> tuple[int, Any, list[tuple[str, str]]]:
        """``/v3/webhook-subscriptions[/{id}]``: create (the secret is shown once), list, get, update, delete."""
        self._authorise(token)
        hooks = self.state.webhooks
        if not subscription_id:
            if method == "GET":
                return 200, {"subscriptions": [s.to_dict() for s in hooks.of(token)]}, []
            if method != "POST":
                raise error(405, 1005, "Method not allowed.")
            if not isinstance(body, dict):
                raise error(400, 1003)
            try:
                created = hooks.create(token, body)
            except LookupError as exc:
                raise error(409, 2015, str(exc)) from None
            except ValueError as exc:
                raise error(400, 1005, str(exc)) from None
            return 201, {**created.to_dict(), "signing_secret": created.secret}, []
        subscription = hooks.get(token, subscription_id)
        if subscription is None:
            raise error(404, 2010)
        if method == "GET":
            return 200, subscription.to_dict(), []
        if method == "PUT":
            if not isinstance(body, dict):
                raise error(400, 1003)
            try:
                return 200, hooks.update(subscription, body).to_dict(), []
            except ValueError as exc:
                raise error(400, 1005, str(exc)) from None
        if method == "DELETE":
            hooks.delete(subscription)
            return 200, {"id": subscription.id, "deleted": True}, []
        raise error(405, 1005, "Method not allowed.")

    def _spend_budget(self, number: str) -> None:
        now = self.state.clock()
        window = self.state.writes.setdefault(number, deque())
        while window and window[0] <= now - WRITE_WINDOW:
            window.popleft()
        if len(window) >= WRITE_LIMIT:
            wait = max(1, int(window[0] + WRITE_WINDOW - now + 0.999))
            raise error(429, 1007, "Contact card write limit reached (3 per 10 minutes).", retry_after=wait)
        window.append(now)

    @staticmethod
    def _rehost(url: str, environ: dict[str, Any], state: SandboxState) -> str:
        """Linq fetches the image and serves it from its CDN; so does the sandbox.

        Origins registered with :meth:`SandboxState.allow_fetch` (the local https photo server of the
        demo and the tests) are really fetched: a failure or a non-JPEG/PNG answer is 400/5007 and
        the CDN serves the fetched bytes. Other hosts cannot be reached from this closed sandbox, so
        it pretends: made-up hosts (``.invalid``, ``localhost``, "broken"/"notfound" links) answer
        5007, anything else is "re-hosted" as a generated avatar.
        """
        if not url.startswith("https://"):
            raise error(400, 5007, "image_url must be a public https URL.")
        host = url[8:].split("/", 1)[0].split(":")[0].lower()
        server = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        origin = "https://" + url[8:].split("/", 1)[0]
        ca_file = state.fetchable_origins.get(origin)
        if ca_file is not None:
            content_type, data = SandboxApp._fetch_image(url, ca_file)
            state.images[digest] = (content_type, data)
            extension = "png" if content_type == "image/png" else "jpg"
            return state.cdn_link(f"{digest}.{extension}", data,
                                  f"http://{server}{API_PREFIX}/cdn/contact-card/{digest}.{extension}")
        if not host or host.endswith(".invalid") or host == "localhost" or "broken" in url or "notfound" in url:
            raise error(400, 5007)
        path = f"/cdn/contact-card/{digest}.svg"
        return state.cdn_link(f"{digest}.svg", SandboxApp._avatar(path), f"http://{server}{API_PREFIX}{path}")

    @staticmethod
    def _fetch_image(url: str, ca_file: str, max_bytes: int = 10_000_000) -> tuple[str, bytes]:
        opener = urllib.request.build_opener(  # no proxies from the environment: this is loopback
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file)))
        try:
            with opener.open(url, timeout=5) as response:
                data = response.read(max_bytes + 1)
        except (urllib.error.URLError, OSError, ValueError):
            raise error(400, 5007) from None
        if len(data) > max_bytes:
            raise error(400, 5005, "The image is too large.")
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png", data
        if data.startswith(b"\xff\xd8\xff"):
            return "image/jpeg", data
        raise error(400, 5007)

    def _phone_numbers(self, method: str, token: str | None) -> tuple[int, Any, list[tuple[str, str]]]:
        numbers = self._authorise(token)
        if method != "GET":
            raise error(405, 1005, "Method not allowed.")
        items = []
        for n in sorted(numbers):
            line = self.state.line(n)
            items.append({"id": self.state.number_ids.get(n, n), "phone_number": n, "status": line["status"],
                          "reputation": {"status": line["reputation"], "doc_url": line["doc_url"]},
                          "forwarding_number": None, "line_type": "iMessage"})
        return 200, {"phone_numbers": items}, []

    # -- control plane for demos and tests ------------------------------

    def _control(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        action = path[len("/_sandbox"):].strip("/")
        try:
            if action in ("", "state") and method == "GET":
                return 200, self.state.snapshot()
            if action == "reset" and method == "POST":
                self.state.reset()
                return 200, {"ok": True}
            if action == "faults" and method == "GET":
                return 200, {"faults": self.state.snapshot()["faults"]}
            if action == "faults" and method == "POST":
                return 200, self.state.add_fault(body or {}).to_dict()
            if action == "faults" and method == "DELETE":
                self.state.clear_faults()
                return 200, {"ok": True}
            if action == "cards" and method == "POST" and isinstance(body, dict):
                number = body.pop("phone_number")
                return 200, self.state.set_card(number, **body)
            if action == "cards" and method == "DELETE" and isinstance(body, dict):
                self.state.delete_card(body.pop("phone_number"), **body)
                return 200, {"ok": True}
            if action == "lines" and method == "POST" and isinstance(body, dict):
                return 200, self.state.set_line(body["phone_number"], status=body.get("status"),
                                                reputation=body.get("reputation"), doc_url=body.get("doc_url"))
            if action == "lines/assign" and method == "POST" and isinstance(body, dict):
                self.state.assign_line(body["phone_number"], body.get("token") or self.state.DEMO_TOKEN)
                return 200, {"ok": True}
            if action == "lines/release" and method == "POST" and isinstance(body, dict):
                self.state.release_line(body["phone_number"], body.get("token"))
                return 200, {"ok": True}
            if action == "deferred" and method == "GET":
                return 200, {"deferred": [record.to_dict() for record in self.state.parked()]}
            if action == "deferred/apply" and method == "POST":
                return 200, {"applied": self.state.apply_deferred((body or {}).get("phone_number"))}
            if action == "webhooks" and method == "GET":
                return 200, self.state.webhooks.snapshot()
            if action == "webhooks/faults" and method == "POST" and isinstance(body, dict):
                with self.state.lock:
                    self.state.webhooks.faults = WebhookFaults(**body)
                return 200, self.state.webhooks.faults.to_dict()
            if action == "webhooks/deliver" and method == "POST":
                return 200, {"sent": self.state.webhooks.deliver_due()}
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": "unknown sandbox control"}

    # -- WSGI plumbing ---------------------------------------------------

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        return environ["wsgi.input"].read(length) if length > 0 else b""

    @staticmethod
    def _respond(start_response: Callable, status: int, payload: bytes, headers: list[tuple[str, str]],
                 content_type: str = "application/json", trickle_seconds: float = 0.0) -> Iterable[bytes]:
        start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}",
                       [("Content-Type", content_type), ("Content-Length", str(len(payload))), *headers])
        if trickle_seconds > 0 and payload:
            return _trickle(payload, trickle_seconds)
        return [payload]

    @staticmethod
    def _avatar(path: str) -> bytes:
        digest = hashlib.sha256(path.encode()).hexdigest()
        hue = int(digest[:2], 16) * 360 // 256
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
            f'<rect width="96" height="96" rx="48" fill="hsl({hue},55%,55%)"/>'
            '<circle cx="48" cy="38" r="16" fill="#fff"/><path d="M20 82c4-18 52-18 56 0" fill="#fff"/></svg>'
        ).encode()
