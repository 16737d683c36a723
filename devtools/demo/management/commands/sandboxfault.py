"""Switch the built-in sandbox's fault injection from the command line, for demos.

Talks to the sandbox's control endpoint (``<base URL>/_sandbox/faults``) over HTTP, so
it works against the sandbox started by ``bin/run`` (``manage.py demo``, port 8765 or
$SANDBOX_PORT) or ``python -m devtools.sandbox``. Refuses any base URL that is not on
loopback: the real Linq has no such endpoint and must never be sent this.

Examples::

    manage.py sandboxfault error --status 500 --code 2022 --number +15550100001 --times 1
    manage.py sandboxfault error --status 429 --code 1007 --retry-after 120 --retry-after-format http_date
    manage.py sandboxfault timeout --seconds 25 --methods PATCH --no-apply
    manage.py sandboxfault drop --methods PATCH --apply-after 10   # Linq applies it 10 s after dropping the answer
    manage.py sandboxfault remote_change --set first_name=Someone --methods PATCH --times 1
    manage.py sandboxfault answer --preset retry_after_1e400 --methods PATCH --times 1
    manage.py sandboxfault answer --status 500 --body '{"error": {"code": -1}}' --header X-Trace-ID=abc
    manage.py sandboxfault --line +15550100002 --line-status FLAGGED --reputation AT_RISK   # a signed event follows
    manage.py sandboxfault --assign +15550100009      # Linq assigns a new line to the demo token
    manage.py sandboxfault --release +15550100003     # Linq releases a line: its saves are refused
    manage.py sandboxfault --presets
    manage.py sandboxfault --list
    manage.py sandboxfault --clear
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.sandbox.app import FAULT_KINDS, ODD_ANSWERS

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
DEFAULT_SANDBOX_PORT = 8765  # bin/run's (manage.py demo)


def demo_sandbox_url() -> str:
    """Where ``manage.py demo`` (``bin/run``) serves its sandbox."""
    return f"http://127.0.0.1:{int(os.environ.get('SANDBOX_PORT') or DEFAULT_SANDBOX_PORT)}/api/partner"


def control_url(base_url: str | None = None) -> str:
    """The sandbox's fault control endpoint; CommandError unless it is on loopback.

    Without ``--base-url``: settings.LINQ_API_BASE_URL if it is a local sandbox, else the
    demo's sandbox (``bin/run`` points only its own process at the sandbox).
    """
    configured = settings.LINQ_API_BASE_URL
    if base_url is None and (urlsplit(configured).hostname or "") not in LOOPBACK:
        base_url = demo_sandbox_url()
    base = (base_url or configured).rstrip("/")
    host = urlsplit(base).hostname or ""
    if host not in LOOPBACK:
        raise CommandError(f"{base} is not the local sandbox (only loopback hosts are allowed).")
    return base + "/_sandbox/faults"


def not_answered(url: str, base_url: str | None, exc: Exception) -> str:
    """Why the sandbox could not be reached, naming the address and port tried and where they came from."""
    port = urlsplit(url).port
    if base_url:
        source = "from --base-url"
    elif (urlsplit(settings.LINQ_API_BASE_URL).hostname or "") in LOOPBACK:
        source = "from LINQ_API_BASE_URL"
    elif os.environ.get("SANDBOX_PORT"):
        source = f"the demo's sandbox, SANDBOX_PORT={os.environ['SANDBOX_PORT']}"
    else:
        source = "the demo's sandbox on its default port: SANDBOX_PORT is not set"
    return (f"The sandbox at {url} (port {port}, {source}) did not answer ({type(exc).__name__}). "
            "Is bin/run running? If it serves the sandbox on another port, set SANDBOX_PORT to the port it "
            "printed, or pass --base-url.")


class Command(BaseCommand):
    help = "Add, list or clear fault injections on the built-in Linq sandbox (demo and testing only)."

    def add_arguments(self, parser):
        parser.add_argument("kind", nargs="?", choices=FAULT_KINDS)
        parser.add_argument("--number", help="E.164 number the fault applies to (default: every number)")
        parser.add_argument("--methods", nargs="+", default=None, help="GET, POST and/or PATCH (default: all)")
        parser.add_argument("--status", type=int)
        parser.add_argument("--code", type=int)
        parser.add_argument("--retry-after", type=int, dest="retry_after")
        parser.add_argument("--retry-after-in", choices=("both", "header", "body"), dest="retry_after_in")
        parser.add_argument("--retry-after-format", choices=("seconds", "http_date"), dest="retry_after_format")
        parser.add_argument("--seconds", type=float, help="latency, or how long a timeout/drop waits")
        parser.add_argument("--times", type=int, help="how many requests it affects (default: until cleared)")
        parser.add_argument("--no-apply", action="store_true",
                            help="timeout/drop on a write: the write does not happen either")
        parser.add_argument("--apply-after", type=float, dest="apply_after", metavar="SECONDS",
                            help="timeout/drop/answer on a write: the write happens this long after the failure")
        parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                            help="remote_change: a field someone else changes")
        parser.add_argument("--preset", choices=sorted(ODD_ANSWERS),
                            help="answer: one of the odd answers Linq can send (see --presets)")
        parser.add_argument("--body", help="answer: the raw body to send")
        parser.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                            help="answer: a header to send (repeatable)")
        parser.add_argument("--content-type", dest="content_type", help="answer: the Content-Type")
        parser.add_argument("--pad-bytes", type=int, dest="pad_bytes", help="answer: trailing spaces to add")
        parser.add_argument("--trickle-seconds", type=float, dest="trickle_seconds",
                            help="answer: send the body in small pieces spread over this many seconds")
        parser.add_argument("--line", metavar="E164", help="line health: the line whose status or reputation changes")
        parser.add_argument("--line-status", dest="line_status", metavar="STATUS",
                            help="--line: its new status (ACTIVE, FLAGGED, or any text to try an unknown value)")
        parser.add_argument("--reputation", metavar="REPUTATION",
                            help="--line: its new reputation (HEALTHY, AT_RISK, CRITICAL, or any text)")
        parser.add_argument("--doc-url", dest="doc_url", help="--line: Linq's page about the reputation")
        parser.add_argument("--assign", metavar="E164", help="Linq assigns this line to a token")
        parser.add_argument("--release", metavar="E164", help="Linq releases this line (phone_number.released)")
        parser.add_argument("--token", help="--assign/--release: the sandbox account (default: the demo's; "
                                            "--release: every account that has the line)")
        parser.add_argument("--presets", action="store_true", help="list the odd-answer presets")
        parser.add_argument("--list", action="store_true", help="show the active faults")
        parser.add_argument("--clear", action="store_true", help="remove every fault")
        parser.add_argument("--base-url", help="the sandbox's base URL (default: settings.LINQ_API_BASE_URL)")

    def handle(self, *args, **options):
        if options["presets"]:
            for name, preset in ODD_ANSWERS.items():
                self.stdout.write(f"{name}: HTTP {preset.get('status', 200)}")
            return
        url = control_url(options["base_url"])
        if options["line"] or options["assign"] or options["release"]:
            return self._lines(url.removesuffix("/faults"), options)
        try:
            if options["clear"]:
                requests.delete(url, timeout=5).raise_for_status()
                self.stdout.write("All sandbox faults cleared.")
                return
            if options["list"] or not options["kind"]:
                faults = requests.get(url, timeout=5).json().get("faults", [])
                self.stdout.write(json.dumps(faults, indent=2) if faults else "No sandbox faults.")
                return
            response = requests.post(url, json=self._fault(options), timeout=5)
        except requests.RequestException as exc:
            raise CommandError(not_answered(url, options["base_url"], exc)) from None
        if response.status_code != 200:
            raise CommandError(f"The sandbox refused the fault: {response.text}")
        self.stdout.write(f"Fault added: {json.dumps(response.json())}")

    def _lines(self, control: str, options) -> None:
        """Change a line's health, or assign or release a line, at the sandbox (it delivers the signed event)."""
        if options["line"]:
            if not (options["line_status"] or options["reputation"] or options["doc_url"]):
                raise CommandError("--line needs --line-status, --reputation and/or --doc-url.")
            path, body = "/lines", {"phone_number": options["line"], "status": options["line_status"],
                                    "reputation": options["reputation"], "doc_url": options["doc_url"]}
        elif options["assign"]:
            path, body = "/lines/assign", {"phone_number": options["assign"], "token": options["token"]}
        else:
            path, body = "/lines/release", {"phone_number": options["release"], "token": options["token"]}
        try:
            response = requests.post(control + path, json={k: v for k, v in body.items() if v is not None}, timeout=5)
        except requests.RequestException as exc:
            raise CommandError(f"The sandbox at {control} did not answer ({type(exc).__name__}).") from None
        if response.status_code != 200:
            raise CommandError(f"The sandbox refused it: {response.text}")
        self.stdout.write(f"Done: {json.dumps(response.json())}")

    @staticmethod
    def _fault(options) -> dict:
        fault: dict = {"kind": options["kind"]}
        for name in ("number", "status", "code", "retry_after", "retry_after_in", "retry_after_format",
                     "seconds", "times", "preset", "body", "content_type", "pad_bytes", "trickle_seconds"):
            if options[name] is not None:
                fault[name] = options[name]
        if options["methods"]:
            fault["methods"] = [m.upper() for m in options["methods"]]
        if options["no_apply"]:
            fault["apply_write"] = False
        elif options["apply_after"] is not None:
            fault["apply_write"], fault["apply_after"] = "later", max(options["apply_after"], 0.001)
        changes = _pairs(options["set"], "--set", "FIELD=VALUE")
        if changes:
            fault["changes"] = changes
        headers = _pairs(options["header"], "--header", "NAME=VALUE")
        if headers:
            fault["headers"] = headers
        return fault


def _pairs(items: list[str], flag: str, shape: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise CommandError(f"{flag} needs {shape}, got {item!r}")
        pairs[name] = value
    return pairs
