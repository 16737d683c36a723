"""/metrics: what it counts (through the real save, webhook and reconcile paths, against the sandbox over
HTTP), the gauges it reads from the database, who may read it, and counters from worker processes.

Counters are cumulative (and shared by every process of the run: PROMETHEUS_MULTIPROC_DIR), so each test
reads /metrics before and after and asserts the difference.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from conftest import CARD_NUMBER, TOKEN
from contactcards.alerts import services as alerts
from contactcards.common import taskqueue
from contactcards.models import AlertDelivery, AuditEntry, PhoneNumber
from contactcards.sync.outside import record_outside_change
from contactcards.sync.reconcile import reconcile_all_teams, reconcile_team
from tests.support import sample_tasks
from tests.support.alerts import subscribe
from tests.support.helpers import URL, card_form, load, make_entry, sign_in_as
from tests.support.webhook_helpers import card_event, deliver, endpoint_for
from tests.support.worker import free_port

SCRAPE_TOKEN = "scrape-token-for-tests-9f8e7d"


@pytest.fixture
def scrape(client, settings):
    """GET /metrics with the token; returns {(name, labels...): value} of every sample."""
    settings.METRICS_TOKEN = SCRAPE_TOKEN

    def read() -> Samples:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
        assert response.status_code == 200, response.status_code
        return Samples(response.content.decode())
    return read


class Samples:
    def __init__(self, text: str) -> None:
        self.text = text
        self.values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)


# -- what is counted ------------------------------------------------------------------------------------


def test_a_save_is_counted_with_its_linq_calls(client, bob, sandbox, scrape):
    before = scrape()
    form = load(sign_in_as(client, bob))
    response = client.post(URL, {**form, "last_name": "Night shift"})
    assert response.status_code == 200 and sandbox.cards[CARD_NUMBER]["last_name"] == "Night shift"
    after = scrape()

    saved = ("linqadmin_card_saves_total", {"action": "update", "outcome": "saved"})
    assert after(saved[0], **saved[1]) - before(saved[0], **saved[1]) == 1
    patch = {"endpoint": "PATCH /v3/contact_card", "status": "200", "code": "", "error": ""}
    assert after("linqadmin_linq_requests_total", **patch) - before("linqadmin_linq_requests_total", **patch) == 1
    read = {"endpoint": "GET /v3/contact_card", "status": "200", "code": "", "error": ""}
    assert after("linqadmin_linq_requests_total", **read) - before("linqadmin_linq_requests_total", **read) >= 2
    latency = ("linqadmin_linq_request_duration_seconds_count", {"endpoint": "PATCH /v3/contact_card"})
    assert after(*latency[:1], **latency[1]) - before(*latency[:1], **latency[1]) == 1
    # never a number, a token or a card value in a label
    assert CARD_NUMBER not in after.text and TOKEN not in after.text and "Night shift" not in after.text


def test_linq_errors_are_counted_by_status_and_code(client, bob, sandbox, scrape):
    sandbox.add_fault({"kind": "error", "status": 400, "code": 1005, "methods": ["PATCH"], "times": 1})
    before = scrape()
    form = load(sign_in_as(client, bob))
    client.post(URL, {**form, "last_name": "Refused"})
    after = scrape()
    labels = {"endpoint": "PATCH /v3/contact_card", "status": "400", "code": "1005", "error": "api"}
    assert after("linqadmin_linq_requests_total", **labels) - before("linqadmin_linq_requests_total", **labels) == 1
    failed = {"action": "update", "outcome": "failed"}
    assert after("linqadmin_card_saves_total", **failed) - before("linqadmin_card_saves_total", **failed) == 1


def test_a_refused_budget_is_counted(client, bob, sandbox, scrape):
    form = load(sign_in_as(client, bob))
    for n in range(3):
        form = card_form(client.post(URL, {**form, "last_name": f"Desk {n}"}))
    before = scrape()
    client.post(URL, {**form, "last_name": "Desk 4"})
    after = scrape()
    assert after("linqadmin_budget_refusals_total", blocked_by="budget") - \
        before("linqadmin_budget_refusals_total", blocked_by="budget") == 1
    blocked = {"action": "update", "outcome": "blocked"}
    assert after("linqadmin_card_saves_total", **blocked) - before("linqadmin_card_saves_total", **blocked) == 1
    assert len(sandbox.writes_for(CARD_NUMBER)) == 3


def test_webhook_deliveries_accepted_and_refused_are_counted(client, team, scrape):
    endpoint = endpoint_for(team)
    before = scrape()
    assert deliver(client, endpoint, card_event(CARD_NUMBER)).status_code == 202
    forged = deliver(client, endpoint, card_event(CARD_NUMBER), signature="v1,bm90IHRoZSBzaWduYXR1cmU=")
    assert forged.status_code == 400
    assert client.post("/hooks/linq/no-such-endpoint/", data=b"{}", content_type="application/json").status_code == 404
    after = scrape()

    def delta(**labels):
        return after("linqadmin_webhook_deliveries_total", **labels) - before("linqadmin_webhook_deliveries_total",
                                                                            **labels)
    assert delta(result="accepted", reason="") == 1
    assert delta(result="refused", reason="signature") == 1
    assert delta(result="refused", reason="unknown_endpoint") == 1


def test_outside_changes_found_by_reconcile_are_counted(team, sandbox, scrape):
    assert reconcile_team(team=team).ok  # what Linq has now is what we know
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Changed at Linq")
    before = scrape()
    assert len(reconcile_team(team=team).entries) == 1
    after = scrape()
    assert after("linqadmin_outside_changes_total", found_by="reconcile") - \
        before("linqadmin_outside_changes_total", found_by="reconcile") == 1


def test_alert_mail_sent_and_failed_is_counted(alice, team, settings, mailoutbox, scrape):
    alice.email = "alice@example.com"
    alice.save()
    subscribe(team, alice, "outside_change")
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    record_outside_change(number=number, changes={"last_name": ["Support", "Night"]}, found_by="webhook")
    before = scrape()
    assert alerts.deliver(AlertDelivery.objects.get().pk) == "sent" and len(mailoutbox) == 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    record_outside_change(number=number, changes={"last_name": ["Night", "Day"]}, found_by="webhook")
    failing = AlertDelivery.objects.exclude(status=AlertDelivery.Status.SENT).get()
    assert alerts.deliver(failing.pk) == "failed: mail"  # recorded, and tried again later
    failing.refresh_from_db()
    assert (failing.status, failing.error, failing.attempts) == ("failed", "mail", 1)
    after = scrape()

    def delta(result):
        labels = {"channel": "email", "kind": "outside_change", "result": result}
        return after("linqadmin_alerts_total", **labels) - before("linqadmin_alerts_total", **labels)
    assert delta("sent") == 1 and delta("failed") == 1
    assert after("linqadmin_outside_changes_total", found_by="webhook") >= 1


# -- gauges read from the database --------------------------------------------------------------------------


def test_a_queued_task_shows_in_the_depth_and_the_oldest_age(clock, scrape):
    empty = scrape()
    assert empty("linqadmin_tasks_waiting", queue="default") == 0
    assert empty("linqadmin_tasks_oldest_waiting_age_seconds", queue="default") == 0
    taskqueue.enqueue(sample_tasks.numbers_of, "acme")
    taskqueue.enqueue(sample_tasks.numbers_of, "acme", run_after=timezone.now() + timedelta(hours=1))
    clock.advance(minutes=5)
    queued = scrape()
    assert queued("linqadmin_tasks_waiting", queue="default") == 1
    assert queued("linqadmin_tasks_scheduled", queue="default") == 1
    assert queued("linqadmin_tasks_waiting", queue="webhooks") == 0
    assert 300 <= queued("linqadmin_tasks_oldest_waiting_age_seconds", queue="default") < 360
    clock.advance(hours=1)  # the scheduled one is due now, since a few seconds: the oldest is still the first
    later = scrape()
    assert later("linqadmin_tasks_waiting", queue="default") == 2
    assert 3900 <= later("linqadmin_tasks_oldest_waiting_age_seconds", queue="default") < 3960


def test_unknown_outcomes_waiting_to_be_settled(team, bob, scrape):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    now = timezone.now()
    assert scrape()("linqadmin_unsettled_writes") == 0
    make_entry(team, number=number, user=bob, at=now - timedelta(minutes=10), outcome=AuditEntry.Outcome.UNKNOWN,
               http_status=None)
    make_entry(team, number=number, user=bob, at=now - timedelta(minutes=5), outcome=AuditEntry.Outcome.NETWORK_ERROR,
               error_kind="timeout", http_status=None)
    make_entry(team, number=number, user=bob, at=now - timedelta(minutes=20))  # a success: settled
    make_entry(team, number=number, user=bob, at=now - timedelta(minutes=20), outcome=AuditEntry.Outcome.API_ERROR,
               error_kind="api", http_status=400, linq_code=1005)  # refused: a definite answer
    samples = scrape()
    assert samples("linqadmin_unsettled_writes") == 2
    assert 600 <= samples("linqadmin_unsettled_writes_oldest_age_seconds") < 660
    assert samples("linqadmin_metrics_database_up") == 1


# -- who may read it ------------------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_or_networks(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_only_the_right_token_gets_the_metrics(client, db, settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}x"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Basic {SCRAPE_TOKEN}"}).status_code == 404
    assert client.post("/metrics").status_code == 404  # no method tells it exists either
    response = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert "linqadmin_tasks_waiting" in response.content.decode()
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies  # no session, no sign-in


def test_an_allowed_network_needs_no_token(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 404
    # a forwarded address counts only through a proxy we trust (the app's one client-address rule)
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 404
    settings.TRUSTED_PROXY_HOPS = 1
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404


# -- across processes ------------------------------------------------------------------------------------------


def test_what_a_worker_process_counts_shows_in_the_web_processes_metrics(live_server, team, sandbox, workers,
                                                                        settings):
    settings.METRICS_TOKEN = SCRAPE_TOKEN

    def scrape_live() -> Samples:
        response = requests.get(live_server.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"},
                                timeout=30)
        assert response.status_code == 200
        return Samples(response.text)

    assert reconcile_team(team=team).ok
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Changed at Linq")
    taskqueue.enqueue(reconcile_all_teams, False)
    before = scrape_live()
    assert before("linqadmin_tasks_waiting", queue="default") == 1
    workers.run_batch()  # a real `manage.py db_worker` process: it reads the cards and finds the change
    after = scrape_live()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE).count() == 1
    assert after("linqadmin_outside_changes_total", found_by="reconcile") - \
        before("linqadmin_outside_changes_total", found_by="reconcile") == 1
    assert after("linqadmin_tasks_waiting", queue="default") == 0


# -- the Linq client's observer hook (no Django in the client) -------------------------------------------------


def test_the_client_tells_its_observer_once_per_request_sent_and_never_the_number(sandbox, sandbox_server):
    from contactcards.linq import LinqClient, LinqError

    sandbox.add_account(TOKEN, [CARD_NUMBER])
    sandbox.set_card(CARD_NUMBER, first_name="Acme")
    seen = []
    client = LinqClient(TOKEN, base_url=sandbox_server.url, observer=seen.append)
    assert client.get_card(CARD_NUMBER).first_name == "Acme"
    (call,) = seen
    assert (call.endpoint, call.status, call.code, call.error, call.outcome_unknown) == \
        ("GET /v3/contact_card", 200, None, None, False)
    assert CARD_NUMBER not in repr(call) and TOKEN not in repr(call)

    with pytest.raises(LinqError):  # no token: nothing is sent, nothing observed
        LinqClient("", base_url=sandbox_server.url, observer=seen.append).list_cards()
    assert len(seen) == 1

    def broken(call):
        raise RuntimeError("an observer that fails")
    assert LinqClient(TOKEN, base_url=sandbox_server.url, observer=broken).get_card(CARD_NUMBER) is not None
