"""Rollouts on real `db_worker` processes against the sandbox (both databases).

Time never passes by sleeping: the ``clock`` fixture moves the app's, the sandbox's and the
workers' clocks together; workers run one batch (``db_worker --batch``) where a test asserts what
a run did, and tests that race workers wait for a condition (the job finished).
"""

from __future__ import annotations

import signal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contactcards.cards.budget import write_budget
from contactcards.cards.outcomes import Saved
from contactcards.cards.services import card_update
from contactcards.common import taskqueue
from contactcards.models import AuditEntry, Job, JobItem, PhoneNumber
from contactcards.rollout import jobs, tasks
from tests.support.rollout_helpers import many_numbers, numbers, start_bulk, start_import, wait_for, writes

pytestmark = pytest.mark.django_db(transaction=True)
State = JobItem.State


def csv_for(count: int) -> bytes:
    """A spreadsheet's CSV: BOM, `;` separators, a quoted cell with a line break in it, blank lines."""
    lines = ["number;label;tags;first_name;last_name;image_url"]
    for i in range(count):
        if i % 4 == 0:  # unchanged: the card already says this
            first, last = "Old", f"Name {i}"
        else:
            first, last = "Acme", f"Support {i}"
        label = f'"Floor 2\nDesk {i}"' if i == 7 else f"Desk {i}"
        lines.append(f"{numbers(i)};{label};support, wave-{i % 3};{first};{last};")
        if i % 50 == 0:
            lines.append("")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def test_a_200_number_csv_import_ends_with_every_card_as_the_file_says(workers, team, alice, sandbox):
    many_numbers(team, sandbox, 200, with_card=lambda i: i % 10 != 9)  # 20 numbers have no card yet
    job = start_import(team, alice, csv_for(200))

    workers.run_batch()

    for i in range(200):
        card = sandbox.cards[numbers(i)]
        unchanged = i % 4 == 0  # (all of these have a card: the 20 without one are the odd i % 10 == 9)
        expected = ("Old", f"Name {i}") if unchanged else ("Acme", f"Support {i}")
        assert (card["first_name"], card["last_name"]) == expected, numbers(i)
        assert writes(sandbox, numbers(i)) == (0 if unchanged else 1), numbers(i)
    progress = jobs.job_progress(job)
    assert progress.finished and progress.total == 200
    assert progress.counts[State.SKIPPED] == 50 and progress.counts[State.SENT] == 150
    assert progress.counts[State.FAILED] == 0
    # Every write is in the history, attributed to the job and to the person who confirmed it.
    entries = AuditEntry.objects.filter(job=job)
    assert entries.count() == 150 and set(entries.values_list("username", flat=True)) == {"alice"}
    assert set(entries.values_list("action", flat=True)) == {"update", "create"}
    # Labels and tags from the file, including a label with a line break in a quoted cell.
    seventh = PhoneNumber.objects.get(e164=numbers(7))
    assert seventh.label == "Floor 2\nDesk 7"
    assert sorted(t.name for t in seventh.tags.all()) == ["support", "wave-1"]
    assert Job.objects.get(pk=job.pk).finished_at is not None


def test_two_workers_never_take_the_same_item(workers, team, alice, sandbox):
    many_numbers(team, sandbox, 40)
    job = start_bulk(team, alice, [numbers(i) for i in range(40)], {"last_name": "Two workers"})
    for item_id in job.items.values_list("pk", flat=True):  # every item is on the queue twice
        taskqueue.enqueue(tasks.run_job_item, item_id)

    workers.start("default")
    workers.start("default")
    wait_for(lambda: jobs.job_progress(job).finished, "the job to finish")
    wait_for(lambda: not DBTaskResult.objects.filter(status__in=["READY", "RUNNING"],
                                                     task_path__endswith="run_job_item").exists(),
             "the duplicate tasks to be run")

    assert all(writes(sandbox, numbers(i)) == 1 for i in range(40))
    assert all(sandbox.cards[numbers(i)]["last_name"] == "Two workers" for i in range(40))
    assert set(job.items.values_list("attempts", flat=True)) == {1}
    assert AuditEntry.objects.filter(job=job).count() == 40
    results = DBTaskResult.objects.filter(task_path__endswith="run_job_item").values_list("return_value", flat=True)
    assert list(results).count("sent") == 40
    assert all(value in ("sent", "not open", "taken") for value in results)


