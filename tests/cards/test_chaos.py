"""Chaos (issue 19): several editors save through gunicorn while Linq fails a share of the writes in
every way it can and workers are killed; afterwards the history, the sandbox's own log and the
dashboard agree exactly.

The sandbox picks a fault per PATCH: first each of ``FAULTS`` once, in a seeded order, then rounds
of them mixed with normal answers. Linq drops the connection before or after applying the write,
answers after our timeout and applies the write later, applies it at once but answers too late,
refuses with its own 500/3006, 503/4004 or 429/1007, answers an HTML 502 before or after applying,
or a 504 page and applies the write later; and twice a kill: the sandbox holds the PATCH until the
test has SIGKILLed every gunicorn worker, then applies it (Linq did it, nobody heard). The card
page's reads fail now and then too (503/3006), so some immediate re-reads fail.

The gunicorn processes treat a pending attempt as stale after STALE seconds and give Linq an hour
(WINDOW) to apply what they stopped waiting for, so nothing is settled "not applied" during the run.
Afterwards someone opens every number (in this process), Linq applies what it parked, the clock
moves past the window and a real `db_worker` runs the re-checks the attempts scheduled. Then every
write the sandbox received has exactly one history row, each row says it took effect exactly when
the sandbox applied it, nothing is unsettled, nothing of ours is filed as changed outside, and the
dashboard shows every card as the sandbox has it.

Waits are for conditions (threads done, requests finished), never durations; the clock is moved.
"""

from __future__ import annotations

import os
import queue
import random
import re
import signal
import threading

import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD
from contactcards.models import AuditEntry, CardMirror, Membership, PhoneNumber, unknown_window
from contactcards.sync.reads import card_fetch
from devtools.sandbox.app import RecordedRequest
from tests.support.helpers import card_form, forms_on, sign_in_as
from tests.support.rollout_helpers import many_numbers
from tests.support.worker import gunicorn_worker_pids, serving_gunicorn, signed_in, wait_until

STALE = 3  # seconds: a killed worker's attempt stops counting as in flight (so saves do not wait long)
WINDOW = 3600  # seconds Linq may still apply a write we stopped waiting for: longer than the run
READ_TIMEOUT = 1  # the gunicorn workers' Linq read timeout; "late" answers come after it
NUMBERS = 10
EDITORS = ("alice", "erin", "frank")
SAVES = 12  # per editor; the write budget (3 per number per 10 minutes) blocks some
HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"

# Each round of PATCHes gets each of these once, in a seeded order ("kill": see Chaos.pick).
FAULTS = {
    "drop before applying": {"kind": "drop", "apply_write": False},
    "drop after applying": {"kind": "drop", "apply_write": True},
    "answered after our timeout, applied later": {"kind": "timeout", "seconds": READ_TIMEOUT + 0.5,
                                                  "apply_write": "later"},
    "applied, answered after our timeout": {"kind": "timeout", "seconds": READ_TIMEOUT + 0.5, "apply_write": True},
    "500/3006": {"kind": "error", "status": 500, "code": 3006},
    "503/4004": {"kind": "error", "status": 503, "code": 4004, "retry_after": 30},
    "429/1007": {"kind": "error", "status": 429, "code": 1007, "retry_after": 60},
    "HTML 502, nothing applied": {"kind": "non_json", "status": 502},
    "HTML 502 after applying": {"kind": "answer", "status": 502, "body": HTML, "content_type": "text/html"},
    "HTML 504, applied later": {"kind": "answer", "status": 504, "body": HTML, "content_type": "text/html",
                                "apply_write": "later"},
    "kill": "kill",
    "kill again": "kill",
}
NORMAL = ("normal 1", "normal 2", "normal 3", "normal 4", "normal 5")  # answered normally, from the second round


