"""Management commands for teams: createteam, addnumber, addmember keep working; syncnumbers imports."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import Membership, Team


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_createteam_reads_the_token_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("LINQ_API_TOKEN", "env-token-5678")
    output = run("createteam", "newco", "--name", "New Co")
    team = Team.objects.get(slug="newco")
    assert team.get_token() == "env-token-5678"
    assert "…5678" in output and "env-token-5678" not in output


def test_addnumber_and_addmember(team, db):
    get_user_model().objects.create_user("dave", password="x-irrelevant-x")
    assert "Added: +15550001009" in run("addnumber", "acme", "+15550001009")
    assert "Already there" in run("addnumber", "acme", "+15550001009")
    run("addmember", "acme", "dave", "--role", "viewer")
    assert Membership.objects.get(user__username="dave", team=team).role == "viewer"
    with pytest.raises(CommandError):
        run("addnumber", "acme", "555-0100")


def test_syncnumbers_imports_the_new_numbers(team, sandbox):
    sandbox.add_account(TOKEN, ["+15550001007"])
    output = run("syncnumbers", "acme")
    assert "Added: +15550001007" in output and "Imported 1 number(s)" in output
    assert sorted(team.numbers.values_list("e164", flat=True)) == [CARD_NUMBER, EMPTY_NUMBER, "+15550001007"]
    assert "0 new" in run("syncnumbers", "acme")  # idempotent
    assert len([r for r in sandbox.requests if r.path.rstrip("/") == "/v3/phone_numbers"]) == 2


def test_syncnumbers_dry_run_adds_nothing(team, sandbox):
    sandbox.add_account(TOKEN, ["+15550001007"])
    assert "Would add: +15550001007" in run("syncnumbers", "acme", "--dry-run")
    assert team.numbers.count() == 2


def test_syncnumbers_explains_failures(team, sandbox):
    with pytest.raises(CommandError, match="No team"):
        run("syncnumbers", "nope")
    sandbox.add_fault({"kind": "error", "status": 401, "code": 2004})
    with pytest.raises(CommandError, match="rejected the team's API token") as raised:
        run("syncnumbers", "acme")
    assert TOKEN not in str(raised.value)
    team.set_token("")
    team.save()
    with pytest.raises(CommandError, match="no Linq token"):
        run("syncnumbers", "acme")


def test_addmember_goes_through_the_team_services_and_keeps_an_owner(team, alice):
    """The command changes roles the way the settings page does: the last owner is not demoted."""
    with pytest.raises(CommandError, match="at least one owner"):
        run("addmember", "acme", "alice", "--role", "viewer")
    assert Membership.objects.get(user=alice, team=team).role == "owner"
    assert "still a member" in run("addmember", "acme", "alice", "--role", "owner")
