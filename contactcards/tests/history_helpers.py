"""Helpers for the audit-history tests: entries at chosen times, and reading CSV responses."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from contactcards.management.commands.seedaudit import keep_created_at
from contactcards.models import AuditEntry, PhoneNumber, Team

BASE_TIME = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make_entry(team: Team, *, number: PhoneNumber | None = None, user=None, at: datetime | None = None,
               **fields) -> AuditEntry:
    """One audit entry as the services would write it, with a chosen ``created_at``."""
    values = {
        "action": AuditEntry.Action.UPDATE,
        "outcome": AuditEntry.Outcome.SUCCESS,
        "changes": {"first_name": ["Old", "New"]},
        "request_body": {"first_name": "New"},
        "http_status": 200,
        "duration_ms": 120,
    }
    values.update(fields)
    entry = AuditEntry(
        team=team, number=number, phone_number=number.e164 if number else "",
        user=user, username=user.get_username() if user else "", **values,
    )
    if at is not None:
        entry.created_at = at
        with keep_created_at():
            entry.save()
    else:
        entry.save()
    return entry


def make_series(team: Team, count: int, *, start: datetime, step: timedelta = timedelta(minutes=1),
                **fields) -> list[AuditEntry]:
    """``count`` entries one ``step`` apart, oldest first."""
    return [make_entry(team, at=start + i * step, **fields) for i in range(count)]


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))
