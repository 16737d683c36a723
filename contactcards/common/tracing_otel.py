"""OpenTelemetry for linqadmin: imported only when tracing is on (``contactcards/common/tracing.py``).

One tracer provider per process, its spans batched (``BatchSpanProcessor``) and handed through
:class:`RedactingSpanExporter` to the OTLP/HTTP (protobuf) exporter, which reads the standard variables
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``..._TRACES_ENDPOINT``, ``..._HEADERS``, ``..._TIMEOUT``; the
sampler from ``OTEL_TRACES_SAMPLER``). The service is ``OTEL_SERVICE_NAME``, by default linqadmin.

Spans, and what each carries:

* a request: the Django instrumentation's span (method, route, status); ``/healthz`` and static
  files are left out unless ``OTEL_PYTHON_DJANGO_EXCLUDED_URLS`` says otherwise;
* its database queries (:func:`_query_span`, a Django execute wrapper): the statement's text as Django
  wrote it, with its placeholders - never the parameters; only inside a traced request or task (a
  worker's polling is not traced);
* its calls to Linq (:func:`_linq_call_span`, around ``LinqClient._request``): ``linq PATCH
  /v3/contact_card``, HTTP status, Linq's code, the kind of failure and Linq's trace id - never the
  token, a header, a query string or a body;
* a task it enqueues (:func:`enqueue_span`) and a worker's run of it (:func:`task_run_span`), one
  trace: the row carries the W3C trace context. A task that enqueues itself again (the periodic
  reconcile, a job's watchdog, a wait) starts a new trace linked to the run it came from, so no
  trace grows for ever.

Whatever an instrumentation (or an operator's ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*``)
adds, :func:`redact_attributes` removes headers, query strings, bodies, parameters and exception
messages before a span leaves the process, and :func:`redact_path` keeps a request's path only when
its route has no secret in it (a webhook receiver's token, a reset link) and a route matched at all.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db.backends.signals import connection_created
from django.db.models.signals import pre_save
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contactcards.common.tracing import TRACE_KEY

SCOPE = "linqadmin"
DEFAULT_SERVICE_NAME = "linqadmin"
# Not traced by default: health checks, static files, metric scrapes (regexes searched in the URL).
DEFAULT_EXCLUDED_URLS = "/healthz,/static/,/metrics"
MAX_QUERY_TEXT = 2000  # characters of a statement kept (a bulk INSERT's placeholders run long)

_propagator = TraceContextTextMapPropagator()  # W3C traceparent/tracestate only: no baggage into task rows


_tracer: trace.Tracer | None = None


def tracer() -> trace.Tracer:
    """Our spans' tracer (looked up once: a lookup per query costs more than the span)."""
    global _tracer
    if _tracer is None:
        _tracer = trace.get_tracer(SCOPE)
    return _tracer


# -- set-up ------------------------------------------------------------------------------------------


