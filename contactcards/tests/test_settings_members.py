"""Owners manage members: add by username, change role, remove; the last owner stays."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from contactcards.models import Membership, Role

ADD_URL = "/t/acme/settings/members/"


def role_url(membership):
    return f"/t/{membership.team.slug}/settings/members/{membership.pk}/role/"


def remove_url(membership, slug=None):
    return f"/t/{slug or membership.team.slug}/settings/members/{membership.pk}/remove/"


def member(user, team):
    return Membership.objects.get(user=user, team=team)


@pytest.fixture
def dave(db):
    return get_user_model().objects.create_user(username="dave", password="x-irrelevant-x")


# -- add ----------------------------------------------------------------------


def test_owner_adds_an_existing_user(client, alice, team, dave):
    client.force_login(alice)
    response = client.post(ADD_URL, {"username": "dave", "role": "viewer"})
    assert response.status_code == 302
    assert member(dave, team).role == Role.VIEWER
    assert "dave joined the team as Viewer" in client.get("/t/acme/settings/").content.decode()


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_adding_requires_owner(client, persona, team, dave, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(ADD_URL, {"username": "dave", "role": "owner"}).status_code == 403
    assert not Membership.objects.filter(user=dave).exists()


def test_adding_checks_team_membership(client, charlie, team, dave):
    client.force_login(charlie)
    assert client.post(ADD_URL, {"username": "dave", "role": "owner"}).status_code == 404
    assert not Membership.objects.filter(user=dave).exists()


@pytest.mark.parametrize("data,message", [
    ({"username": "nobody", "role": "editor"}, "There is no user named"),
    ({"username": "bob", "role": "owner"}, "already a member"),
    ({"username": "dave", "role": "admin"}, "Select a valid choice"),
    ({"username": "", "role": "editor"}, "Enter the username"),
])
def test_adding_handles_bad_input(client, alice, bob, team, dave, data, message):
    client.force_login(alice)
    response = client.post(ADD_URL, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert member(bob, team).role == Role.EDITOR
    assert not Membership.objects.filter(user=dave).exists()


# -- change role --------------------------------------------------------------


def test_owner_changes_a_role(client, alice, bob, team):
    client.force_login(alice)
    bob_membership = member(bob, team)
    response = client.post(role_url(bob_membership), {f"m{bob_membership.pk}-role": "viewer"})
    assert response.status_code == 302
    assert member(bob, team).role == Role.VIEWER


def test_the_last_owner_cannot_be_demoted(client, alice, team):
    client.force_login(alice)
    mine = member(alice, team)
    response = client.post(role_url(mine), {f"m{mine.pk}-role": "editor"})
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    assert member(alice, team).role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_exists(client, alice, bob, team):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    client.force_login(alice)
    mine = member(alice, team)
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "editor"}).status_code == 302
    assert member(alice, team).role == Role.EDITOR
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "owner"}).status_code == 403  # no longer an owner


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_changing_roles_requires_owner(client, persona, alice, team, request):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    mine = member(user, team)
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "owner"}).status_code == 403
    assert member(user, team).role != Role.OWNER


def test_changing_roles_checks_team_membership(client, alice, charlie, team, other_team):
    # charlie (owner of "other") aims at alice's membership, through his own team's URL and through acme's.
    client.force_login(charlie)
    target = member(alice, team)
    data = {f"m{target.pk}-role": "viewer"}
    assert client.post(role_url(target), data).status_code == 404
    assert client.post(f"/t/other/settings/members/{target.pk}/role/", data).status_code == 404
    assert member(alice, team).role == Role.OWNER


def test_changing_roles_handles_bad_input(client, alice, bob, team):
    client.force_login(alice)
    target = member(bob, team)
    assert client.post(role_url(target), {f"m{target.pk}-role": "superuser"}).status_code == 400
    assert client.post(role_url(target), {}).status_code == 400
    assert client.post("/t/acme/settings/members/999999/role/", {"role": "viewer"}).status_code == 404
    assert client.get(role_url(target)).status_code == 405
    assert member(bob, team).role == Role.EDITOR


def test_viewers_see_roles_without_forms(client, vera):
    client.force_login(vera)
    html = client.get("/t/acme/settings/").content.decode()
    assert "/role/" not in html and "/remove/" not in html


# -- remove -------------------------------------------------------------------


def test_owner_removes_a_member_after_confirming(client, alice, bob, team):
    client.force_login(alice)
    target = member(bob, team)
    confirm = client.get(remove_url(target))
    assert confirm.status_code == 200
    assert "Remove bob from Acme?" in confirm.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()  # GET changes nothing
    assert client.post(remove_url(target)).status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    client.force_login(bob)
    assert client.get("/t/acme/").status_code == 404


def test_the_last_owner_cannot_be_removed(client, alice, team):
    client.force_login(alice)
    response = client.post(remove_url(member(alice, team)))
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    assert member(alice, team).role == Role.OWNER


def test_an_owner_who_leaves_goes_home(client, alice, bob, team):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    client.force_login(alice)
    response = client.post(remove_url(member(alice, team)))
    assert response["Location"] == "/"
    assert client.get("/t/acme/").status_code == 404


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_removing_requires_owner(client, persona, alice, team, request):
    client.force_login(request.getfixturevalue(persona))
    target = member(alice, team)
    assert client.get(remove_url(target)).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_removing_checks_team_membership(client, alice, charlie, team, other_team):
    client.force_login(charlie)
    target = member(alice, team)
    assert client.post(remove_url(target)).status_code == 404
    assert client.post(remove_url(target, slug="other")).status_code == 404
    assert Membership.objects.filter(pk=target.pk).exists()


def test_removing_handles_bad_input(client, alice):
    client.force_login(alice)
    assert client.post("/t/acme/settings/members/999999/remove/").status_code == 404
    assert client.post("/t/acme/settings/members/0/remove/").status_code == 404
