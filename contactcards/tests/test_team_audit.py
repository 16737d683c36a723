"""Team administration in the history: pages and management commands alike, same filters, CSV and rules."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, AuditImmutableError, Membership
from contactcards.services.audit import COMMAND_LINE
from contactcards.tests.helpers import read_csv

pytestmark = pytest.mark.django_db


def rows(team, action=None):
    entries = AuditEntry.objects.filter(team=team).order_by("id")
    if action:
        entries = entries.filter(action=action)
    return [(e.action, e.username, e.subject, e.phone_number, e.changes) for e in entries]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# -- the settings pages ------------------------------------------------------------------------------

def test_role_changes_and_removals_are_recorded(client, team, alice, bob, vera):
    client.force_login(alice)
    bob_m, vera_m = Membership.objects.get(user=bob), Membership.objects.get(user=vera)
    client.post(f"/t/acme/settings/members/{bob_m.pk}/role/", {f"m{bob_m.pk}-role": "owner"})
    client.post(f"/t/acme/settings/members/{bob_m.pk}/role/", {f"m{bob_m.pk}-role": "owner"})  # no change: no row
    client.post(f"/t/acme/settings/members/{vera_m.pk}/remove/")
    assert rows(team) == [
        ("member_role", "alice", "bob", "", {"role": ["editor", "owner"]}),
        ("member_remove", "alice", "vera", "", {"role": ["viewer", None]}),
    ]
    assert AuditEntry.objects.filter(team=team).exclude(client_ip="127.0.0.1").count() == 0


def test_a_refused_change_writes_nothing(client, team, alice):
    client.force_login(alice)
    me = Membership.objects.get(user=alice)
    assert client.post(f"/t/acme/settings/members/{me.pk}/role/", {f"m{me.pk}-role": "viewer"}).status_code == 400
    assert client.post(f"/t/acme/settings/members/{me.pk}/remove/").status_code == 400
    assert rows(team) == []


def test_numbers_added_removed_and_imported_are_recorded(client, team, alice, sandbox):
    client.force_login(alice)
    sandbox.add_account(TOKEN, ["+15550002001", "+15550002002"])  # numbers are checked at Linq before they are added
    client.post("/t/acme/settings/numbers/", {"numbers": "+15550002001\n+15550002002"})
    client.post(f"/t/acme/settings/numbers/{EMPTY_NUMBER}/remove/")
    sandbox.add_account(TOKEN, ["+15550003001"])
    client.post("/t/acme/settings/numbers/import/", {"numbers": ["+15550003001"]})
    assert rows(team) == [
        ("number_add", "alice", "", "+15550002001", {}),
        ("number_add", "alice", "", "+15550002002", {}),
        ("number_remove", "alice", "", EMPTY_NUMBER, {}),
        ("number_import", "alice", "", "+15550003001", {}),
    ]
    # the number's own history starts with its arrival
    page = client.get("/t/acme/numbers/+15550002001/history/").content.decode()
    assert "Add numbers" in page


def test_the_token_is_recorded_never_its_value(client, team, alice):
    client.force_login(alice)
    client.post("/t/acme/settings/token/", {"token": "a-new-token-9999"})
    assert rows(team) == [("token_change", "alice", "", "", {})]
    assert "a-new-token-9999" not in str(AuditEntry.objects.values_list())


def test_the_history_filters_and_exports_team_changes(client, team, alice, bob):
    client.force_login(alice)
    bob_m = Membership.objects.get(user=bob)
    client.post(f"/t/acme/settings/members/{bob_m.pk}/role/", {f"m{bob_m.pk}-role": "viewer"})
    client.post("/t/acme/settings/numbers/", {"numbers": "+15550002001"})
    page = client.get("/t/acme/history/", {"action": "member_role"}).content.decode()
    assert "Change member role" in page and '<span class="subject">bob</span>' in page
    assert "Add numbers" not in page.split("<tbody>")[1]
    csv_rows = read_csv(client.get("/t/acme/history/export.csv", {"action": "member_role"}))
    header, [row] = csv_rows[0], csv_rows[1:]
    record = dict(zip(header, row, strict=True))
    assert record["action"] == "member_role" and record["subject"] == "bob"
    assert record["other_changes"] == '{"role": ["editor", "viewer"]}'
    entry = AuditEntry.objects.get(action="member_role")
    detail = client.get(f"/t/acme/history/{entry.pk}/").content.decode()
    assert "Member" in detail and "bob" in detail


def test_team_changes_are_as_tamper_resistant_as_card_changes(client, team, alice, bob):
    client.force_login(alice)
    bob_m = Membership.objects.get(user=bob)
    client.post(f"/t/acme/settings/members/{bob_m.pk}/remove/")
    entry = AuditEntry.objects.get(action="member_remove")
    entry.subject = "someone else"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


# -- the management commands: the same services, the same rules, the same rows ----------------------

def test_createteam_records_the_token(db, monkeypatch):
    monkeypatch.setenv("LINQ_API_TOKEN", "cli-token-1234")
    run("createteam", "cli", "--name", "CLI Co")
    run("createteam", "cli", "--name", "CLI Co")  # the same token again is a new "set": recorded again
    monkeypatch.delenv("LINQ_API_TOKEN")
    run("createteam", "cli", "--name", "CLI Company")  # no token: nothing recorded
    from contactcards.models import Team

    team = Team.objects.get(slug="cli")
    assert rows(team) == [("token_change", COMMAND_LINE, "", "", {})] * 2
    assert team.name == "CLI Company" and team.get_token() == "cli-token-1234"


def test_addmember_applies_the_password_validators(team, monkeypatch):
    for weak, reason in (("1", "too short"), ("12345678901", "entirely numeric"), ("password", "too common"),
                         ("dana-the-member", "too similar")):
        monkeypatch.setenv("LINQADMIN_PASSWORD", weak)
        with pytest.raises(CommandError, match=reason):
            run("addmember", "acme", "dana-the-member", "--create")
    assert not get_user_model().objects.filter(username="dana-the-member").exists()
    assert rows(team) == []


def test_addmember_records_additions_and_role_changes(team, alice, monkeypatch):
    monkeypatch.setenv("LINQADMIN_PASSWORD", "violet-kettle-harbour-9")
    run("addmember", "acme", "dana", "--create", "--role", "viewer")
    run("addmember", "acme", "dana", "--role", "editor")
    run("addmember", "acme", "dana", "--role", "editor")  # unchanged: no row
    with pytest.raises(CommandError, match="at least one owner"):
        run("addmember", "acme", "alice", "--role", "viewer")
    assert rows(team) == [
        ("member_add", COMMAND_LINE, "dana", "", {"role": [None, "viewer"]}),
        ("member_role", COMMAND_LINE, "dana", "", {"role": ["viewer", "editor"]}),
    ]


def test_addnumber_and_syncnumbers_record_their_numbers(team, sandbox):
    run("addnumber", "acme", "+15550002001", CARD_NUMBER)
    sandbox.add_account(TOKEN, ["+15550003001"])
    run("syncnumbers", "acme")
    assert rows(team) == [
        ("number_add", COMMAND_LINE, "", "+15550002001", {}),
        ("number_import", COMMAND_LINE, "", "+15550003001", {}),
    ]
