"""End to end: a card changed at the sandbox "by someone else" reaches the history through a signed
webhook delivered to a live server and processed by a real task worker - and through reconcile when
webhooks are off. The sandbox's delivery queue is drained by the test (no sleeps, no timing)."""

from __future__ import annotations

import socket

import pytest
from django.core.management import call_command

from conftest import CARD_NUMBER, TOKEN
from contactcards.models import AuditEntry, CardMirror, WebhookEndpoint, WebhookEvent
from contactcards.sync.reconcile import reconcile_team
from tests.support.helpers import sign_in_as

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribed(client, alice, team, sandbox, live_server, settings):
    """Acme subscribed through its settings page; deliveries go to the live server."""
    settings.PUBLIC_URL = live_server.url
    reconcile_team(team=team)
    sign_in_as(client, alice)
    response = client.post("/t/acme/settings/webhooks/subscribe/")
    assert response.status_code == 302
    (subscription,) = sandbox.webhooks.of(TOKEN)
    assert subscription.target_url.startswith(f"{live_server.url}/hooks/linq/")
    return subscription


def outside():
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE).order_by("id"))


def test_a_change_by_someone_else_reaches_the_history_through_a_signed_webhook(subscribed, sandbox, workers):
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Changed in Linq")  # Dana, in Linq's dashboard
    assert sandbox.webhooks.deliver_due() == 1
    (delivery,) = sandbox.webhooks.done
    assert delivery.statuses == [202]
    workers.run_batch()  # the real worker processes the stored event
    (entry,) = outside()
    assert entry.changes == {"last_name": ["Support", "Changed in Linq"]}
    assert (entry.username, entry.origin, entry.found_by) == ("Dana Dashboard <dana@example.com>", "dashboard",
                                                              "webhook")
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Changed in Linq"
    assert WebhookEvent.objects.get().status == "recorded"


def test_our_own_save_is_confirmed_by_its_webhook_not_duplicated(subscribed, client, sandbox, workers):
    page = client.get(f"/t/acme/numbers/{CARD_NUMBER}/")
    form = page.context["form"]
    client.post(f"/t/acme/numbers/{CARD_NUMBER}/", {
        "first_name": "Acme", "last_name": "Desk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value()})
    sandbox.webhooks.deliver_due()
    workers.run_batch()
    assert outside() == []
    event = WebhookEvent.objects.get()
    assert (event.status, event.entry.action, event.card_active) == ("matched", "update", True)


def test_duplicates_bad_signatures_and_reordering_from_the_sandbox_change_nothing_they_should_not(
        subscribed, sandbox, workers):
    sandbox.webhooks.faults.duplicate = 1
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="One")
    sandbox.webhooks.deliver_due()
    sandbox.webhooks.faults.bad_signature = 1
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Forged")
    sandbox.webhooks.deliver_due()
    forged = sandbox.webhooks.done[-1]
    assert forged.statuses == [400] and forged not in sandbox.webhooks.outbox  # 4xx: Linq does not retry
    sandbox.webhooks.faults.reorder = True
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Two")
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Three")
    sandbox.webhooks.deliver_due()  # Three arrives before Two
    workers.run_batch()
    assert WebhookEndpoint.objects.get().refused == 1
    assert [e.changes["last_name"][1] for e in outside()] == ["One", "Three", "Two"]  # once each, as they came
    assert CardMirror.objects.get(number__e164=CARD_NUMBER).last_name == "Three"  # the newest wins


def test_webhooks_are_processed_by_workers_of_their_own_whatever_a_rollout_is_doing(subscribed, sandbox, workers,
                                                                                     alice, team):
    """A rollout's items are on the work queue (where a slow photo link or a busy number can hold a
    worker); the event is on the webhooks queue, whose worker takes nothing else."""
    from django_tasks_db.models import DBTaskResult

    from tests.support.rollout_helpers import start_bulk
    from tests.support.worker import WEBHOOKS_QUEUE

    job = start_bulk(team, alice, [CARD_NUMBER], {"first_name": "Rolled", "last_name": "Out"})
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Changed in Linq")
    assert sandbox.webhooks.deliver_due() == 1
    queues = dict(DBTaskResult.objects.values_list("task_path", "queue_name").distinct())
    assert queues == {"contactcards.rollout.tasks.start_job": "default",  # it enqueues the items (run_job_item)
                      "contactcards.rollout.tasks.check_job": "default",
                      "contactcards.sync.webhooks.process_webhook_event": "webhooks"}

    workers.run_batch(queues=(WEBHOOKS_QUEUE,))  # only the webhooks queue's worker runs

    assert WebhookEvent.objects.get().status == "recorded"
    assert [e.changes for e in outside()] == [{"last_name": ["Support", "Changed in Linq"]}]
    assert job.items.get().state == "queued"  # untouched: no webhooks worker ever takes a rollout's item


def test_without_webhooks_reconcile_finds_the_change(team, sandbox, workers):
    reconcile_team(team=team)
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Nobody told us")
    call_command("reconcile", "acme", stdout=__import__("io").StringIO())
    (entry,) = outside()
    assert (entry.found_by, entry.changes) == ("reconcile", {"last_name": ["Support", "Nobody told us"]})
    call_command("reconcile", stdout=__import__("io").StringIO())  # nothing new: nothing recorded again
    assert len(outside()) == 1


def test_the_periodic_reconcile_runs_on_the_task_queue_and_schedules_itself_once(team, sandbox, workers, settings):
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from contactcards.common import taskqueue
    from contactcards.sync.reconcile import reconcile_all_teams, schedule_reconcile

    reconcile_team(team=team)
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Periodic")
    schedule_reconcile()
    schedule_reconcile()  # one chain, however often it is asked for
    waiting = DBTaskResult.objects.filter(task_path=reconcile_all_teams.module_path, status="READY")
    assert waiting.count() == 1 and waiting.get().run_after > timezone.now()
    taskqueue.enqueue(reconcile_all_teams)  # due now
    workers.run_batch()
    assert [e.found_by for e in outside()] == ["reconcile"]


def test_the_sandbox_retries_5xx_and_network_errors_with_backoff_and_gives_up_on_other_4xx(sandbox):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    now = [1_000_000.0]
    sandbox.clock = lambda: now[0]
    sandbox.add_account(TOKEN, [CARD_NUMBER])
    sandbox.webhooks.create(TOKEN, {"target_url": f"http://127.0.0.1:{port}/down/",
                                    "subscribed_events": ["contact_card.updated"]})
    sandbox.set_card(CARD_NUMBER, first_name="A")
    sandbox.set_card(CARD_NUMBER, first_name="B")
    assert sandbox.webhooks.deliver_due() == 1
    (delivery,) = sandbox.webhooks.outbox
    assert delivery.statuses == ["network"] and delivery.next_at == now[0] + 5
    assert sandbox.webhooks.deliver_due() == 0  # not due yet
    for _ in range(12):
        now[0] = delivery.next_at
        sandbox.webhooks.deliver_due()
    assert sandbox.webhooks.outbox == [] and sandbox.webhooks.done == [delivery]  # gave up after 30 minutes
    assert now[0] - delivery.first_at >= 30 * 60 and len(set(delivery.statuses)) == 1


def test_test_delivery_reaches_the_receiver_and_is_stored_and_ignored(subscribed, client, workers):
    html = client.post("/t/acme/settings/webhooks/test/").content.decode()
    assert "The test event arrived (HTTP 202)" in html
    workers.run_batch()
    event = WebhookEvent.objects.get()
    assert (event.event_type, event.status) == ("linqadmin.test", "ignored")
