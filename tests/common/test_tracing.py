"""Tracing (README "Tracing"): one trace per request with its queries, its Linq calls and the task it
queued - the worker's run of that task included - sent to a real OTLP/HTTP receiver on loopback by
the app served as in production (gunicorn, a real ``db_worker``); never the token or a card's values;
and, with no endpoint configured, not one OpenTelemetry module imported and nothing sent.

Waits are for conditions (the spans arrived), never for durations; the clock is moved, not waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import responses
from django_tasks_db.models import DBTaskResult
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from conftest import CARD_NUMBER, TOKEN
from contactcards.common import taskqueue, tracing_otel
from contactcards.linq import LinqClient, LinqError
from contactcards.linq import client as linq_client
from contactcards.sync.reconcile import reconcile_all_teams
from devtools.processes import worker_env
from tests.support.helpers import card_form, forms_on
from tests.support.otlp import OTLPReceiver, ReceivedSpan
from tests.support.worker import free_port, serving_gunicorn, signed_in, wait_until

# The card's values before and after the save: none of them may leave the process in a span.
FIRST, LAST, IMAGE = "Quillon", "Marrowby", "https://cdn.linqapp.com/contact-card/quillon-7Q.png"
NEW_FIRST, NEW_LAST = "Thessaly", "Oakhurst-Vane"
# Secrets in paths: a webhook receiver's token, a password-reset link, whatever someone typed into a 404.
HOOK, RESET, TYPED = "hook-Zk29wQ", "set-password-Rt5", "typed-Mv8"
SECRETS = (TOKEN, FIRST, LAST, IMAGE, NEW_FIRST, NEW_LAST, "quillon-7Q", HOOK, RESET, TYPED)


@pytest.fixture
def receiver():
    with OTLPReceiver() as started:
        yield started


def tracing_env(receiver: OTLPReceiver) -> dict[str, str]:
    """What an operator sets: the endpoint (and here a short batch delay, so spans come while we look)."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}


def method(span: ReceivedSpan) -> str | None:
    return span.attributes.get("http.request.method") or span.attributes.get("http.method")


def request_span(receiver: OTLPReceiver, verb: str) -> ReceivedSpan | None:
    """The (SERVER) span of a request to the card page (not gunicorn's start-up check of the sign-in page)."""
    return next((span for span in receiver.received() if span.kind == 2 and method(span) == verb
                 and "numbers" in span.attributes.get("http.route", "")), None)


def in_trace(receiver: OTLPReceiver, trace_id: str) -> list[ReceivedSpan]:
    return [span for span in receiver.received() if span.trace_id == trace_id]