def setup(exporter: SpanExporter | None = None) -> TracerProvider:
    """The process's provider, exporter and hooks (``exporter``: the OTLP/HTTP one unless a test gives another)."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    from contactcards.linq import client as linq_client

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    service = os.environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # Redacted in the batch's thread, just before export: the request's thread only records.
    provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(exporter)))
    trace.set_tracer_provider(provider)

    excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or os.environ.get("OTEL_PYTHON_EXCLUDED_URLS")
    # Inserts its middleware first in settings.MIDDLEWARE: ready() runs before the handler loads them.
    DjangoInstrumentor().instrument(tracer_provider=provider,
                                    excluded_urls=None if excluded else DEFAULT_EXCLUDED_URLS)
    connection_created.connect(_wrap_queries, dispatch_uid="linqadmin-tracing-queries")
    from django.db import connections

    for connection in connections.all(initialized_only=True):  # any opened before this ran
        _wrap_queries(None, connection)
    linq_client.set_call_span(_linq_call_span)
    from django_tasks_db.models import DBTaskResult

    pre_save.connect(_carry_trace, sender=DBTaskResult, dispatch_uid="linqadmin-tracing-tasks")
    return provider


# -- what leaves the process ---------------------------------------------------------------------------

# Attributes never exported, whoever set them: headers (Authorization, cookies), bodies, query
# strings and SQL parameters, exception messages and tracebacks (a database error can quote a value).
_DROPPED_PREFIXES = ("http.request.header.", "http.response.header.", "http.request.body", "http.response.body",
                     "db.query.parameter.", "db.statement.parameters", "url.query", "exception.message",
                     "exception.stacktrace", "enduser.")
_DROPPED_WORDS = ("authorization", "cookie", "token", "password", "secret", "first_name", "last_name", "image_url")
# Attributes holding a URL or a request target: kept without their query string, fragment or user info.
_URL_KEYS = ("http.url", "url.full", "http.target", "url.original", "http.request.url")


def _without_query(value: str) -> str:
    """A URL or a request target without its query string, fragment and user info."""
    if "://" not in value:
        return value.split("?", 1)[0].split("#", 1)[0]
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return value.split("?", 1)[0].split("#", 1)[0].split("@")[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def redact_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """``attributes`` without anything that may carry a secret or a card value (see the lists above)."""
    kept: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        lowered = key.lower()
        if lowered.startswith(_DROPPED_PREFIXES) or any(word in lowered for word in _DROPPED_WORDS):
            continue
        if isinstance(value, str) and (lowered in _URL_KEYS or lowered.endswith((".url", "_url"))):
            value = _without_query(value)
        kept[key] = value
    return kept


# Attributes holding the request's path: a path can hold a secret (a webhook receiver's token, a password
# reset or invitation link) or whatever someone typed (a 404).
_PATH_KEYS = ("http.target", "url.path", "http.url", "url.full")
_SECRET_PARAMETER = re.compile(r"<(?:\w+:)?\w*(?:token|key|secret|uid|code|password)\w*>", re.IGNORECASE)


def redact_path(attributes: dict[str, Any]) -> dict[str, Any]:
    """A request's path kept only when it is safe: its route template (``hooks/linq/<str:token>/``) instead
    of the path when the route has a secret parameter, and no path at all when no route matched (a 404)."""
    if not any(key in attributes for key in _PATH_KEYS):
        return attributes
    route = attributes.get("http.route")
    if isinstance(route, str) and not _SECRET_PARAMETER.search(route):
        return attributes
    kept = {key: value for key, value in attributes.items() if key not in _PATH_KEYS}
    if isinstance(route, str):
        kept["http.target" if "http.target" in attributes else "url.path"] = "/" + route.lstrip("/")
    return kept


def _redacted_status(status: Status) -> Status:
    """The status without its description's detail: ``ValueError: <the message>`` keeps ``ValueError``."""
    if not status.description:
        return status
    return Status(status.status_code, status.description.split(":", 1)[0][:200])