class Chaos:
    """The sandbox's choice of fault per request, and the kills (done by the test's own thread)."""

    def __init__(self, sandbox, seed: int) -> None:
        self.sandbox, self.rng, self.lock = sandbox, random.Random(seed), threading.Lock()
        self.round: list[str] = self.rng.sample(list(FAULTS), len(FAULTS))  # every fault, before anything else
        self.used: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.kill_requests: queue.Queue[threading.Event] = queue.Queue()

    def pick(self, record: RecordedRequest):
        number = record.query.get("phone_number")
        if record.path.rstrip("/") != "/v3/contact_card" or not number:
            return None
        with self.lock:
            if record.method == "GET":
                return {"kind": "error", "status": 503, "code": 3006} if self.rng.random() < 0.05 else None
            if not self.round:
                self.round = self.rng.sample([*FAULTS, *NORMAL], len(FAULTS) + len(NORMAL))
            # One parked write per number (Linq applies a number's writes in order): a fault that parks
            # waits for a PATCH of another number.
            parked = {record.query.get("phone_number") for record in self.sandbox.parked()}
            allowed = [i for i, name in enumerate(self.round)
                       if number not in parked or not _parks(FAULTS.get(name))]
            name = self.round.pop(allowed[-1]) if allowed else "normal (this number has a parked write)"
            fault = FAULTS.get(name)
            self.used[name] = self.used.get(name, 0) + 1
        if fault == "kill":
            killed = threading.Event()
            self.kill_requests.put(killed)
            killed.wait(30)  # the test kills every gunicorn worker, then this PATCH goes on and applies
            return None
        return fault


def _parks(fault) -> bool:
    return isinstance(fault, dict) and fault.get("apply_write") == "later"


def editor(url: str, user, numbers: list[str], seed: int, errors: list) -> None:
    """One person saving SAVES changes, each with values no other save uses."""
    rng = random.Random(seed)
    browser = signed_in(url, user)
    for n in range(SAVES):
        e164 = rng.choice(numbers)
        card_url = f"{url}/t/acme/numbers/{e164}/"
        try:
            page = browser.get(card_url, timeout=30)
            forms = [f for f in forms_on(page) if "card-form" in f["attrs"].get("class", "")]
            if page.status_code != 200 or not forms:
                continue  # the card could not be read (or the worker died): a person would reload
            field = rng.choice(("first_name", "last_name", "both"))
            values = {"first_name": f"{user.username} {n}"} if field == "first_name" else (
                {"last_name": f"{user.username} {n}"} if field == "last_name" else
                {"first_name": f"{user.username} {n}", "last_name": f"{user.username} {n}b"})
            data = {**card_form(page), **values, "csrfmiddlewaretoken": forms[0]["fields"]["csrfmiddlewaretoken"]}
            answer = browser.post(card_url, data=data, headers={"Referer": card_url}, timeout=30)
            if answer.status_code >= 500:
                errors.append((user.username, e164, answer.status_code))
        except requests.RequestException:
            pass  # a killed worker: the browser got no page