def named(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [span for span in spans if span.name == name]


def queries(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [span for span in spans if "db.query.text" in span.attributes]


def test_a_card_view_and_a_save_are_traced_end_to_end_without_the_token_or_the_cards_values(
        transactional_db, sandbox_server, sandbox, team, bob, clock, workers, receiver, tmp_path):
    sandbox.set_card(CARD_NUMBER, first_name=FIRST, last_name=LAST, image_url=IMAGE)
    with serving_gunicorn(sandbox_server.url, tmp_path / "gunicorn.log", **tracing_env(receiver)) as (_process, url):
        browser = signed_in(url, bob)
        card_url = f"{url}/t/acme/numbers/{CARD_NUMBER}/"
        # A query string the trace must not keep (a person can type anything into one).
        page = browser.get(f"{card_url}?from={FIRST}", timeout=10)
        assert page.status_code == 200 and FIRST in page.text
        form = {**card_form(page), "first_name": NEW_FIRST, "last_name": NEW_LAST,
                "csrfmiddlewaretoken": next(f for f in forms_on(page) if "card-form" in f["attrs"].get("class", ""))
                ["fields"]["csrfmiddlewaretoken"]}
        saved = browser.post(card_url, data=form, headers={"Referer": card_url}, timeout=30)
        assert saved.status_code == 200
        assert sandbox.cards[CARD_NUMBER]["last_name"] == NEW_LAST
        for path in (f"/hooks/linq/{HOOK}/", f"/accounts/password/reset/MQ/{RESET}/", f"/{TYPED}/"):
            assert browser.get(url + path, timeout=10).status_code < 500
        view = wait_until(lambda: request_span(receiver, "GET"), "the card view's request span")
        save = wait_until(lambda: request_span(receiver, "POST"), "the save's request span")

    # Paths with a secret in them are recorded as their route; a path no route matched, not at all.
    hook = wait_until(lambda: next((span for span in receiver.received()
                                    if span.attributes.get("http.route") == "hooks/linq/<str:token>/"), None),
                      "the webhook receiver's request span")
    assert hook.attributes["http.target"] == "/hooks/linq/<str:token>/"

    # The view: the request, its queries and its read of the card, in one trace.
    assert view.service == "linqadmin" and view.trace_id != save.trace_id
    assert "?" not in view.attributes.get("http.target", "") + view.attributes.get("http.url", "")
    spans = in_trace(receiver, view.trace_id)
    ids = {span.span_id for span in spans}
    assert all(span.parent_span_id in ids for span in spans if span is not view)
    assert queries(spans) and all(q.attributes["db.query.text"] for q in queries(spans))
    [read] = named(spans, "linq GET /v3/contact_card")
    assert read.attributes["http.response.status_code"] == 200 and read.kind == 3  # CLIENT

    # The save: its re-read, its PATCH and the re-check it queued, whose run comes later.
    clock.advance(minutes=10)  # past the attempt's window: the re-check is due
    workers.extra_env.update(tracing_env(receiver))
    workers.run_batch()
    ran = wait_until(lambda: named(in_trace(receiver, save.trace_id), "run recheck_attempts"),
                     "the worker's span of the queued task, in the save's trace")
    spans = in_trace(receiver, save.trace_id)
    [patch] = named(spans, "linq PATCH /v3/contact_card")
    assert patch.attributes["http.response.status_code"] == 200
    assert named(spans, "linq GET /v3/contact_card")  # the re-read before the write
    [enqueued] = named(spans, "enqueue recheck_attempts")
    assert enqueued.kind == 4 and enqueued.attributes["linqadmin.task"] == "contactcards.sync.tasks.recheck_attempts"
    [run] = ran
    assert run.parent_span_id == enqueued.span_id and run.kind == 5  # CONSUMER, a child of the enqueue
    assert run.attributes["linqadmin.task.status"] == "SUCCESSFUL"
    ids = {span.span_id for span in spans}
    assert all(span.parent_span_id in ids for span in spans if span is not save)  # one tree
    request_queries = [q for q in queries(spans) if q.parent_span_id != run.span_id]
    worker_queries = [q for q in queries(spans) if q.parent_span_id == run.span_id]
    assert request_queries and worker_queries
    assert any(q.attributes["db.operation.name"] == "INSERT" for q in request_queries)  # the attempt's row

    # Nothing of the token or the card anywhere: not in a span's texts, not in the bytes that were sent.
    for span in receiver.received():
        for text in span.strings():
            assert not any(secret in text for secret in SECRETS), (span.name, text)
    sent = b"".join(receiver.bodies)
    assert not any(secret.encode() in sent for secret in SECRETS)
    assert b"Bearer" not in sent and b"Authorization" not in sent.replace(b"authorization", b"")


def test_a_collector_that_is_down_changes_nothing_for_people_or_workers(
        transactional_db, sandbox_server, sandbox, team, bob, workers, tmp_path):
    # (A process's exit waits for its last export to give up: OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default.)
    down = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}", "OTEL_BSP_SCHEDULE_DELAY": "100",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "1"}
    with serving_gunicorn(sandbox_server.url, tmp_path / "gunicorn.log", **down) as (_process, url):
        browser = signed_in(url, bob)
        card_url = f"{url}/t/acme/numbers/{CARD_NUMBER}/"
        page = browser.get(card_url, timeout=10)
        assert page.status_code == 200
        form = {**card_form(page), "last_name": NEW_LAST,
                "csrfmiddlewaretoken": next(f for f in forms_on(page) if "card-form" in f["attrs"].get("class", ""))
                ["fields"]["csrfmiddlewaretoken"]}
        assert browser.post(card_url, data=form, headers={"Referer": card_url}, timeout=30).status_code == 200
        assert sandbox.cards[CARD_NUMBER]["last_name"] == NEW_LAST
    reconcile = taskqueue.enqueue(reconcile_all_teams)
    workers.extra_env.update(down)
    workers.run_batch()
    assert DBTaskResult.objects.get(id=reconcile.id).status == "SUCCESSFUL"


# -- off by default: nothing imported, nothing sent ----------------------------------------------------

OFF_SCRIPT = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
import linqadmin.wsgi  # what gunicorn loads
from contactcards.common import taskqueue, tracing
from contactcards.models import PhoneNumber
from contactcards.sync import tasks

setup_test_environment()
client = Client()
client.force_login(get_user_model().objects.get(username="bob"))
assert client.get("/t/acme/numbers/+15550001001/").status_code == 200
assert client.get("/healthz").status_code == 200
taskqueue.enqueue(tasks.recheck_attempts, PhoneNumber.objects.get(e164="+15550001001").pk)
call_command("db_worker", batch=True, queue_name="default", startup_delay=False, reload=False, verbosity=0)
print(json.dumps({"active": tracing.active(),
                  "modules": sorted(name for name in sys.modules if name.startswith("opentelemetry"))}))
"""


@pytest.mark.parametrize("configured", [
    {},  # nothing configured
    {"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_SERVICE_NAME": "linqadmin"},  # set, but empty
    {"OTEL_SDK_DISABLED": "true"},  # an endpoint (the receiver's), switched off
], ids=["unset", "empty", "disabled"])
def test_without_an_endpoint_nothing_is_imported_and_nothing_is_sent(
        transactional_db, sandbox_server, sandbox, team, bob, receiver, configured):
    if "OTEL_SDK_DISABLED" in configured:
        configured = {**configured, **tracing_env(receiver)}
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    environment.update(worker_env(sandbox_server.url, **configured))
    done = subprocess.run([sys.executable, "-c", OFF_SCRIPT], env=environment, cwd=taskqueue.BASE_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"active": False, "modules": []}
    assert receiver.posts == 0 and receiver.received() == []


# -- what a span may carry -----------------------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch):
    """Spans of this test, through the redacting exporter, kept in memory (the process's global
    tracer provider is never set: tracing is off in the test process)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing_otel.RedactingSpanExporter(exporter)))
    monkeypatch.setattr(tracing_otel, "tracer", lambda: provider.get_tracer("test"))
    yield exporter
    provider.shutdown()


