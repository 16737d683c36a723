"""Owners manage members: change role, remove; the last owner stays. (Joining: test_invitations.py.)"""

from __future__ import annotations

import pytest

from contactcards.models import Membership, Role
from tests.support.helpers import sign_in_as


def role_url(membership):
    return f"/t/{membership.team.slug}/settings/members/{membership.pk}/role/"


def remove_url(membership, slug=None):
    return f"/t/{slug or membership.team.slug}/settings/members/{membership.pk}/remove/"


def member(user, team):
    return Membership.objects.get(user=user, team=team)


def test_there_is_no_adding_by_username(client, alice):
    """People join by invitation (test_invitations.py): no form tells anyone which usernames exist."""
    sign_in_as(client, alice)
    assert client.post("/t/acme/settings/members/", {"username": "bob", "role": "owner"}).status_code == 404
    assert 'name="username"' not in client.get("/t/acme/settings/").content.decode()


# -- change role --------------------------------------------------------------


def test_owner_changes_a_role(client, alice, bob, team):
    sign_in_as(client, alice)
    bob_membership = member(bob, team)
    response = client.post(role_url(bob_membership), {f"m{bob_membership.pk}-role": "viewer"})
    assert response.status_code == 302
    assert member(bob, team).role == Role.VIEWER


def test_the_last_owner_cannot_be_demoted(client, alice, team):
    sign_in_as(client, alice)
    mine = member(alice, team)
    response = client.post(role_url(mine), {f"m{mine.pk}-role": "editor"})
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    assert member(alice, team).role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_exists(client, alice, bob, team):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    sign_in_as(client, alice)
    mine = member(alice, team)
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "editor"}).status_code == 302
    assert member(alice, team).role == Role.EDITOR
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "owner"}).status_code == 403  # no longer an owner


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_changing_roles_requires_owner(client, persona, alice, team, request):
    user = request.getfixturevalue(persona)
    sign_in_as(client, user)
    mine = member(user, team)
    assert client.post(role_url(mine), {f"m{mine.pk}-role": "owner"}).status_code == 403
    assert member(user, team).role != Role.OWNER


def test_changing_roles_checks_team_membership(client, alice, charlie, team, other_team):
    # charlie (owner of "other") aims at alice's membership, through his own team's URL and through acme's.
    sign_in_as(client, charlie)
    target = member(alice, team)
    data = {f"m{target.pk}-role": "viewer"}
    assert client.post(role_url(target), data).status_code == 404
    assert client.post(f"/t/other/settings/members/{target.pk}/role/", data).status_code == 404
    assert member(alice, team).role == Role.OWNER


def test_changing_roles_handles_bad_input(client, alice, bob, team):
    sign_in_as(client, alice)
    target = member(bob, team)
    assert client.post(role_url(target), {f"m{target.pk}-role": "superuser"}).status_code == 400
    assert client.post(role_url(target), {}).status_code == 400
    assert client.post("/t/acme/settings/members/999999/role/", {"role": "viewer"}).status_code == 404
    assert client.get(role_url(target)).status_code == 405
    assert member(bob, team).role == Role.EDITOR


def test_viewers_see_roles_without_forms(client, vera):
    sign_in_as(client, vera)
    html = client.get("/t/acme/settings/").content.decode()
    assert "/role/" not in html and "/remove/" not in html


# -- remove -------------------------------------------------------------------


def test_owner_removes_a_member_after_confirming(client, alice, bob, team):
    sign_in_as(client, alice)
    target = member(bob, team)
    confirm = client.get(remove_url(target))
    assert confirm.status_code == 200
    assert "Remove bob from Acme?" in confirm.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()  # GET changes nothing
    assert client.post(remove_url(target)).status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()
    sign_in_as(client, bob)
    assert client.get("/t/acme/").status_code == 404


def test_the_last_owner_cannot_be_removed(client, alice, team):
    sign_in_as(client, alice)
    response = client.post(remove_url(member(alice, team)))
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    assert member(alice, team).role == Role.OWNER


def test_an_owner_who_leaves_goes_home(client, alice, bob, team):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    sign_in_as(client, alice)
    response = client.post(remove_url(member(alice, team)))
    assert response["Location"] == "/"
    assert client.get("/t/acme/").status_code == 404


@pytest.mark.parametrize("persona", ["bob", "vera"])
def test_removing_requires_owner(client, persona, alice, team, request):
    sign_in_as(client, request.getfixturevalue(persona))
    target = member(alice, team)
    assert client.get(remove_url(target)).status_code == 403
    assert client.post(remove_url(target)).status_code == 403
    assert Membership.objects.filter(pk=target.pk).exists()


def test_removing_checks_team_membership(client, alice, charlie, team, other_team):
    sign_in_as(client, charlie)
    target = member(alice, team)
    assert client.post(remove_url(target)).status_code == 404
    assert client.post(remove_url(target, slug="other")).status_code == 404
    assert Membership.objects.filter(pk=target.pk).exists()


def test_removing_handles_bad_input(client, alice):
    sign_in_as(client, alice)
    assert client.post("/t/acme/settings/members/999999/remove/").status_code == 404
    assert client.post("/t/acme/settings/members/0/remove/").status_code == 404
