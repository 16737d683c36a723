"""Exactly once: a double click, a resubmit or two tabs send one PATCH, not two.

Two mechanisms: each rendering of the form carries a one-time token (consumed by a unique
row insert when its write is sent), and the number is locked from re-read to audit row, so
a second save waits, then re-reads and sees the first one's change. The concurrent tests use
real threads (each with its own database connection) and run on Postgres; the sequential
ones run everywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conftest import CARD_NUMBER, Client
from contactcards.cards.guard import FORM_TOKEN_TTL
from contactcards.models import AuditEntry, FormToken, PhoneNumber
from tests.support.helpers import URL, card_form, load, sign_in_as, text

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrent writers need Postgres row locks"
)


def test_the_same_form_posted_twice_sends_one_patch(client, bob, sandbox):
    form = {**load(sign_in_as(client, bob)), "first_name": "Once"}
    first = client.post(URL, form)
    second = client.post(URL, form)  # a double click, or the browser's "resubmit"

    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Once"}]
    assert "Saved. Linq updated: first name." in text(first)
    page = text(second)
    assert "Already saved at" in page and "nothing was sent again" in page
    assert card_form(second)["first_name"] == "Once"  # the current card
    used = FormToken.objects.get()
    assert used.token == form["token"] and used.entry == AuditEntry.objects.get()


def test_a_resubmitted_failed_form_does_not_resend(client, bob, sandbox):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"], "times": 1})
    form = {**load(sign_in_as(client, bob)), "first_name": "Once"}
    client.post(URL, form)
    second = client.post(URL, form)
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1
    assert "The first submission at" in text(second) and "ended with an error" in text(second)
    kept = card_form(second)
    assert kept["first_name"] == "Once" and kept["token"] != form["token"]


def test_every_rendering_of_the_form_has_a_new_token(client, bob, sandbox):
    sign_in_as(client, bob)
    first, second = load(client), load(client)
    assert first["token"] != second["token"] and len(first["token"]) == 32
    after_save = card_form(client.post(URL, {**first, "first_name": "Next"}))
    assert after_save["token"] not in (first["token"], second["token"])


def test_two_tabs_with_the_same_change_send_one_patch(client, bob, sandbox):
    sign_in_as(client, bob)
    tab1, tab2 = load(client), load(client)
    client.post(URL, {**tab1, "first_name": "Same"})
    response = client.post(URL, {**tab2, "first_name": "Same"})
    assert len(sandbox.writes_for(CARD_NUMBER)) == 1
    assert "Linq already has these values" in text(response)


def test_two_people_saving_one_after_the_other_get_one_write_and_a_conflict(client, alice, bob, sandbox):
    other = Client()
    alice_form, bob_form = load(sign_in_as(client, alice)), load(sign_in_as(other, bob))
    client.post(URL, {**alice_form, "first_name": "Alice's"})
    response = other.post(URL, {**bob_form, "first_name": "Bob's"})
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Alice's"}]
    assert response.status_code == 409
    assert "Acme Alice's Bob's" in text(response)


def test_a_malformed_token_is_refused_with_the_input_kept(client, bob, sandbox):
    form = {**load(sign_in_as(client, bob)), "first_name": "Mine", "token": "not-a-token"}
    response = client.post(URL, form)
    assert "This form is out of date" in text(response)
    kept = card_form(response)
    assert kept["first_name"] == "Mine" and len(kept["token"]) == 32
    assert sandbox.writes_for(CARD_NUMBER) == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_sqlite_transactions_take_the_write_lock_up_front():
    """On SQLite, atomic() starts with BEGIN IMMEDIATE: that is the number lock's equivalent."""
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


