"""The product's own Prometheus metrics: defined once here, counted where things happen, served at /metrics.

No Django here (a ``lib`` module): any layer may count, the Linq client's observer included. Every
label has a fixed, small set of values - an endpoint's template, an HTTP status, one of Linq's
documented codes or "other", an outcome type's name - never a phone number, a token, a team or
anything a sender wrote, so the number of series stays bounded whatever happens.

Counters work across processes (gunicorn's workers, the ``db_worker`` processes) through
prometheus_client's multiprocess mode: with ``PROMETHEUS_MULTIPROC_DIR`` set before this module is
imported, every process writes its values to files in that folder and ``/metrics`` sums them
(``contactcards/ops/views.py``). The gauges read from the database at scrape time are not here:
``contactcards/ops/selectors.py``.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from contactcards.linq.client import CallRecord

NAMESPACE = "linqadmin"

# Linq's documented error codes (shared/docs/linq-api.md, "Error codes"); any other is counted as "other".
KNOWN_LINQ_CODES = frozenset({
    1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008,
    2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012, 2013, 2014, 2015, 2016, 2017, 2018,
    2019, 2020, 2021, 2022, 2023, 2024, 2025, 2026, 2027,
    3001, 3002, 3003, 3004, 3005, 3006, 3007,
    4001, 4002, 4003, 4004, 4005,
    5001, 5002, 5003, 5004, 5005, 5006, 5007,
})
# The endpoints the client calls (linq.client.endpoint_template); anything else is "other".
KNOWN_ENDPOINTS = frozenset({
    "GET /v3/contact_card", "POST /v3/contact_card", "PATCH /v3/contact_card", "GET /v3/phone_numbers",
    "GET /v3/webhook-subscriptions", "POST /v3/webhook-subscriptions", "PUT /v3/webhook-subscriptions/{id}",
    "DELETE /v3/webhook-subscriptions/{id}",
})
LINQ_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, float("inf"))

linq_requests = Counter(
    "linq_requests", "Requests sent to Linq, by endpoint template, HTTP status (\"none\": no answer), "
    "Linq error code (\"\": none, \"other\": undocumented) and error kind (\"\": a usable answer).",
    ["endpoint", "status", "code", "error"], namespace=NAMESPACE)
linq_request_seconds = Histogram(
    "linq_request_duration_seconds", "Time from sending a request to Linq to its answer (or its failure).",
    ["endpoint"], namespace=NAMESPACE, buckets=LINQ_LATENCY_BUCKETS)
linq_unanswered = Counter(
    "linq_outcome_unknown", "Requests to Linq whose answer did not say whether a write took effect.",
    ["endpoint"], namespace=NAMESPACE)
card_saves = Counter(
    "card_saves", "Card saves (the card page, bulk jobs, restores) by action and outcome "
    "(cards/outcomes.py: saved, failed, outcome_unknown, blocked, conflict, ...).",
    ["action", "outcome"], namespace=NAMESPACE)
budget_refusals = Counter(
    "budget_refusals", "Saves refused before anything was sent because no write was left "
    "(\"budget\": three in ten minutes; \"linq\": Linq asked to wait).", ["blocked_by"], namespace=NAMESPACE)
webhook_deliveries = Counter(
    "webhook_deliveries", "Webhook deliveries from Linq: accepted, duplicate (a retry already stored) or "
    "refused, with the reason (signature, stale, malformed, too_large, unknown_endpoint, no_subscription, "
    "secret_unreadable).", ["result", "reason"], namespace=NAMESPACE)
outside_changes = Counter(
    "outside_changes", "Changes made outside linqadmin recorded in the history, by how they were found "
    "(reconcile, read, webhook).", ["found_by"], namespace=NAMESPACE)
alerts = Counter(
    "alerts", "Alerts and notification mail the product sent or failed to send, by channel and kind.",
    ["channel", "kind", "result"], namespace=NAMESPACE)

_OUTCOME_LABELS = {
    "Saved": "saved", "Unchanged": "unchanged", "Conflict": "conflict", "SwitchToEdit": "switch_to_edit",
    "SwitchToCreate": "switch_to_create", "ImageRefused": "image_refused", "Blocked": "blocked", "Busy": "busy",
    "Duplicate": "duplicate", "NotChecked": "not_checked", "Failed": "failed", "OutcomeUnknown": "outcome_unknown",
    "LineReleased": "line_released",
}
FOUND_BY = frozenset({"reconcile", "read", "webhook"})
WEBHOOK_RESULTS = frozenset({"accepted", "duplicate", "refused"})
WEBHOOK_REASONS = frozenset({"", "signature", "stale", "malformed", "too_large", "unknown_endpoint",
                             "no_subscription", "secret_unreadable"})


def _one_of(value: str, allowed: frozenset[str]) -> str:
    value = str(value)  # a TextChoices member hashes by its name: compare its value
    return value if value in allowed else "other"


def code_label(code: int | str | None) -> str:
    """Linq's code as a label: "" without one, a documented code as itself, anything else "other"."""
    if code is None:
        return ""
    return str(code) if isinstance(code, int) and code in KNOWN_LINQ_CODES else "other"


