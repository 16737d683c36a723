"""``manage.py seedaudit``: a realistic history in bulk, for benchmarks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from contactcards.models import AuditEntry, Membership, PhoneNumber, Team

pytestmark = pytest.mark.django_db


def test_it_seeds_a_bench_team_with_a_realistic_spread(db):
    out = StringIO()
    call_command("seedaudit", "--rows", "3000", "--batch", "700", stdout=out)
    assert "Seeded 3000 audit entries for team bench" in out.getvalue()
    team = Team.objects.get(slug="bench")
    entries = AuditEntry.objects.filter(team=team)
    assert entries.count() == 3000
    assert PhoneNumber.objects.filter(team=team).count() == 40
    assert Membership.objects.filter(team=team).count() == 12
    answered = set(AuditEntry.Outcome.values) - {AuditEntry.Outcome.PENDING, AuditEntry.Outcome.UNKNOWN}
    assert set(entries.values_list("outcome", flat=True)) == answered
    assert set(entries.values_list("action", flat=True)) == set(AuditEntry.Action.values)
    oldest = entries.order_by("created_at").first().created_at
    newest = entries.order_by("-created_at").first().created_at
    assert (newest - oldest).days > 300 and newest <= timezone.now()
    # ids grow with time, as they do for real
    ordered = list(entries.order_by("created_at").values_list("pk", flat=True))
    assert ordered == sorted(ordered)
    failed = entries.filter(outcome=AuditEntry.Outcome.API_ERROR).first()
    assert failed.linq_code and failed.error_message and failed.trace_id


def test_it_uses_an_existing_teams_numbers_and_members(team, alice, bob):
    call_command("seedaudit", "--rows", "200", "--team", "acme", stdout=StringIO())
    entries = AuditEntry.objects.filter(team=team)
    assert entries.count() == 200
    # outside changes are by someone in Linq's dashboard, line-health entries by Linq itself
    by_members = entries.exclude(action__in=("outside", "line_health", "line_assigned", "line_released"))
    assert set(by_members.values_list("username", flat=True)) <= {"alice", "bob"}
    assert set(entries.exclude(phone_number="").values_list("number__team", flat=True)) == {team.pk}


def test_it_leaves_auto_now_add_as_it_was(db):
    call_command("seedaudit", "--rows", "10", stdout=StringIO())
    assert AuditEntry._meta.get_field("created_at").auto_now_add is True


def test_it_refuses_a_non_positive_count(db):
    with pytest.raises(CommandError, match="positive"):
        call_command("seedaudit", "--rows", "0")