_LOCK_SCRIPT = """
import threading, time, django
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from contactcards.models import PhoneNumber, Team
from contactcards.cards.guard import number_write_lock
number = PhoneNumber.objects.create(team=Team.objects.create(slug="x", name="x"), e164="+15550001001")
log, a_inside = [], threading.Event()
def writer(name, hold):
    with number_write_lock(number):
        log.append(name + " in")
        a_inside.set()
        time.sleep(hold)
        log.append(name + " out")
    connection.close()
a = threading.Thread(target=writer, args=("A", 0.3))
a.start(); a_inside.wait()
b = threading.Thread(target=writer, args=("B", 0))
b.start(); a.join(); b.join()
print(",".join(log))
"""


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
def test_on_a_sqlite_file_the_number_lock_serialises_two_writers(tmp_path):
    """Two threads on a real SQLite file (the test database is in memory): B enters only after A left."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'lock.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "linqadmin.settings_test"}
    done = subprocess.run([sys.executable, "-c", _LOCK_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=60, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "A in,A out,B in,B out"


# -- real concurrent requests (Postgres) -------------------------------------


def _post_together(posts: list[tuple[Client, dict]]) -> list:
    """POST from several threads at once; each thread uses its own database connection."""
    barrier = threading.Barrier(len(posts))
    responses: list = [None] * len(posts)

    def run(i: int, client: Client, data: dict) -> None:
        try:
            barrier.wait()
            responses[i] = client.post(URL, data)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c, d)) for i, (c, d) in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return responses


@postgres_only
@pytest.mark.postgres
def test_a_double_click_sends_one_patch_under_real_concurrency(transactional_db, bob, sandbox):
    # The PATCH takes a while, so the second request arrives while the first is in flight.
    sandbox.add_fault({"kind": "latency", "seconds": 0.5, "methods": ["PATCH"]})
    clicks = [sign_in_as(Client(), bob), sign_in_as(Client(), bob)]
    form = {**load(clicks[0]), "first_name": "Once"}
    responses = _post_together([(clicks[0], form), (clicks[1], form)])

    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"first_name": "Once"}]
    pages = sorted(text(r) for r in responses)
    assert any("Already saved at" in p for p in pages)
    assert any("Saved. Linq updated: first name." in p for p in pages)
    assert AuditEntry.objects.count() == 1 and FormToken.objects.count() == 1


@postgres_only
@pytest.mark.postgres
def test_two_people_saving_at_once_get_one_write_and_one_conflict(transactional_db, alice, bob, sandbox):
    sandbox.add_fault({"kind": "latency", "seconds": 0.5, "methods": ["PATCH"]})
    alice_client, bob_client = sign_in_as(Client(), alice), sign_in_as(Client(), bob)
    alice_form, bob_form = load(alice_client), load(bob_client)
    responses = _post_together([(alice_client, {**alice_form, "first_name": "Alice's"}),
                                (bob_client, {**bob_form, "first_name": "Bob's"})])

    writes = sandbox.writes_for(CARD_NUMBER)
    assert len(writes) == 1
    assert sorted(r.status_code for r in responses) == [200, 409]
    winner = writes[0].body["first_name"]
    loser = next(r for r in responses if r.status_code == 409)
    assert f"Acme {winner}" in text(loser)  # loaded, then what is now at Linq: the winner's value
    assert AuditEntry.objects.count() == 1


def test_old_form_tokens_are_removed_as_new_ones_are_used(client, bob, sandbox):
    number = PhoneNumber.objects.get(e164=CARD_NUMBER)
    old = FormToken.objects.create(token="a" * 32, number=number)
    recent = FormToken.objects.create(token="b" * 32, number=number)
    # used_at is auto_now_add: age the old row in place (FormToken is not append-only).
    FormToken.objects.filter(pk=old.pk).update(used_at=timezone.now() - FORM_TOKEN_TTL - timedelta(minutes=1))
    form = load(sign_in_as(client, bob))
    client.post(URL, {**form, "last_name": "Fresh"})
    assert set(FormToken.objects.values_list("token", flat=True)) == {recent.token, form["token"]}