def kill_workers(master, chaos: Chaos, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            release = chaos.kill_requests.get(timeout=0.1)
        except queue.Empty:
            continue
        for pid in gunicorn_worker_pids(master.pid):
            os.kill(pid, signal.SIGKILL)
        release.set()


def took_effect(entry: AuditEntry) -> bool:
    return entry.is_success or entry.applied is True


def test_editors_saving_through_chaos_leave_a_true_history(workers, clock, team, alice, sandbox_server, sandbox,
                                                           settings, tmp_path):
    users = [alice] + [get_user_model().objects.create_user(username=name, password=PASSWORD)
                       for name in EDITORS[1:]]
    for user in users[1:]:
        Membership.objects.create(team=team, user=user, role="editor")
    numbers = [number.e164 for number in many_numbers(team, sandbox, NUMBERS)]
    timing = {"LINQ_ATTEMPT_STALE_AFTER": str(STALE), "LINQ_UNKNOWN_RECHECK_AFTER": str(WINDOW)}
    settings.LINQ_ATTEMPT_STALE_AFTER, settings.LINQ_UNKNOWN_RECHECK_AFTER = STALE, WINDOW
    workers.extra_env.update(timing)
    chaos = Chaos(sandbox, seed=19)
    sandbox.pick_fault = chaos.pick

    served = serving_gunicorn(sandbox_server.url, tmp_path / "gunicorn.log", workers=3,
                              TEST_LINQ_READ_TIMEOUT=str(READ_TIMEOUT), LINQ_REQUEST_BUDGET="20", **timing)
    with served as (master, url):
        stop = threading.Event()
        killer = threading.Thread(target=kill_workers, args=(master, chaos, stop))
        killer.start()
        errors: list = []
        editors = [threading.Thread(target=editor, args=(url, user, numbers, 100 + i, errors))
                   for i, user in enumerate(users)]
        for thread in editors:
            thread.start()
        for thread in editors:
            thread.join(300)
        stop.set()
        killer.join(10)
    sandbox.pick_fault = None
    assert not any(thread.is_alive() for thread in editors), "an editor never finished"
    assert errors == []  # no page answered 5xx (a killed worker's request has no page at all)
    wait_until(lambda: all(r.applied is not None or r.deferred for r in sandbox.requests
                           if r.method in ("POST", "PATCH")), "the sandbox to finish every write")
    assert all(chaos.used[name] for name in FAULTS), chaos.used  # every way Linq can fail, at least once

    # Someone opens every number (once nothing can still be in flight); Linq applies what it parked;
    # once no write can be applied any more, the re-checks the attempts scheduled run.
    clock.advance(seconds=STALE + 1)
    for number in PhoneNumber.objects.filter(e164__in=numbers):
        assert card_fetch(number=number).error is None
    assert sandbox.parked(), "nothing was parked to be applied later"
    sandbox.apply_deferred()
    clock.advance(seconds=unknown_window().total_seconds())
    workers.run_batch()

    # The sandbox's own log and the history agree, write by write.
    writes = [r for r in sandbox.requests if r.method == "PATCH"]
    entries = list(AuditEntry.objects.writes().filter(stage=AuditEntry.Stage.WRITE))
    by_body = {(entry.phone_number, tuple(sorted(entry.request_body.items()))): entry for entry in entries}
    assert len(by_body) == len(entries)  # every save sent its own values
    for write in writes:
        entry = by_body.get((write.query["phone_number"], tuple(sorted(write.body.items()))))
        assert entry is not None, f"a write reached Linq without a history row: {write.body}"
        assert took_effect(entry) is bool(write.applied), (entry.pk, entry.outcome, entry.applied, write.to_dict())
    sent = {(w.query["phone_number"], tuple(sorted(w.body.items()))) for w in writes}
    for key, entry in by_body.items():
        if key not in sent:  # the attempt was stored, then its worker died before the PATCH left
            assert entry.applied is False and entry.outcome == AuditEntry.Outcome.UNKNOWN
    assert not AuditEntry.objects.unsettled().exists()
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE).exists()
    assert len(writes) >= 10 and any(w.applied for w in writes) and any(not w.applied for w in writes)

    # The dashboard shows every card as Linq has it, and no change of ours as made outside.
    for e164 in numbers:
        card, known = sandbox.cards[e164], CardMirror.objects.get(number__e164=e164)
        assert (known.first_name, known.last_name or None) == (card["first_name"], card["last_name"]), e164
        assert known.outside_changed_at is None
    page = Client()
    sign_in_as(page, alice)
    html = page.get(reverse("dashboard", args=["acme"])).content.decode()
    for e164 in numbers:
        row = re.search(rf'<tr class="status-[^"]*">(?:(?!</tr>).)*>{re.escape(e164)}</a>(?:(?!</tr>).)*</tr>',
                        html, flags=re.S)
        assert row, e164
        words = " ".join(re.sub(r"<[^>]+>", " ", row.group(0)).split())
        card = sandbox.cards[e164]
        assert " ".join(filter(None, (card["first_name"], card["last_name"]))) in words
        assert "outcome not known yet" not in words and "changed outside" not in words
        last = AuditEntry.objects.filter(phone_number=e164).order_by("-created_at", "-id").first()
        assert ("failed" in words) is (last is not None and not took_effect(last)), (e164, words)
