"""Bulk work that finishes (issue 21): every card state a rollout meets, refused rows skipped on purpose,
a selection that survives going back, and a worker that dies mid-item costing one lease, not minutes.

Both databases; rollouts run on real ``db_worker`` processes against the sandbox. Time moves only with the
``clock`` fixture; tests that race workers wait for a condition, never for a duration.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry, Job, JobItem, PhoneNumber
from contactcards.rollout import jobs
from contactcards.rollout.plan import Target, build_plan
from tests.support.helpers import sign_in_as
from tests.support.rollout_helpers import many_numbers, numbers, start_bulk, wait_for, writes

State = JobItem.State


def url(name, *args):
    return reverse(name, args=["acme", *args])


# -- every card state: no card, pending, active ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_pending_card_in_a_bulk_edit_is_set_up_again_with_the_whole_card(workers, team, alice, sandbox):
    active, pending, empty = many_numbers(team, sandbox, 3, with_card=lambda i: i != 2)
    sandbox.set_card(pending.e164, first_name="Old", last_name="Name 1", is_active=False)  # set-up did not complete

    plan = build_plan(team, [Target(e164=n.e164, values={"first_name": "Acme"}) for n in (active, pending, empty)])
    kinds = {row.e164: row.kind for row in plan.rows}
    assert kinds == {active.e164: "change", pending.e164: "recreate", empty.e164: "create"}
    assert plan.counts["recreate"] == 1 and plan.counts["sending"] == 3
    job = jobs.job_create(team=team, user=alice, plan=plan, source=Job.Source.BULK)

    workers.run_batch()

    items = {item.phone_number: item for item in job.items.all()}
    assert {item.state for item in items.values()} == {State.SENT}
    # the pending card got one POST of the whole card (its last name kept), nothing else
    sent = sandbox.writes_for(pending.e164)
    assert [w.method for w in sent] == ["POST"], sent
    assert sandbox.cards[pending.e164] == {**sandbox.cards[pending.e164], "first_name": "Acme",
                                            "last_name": "Name 1", "is_active": True}
    assert [w.method for w in sandbox.writes_for(active.e164)] == ["PATCH"]
    assert items[pending.e164].why == JobItem.Why.SET_UP_AGAIN
    entry = AuditEntry.objects.get(job=job, phone_number=pending.e164)
    assert entry.action == AuditEntry.Action.CREATE and entry.is_success


@pytest.mark.django_db(transaction=True)
def test_a_card_that_became_pending_after_the_preview_is_set_up_again(workers, team, alice, sandbox):
    (number,) = many_numbers(team, sandbox, 1)
    job = start_bulk(team, alice, [number.e164], {"last_name": "Helpdesk"})  # previewed active: a PATCH
    sandbox.set_card(number.e164, is_active=False)

    workers.run_batch()

    item = job.items.get()
    assert item.state == State.SENT and item.card_active is True
    assert [w.method for w in sandbox.writes_for(number.e164)] == ["POST"]
    assert sandbox.cards[number.e164]["last_name"] == "Helpdesk" and sandbox.cards[number.e164]["is_active"]


@pytest.mark.django_db(transaction=True)
def test_a_pending_card_that_became_active_after_the_preview_is_edited(workers, team, alice, sandbox):
    (number,) = many_numbers(team, sandbox, 1)
    sandbox.set_card(number.e164, is_active=False)
    job = start_bulk(team, alice, [number.e164], {"last_name": "Helpdesk"})
    assert job.items.get().action == AuditEntry.Action.CREATE
    sandbox.set_card(number.e164, is_active=True)  # Linq finished applying it meanwhile

    workers.run_batch()

    assert job.items.get().state == State.SENT
    assert [w.method for w in sandbox.writes_for(number.e164)] == ["PATCH"]  # only the change, not a set-up
    assert sandbox.cards[number.e164]["last_name"] == "Helpdesk"


@pytest.mark.django_db
def test_the_preview_says_a_pending_card_is_set_up_again(client, bob, sandbox):
    sandbox.set_card(CARD_NUMBER, is_active=False)
    sign_in_as(client, bob)
    response = client.post(url("bulk_edit"), {"n": [CARD_NUMBER], "set_last_name": "on", "last_name": "Desk",
                                              "action": "preview"})
    html = response.content.decode()
    assert response.status_code == 200 and "Pending at Linq: will be set up again" in html
    assert "Will change" not in html and "Confirm: send 1 change" in html


# -- refused rows skipped on purpose ----------------------------------------------------------------


CSV = "number,first_name,image_url\n+15550001001,Acme Co,\n+15559999999,Nobody,\n+15550001002,,ftp://x\n"


@pytest.mark.django_db
def test_refused_rows_can_be_skipped_on_purpose_and_are_listed_on_the_job(client, alice, sandbox):
    sign_in_as(client, alice)
    preview = client.post(url("cards_import"), {"action": "preview", "file": SimpleUploadedFile("c.csv", CSV.encode())})
    html = preview.content.decode()
    assert preview.context["counts"]["cannot"] == 2 and preview.context["counts"]["doing"] == 1
    assert "Send the 1 row that can be done, skip the 2 refused" in html and 'id="confirm"' not in html
    carry = dict(preview.context["carry"])
    confirm = {"action": "confirm", "fingerprint": preview.context["fingerprint"], **carry}

    response = client.post(url("cards_import"), confirm)  # without the explicit choice: nothing happens
    assert response.status_code == 200 and not Job.objects.exists()
    response = client.post(url("cards_import"), {**confirm, "skip_refused": "1"})

    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == url("job_detail", job.pk)
    items = {item.row: item for item in job.items.all()}
    assert items[2].state == State.QUEUED and items[2].phone_number == CARD_NUMBER
    assert items[3].state == State.SKIPPED and items[3].why == JobItem.Why.REFUSED
    assert "not one of this team's numbers" in items[3].detail["reasons"][0]
    assert items[4].state == State.SKIPPED and items[4].detail["reasons"] and items[4].phone_number == EMPTY_NUMBER
    page = client.get(url("job_detail", job.pk)).content.decode()
    assert "not one of this team&#x27;s numbers" in page or "not one of this team's numbers" in page


@pytest.mark.django_db
def test_the_command_line_skips_refused_rows_only_when_asked(tmp_path, team, alice, sandbox, capsys):
    path = tmp_path / "cards.csv"
    path.write_text(CSV)
    with pytest.raises(Exception, match="--skip-refused"):
        call_command("importcards", "acme", str(path))
    assert not Job.objects.exists()
    call_command("importcards", "acme", str(path), "--skip-refused")
    job = Job.objects.get()
    assert "2 refused row(s) skipped" in capsys.readouterr().out
    assert sorted(job.items.values_list("state", flat=True)) == [State.QUEUED, State.SKIPPED, State.SKIPPED]


# -- the bulk form and the selection ----------------------------------------------------------------


@dataclass
class PostedForm:
    action: str
    method: str
    fields: dict[str, list[str]]  # every value of a repeated name, as a browser posts them


def form_with_button(response, button_id: str) -> PostedForm:
    """The form holding the button ``button_id``, with its hidden fields (the CSRF token left out)."""
    found: list[PostedForm] = []

    class Forms(HTMLParser):
        current: PostedForm | None = None

        def handle_starttag(self, tag, attrs):
            attributes = {k: v or "" for k, v in attrs}
            if tag == "form":
                self.current = PostedForm(attributes.get("action", ""), attributes.get("method", "get"), {})
            elif (self.current is not None and tag == "input"
                  and attributes.get("name") not in (None, "csrfmiddlewaretoken")):
                self.current.fields.setdefault(attributes["name"], []).append(attributes.get("value", ""))
            elif self.current is not None and tag == "button" and attributes.get("id") == button_id:
                found.append(self.current)

        def handle_endtag(self, tag):
            if tag == "form":
                self.current = None

    Forms().feed(response.content.decode())
    assert len(found) == 1, f"{len(found)} forms with #{button_id}"
    return found[0]


@pytest.mark.django_db
def test_a_typed_value_counts_as_ticked_when_nothing_is_ticked(client, bob, sandbox):
    sign_in_as(client, bob)
    response = client.post(url("bulk_edit"), {"n": [CARD_NUMBER], "last_name": "Helpdesk", "action": "preview"})
    assert response.status_code == 200 and response.context["counts"]["change"] == 1
    assert response.context["plan"].rows[0].changes == {"last_name": ["Support", "Helpdesk"]}
    assert 'data-ticks="id_set_last_name"' in response.content.decode()  # the page ticks it as you type
    # an explicit choice is respected: ticked first name, typed (unticked) last name
    response = client.post(url("bulk_edit"), {"n": [CARD_NUMBER], "set_first_name": "on", "first_name": "Acme Co",
                                              "last_name": "Ignored", "action": "preview"})
    assert response.context["plan"].rows[0].changes == {"first_name": ["Acme", "Acme Co"]}


@pytest.mark.django_db
def test_change_the_selection_goes_back_with_the_selection(client, bob, sandbox):
    sign_in_as(client, bob)
    page = client.get(url("bulk_edit"), {"n": [CARD_NUMBER, EMPTY_NUMBER]})
    back = form_with_button(page, "change-selection")  # a POST: hundreds of numbers do not fit in a URL
    assert back.action == reverse("dashboard", args=["acme"]) and back.method == "post"
    assert back.fields == {"n": [CARD_NUMBER, EMPTY_NUMBER]}
    dashboard = client.post(back.action, back.fields)
    assert dashboard.status_code == 200 and "2 selected" in dashboard.content.decode()
    page = client.get(url("bulk_edit"), {"all": "1", "q": "+1555000"})
    assert form_with_button(page, "change-selection").fields == {"all": ["1"], "q": ["+1555000"]}


@pytest.mark.django_db
def test_a_selection_of_hundreds_of_numbers_never_goes_into_a_url(client, alice, team, sandbox):
    """gunicorn refuses a request line over 4,094 bytes: 400 ticked numbers travel in POST bodies only."""
    many = [f"+1555410{i:04d}" for i in range(400)]
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in many])
    sign_in_as(client, alice)
    board = client.get(reverse("dashboard", args=["acme"]))
    selection = board.content.decode().split('id="selection"')[0].rsplit("<form", 1)[1]
    assert 'method="post"' in selection  # the dashboard's selection form
    for view, heading in (("bulk_edit", "Bulk edit 400 numbers"), ("numbers_labels", "Labels and tags of 400 numbers")):
        page = client.post(reverse(view, args=["acme"]), {"step": "select", "n": many})
        assert page.status_code == 200 and heading in page.content.decode()
        assert "field-error" not in page.content.decode()  # nothing chosen yet: no "tick a field" error
        back = form_with_button(page, "change-selection")
        assert back.method == "post" and len(back.fields["n"]) == 400
        dashboard = client.post(back.action, back.fields)
        assert dashboard.status_code == 200 and "400 selected" in dashboard.content.decode()
    done = client.post(reverse("numbers_labels", args=["acme"]),
                       {"n": many, "add_tags": "west", "action": "apply"})
    assert done.status_code == 302 and done["Location"] == reverse("dashboard", args=["acme"])


@pytest.mark.django_db
def test_all_matching_has_no_cap(client, bob, team, sandbox):
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=f"+1555400{i:04d}") for i in range(5_100)])
    sign_in_as(client, bob)
    page = client.get(url("bulk_edit"), {"all": "1", "q": "+1555400"})
    assert page.status_code == 200 and len(page.context["e164s"]) == 5_100


# -- a worker that dies mid-item -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_item_costs_one_lease_and_nothing_is_sent_twice(workers, clock, team, alice, sandbox):
    count = 40
    many_numbers(team, sandbox, count)
    victim = numbers(17)
    # Linq applies the victim's PATCH but holds its answer: the worker that sent it is mid-call when killed.
    sandbox.add_fault({"kind": "timeout", "number": victim, "methods": ["PATCH"], "seconds": 60, "times": 1})
    job = start_bulk(team, alice, [numbers(i) for i in range(count)], {"first_name": "Resumed"})
    assert jobs.LEASE <= timedelta(seconds=60)  # a dead worker is noticed within a minute

    workers.extra_env["TEST_LINQ_READ_TIMEOUT"] = "90"
    first, second = workers.start("default", own_group=True), workers.start("default", own_group=True)
    wait_for(lambda: sandbox.cards[victim]["first_name"] == "Resumed", "Linq to apply the victim's write")
    holder = JobItem.objects.get(job=job, phone_number=victim)
    assert holder.state == State.RUNNING
    pid = int(holder.worker.rsplit(":", 1)[1])
    victim_worker = next(w for w in (first, second) if w.pid == pid)
    os.killpg(victim_worker.pid, signal.SIGKILL)  # the worker and anything it started
    victim_worker.wait()
    # the other worker finishes every other item meanwhile
    survivor = second if victim_worker is first else first
    wait_for(lambda: job.items.exclude(phone_number=victim).filter(state__in=JobItem.OPEN_STATES).count() == 0,
             "the other items")
    assert JobItem.objects.get(pk=holder.pk).state == State.RUNNING
    assert survivor.poll() is None  # (a worker's clock is set when it starts: it is stopped before time moves)
    workers.stop_all()

    del workers.extra_env["TEST_LINQ_READ_TIMEOUT"]
    clock.advance(seconds=60)  # one minute after the kill
    workers.run_batch()  # the watchdog, due when the lease ran out, gives the item back; it is re-read, not re-sent

    assert jobs.job_progress(job).finished
    resumed = JobItem.objects.get(pk=holder.pk)
    assert resumed.state == State.SENT and resumed.attempts == 2, (resumed.why, resumed.detail)
    assert resumed.why == JobItem.Why.ALREADY_APPLIED
    assert all(writes(sandbox, numbers(i)) == 1 for i in range(count)), \
        [writes(sandbox, numbers(i)) for i in range(count)]
    assert all(sandbox.cards[numbers(i)]["first_name"] == "Resumed" for i in range(count))
    assert Job.objects.get(pk=job.pk).finished_at is not None


# -- the job page of a large job -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_large_job_page_shows_a_page_of_items_a_state_at_a_time_and_polls_only_its_rows(client, alice, team,
                                                                                          sandbox):
    many_numbers(team, sandbox, 250)
    job = start_bulk(team, alice, [numbers(i) for i in range(250)], {"last_name": "Paged"})
    failed = job.items.order_by("pk")[200]
    JobItem.objects.filter(pk=failed.pk).update(state=State.FAILED, why=JobItem.Why.BUSY)
    sign_in_as(client, alice)

    page = client.get(url("job_detail", job.pk))
    assert len(page.context["items"]) == 100 and page.context["shown"].pages == 3
    assert "Page 1 of 3" in page.content.decode()
    last = client.get(url("job_detail", job.pk), {"page": "99999999999999999999"})  # clamped, never a 500
    assert last.status_code == 200 and last.context["shown"].page == 3 and len(last.context["items"]) == 50
    only_failed = client.get(url("job_detail", job.pk), {"show": "failed"})
    assert [row["item"].pk for row in only_failed.context["items"]] == [failed.pk]
    odd = client.get(url("job_detail", job.pk), {"show": "nonsense", "page": "x"})
    assert odd.status_code == 200 and odd.context["shown"].show == "" and odd.context["shown"].page == 1

    first_page = [row["item"].pk for row in page.context["items"]]
    poll = client.get(url("job_progress", job.pk), {"items": ".".join(map(str, first_page[:3]))}).json()
    assert [item["id"] for item in poll["items"]] == first_page[:3]  # only the rows the page shows
    assert poll["total"] == 250
    junk = client.get(url("job_progress", job.pk), {"items": "1" * 5000 + ".-3.x.²"})
    assert junk.status_code == 200 and junk.json()["items"] == []
