"""``manage.py pruneaudit``: the only deletion path, explicit about what it deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contactcards.models import AuditEntry
from contactcards.tests.helpers import make_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(team, alice):
    """Entries on 2026-01-31 23:59, 2026-02-01 00:00 and 2026-02-02."""
    return [
        make_entry(team, user=alice, at=datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)),
        make_entry(team, user=alice, at=datetime(2026, 2, 1, 0, 0, tzinfo=UTC)),
        make_entry(team, user=alice, at=datetime(2026, 2, 2, 8, 0, tzinfo=UTC)),
    ]


def run(*args: str) -> str:
    out = StringIO()
    call_command("pruneaudit", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_entries_before_the_day_and_says_how_many(spread):
    output = run("--before", "2026-02-01")
    assert "Deleted 1 audit entries created before 2026-02-01T00:00:00+00:00." in output
    assert list(AuditEntry.objects.order_by("created_at").values_list("pk", flat=True)) == [spread[1].pk,
                                                                                          spread[2].pk]


def test_a_dry_run_deletes_nothing(spread):
    output = run("--before", "2026-02-02", "--dry-run")
    assert "Dry run: 2 audit entries" in output
    assert AuditEntry.objects.count() == 3


def test_nothing_to_delete_is_fine(spread):
    assert "Deleted 0 audit entries" in run("--before", "2020-01-01")


def test_before_is_required(spread):
    with pytest.raises(CommandError, match="--before"):
        call_command("pruneaudit")


@pytest.mark.parametrize("value, message", [
    ("2026-02-30", "is not a real date"),
    ("01/02/2026", "must be a date as YYYY-MM-DD"),
    ("yesterday", "must be a date as YYYY-MM-DD"),
])
def test_it_validates_the_date(spread, value, message):
    with pytest.raises(CommandError, match=message):
        run("--before", value)
    assert AuditEntry.objects.count() == 3


def test_it_refuses_a_future_date(spread):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="in the future"):
        run("--before", tomorrow)
    assert AuditEntry.objects.count() == 3


def test_rows_that_refer_to_a_pruned_entry_let_go_of_it(spread, team):
    """FormToken.entry is SET_NULL: pruning must not trip over the foreign key."""
    from contactcards.models import FormToken

    token = FormToken.objects.create(token="t-1", number=team.numbers.first(), entry=spread[0])
    assert "Deleted 1 audit entries" in run("--before", "2026-02-01")
    token.refresh_from_db()
    assert token.entry_id is None
