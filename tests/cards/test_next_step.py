"""What comes after a save (``outcomes.next_step``): one reading of every outcome, for the card page and for
rollout jobs alike. Pure: outcomes and errors as the save builds them, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contactcards.cards import outcomes as o
from contactcards.cards.budget import Budget
from contactcards.common.errors import meaning
from contactcards.linq import Card, LinqError
from contactcards.models import AuditEntry

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CARD = Card(phone_number="+15550001001", first_name="Acme", last_name=None, image_url=None, is_active=True)


def entry(**fields) -> AuditEntry:
    """An audit row as the save wrote it (not stored: next_step only reads it)."""
    values = {"action": AuditEntry.Action.UPDATE, "outcome": AuditEntry.Outcome.SUCCESS, "request_sent": True,
              "created_at": NOW - timedelta(seconds=5)}
    return AuditEntry(**{**values, **fields})


def failed(**error) -> o.Failed:
    return o.Failed(error=LinqError("Linq said no", **error), entry=entry(outcome=AuditEntry.Outcome.API_ERROR))


@pytest.mark.parametrize(("outcome", "expected"), [
    (o.Saved(card=CARD, entry=entry(), changed=("first_name",)), o.Next.DONE),
    (o.Unchanged(), o.Next.NOTHING),
    (o.Unchanged(card=CARD), o.Next.NOTHING),
    (o.Busy(), o.Next.RETRY),
    (o.Conflict(card=CARD, conflicts=(), keep_mine={}), o.Next.REVIEW),
    (o.SwitchToEdit(card=CARD, typed={}), o.Next.REVIEW),
    (o.SwitchToCreate(typed={}, pending=True), o.Next.REVIEW),
    (o.Duplicate(previous=None), o.Next.STOP),
    (o.Duplicate(previous=entry()), o.Next.DONE),
    (o.Duplicate(previous=entry(outcome=AuditEntry.Outcome.API_ERROR, http_status=400, linq_code=1001)), o.Next.STOP),
    (o.NotChecked(error=LinqError("no answer", kind="timeout"), entry=None), o.Next.RETRY),
    (o.NotChecked(error=LinqError("bad token", status=401, code=2004), entry=None), o.Next.STOP),
    (failed(status=500, code=2022), o.Next.RETRY),
    (failed(status=500, code=3006), o.Next.RETRY),
    (failed(status=500, code=9999), o.Next.RETRY),  # a server error Linq explained: trying again may pass
    (failed(status=400, code=1001), o.Next.STOP),
    (failed(status=401, code=2004), o.Next.STOP),
    (failed(kind="token"), o.Next.STOP),
    (failed(kind="connection", sent=False), o.Next.RETRY),  # it never left: nothing happened
])
def test_each_outcome_has_one_next_step(outcome, expected):
    assert o.next_step(outcome, now=NOW).next is expected


def test_a_spent_budget_and_a_wait_linq_asked_for_wait_until_their_time():
    budget = Budget(used=3, limit=3, next_write_at=NOW + timedelta(minutes=7), blocked_by="budget")
    assert o.next_step(o.Blocked(budget=budget), now=NOW) == o.NextStep(o.Next.WAIT, at=NOW + timedelta(minutes=7))
    for error, wait in [({"status": 429, "code": 1007, "retry_after": 90}, timedelta(seconds=90)),
                        ({"status": 503, "code": 4004, "retry_after": 30}, timedelta(seconds=30)),
                        ({"status": 429}, o.DEFAULT_LINQ_WAIT),  # no usable wait
                        ({"status": 429, "retry_after": 10**9}, o.MAX_LINQ_WAIT)]:  # absurd: clamped
        step = o.next_step(failed(**error), now=NOW)
        assert (step.next, step.at) == (o.Next.WAIT, NOW + wait), error


def test_an_unknown_outcome_is_checked_when_a_read_can_tell():
    unanswered = entry(outcome=AuditEntry.Outcome.NETWORK_ERROR, error_kind="timeout", http_status=None)
    step = o.next_step(o.OutcomeUnknown(error=LinqError("no answer", kind="timeout"), entry=unanswered), now=NOW)
    assert (step.next, step.at, step.entry) == (o.Next.CHECK, unanswered.recheck_after, unanswered)
    assert step.at is not None and step.at > unanswered.created_at
    resubmitted = o.next_step(o.Duplicate(previous=unanswered), now=NOW)  # the same form again: not resent
    assert (resubmitted.next, resubmitted.at) == (o.Next.CHECK, unanswered.recheck_after)


@pytest.mark.parametrize("error", [
    {"status": 500, "code": 2022}, {"status": 500, "code": 3001}, {"status": 502}, {"status": 500, "code": 9999},
    {"status": 409, "code": 2015}, {"status": 400, "code": 1001}, {"status": 403, "code": 2005},
    {"status": 429, "code": 1007}, {"status": 503, "code": 4004}, {"status": 503},
    {"kind": "connection", "sent": False}, {"kind": "token"},
])
def test_the_card_page_offers_retry_exactly_where_a_job_tries_again(error):
    """One rule: "Retry now" on the card page (``errors.meaning``) and a job's retry (``next_step``) agree."""
    outcome = failed(**error)
    assert meaning(outcome.error).offer_retry == (o.next_step(outcome, now=NOW).next is o.Next.RETRY), error