def test_a_worker_killed_mid_job_resumes_without_a_double_write(workers, clock, team, alice, sandbox):
    many_numbers(team, sandbox, 6)
    victim = numbers(3)
    # Linq applies the victim's PATCH but its answer never comes: the worker is mid-call when killed.
    sandbox.add_fault({"kind": "timeout", "number": victim, "methods": ["PATCH"], "seconds": 60, "times": 1})
    job = start_bulk(team, alice, [numbers(i) for i in range(6)], {"first_name": "Resumed"})

    workers.extra_env["TEST_LINQ_READ_TIMEOUT"] = "90"
    worker = workers.start("default")
    wait_for(lambda: sandbox.cards[victim]["first_name"] == "Resumed", "Linq to apply the victim's write")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    stuck = JobItem.objects.get(job=job, phone_number=victim)
    assert stuck.state == State.RUNNING  # its worker died before recording anything about the item
    # The write-ahead audit stored the attempt before the call; its outcome never came.
    assert AuditEntry.objects.get(job=job, phone_number=victim).outcome == AuditEntry.Outcome.PENDING

    del workers.extra_env["TEST_LINQ_READ_TIMEOUT"]
    clock.advance(seconds=jobs.LEASE.total_seconds() + 1)  # the watchdog's turn: the item's lease expired
    workers.run_batch()

    assert jobs.job_progress(job).finished
    assert all(writes(sandbox, numbers(i)) == 1 for i in range(6)), [writes(sandbox, numbers(i)) for i in range(6)]
    assert all(sandbox.cards[numbers(i)]["first_name"] == "Resumed" for i in range(6))
    resumed = JobItem.objects.get(pk=stuck.pk)
    assert resumed.state == State.SENT and resumed.attempts == 2
    assert resumed.why == JobItem.Why.ALREADY_APPLIED and resumed.reason == ""  # a fact, worded by the page
    assert set(job.items.values_list("state", flat=True)) == {State.SENT}


def test_a_number_with_a_spent_budget_is_sent_when_its_slot_opens(workers, clock, team, alice, sandbox):
    number, other = many_numbers(team, sandbox, 2)
    for name in ("One", "Two", "Three"):  # three writes through the card page: the budget is spent
        loaded = dict(sandbox.cards[number.e164])
        outcome = card_update(number=number, user=alice, loaded=loaded, submitted={**loaded, "first_name": name})
        assert isinstance(outcome, Saved)
    slot = write_budget(number=number).next_write_at
    job = start_bulk(team, alice, [number.e164, other.e164], {"first_name": "Later"})

    workers.run_batch()

    waiting = JobItem.objects.get(job=job, number=number)
    assert waiting.state == State.WAITING and waiting.not_before == slot
    assert JobItem.objects.get(job=job, number=other).state == State.SENT
    scheduled = DBTaskResult.objects.filter(status="READY", task_path__endswith="run_job_item")
    assert [task.run_after for task in scheduled] == [slot]  # scheduled for the slot, not polled
    assert writes(sandbox, number.e164) == 3
    assert jobs.job_progress(job).waiting_until == slot

    workers.run_batch()  # nothing is due yet: nothing happens
    assert JobItem.objects.get(pk=waiting.pk).state == State.WAITING and writes(sandbox, number.e164) == 3

    clock.advance(minutes=10, seconds=1)
    workers.run_batch()

    assert JobItem.objects.get(pk=waiting.pk).state == State.SENT
    assert writes(sandbox, number.e164) == 4 and sandbox.cards[number.e164]["first_name"] == "Later"
    assert jobs.job_progress(job).finished


def test_429_and_503_wait_as_long_as_linq_asks(workers, clock, team, alice, sandbox):
    first, second = many_numbers(team, sandbox, 2)
    sandbox.add_fault({"kind": "error", "number": first.e164, "methods": ["PATCH"], "status": 429, "code": 1007,
                       "retry_after": 120, "times": 1})
    sandbox.add_fault({"kind": "error", "number": second.e164, "methods": ["PATCH"], "status": 503, "code": 4004,
                       "retry_after": 300, "times": 1})
    job = start_bulk(team, alice, [first.e164, second.e164], {"first_name": "Patient"})

    workers.run_batch()
    items = {item.phone_number: item for item in job.items.all()}
    assert items[first.e164].state == State.WAITING and items[second.e164].state == State.WAITING
    assert (items[second.e164].not_before - items[first.e164].not_before).total_seconds() == pytest.approx(180, abs=5)

    clock.advance(seconds=121)
    workers.run_batch()
    assert JobItem.objects.get(pk=items[first.e164].pk).state == State.SENT
    assert JobItem.objects.get(pk=items[second.e164].pk).state == State.WAITING

    clock.advance(seconds=180)
    workers.run_batch()
    assert JobItem.objects.get(pk=items[second.e164].pk).state == State.SENT
    assert writes(sandbox, first.e164) == 2 and writes(sandbox, second.e164) == 2