def status_label(status: int | None) -> str:
    if status is None:
        return "none"
    return str(status) if 100 <= status <= 599 else "other"


def record_linq_call(call: CallRecord) -> None:
    """The Linq client's observer (``LinqClient(observer=...)``, set by ``common.clients``)."""
    endpoint = _one_of(call.endpoint, KNOWN_ENDPOINTS)
    linq_requests.labels(endpoint, status_label(call.status), code_label(call.code), call.error or "").inc()
    linq_request_seconds.labels(endpoint).observe(max(0.0, call.seconds))
    if call.outcome_unknown:
        linq_unanswered.labels(endpoint).inc()


def record_save(action: str, outcome: object) -> None:
    """One finished save (``cards.services.card_update`` / ``card_create``), by its outcome's type."""
    label = _OUTCOME_LABELS.get(type(outcome).__name__, "other")
    card_saves.labels(action if action in ("create", "update") else "other", label).inc()


def record_budget_refusal(blocked_by: str) -> None:
    budget_refusals.labels(blocked_by if blocked_by in ("budget", "linq") else "other").inc()


def record_webhook(result: str, reason: str = "") -> None:
    webhook_deliveries.labels(_one_of(result, WEBHOOK_RESULTS), _one_of(reason, WEBHOOK_REASONS)).inc()


def record_outside_change(found_by: str) -> None:
    outside_changes.labels(_one_of(found_by, FOUND_BY)).inc()


ALERT_CHANNELS = frozenset({"email", "webhook", "slack", "syslog"})
ALERT_KINDS = frozenset({"outside_change", "invitation", "password_reset", "stream", "line_flagged", "line_at_risk",
                         "line_critical", "line_assigned", "line_released", "job_failed", "schedule_failed",
                         "token_refused", "webhooks_refused", "digest", "change_request",
                         "change_outcome"})


def record_alert(channel: str, ok: bool, *, kind: str = "other") -> None:
    """One alert or notification sent (``ok``) or not sent (failed): the hook later alert code calls too.
    ``channel``: how (email, webhook, ...); ``kind``: what about. Unknown values are counted as "other"."""
    alerts.labels(_one_of(channel, ALERT_CHANNELS), _one_of(kind, ALERT_KINDS), "sent" if ok else "failed").inc()


# -- requests: our own two series, instead of django-prometheus' middleware (docs/benchmarks.md "Metrics") --

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))

http_requests = Counter(
    "http_requests", "Requests answered, by URL name (\"<unresolved>\": no route, e.g. a 404), method and status.",
    ["view", "method", "status"], namespace=NAMESPACE)
http_request_seconds = Histogram(
    "http_request_duration_seconds", "Time from the first middleware to the response, by URL name.",
    ["view"], namespace=NAMESPACE, buckets=HTTP_LATENCY_BUCKETS)


def record_request(view: str, method: str, status: int, seconds: float) -> None:
    """One answered request (``linqadmin.middleware.RequestMetricsMiddleware``). ``view`` is a URL pattern's
    name, a bounded set (never the path: numbers and tokens are in paths)."""
    http_requests.labels(view, method if method in HTTP_METHODS else "other", status_label(status)).inc()
    http_request_seconds.labels(view).observe(max(0.0, seconds))