def test_the_redacting_exporter_keeps_no_header_query_string_body_parameter_or_exception_message(recorded):
    tracer = tracing_otel.tracer()
    with tracer.start_as_current_span("GET t/<slug:team>/", kind=SpanKind.SERVER, attributes={
        "http.method": "GET",
        "http.url": f"https://user:pw@admin.example.com:8443/t/acme/?q={FIRST}#top",
        "http.target": f"/t/acme/?q={FIRST}",
        "url.full": f"https://admin.example.com/t/acme/?q={FIRST}",
        "url.query": f"q={FIRST}",
        "http.request.header.authorization": (f"Bearer {TOKEN}",),
        "http.request.header.cookie": ("sessionid=abc",),
        "http.response.header.set_cookie": ("sessionid=abc",),
        "http.request.body": f'{{"first_name": "{FIRST}"}}',
        "db.query.parameter.0": FIRST,
        "linq.token": TOKEN,
        "card.image_url": IMAGE,
        "http.route": "t/<slug:team>/",
        "http.status_code": 500,
    }) as span:
        span.record_exception(ValueError(f"value too long for {FIRST}"))
        span.set_status(StatusCode.ERROR, f"ValueError: value too long for {FIRST}")

    [kept] = recorded.get_finished_spans()
    assert dict(kept.attributes) == {
        "http.method": "GET",
        "http.url": "https://admin.example.com:8443/t/acme/",
        "http.target": "/t/acme/",
        "url.full": "https://admin.example.com/t/acme/",
        "http.route": "t/<slug:team>/",
        "http.status_code": 500,
    }
    [event] = kept.events
    assert event.name == "exception" and event.attributes["exception.type"] == "ValueError"
    assert "exception.message" not in event.attributes and "exception.stacktrace" not in event.attributes
    assert kept.status.status_code == StatusCode.ERROR and kept.status.description == "ValueError"


def test_a_path_is_kept_only_when_its_route_has_no_secret_and_a_route_matched(recorded):
    tracer = tracing_otel.tracer()
    for route, target in (("t/<slug:slug>/numbers/<e164:e164>/", "/t/acme/numbers/+15550001001/"),
                          ("hooks/linq/<str:token>/", f"/hooks/linq/{HOOK}/"),
                          ("accounts/password/reset/<uidb64>/<token>/", f"/accounts/password/reset/MQ/{RESET}/"),
                          (None, f"/{TYPED}/")):
        attributes = {"http.target": target, "http.url": f"http://admin.example.com{target}?x=1"}
        with tracer.start_as_current_span("GET", kind=SpanKind.SERVER,
                                          attributes={**attributes, "http.route": route} if route else attributes):
            pass
    card, hook, reset, typed = (dict(span.attributes) for span in recorded.get_finished_spans())
    assert card["http.target"] == "/t/acme/numbers/+15550001001/"
    assert card["http.url"] == "http://admin.example.com/t/acme/numbers/+15550001001/"
    assert hook == {"http.route": "hooks/linq/<str:token>/", "http.target": "/hooks/linq/<str:token>/"}
    assert reset["http.target"] == "/accounts/password/reset/<uidb64>/<token>/" and "http.url" not in reset
    assert typed == {}


