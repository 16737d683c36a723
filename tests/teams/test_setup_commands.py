"""The scriptable setup: createteam, addnumber, addmember (and the demo seed)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from contactcards.models import Membership, PhoneNumber, Team


@pytest.fixture
def acme(db, monkeypatch):
    monkeypatch.setenv("LINQ_API_TOKEN", "cli-token-9Zk2")
    call_command("createteam", "acme", "--name", "Acme Inc", stdout=None)
    return Team.objects.get(slug="acme")


def test_createteam_reads_token_from_environment_and_encrypts_it(acme):
    assert acme.name == "Acme Inc"
    assert acme.get_token() == "cli-token-9Zk2"
    assert acme.token_last4 == "9Zk2"
    with connection.cursor() as cursor:
        cursor.execute("SELECT token_encrypted FROM contactcards_team")
        assert "cli-token-9Zk2" not in cursor.fetchone()[0]


def test_createteam_reads_token_file_and_updates(acme, tmp_path, monkeypatch):
    monkeypatch.delenv("LINQ_API_TOKEN")
    token_file = tmp_path / "token"
    token_file.write_text("from-file-token\n")
    call_command("createteam", "acme", "--name", "Acme 2", "--token-file", str(token_file))
    acme.refresh_from_db()
    assert (acme.name, acme.get_token()) == ("Acme 2", "from-file-token")


def test_createteam_missing_token_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read --token-file"):
        call_command("createteam", "x", "--name", "X", "--token-file", str(tmp_path / "nope"))


def test_addnumber_adds_validates_and_skips_duplicates(acme, capsys):
    call_command("addnumber", "acme", "+14155550123", "+14155550124")
    call_command("addnumber", "acme", "+14155550123")
    assert "Already there: +14155550123" in capsys.readouterr().out
    assert list(PhoneNumber.objects.values_list("e164", flat=True)) == ["+14155550123", "+14155550124"]
    with pytest.raises(CommandError, match="“4155550123” is not a phone number in E.164 form"):
        call_command("addnumber", "acme", "4155550123")
    with pytest.raises(CommandError, match="No team"):
        call_command("addnumber", "nope", "+14155550123")


def test_addmember_creates_user_with_role(acme, monkeypatch):
    monkeypatch.setenv("LINQADMIN_PASSWORD", "a-long-password-1")
    call_command("addmember", "acme", "dana", "--role", "viewer", "--create")
    user = get_user_model().objects.get(username="dana")
    assert user.check_password("a-long-password-1")
    assert Membership.objects.get(user=user).role == "viewer"
    call_command("addmember", "acme", "dana", "--role", "owner")
    assert Membership.objects.get(user=user).role == "owner"


def test_addmember_errors(acme, monkeypatch):
    monkeypatch.delenv("LINQADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="pass --create"):
        call_command("addmember", "acme", "ghost")
    with pytest.raises(CommandError, match="LINQADMIN_PASSWORD"):
        call_command("addmember", "acme", "ghost", "--create")


def test_demo_seed_is_idempotent(db):
    from devtools.demo.management.commands.demo import seed_demo

    seed_demo()
    seed_demo()
    team = Team.objects.get(slug="demo")
    assert team.numbers.count() == 5
    assert sorted(team.memberships.values_list("role", flat=True)) == ["editor", "owner", "viewer"]
