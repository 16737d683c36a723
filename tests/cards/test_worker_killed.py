"""A gunicorn worker killed mid-PATCH (SIGKILL, as the OOM killer or gunicorn's --timeout do it).

A real gunicorn process serves the app on an ephemeral port against the test database; the
sandbox holds the PATCH; the test kills the worker that is waiting for its answer, then lets the
sandbox apply the change (Linq did it, nobody heard). The attempt was committed before the PATCH
left, so it is in the number's history; opening the number afterwards re-reads the card and
records that the change took effect. Waits are for conditions (the PATCH arrived, the change is
at the sandbox, the attempt was reconciled), never for durations.

The gunicorn process gets a generous read timeout and time budget (nothing may time out before
the kill) but treats a pending attempt as stale after STALE seconds instead of budget + 30, so the
test does not wait out a production-sized margin.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
import requests

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry
from tests.support.helpers import card_form, forms_on
from tests.support.worker import gunicorn_worker_pids as worker_pids
from tests.support.worker import serving_gunicorn, signed_in
from tests.support.worker import wait_until as wait_for

STALE = 1.0  # seconds after which the gunicorn process treats a pending attempt as no longer in flight


@pytest.fixture
def gunicorn(transactional_db, sandbox_server, sandbox, tmp_path):
    with serving_gunicorn(sandbox_server.url, tmp_path / "gunicorn.log", TEST_LINQ_READ_TIMEOUT="50",
                          LINQ_REQUEST_BUDGET="50", LINQ_ATTEMPT_STALE_AFTER=str(STALE)) as served:
        yield served


def test_a_worker_killed_during_the_patch_leaves_the_attempt_and_the_next_open_reconciles_it(
        gunicorn, bob, sandbox):
    process, url = gunicorn
    browser = signed_in(url, bob)
    card_url = f"{url}/t/acme/numbers/{CARD_NUMBER}/"
    page = browser.get(card_url, timeout=10)
    assert page.status_code == 200
    form = {**card_form(page), "last_name": "Night shift",
            "csrfmiddlewaretoken": next(f for f in forms_on(page) if "card-form" in f["attrs"].get("class", ""))
            ["fields"]["csrfmiddlewaretoken"]}
    # The sandbox holds the PATCH until the test releases it (after the kill).
    sandbox.add_fault({"kind": "hold", "seconds": 60, "methods": ["PATCH"], "times": 1})

    answered: list = []

    def save() -> None:
        try:
            answered.append(browser.post(card_url, data=form, headers={"Referer": card_url}, timeout=30))
        except requests.RequestException as exc:
            answered.append(exc)

    saving = threading.Thread(target=save)
    saving.start()
    wait_for(lambda: sandbox.writes_for(CARD_NUMBER), "the PATCH to reach the sandbox")
    killed = worker_pids(process.pid)
    assert killed, "no gunicorn worker found"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    saving.join(30)
    assert answered and isinstance(answered[0], requests.RequestException)  # the browser got no page

    # The attempt was committed before the PATCH left: it is in the history, outcome not yet known.
    attempt = AuditEntry.objects.get(phone_number=CARD_NUMBER)
    assert attempt.outcome == AuditEntry.Outcome.PENDING and attempt.outcome_at is None
    assert attempt.username == "bob" and attempt.request_body == {"last_name": "Night shift"}
    assert attempt.changes == {"last_name": ["Support", "Night shift"]}

    sandbox.release_holds()  # Linq applies the change; its answer goes to a closed connection
    wait_for(lambda: sandbox.cards[CARD_NUMBER]["last_name"] == "Night shift", "Linq to apply the change")

    # Opening the number once the attempt can no longer be in flight re-reads the card and records it.
    wait_for(lambda: worker_pids(process.pid), "gunicorn to start a new worker")

    def opened_and_reconciled() -> bool:
        assert browser.get(card_url, timeout=10).status_code == 200
        attempt.refresh_from_db()
        return attempt.reconciled_at is not None
    wait_for(opened_and_reconciled, "opening the number to reconcile the attempt")
    assert attempt.outcome == AuditEntry.Outcome.UNKNOWN and attempt.applied is True
    history = browser.get(f"{url}/t/acme/numbers/{CARD_NUMBER}/history/", timeout=10).text
    assert "Night shift" in history and "the change took effect" in history