def test_a_linq_call_span_says_the_status_and_linqs_code_but_not_its_message(recorded, monkeypatch):
    monkeypatch.setattr(linq_client, "_call_span", tracing_otel._linq_call_span)
    client = LinqClient(TOKEN, base_url="https://linq.test/api/partner")
    with responses.RequestsMock() as linq:
        linq.add(responses.PATCH, "https://linq.test/api/partner/v3/contact_card", status=429,
                 json={"error": {"code": 1007, "message": f"Too many changes to {FIRST}", "retry_after": 60},
                       "trace_id": "t-1"})
        with pytest.raises(LinqError):
            client.update_card(CARD_NUMBER, {"first_name": FIRST})
        linq.add(responses.DELETE, "https://linq.test/api/partner/v3/webhook-subscriptions/sub_9", status=204)
        client.delete_webhook_subscription("sub_9")

    refused, deleted = recorded.get_finished_spans()
    assert refused.name == "linq PATCH /v3/contact_card" and refused.kind == SpanKind.CLIENT
    assert dict(refused.attributes) == {
        "http.request.method": "PATCH", "url.template": "/v3/contact_card", "server.address": "linq.test",
        "http.response.status_code": 429, "linq.code": "1007", "linq.trace_id": "t-1", "error.type": "api"}
    assert refused.status.status_code == StatusCode.ERROR and refused.status.description == "api"
    assert not refused.events
    assert deleted.name == "linq DELETE /v3/webhook-subscriptions/{id}"
    assert deleted.attributes["http.response.status_code"] == 204 and deleted.status.status_code == StatusCode.UNSET


def test_a_task_enqueued_inside_a_span_carries_its_traceparent_in_the_row(recorded, db, monkeypatch):
    from django.db.models.signals import pre_save
    from django_tasks_db.models import DBTaskResult

    from contactcards.common import tracing
    from contactcards.sync import tasks

    pre_save.connect(tracing_otel._carry_trace, sender=DBTaskResult, dispatch_uid="test-carry")
    monkeypatch.setattr(tracing, "_active", True)
    try:
        with tracing_otel.tracer().start_as_current_span("request") as request:
            result = taskqueue.enqueue(tasks.recheck_attempts, 1)
            bulk = taskqueue.enqueue_many(tasks.recheck_attempts, [(2,), (3,)])
    finally:
        pre_save.disconnect(sender=DBTaskResult, dispatch_uid="test-carry")
    assert bulk == 2
    trace_id = f"{request.get_span_context().trace_id:032x}"
    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert len(rows) == 3
    for row in rows:
        assert row.args_kwargs["trace"]["traceparent"].startswith(f"00-{trace_id}-")
        assert row.task_result.args in ([1], [2], [3]) and row.task_result.kwargs == {}
    assert DBTaskResult.objects.get(id=result.id).args_kwargs["kwargs"] == {}
    names = [span.name for span in recorded.get_finished_spans()]
    assert names == ["enqueue recheck_attempts", "enqueue recheck_attempts", "request"]


def test_a_task_run_continues_its_trace_but_a_task_enqueueing_itself_again_starts_a_new_linked_one(
        recorded, db, monkeypatch):
    from django.db.models.signals import pre_save
    from django_tasks_db.models import DBTaskResult

    from contactcards.common import tracing
    from contactcards.sync import tasks
    from contactcards.sync.reconcile import reconcile_all_teams

    pre_save.connect(tracing_otel._carry_trace, sender=DBTaskResult, dispatch_uid="test-carry")
    monkeypatch.setattr(tracing, "_active", True)
    try:
        with tracing_otel.tracer().start_as_current_span("request"):
            taskqueue.enqueue(reconcile_all_teams)
        row = DBTaskResult.objects.get()
        traceparent = row.args_kwargs["trace"]["traceparent"]
        with tracing_otel.task_run_span(row):  # as the worker runs it: it schedules its next run, and a re-check
            again = taskqueue.enqueue(reconcile_all_teams)
            other = taskqueue.enqueue(tasks.recheck_attempts, 1)
    finally:
        pre_save.disconnect(sender=DBTaskResult, dispatch_uid="test-carry")
    spans = {span.name: span for span in recorded.get_finished_spans() if span.name != "enqueue reconcile_all_teams"}
    first, next_run = (span for span in recorded.get_finished_spans() if span.name == "enqueue reconcile_all_teams")
    run = spans["run reconcile_all_teams"]
    assert traceparent.split("-")[1] == f"{first.context.trace_id:032x}"
    assert run.parent.span_id == first.context.span_id and run.context.trace_id == first.context.trace_id
    # The re-check it queued: in the same trace, a child of the run.
    assert spans["enqueue recheck_attempts"].parent.span_id == run.context.span_id
    assert DBTaskResult.objects.get(id=other.id).args_kwargs["trace"]["traceparent"].split("-")[1] == \
        f"{run.context.trace_id:032x}"
    # Its own next run: a new trace, linked to this run.
    assert next_run.parent is None and next_run.context.trace_id != run.context.trace_id
    assert [link.context.span_id for link in next_run.links] == [run.context.span_id]
    assert DBTaskResult.objects.get(id=again.id).args_kwargs["trace"]["traceparent"].split("-")[1] == \
        f"{next_run.context.trace_id:032x}"