def redacted(span: ReadableSpan) -> ReadableSpan:
    """A copy of an ended span that carries nothing :func:`redact_attributes` would remove."""
    return ReadableSpan(
        name=_without_query(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=redact_path(redact_attributes(span.attributes)),
        events=[Event(event.name, redact_attributes(event.attributes), event.timestamp) for event in span.events],
        links=[trace.Link(link.context, redact_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=_redacted_status(span.status),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Hands ``delegate`` (the OTLP exporter) a :func:`redacted` copy of each span: nothing leaves unredacted."""

    def __init__(self, delegate: SpanExporter) -> None:
        self.delegate = delegate

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.delegate.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.delegate.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.delegate.force_flush(timeout_millis)


# -- database queries ----------------------------------------------------------------------------------

_OPERATION = re.compile(r"\s*(\w+)")
_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"?([\w.]+)"?', re.IGNORECASE)


def _wrap_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Put :func:`_query_span` first among a (new) connection's execute wrappers, once."""
    if _query_span not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _query_span)  # first: a later `with execute_wrapper()` pops its own


def _query_span(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Mapping[str, Any]) -> Any:
    """One span per statement inside a traced request or task: its text, never its parameters."""
    if not trace.get_current_span().is_recording():
        return execute(sql, params, many, context)
    text = sql if isinstance(sql, str) else type(sql).__name__
    match = _OPERATION.match(text)
    operation = match.group(1).upper() if match else "SQL"
    table = _TABLE.search(text)
    connection = context["connection"]
    attributes = {"db.system.name": "postgresql" if connection.vendor == "postgresql" else connection.vendor,
                  "db.operation.name": operation, "db.query.text": text[:MAX_QUERY_TEXT]}
    if table:
        attributes["db.collection.name"] = table.group(1)
    if many:
        attributes["db.operation.batch.size"] = len(params) if isinstance(params, Sequence) else 0
    name = f"{operation} {table.group(1)}" if table else operation
    with tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes, record_exception=False,
                                        set_status_on_exception=False) as span:
        try:
            return execute(sql, params, many, context)
        except Exception as error:
            span.set_attribute("error.type", type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, type(error).__qualname__))
            raise


# -- calls to Linq ---------------------------------------------------------------------------------

@contextmanager
def _linq_call_span(method: str, route: str, base_url: str) -> Iterator[Callable[..., None]]:
    """``linq GET /v3/contact_card``: around one call of the Linq client (``route``: its template, never an
    id); told the answer's facts."""
    attributes = {"http.request.method": method, "url.template": route, "server.address": _host(base_url)}
    with tracer().start_as_current_span(f"linq {method} {route}", kind=SpanKind.CLIENT, attributes=attributes,
                                        record_exception=False, set_status_on_exception=False) as span:

        def answered(*, status: int | None, code: int | str | None, kind: str | None, trace_id: str | None) -> None:
            if status is not None:
                span.set_attribute("http.response.status_code", status)
            if code is not None:
                span.set_attribute("linq.code", str(code))
            if trace_id:
                span.set_attribute("linq.trace_id", trace_id)
            if kind is not None:
                span.set_attribute("error.type", kind)
                span.set_status(Status(StatusCode.ERROR, kind))

        yield answered


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


# -- tasks ---------------------------------------------------------------------------------------------


def _carrier() -> dict[str, str]:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def _carry_trace(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A task row written inside a span carries that span's trace context (pre_save of DBTaskResult)."""
    if raw or not instance._state.adding or not isinstance(instance.args_kwargs, dict):
        return
    carrier = _carrier()
    if carrier:
        instance.args_kwargs = {**instance.args_kwargs, TRACE_KEY: carrier}


def _task_attributes(task_path: str, queue: str) -> dict[str, str]:
    return {"messaging.system": "django_tasks", "messaging.destination.name": queue, "linqadmin.task": task_path}


def _short(task_path: str) -> str:
    return task_path.rsplit(".", 1)[-1]


# The task this worker is running (its path), while it runs: see enqueue_span.
_running_task: ContextVar[str | None] = ContextVar("linqadmin_running_task", default=None)


@contextmanager
def enqueue_span(task: Any, count: int = 1) -> Iterator[dict[str, str]]:
    """``enqueue <task>``: current while the row(s) are written; yields the carrier for rows written in bulk.

    In the request's (or the enqueuing task's) trace - except a task enqueueing itself again: that
    starts a new trace, linked to the run it came from (a periodic task would otherwise make one
    endless trace)."""
    attributes: dict[str, Any] = _task_attributes(task.module_path, task.queue_name)
    if count != 1:
        attributes["messaging.batch.message_count"] = count
    if task.run_after is not None:
        attributes["linqadmin.task.run_after"] = task.run_after.isoformat()
    parent, links = None, []
    if _running_task.get() == task.module_path:
        current = trace.get_current_span().get_span_context()
        parent, links = Context(), [trace.Link(current)] if current.is_valid else []
    with tracer().start_as_current_span(f"enqueue {_short(task.module_path)}", context=parent, links=links,
                                        kind=SpanKind.PRODUCER, attributes=attributes):
        yield _carrier()


@contextmanager
def task_run_span(row: Any) -> Iterator[None]:
    """``run <task>``: a worker's run of one task row, in the trace the row carries (a new one without)."""
    carrier = row.args_kwargs.get(TRACE_KEY) if isinstance(row.args_kwargs, dict) else None
    parent = _propagator.extract(carrier) if isinstance(carrier, dict) else None
    attributes = {**_task_attributes(row.task_path, row.queue_name), "messaging.message.id": str(row.id)}
    with tracer().start_as_current_span(f"run {_short(row.task_path)}", context=parent, kind=SpanKind.CONSUMER,
                                        attributes=attributes, record_exception=False,
                                        set_status_on_exception=False) as span:
        running = _running_task.set(row.task_path)
        try:
            yield
        finally:
            _running_task.reset(running)
        span.set_attribute("linqadmin.task.status", str(row.status))
        if row.status == "FAILED":
            span.set_attribute("error.type", row.exception_class_path.rsplit(".", 1)[-1][:200])
            span.set_status(Status(StatusCode.ERROR, "task failed"))
