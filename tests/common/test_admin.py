"""The Django admin for staff: the token is write-only, audit entries are read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from conftest import TOKEN
from contactcards.models import AuditEntry, Team
from tests.support.helpers import sign_in_as

NEW_TOKEN = "admin-set-token-77zz"


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "x-root-password-x")


def team_form(team, **extra):
    data = {"name": team.name, "slug": team.slug, "token": "",
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"}
    return {**data, **extra}


def test_the_team_pages_show_only_the_last_four(client, root, team, alice):
    sign_in_as(client, root)
    listing = client.get("/admin/contactcards/team/").content.decode()
    assert f"set, ends in …{TOKEN[-4:]}" in listing
    page = client.get(f"/admin/contactcards/team/{team.pk}/change/").content.decode()
    assert 'type="password" name="token"' in page
    assert TOKEN not in page and team.token_encrypted not in page


def test_staff_sets_a_token_and_it_is_audited(client, root, team):
    sign_in_as(client, root)
    response = client.post(f"/admin/contactcards/team/{team.pk}/change/", team_form(team, token=NEW_TOKEN))
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.get_token() == NEW_TOKEN
    entry = AuditEntry.objects.get(action=AuditEntry.Action.TOKEN_CHANGE)
    assert entry.username == "root"


def test_a_blank_token_keeps_the_current_one(client, root, team):
    sign_in_as(client, root)
    response = client.post(f"/admin/contactcards/team/{team.pk}/change/", team_form(team, name="Acme Inc"))
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Acme Inc" and team.get_token() == TOKEN
    assert not AuditEntry.objects.exists()


def test_staff_adds_a_team_with_a_token(client, root):
    sign_in_as(client, root)
    data = team_form(Team(name="New Co", slug="newco"), token=NEW_TOKEN)
    assert client.post("/admin/contactcards/team/add/", data).status_code == 302
    assert Team.objects.get(slug="newco").get_token() == NEW_TOKEN


def test_memberships_and_numbers_are_listed(client, root, alice, team):
    sign_in_as(client, root)
    assert "alice" in client.get("/admin/contactcards/membership/").content.decode()
    assert "+15550001001" in client.get("/admin/contactcards/phonenumber/").content.decode()


def test_audit_entries_are_read_only(client, root, team):
    entry = AuditEntry.objects.create(team=team, phone_number="+15550001001", username="alice",
                                      action=AuditEntry.Action.UPDATE, outcome=AuditEntry.Outcome.SUCCESS)
    sign_in_as(client, root)
    page = client.get(f"/admin/contactcards/auditentry/{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/contactcards/auditentry/{entry.pk}/change/", {"username": "x"}).status_code == 403
    assert client.post(f"/admin/contactcards/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/contactcards/auditentry/add/").status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).username == "alice"


def test_members_who_are_not_staff_cannot_use_the_admin(client, alice, team):
    sign_in_as(client, alice)
    response = client.get("/admin/contactcards/team/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_members_and_numbers_change_only_through_the_services(client, root, alice, team):
    """The admin shows them; adding, changing or removing them is the settings page's (and the history's)."""
    from contactcards.models import Membership, PhoneNumber

    sign_in_as(client, root)
    membership = Membership.objects.get(team=team, user=alice)
    number = PhoneNumber.objects.filter(team=team).first()
    assert client.get("/admin/contactcards/membership/add/").status_code == 403
    assert client.get("/admin/contactcards/phonenumber/add/").status_code == 403
    page = client.get(f"/admin/contactcards/membership/{membership.pk}/change/")
    assert page.status_code == 200 and 'name="role"' not in page.content.decode()  # shown, not editable
    client.post(f"/admin/contactcards/membership/{membership.pk}/change/", {"role": "viewer", "team": team.pk,
                                                                          "user": alice.pk})
    assert client.post(f"/admin/contactcards/membership/{membership.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/contactcards/phonenumber/{number.pk}/delete/", {"post": "yes"}).status_code == 403
    membership.refresh_from_db()
    assert membership.role == "owner" and PhoneNumber.objects.filter(pk=number.pk).exists()
    team_page = client.get(f"/admin/contactcards/team/{team.pk}/change/").content.decode()
    assert "alice" in team_page and 'name="memberships-0-role"' not in team_page