def test_500_2022_is_retried_a_bounded_number_of_times_then_fails(workers, clock, team, alice, sandbox):
    flaky, broken, refused = many_numbers(team, sandbox, 3)
    sandbox.add_fault({"kind": "error", "number": flaky.e164, "methods": ["PATCH"], "status": 500, "code": 2022,
                       "times": 1})
    sandbox.add_fault({"kind": "error", "number": broken.e164, "methods": ["PATCH"], "status": 500, "code": 2022})
    sandbox.add_fault({"kind": "error", "number": refused.e164, "methods": ["PATCH"], "status": 400, "code": 1002})
    job = start_bulk(team, alice, [flaky.e164, broken.e164, refused.e164], {"first_name": "Retry"})

    for _ in range(jobs.MAX_SERVER_ERRORS + 1):
        workers.run_batch()
        clock.advance(minutes=5)  # past any backoff, and the budget window keeps rolling

    items = {item.phone_number: item for item in job.items.all()}
    assert items[flaky.e164].state == State.SENT and writes(sandbox, flaky.e164) == 2
    assert items[broken.e164].state == State.FAILED and writes(sandbox, broken.e164) == jobs.MAX_SERVER_ERRORS
    broke = items[broken.e164]
    assert broke.why == JobItem.Why.LINQ_ERROR and broke.linq_code == 2022
    assert broke.detail["status"] == 500 and broke.detail["code"] == 2022
    assert (broke.detail["attempt"], broke.detail["attempts"], broke.detail["gave_up"]) == (3, 3, True)
    assert items[refused.e164].state == State.FAILED and writes(sandbox, refused.e164) == 1
    assert items[refused.e164].why == JobItem.Why.LINQ_ERROR and items[refused.e164].detail["code"] == 1002
    assert jobs.job_progress(job).finished


def test_cancel_stops_items_not_yet_sent(workers, team, alice, sandbox):
    many_numbers(team, sandbox, 5)
    job = start_bulk(team, alice, [numbers(i) for i in range(5)], {"first_name": "Never"})
    stopped = jobs.job_cancel(job=job, user=alice)
    workers.run_batch()
    assert stopped == 5 and all(writes(sandbox, numbers(i)) == 0 for i in range(5))
    progress = jobs.job_progress(Job.objects.get(pk=job.pk))
    assert progress.counts[State.CANCELLED] == 5 and progress.finished and progress.cancelled


def test_a_poll_with_the_cursor_returns_only_the_items_changed_since(client, workers, clock, team, alice, sandbox,
                                                                      django_assert_max_num_queries):
    from django.urls import reverse

    from tests.support.helpers import sign_in_as

    many_numbers(team, sandbox, 5)
    job = start_bulk(team, alice, [numbers(i) for i in range(5)], {"first_name": "Polled"})
    progress_url = reverse("job_progress", args=[team.slug, job.pk])
    sign_in_as(client, alice)
    clock.advance(seconds=60)
    first = client.get(progress_url).json()
    assert len(first["items"]) == 5 and first["boxes"]["queued"] == 5  # no cursor yet: every item

    clock.advance(seconds=60)
    assert client.get(progress_url, {"since": first["cursor"]}).json()["items"] == []  # nothing changed
    changed = job.items.order_by("pk")[2]
    JobItem.objects.filter(pk=changed.pk).update(state=State.CANCELLED, why=JobItem.Why.CANCELLED,
                                                 detail={"by": "alice"})
    with django_assert_max_num_queries(6):  # session, user, team and role, job, counts, changed items
        data = client.get(progress_url, {"since": first["cursor"]}).json()
    assert [item["id"] for item in data["items"]] == [changed.pk]
    assert "Cancelled by alice." in data["items"][0]["html"] and f'data-item="{changed.pk}"' in data["items"][0]["html"]
    assert data["boxes"]["cancelled"] == 1 and data["boxes"]["queued"] == 4

    # A change stamped just before a poll began but committed after it read is still in the next poll.
    late = job.items.order_by("pk")[3]
    JobItem.objects.filter(pk=late.pk).update(state=State.SKIPPED, updated_at=timezone.now() - jobs.OVERLAP / 2)
    assert late.pk in [item["id"] for item in client.get(progress_url, {"since": data["cursor"]}).json()["items"]]


def test_the_failed_items_are_retried_through_a_real_worker(workers, team, alice, sandbox):
    good, refused = many_numbers(team, sandbox, 2)
    sandbox.add_fault({"kind": "error", "number": refused.e164, "methods": ["PATCH"], "status": 400, "code": 1002,
                       "times": 1})
    job = start_bulk(team, alice, [good.e164, refused.e164], {"last_name": "Second go"})
    workers.run_batch()
    assert jobs.job_progress(job).finished and jobs.job_progress(job).counts[State.FAILED] == 1

    retry = jobs.job_retry(job=job, user=alice)
    workers.run_batch()

    assert retry.retry_of_id == job.pk and [i.phone_number for i in retry.items.all()] == [refused.e164]
    item = retry.items.get()
    assert item.state == State.SENT and item.why == "" and item.entry is not None
    assert sandbox.cards[refused.e164]["last_name"] == "Second go"
    assert writes(sandbox, refused.e164) == 2 and writes(sandbox, good.e164) == 1  # the good one is not resent
    assert AuditEntry.objects.get(job=retry).phone_number == refused.e164  # audited, attributed to the retry
    assert jobs.job_progress(Job.objects.get(pk=retry.pk)).finished
    assert jobs.job_retry(job=job, user=alice) == retry  # one retry per job
