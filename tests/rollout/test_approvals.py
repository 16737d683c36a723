"""Four eyes and a calendar (issue 24): changes that wait for an approver or their time, sent through the
rollout's path (``jobs.run_item`` -> ``cards.services``) by real ``db_worker`` processes.

Time moves only with the ``clock`` fixture (this process, the workers and the sandbox alike).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import CARD_NUMBER
from contactcards.models import AuditEntry, Job, JobItem, Membership
from contactcards.rollout import deferred
from tests.support.helpers import URL, load, sign_in_as, text
from tests.support.rollout_helpers import writes

Action = AuditEntry.Action
State = JobItem.State


def when(moment) -> str:
    return moment.astimezone(timezone.get_fixed_timezone(0)).strftime("%Y-%m-%dT%H:%M")


def request_change(client, user, **values) -> Job:
    """``user`` edits the card page and saves (with ``when-…`` fields for a note or a schedule): the job it made."""
    sign_in_as(client, user)
    form = load(client)
    form.update(values)
    response = client.post(URL, form)
    assert response.status_code == 302, text(response)
    job = Job.objects.order_by("-pk").first()
    assert response["Location"] == reverse("job_detail", args=["acme", job.pk])
    return job


def decide(client, user, job: Job, decision: str, comment: str = ""):
    sign_in_as(client, user)
    return client.post(reverse("job_decide", args=["acme", job.pk]), {"decision": decision, "comment": comment})


def events(job: Job) -> list[str]:
    """The history of a job (its steps and its writes), oldest first."""
    return list(AuditEntry.objects.filter(job=job).order_by("created_at", "id").values_list("action", flat=True))


@pytest.fixture
def four_eyes(team):
    team.changes_need_approval = True
    team.save()
    return team


# -- schedules -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_change_is_sent_at_its_time_and_put_back_at_its_end(client, workers, clock, alice, sandbox):
    start = timezone.now() + timedelta(hours=1)
    job = request_change(client, alice, last_name="Holidays", **{"when-start_at": when(start),
                                                                 "when-end_at": when(start + timedelta(hours=2))})
    assert job.start_at is not None and job.end_at - job.start_at == timedelta(hours=2)
    assert events(job) == [Action.CHANGE_SCHEDULED]
    card_page = client.get(URL)
    assert f"Job {job.pk}" in text(card_page) and "Upcoming changes" in text(card_page)  # listed per number
    assert job in client.get(reverse("planned_changes", args=["acme"])).context["upcoming"]  # and per team

    workers.run_batch()  # before its time: nothing
    assert writes(sandbox, CARD_NUMBER) == 0 and job.items.get().state == State.QUEUED

    clock.advance(hours=1, minutes=1)
    workers.run_batch()
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Holidays"
    assert job.items.get().state == State.SENT
    end = Job.objects.get(ends=job)  # what puts the card back, a job of its own, waiting for the end
    assert end.source == Job.Source.END and end.start_at == job.end_at and end.started_at is None
    assert end.items.get().desired["last_name"] == "Support"

    clock.advance(hours=2)
    workers.run_batch()
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Support"
    assert [w.method for w in sandbox.writes_for(CARD_NUMBER)] == ["PATCH", "PATCH"]
    assert events(job) == [Action.CHANGE_SCHEDULED, Action.SCHEDULE_STARTED, Action.UPDATE]
    assert events(end) == [Action.SCHEDULE_RESTORED, Action.UPDATE]
    restore = AuditEntry.objects.get(job=end, action=Action.UPDATE)
    assert restore.changes == {"last_name": ["Holidays", "Support"]} and restore.is_success


@pytest.mark.django_db(transaction=True)
def test_the_end_puts_back_nothing_when_the_card_changed_again_meanwhile(client, workers, clock, alice, sandbox):
    job = request_change(client, alice, last_name="Holidays",
                         **{"when-end_at": when(timezone.now() + timedelta(hours=1))})
    workers.run_batch()  # no start time: sent at once
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Holidays"
    sandbox.set_card(CARD_NUMBER, last_name="Someone else's")
    clock.advance(hours=1, minutes=1)
    workers.run_batch()
    item = Job.objects.get(ends=job).items.get()
    assert item.state == State.FAILED and item.why == JobItem.Why.CONFLICT
    assert item.detail["fields"] == [{"field": "last_name", "loaded": "Holidays", "remote": "Someone else's",
                                      "wanted": "Support"}]
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Someone else's" and writes(sandbox, CARD_NUMBER) == 1


@pytest.mark.django_db
def test_a_schedule_the_write_budget_cannot_meet_is_refused_with_the_reason(client, alice, sandbox):
    start = timezone.now() + timedelta(hours=1)
    request_change(client, alice, last_name="Holidays", **{"when-start_at": when(start)})
    form = load(client)
    form.update(first_name="Other", **{"when-start_at": when(start + timedelta(minutes=5))})
    response = client.post(URL, form)
    assert response.status_code == 400
    assert f"{CARD_NUMBER} already has a change planned at" in text(response)
    assert Job.objects.count() == 1  # nothing held
    form = load(client)  # its own end too close to its start
    form.update(first_name="Other", **{"when-start_at": when(start + timedelta(hours=2)),
                                       "when-end_at": when(start + timedelta(hours=2, minutes=5))})
    response = client.post(URL, form)
    assert response.status_code == 400 and "The end must be at least 10 minutes after the start" in text(response)
    assert Job.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_schedule_can_be_moved_or_cancelled_until_it_starts(client, workers, clock, alice, sandbox):
    start = timezone.now() + timedelta(hours=1)
    job = request_change(client, alice, last_name="Holidays", **{"when-start_at": when(start)})
    later = start + timedelta(hours=3)
    response = client.post(reverse("job_reschedule", args=["acme", job.pk]), {"start_at": when(later)})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.start_at == later.replace(second=0, microsecond=0)
    clock.advance(hours=1, minutes=1)  # the old time: its task finds it is not time yet
    workers.run_batch()
    assert writes(sandbox, CARD_NUMBER) == 0
    client.post(reverse("job_cancel", args=["acme", job.pk]))
    clock.advance(hours=3)
    workers.run_batch()
    assert writes(sandbox, CARD_NUMBER) == 0
    job.refresh_from_db()
    assert job.cancelled_at is not None and job.items.get().state == State.CANCELLED
    # the history's chain ends with who cancelled it, linked to the job like its schedule
    assert events(job)[-1] == Action.CHANGE_CANCELLED
    cancelled = AuditEntry.objects.get(job=job, action=Action.CHANGE_CANCELLED)
    assert (cancelled.username, cancelled.phone_number, cancelled.request_sent) == ("alice", CARD_NUMBER, False)
    client.post(reverse("job_cancel", args=["acme", job.pk]))  # again: nothing more to say
    assert AuditEntry.objects.filter(job=job, action=Action.CHANGE_CANCELLED).count() == 1


# -- approvals -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_approved_request_is_sent_once(client, workers, four_eyes, alice, bob, sandbox, mailbox):
    alice.email, bob.email = "alice@example.com", "bob@example.com"
    alice.save()
    bob.save()
    job = request_change(client, bob, last_name="Helpdesk", **{"when-note": "New desk from Monday"})
    assert job.approval == Job.Approval.AWAITING and job.note == "New desk from Monday"
    assert events(job) == [Action.CHANGE_REQUESTED]
    requested = AuditEntry.objects.get(job=job)
    assert requested.changes == {"last_name": ["Support", "Helpdesk"]} and requested.username == "bob"
    workers.run_batch()  # the approvers' email; nothing sent to Linq
    assert writes(sandbox, CARD_NUMBER) == 0
    [message] = mailbox.to("alice@example.com")
    assert "bob asks to change" in mailbox.body(message) and not mailbox.to("bob@example.com")

    assert decide(client, alice, job, "approve", "Fine").status_code == 302
    assert decide(client, alice, job, "approve").status_code == 302  # a second click: already decided
    workers.run_batch()
    workers.run_batch()
    assert [w.method for w in sandbox.writes_for(CARD_NUMBER)] == ["PATCH"]
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Helpdesk"
    assert deferred.start(job.pk) == "not open"  # its start task again: nothing
    job.refresh_from_db()
    assert job.approval == Job.Approval.APPROVED and job.decided_username == "alice"
    assert events(job) == [Action.CHANGE_REQUESTED, Action.CHANGE_APPROVED, Action.UPDATE]
    write = AuditEntry.objects.get(job=job, action=Action.UPDATE)
    assert write.username == "bob" and write.is_success  # the requester's change, sent after approval
    assert any("approved your change" in mailbox.body(m) for m in mailbox.to("bob@example.com"))


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_card_changed_meanwhile_is_not_sent_and_shows_both_versions(
        client, workers, four_eyes, alice, bob, sandbox):
    job = request_change(client, bob, last_name="Helpdesk")
    sandbox.set_card(CARD_NUMBER, last_name="Night shift")  # changed at Linq after the request
    decide(client, alice, job, "approve")
    workers.run_batch()
    assert writes(sandbox, CARD_NUMBER) == 0 and sandbox.cards[CARD_NUMBER]["last_name"] == "Night shift"
    item = job.items.get()
    assert item.state == State.FAILED and item.why == JobItem.Why.CONFLICT
    page = text(client.get(reverse("job_detail", args=["acme", job.pk])))
    assert "preview “Support”, Linq now “Night shift”, this change “Helpdesk”" in page


@pytest.mark.django_db
def test_nobody_approves_their_own_request(client, four_eyes, alice, bob, sandbox):
    job = request_change(client, bob, last_name="Helpdesk")
    Membership.objects.filter(user=bob).update(can_approve=True)  # made an approver since
    response = decide(client, bob, job, "approve")
    assert response.status_code == 403
    job.refresh_from_db()
    assert job.approval == Job.Approval.AWAITING and events(job) == [Action.CHANGE_REQUESTED]
    membership = Membership.objects.get(user=bob)
    with pytest.raises(deferred.Refused):  # the service refuses it too, whoever calls it
        deferred.decide(job=job, user=bob, membership=membership, approve=True)
    assert "your own request" in text(client.get(reverse("job_detail", args=["acme", job.pk])))


@pytest.mark.django_db(transaction=True)
def test_a_rejected_request_is_never_sent(client, workers, four_eyes, alice, bob, sandbox):
    job = request_change(client, bob, last_name="Helpdesk")
    decide(client, alice, job, "reject", "Not this week")
    workers.run_batch()
    job.refresh_from_db()
    assert job.approval == Job.Approval.REJECTED and job.decision_comment == "Not this week"
    assert writes(sandbox, CARD_NUMBER) == 0 and job.items.get().state == State.CANCELLED
    assert events(job) == [Action.CHANGE_REQUESTED, Action.CHANGE_REJECTED]
    assert AuditEntry.objects.get(action=Action.CHANGE_REJECTED).subject == "Not this week"


@pytest.mark.django_db(transaction=True)
def test_an_undecided_request_expires(client, workers, clock, four_eyes, alice, bob, sandbox):
    job = request_change(client, bob, last_name="Helpdesk")
    clock.advance(hours=four_eyes.approval_hours, minutes=1)
    workers.run_batch()
    job.refresh_from_db()
    assert job.approval == Job.Approval.EXPIRED and events(job) == [Action.CHANGE_REQUESTED, Action.CHANGE_EXPIRED]
    assert decide(client, alice, job, "approve").status_code == 302  # too late: refused, nothing sent
    workers.run_batch()
    assert writes(sandbox, CARD_NUMBER) == 0


@pytest.mark.django_db(transaction=True)
def test_an_approved_scheduled_request_waits_for_its_time(client, workers, clock, four_eyes, alice, bob, sandbox):
    start = timezone.now() + timedelta(hours=1)
    job = request_change(client, bob, last_name="Helpdesk", **{"when-start_at": when(start)})
    decide(client, alice, job, "approve")
    workers.run_batch()
    assert writes(sandbox, CARD_NUMBER) == 0
    clock.advance(hours=1, minutes=1)
    workers.run_batch()
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Helpdesk"
    assert events(job) == [Action.CHANGE_REQUESTED, Action.CHANGE_APPROVED, Action.CHANGE_SCHEDULED,
                           Action.SCHEDULE_STARTED, Action.UPDATE]


@pytest.mark.django_db
def test_owners_and_approvers_save_directly(client, four_eyes, alice, bob, sandbox):
    sign_in_as(client, alice)
    form = load(client)
    form["last_name"] = "Helpdesk"
    assert client.post(URL, form).status_code == 200  # the card page's own save
    assert Job.objects.count() == 0 and sandbox.cards[CARD_NUMBER]["last_name"] == "Helpdesk"
    Membership.objects.filter(user=bob).update(can_approve=True)
    sign_in_as(client, bob)
    assert "Request this change" not in text(client.get(URL))


# -- pages: every persona ------------------------------------------------------------------------


@pytest.mark.django_db
def test_planned_changes_page_for_every_persona(client, personas, four_eyes):
    url = reverse("planned_changes", args=["acme"])
    for role, expected in {"owner": 200, "editor": 200, "viewer": 200, "outsider": 404}.items():
        sign_in_as(client, personas[role])
        assert client.get(url).status_code == expected, role
    client.logout()
    assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_deciding_for_every_persona(client, personas, four_eyes, sandbox):
    job = request_change(client, personas["editor"], last_name="Helpdesk")
    url = reverse("job_decide", args=["acme", job.pk])
    for role, expected in {"outsider": 404, "viewer": 403, "editor": 403}.items():
        sign_in_as(client, personas[role])
        assert client.post(url, {"decision": "approve"}).status_code == expected, role
    sign_in_as(client, personas["owner"])
    assert client.get(url).status_code == 405
    assert client.post(url, {"decision": "maybe"}).status_code == 302  # odd input: a message, no 500
    job.refresh_from_db()
    assert job.approval == Job.Approval.AWAITING
    assert client.post(url, {"decision": "reject"}).status_code == 302
    job.refresh_from_db()
    assert job.approval == Job.Approval.REJECTED


@pytest.mark.django_db
def test_rescheduling_for_every_persona(client, personas, sandbox):
    job = request_change(client, personas["owner"], last_name="Later",
                         **{"when-start_at": when(timezone.now() + timedelta(hours=1))})
    url = reverse("job_reschedule", args=["acme", job.pk])
    later = when(timezone.now() + timedelta(hours=5))
    for role, expected in {"outsider": 404, "viewer": 403}.items():
        sign_in_as(client, personas[role])
        assert client.post(url, {"start_at": later}).status_code == expected, role
    sign_in_as(client, personas["editor"])
    assert client.post(url, {"start_at": "not a time"}).status_code == 302  # odd input: a message
    assert client.post(url, {"start_at": later}).status_code == 302
    job.refresh_from_db()
    assert when(job.start_at) == later


@pytest.mark.django_db
def test_approval_settings_for_every_persona(client, personas):
    url = reverse("approval_settings", args=["acme"])
    for role, expected in {"outsider": 404, "viewer": 403, "editor": 403, "owner": 200}.items():
        sign_in_as(client, personas[role])
        assert client.get(url).status_code == expected, role
    editor = Membership.objects.get(user=personas["editor"])
    response = client.post(url, {"changes_need_approval": "on", "approval_hours": "24", "approvers": [str(editor.pk)]})
    assert response.status_code == 302
    editor.refresh_from_db()
    assert editor.can_approve and editor.team.changes_need_approval and editor.team.approval_hours == 24
    assert client.post(url, {"approval_hours": "-3"}).status_code == 400


@pytest.mark.django_db
def test_a_change_of_the_approval_rule_is_one_history_entry_in_words(client, alice, bob):
    url = reverse("approval_settings", args=["acme"])
    sign_in_as(client, alice)
    editor = Membership.objects.get(user=bob)
    hours = editor.team.approval_hours
    client.post(url, {"changes_need_approval": "on", "approval_hours": str(hours), "approvers": [str(editor.pk)]})
    [entry] = AuditEntry.objects.filter(action=Action.APPROVAL_RULE)
    assert (entry.username, entry.request_sent) == ("alice", False)
    assert entry.changes == {"changes_need_approval": [False, True], "approvers": ["", "bob"]}  # only what changed

    response = client.post(url, {"changes_need_approval": "on", "approval_hours": str(hours),
                                 "approvers": [str(editor.pk)]}, follow=True)
    assert "Nothing changed." in text(response)
    assert AuditEntry.objects.filter(action=Action.APPROVAL_RULE).count() == 1  # the same again: no entry

    page = text(client.get(reverse("audit_entry", args=["acme", entry.pk])))
    assert "Change approval rule" in page
    assert "Changes need approval" in page and "Editors who approve" in page and "bob" in page
    assert "changes_need_approval" not in page and "True" not in page
