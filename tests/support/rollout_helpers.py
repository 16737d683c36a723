"""Helpers for rollout tests: many numbers at once, in the database and in the sandbox."""

from __future__ import annotations

import time

from conftest import TOKEN
from contactcards.models import Job, PhoneNumber, Team
from contactcards.rollout import jobs
from contactcards.rollout.cards_csv import parse_cards_csv
from contactcards.rollout.plan import Target, build_plan


def numbers(i: int) -> str:
    return f"+1555200{i:04d}"


def many_numbers(team: Team, sandbox, count: int, *, with_card=lambda i: True) -> list[PhoneNumber]:
    """``count`` numbers on the team and its Linq account; those ``with_card(i)`` have an old card."""
    e164s = [numbers(i) for i in range(count)]
    sandbox.add_account(TOKEN, e164s)
    for i, e164 in enumerate(e164s):
        if with_card(i):
            sandbox.set_card(e164, first_name="Old", last_name=f"Name {i}")
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in e164s])
    return list(PhoneNumber.objects.filter(team=team, e164__in=e164s))


def start_bulk(team: Team, user, e164s: list[str], values: dict[str, str]) -> Job:
    plan = build_plan(team, [Target(e164=e164, values=values) for e164 in e164s])
    assert plan.ok and plan.can_confirm, plan
    return jobs.job_create(team=team, user=user, plan=plan, source=Job.Source.BULK)


def start_import(team: Team, user, raw: bytes) -> Job:
    parsed = parse_cards_csv(raw)
    assert parsed.ok, parsed.problems
    plan = build_plan(team, parsed.targets)
    assert plan.can_confirm, [(r.row, r.reasons) for r in plan.rows if r.kind == "cannot"]
    return jobs.job_create(team=team, user=user, plan=plan, source=Job.Source.CSV)


def wait_for(condition, what: str, limit: float = 120.0):
    """Wait for a condition (never for a duration); the limit only stops a hung test."""
    deadline = time.monotonic() + limit
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"still waiting for {what} after {limit}s"
        time.sleep(0.02)


def writes(sandbox, e164: str) -> int:
    """Every POST/PATCH the sandbox received for this number, whatever its answer."""
    return len(sandbox.writes_for(e164))
