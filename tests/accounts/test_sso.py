"""Single sign-on through a real OpenID Connect provider (oidc-provider-mock, started once per run).

Every sign-in here goes the way a browser goes: our start page → the provider's authorization page →
our callback with the code; the provider signs real ID tokens. The tests set each person's claims
(groups, amr, acr, email) at the provider.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches

from conftest import PASSWORD
from contactcards.accounts.checks import sso_configuration
from contactcards.accounts.models import SSODevice, SSOIdentity, SSOMembership
from contactcards.history.audit import SSO
from contactcards.lib.groupmap import GroupMapError, parse_group_map, roles_for
from contactcards.models import AuditEntry, Membership
from tests.support.helpers import add_totp_device, current_code, enter_code, is_signed_in, sign_in_client
from tests.support.oidc import callback_path, configure, sign_in_with_sso

pytestmark = pytest.mark.django_db
MAP = "acme-owners=acme:owner,acme-editors=acme:editor,acme-all=acme:viewer,other-all=other:viewer"


@pytest.fixture
def mapped(sso, settings, team, alice):
    """Single sign-on with a group map for acme (alice is its local owner) and a team that does not exist."""
    settings.OIDC_GROUP_MAP = MAP
    return sso


def sso_entries(team):
    return list(AuditEntry.objects.filter(team=team, username=SSO).order_by("id")
                .values_list("action", "subject", "changes", "actor_type"))


# -- the group map --------------------------------------------------------------------------------

def test_the_group_map_is_parsed_strictly():
    grants = parse_group_map(" acme-owners = acme:owner , acme-all=acme:VIEWER,acme-all=beta:editor ")
    assert roles_for(grants, ["acme-all", "acme-owners"]) == {"acme": "owner", "beta": "editor"}
    assert roles_for(grants, ["acme-all"]) == {"acme": "viewer", "beta": "editor"}
    assert parse_group_map("") == ()
    for bad, says in [("acme-owners", "group=team:role"), ("=acme:owner", "group=team:role"),
                      ("g=acme", "group=team:role"), ("g=acme:king", "not 'king'"), ("g=ac me:owner", "team slug"),
                      ("g=acme:owner,,h=acme:viewer", "empty"), ("g=acme:owner,", "empty"),
                      ("g=acme:owner,g=acme:viewer", "twice")]:
        with pytest.raises(GroupMapError, match=says):
            parse_group_map(bad)


def test_a_wrong_map_is_a_system_check_error(settings):
    settings.OIDC_GROUP_MAP = "acme-owners=acme:boss"
    [error] = sso_configuration()
    assert error.id == "accounts.E101" and "acme-owners=acme:boss" in error.msg and "'boss'" in error.msg
    settings.OIDC_GROUP_MAP = MAP
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_ISSUER = "linqadmin", ""
    assert ["OIDC_ISSUER" in error.msg for error in sso_configuration()] == [True]
    settings.OIDC_ISSUER = "https://login.example.com"
    assert sso_configuration() == []


# -- the sign-in page ---------------------------------------------------------------------------------

def test_no_button_when_single_sign_on_is_off(client, db):
    caches["pages"].clear()
    page = client.get("/accounts/login/").content.decode()
    assert "sso-sign-in" not in page and "Sign in with" not in page
    assert client.get("/accounts/sso/start/").status_code == 404
    assert client.get("/accounts/sso/callback/?code=x&state=y").status_code == 404


def test_the_button_names_the_provider(client, sso):
    page = client.get("/accounts/login/").content.decode()
    assert 'id="sso-sign-in"' in page and "Sign in with Acme Login" in page and "Forgot your password?" in page
    assert "/accounts/sso/start/?next=%2Ft%2Facme%2F" in client.get("/accounts/login/?next=/t/acme/").content.decode()


# -- accounts and teams --------------------------------------------------------------------------------

def test_first_sign_in_creates_the_account_and_the_membership_its_group_maps_to(client, mapped, team):
    mapped.set_user("dora-sub", email="dora@example.com", preferred_username="dora", groups=["acme-editors"])
    response = sign_in_with_sso(client, mapped, "dora-sub", next_path="/t/acme/")
    assert response.status_code == 302 and response["Location"] == "/t/acme/" and is_signed_in(client)
    dora = get_user_model().objects.get(username="dora")
    assert dora.email == "dora@example.com" and not dora.has_usable_password()
    assert SSOIdentity.objects.get(user=dora).subject == "dora-sub"
    membership = Membership.objects.get(user=dora, team=team)
    assert membership.role == "editor" and SSOMembership.objects.filter(membership=membership).exists()
    assert sso_entries(team) == [("member_add", "dora", {"role": [None, "editor"]}, "sso")]
    assert client.get("/t/acme/").status_code == 200
    assert not Membership.objects.filter(user=dora).exclude(team=team).exists()  # team "other" does not exist


def test_each_sign_in_updates_the_role_and_removes_what_the_groups_no_longer_grant(client, mapped, team):
    mapped.set_user("dora-sub", preferred_username="dora", groups=["acme-all"])
    sign_in_with_sso(client, mapped, "dora-sub")
    mapped.set_user("dora-sub", preferred_username="dora", groups=["acme-all", "acme-owners"])
    again = type(client)()
    sign_in_with_sso(again, mapped, "dora-sub")
    assert Membership.objects.get(user__username="dora", team=team).role == "owner"
    mapped.set_user("dora-sub", preferred_username="dora", groups=["somewhere-else"])
    sign_in_with_sso(type(client)(), mapped, "dora-sub")
    assert not Membership.objects.filter(user__username="dora").exists()
    assert sso_entries(team) == [("member_add", "dora", {"role": [None, "viewer"]}, "sso"),
                                 ("member_role", "dora", {"role": ["viewer", "owner"]}, "sso"),
                                 ("member_remove", "dora", {"role": ["owner", None]}, "sso")]
    assert get_user_model().objects.filter(username="dora").count() == 1  # the same account each time


def test_memberships_made_otherwise_are_left_alone(client, mapped, team, bob, settings):
    """bob was made an editor on the settings page; single sign-on links his account by verified address."""
    settings.OIDC_LINK_VERIFIED_EMAIL = True
    bob.email = "bob@example.com"
    bob.save()
    mapped.set_user("bob-sub", email="bob@example.com", email_verified=True, groups=["acme-owners"])
    sign_in_with_sso(client, mapped, "bob-sub")
    assert client.session["_auth_user_id"] == str(bob.pk)
    assert Membership.objects.get(user=bob, team=team).role == "editor"
    mapped.set_user("bob-sub", email="bob@example.com", email_verified=True, groups=[])
    sign_in_with_sso(type(client)(), mapped, "bob-sub")
    assert Membership.objects.get(user=bob, team=team).role == "editor"
    assert sso_entries(team) == []


def test_accounts_are_matched_by_subject_not_by_address(client, mapped, bob):
    bob.email = "bob@example.com"
    bob.save()
    # the link by address is off (the default), and an unverified address never links
    mapped.set_user("mallory", email="bob@example.com", email_verified=True, preferred_username="bob")
    sign_in_with_sso(client, mapped, "mallory")
    mallory = SSOIdentity.objects.get(subject="mallory").user
    assert mallory != bob and mallory.username == "bob-2"
    # the provider's address changes: still the account of that subject
    mapped.set_user("mallory", email="someone-else@example.com", preferred_username="bob")
    sign_in_with_sso(type(client)(), mapped, "mallory")
    assert SSOIdentity.objects.get(subject="mallory").user == mallory
    assert get_user_model().objects.filter(email__iexact="bob@example.com").count() == 2


def test_an_unverified_address_never_links(client, mapped, bob, settings):
    settings.OIDC_LINK_VERIFIED_EMAIL = True
    bob.email = "bob@example.com"
    bob.save()
    mapped.set_user("eve", email="bob@example.com", email_verified=False)
    sign_in_with_sso(client, mapped, "eve")
    assert SSOIdentity.objects.get(subject="eve").user != bob


def test_without_account_creation_only_linked_accounts_sign_in(client, mapped, settings):
    settings.OIDC_CREATE_USERS = False
    mapped.set_user("nobody", email="nobody@example.com", groups=["acme-owners"])
    response = sign_in_with_sso(client, mapped, "nobody")
    assert response["Location"] == "/accounts/login/" and not is_signed_in(client)
    assert not SSOIdentity.objects.exists()


# -- the team's two-factor requirement ----------------------------------------------------------------

@pytest.fixture
def strict(mapped, team):
    team.require_two_factor = True
    team.save()
    return mapped


def test_the_providers_second_factor_meets_the_requirement(client, strict):
    strict.set_user("dora-sub", preferred_username="dora", groups=["acme-editors"], amr=["pwd", "mfa"])
    response = sign_in_with_sso(client, strict, "dora-sub", next_path="/t/acme/")
    assert response["Location"] == "/t/acme/"
    assert client.get("/t/acme/").status_code == 200
    assert SSODevice.objects.filter(user__username="dora").count() == 1


def test_an_acr_of_the_configured_set_meets_it_too(client, strict, settings):
    settings.OIDC_MFA_ACR = ["urn:acme:loa:2fa"]
    strict.set_user("dora-sub", preferred_username="dora", groups=["acme-editors"], acr="urn:acme:loa:2fa")
    sign_in_with_sso(client, strict, "dora-sub")
    assert client.get("/t/acme/").status_code == 200


def test_a_password_only_sign_in_at_the_provider_does_not(client, strict):
    strict.set_user("dora-sub", preferred_username="dora", groups=["acme-editors"], amr=["pwd"],
                    acr="urn:acme:loa:1")
    sign_in_with_sso(client, strict, "dora-sub")
    response = client.get("/t/acme/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/required/")


def test_then_our_own_second_step_is_asked_for(client, strict):
    strict.set_user("dora-sub", preferred_username="dora", groups=["acme-editors"], amr=["pwd"])
    sign_in_with_sso(client, strict, "dora-sub")  # creates dora, who then sets up her own device
    dora = get_user_model().objects.get(username="dora")
    device = add_totp_device(dora)
    fresh = type(client)()
    response = sign_in_with_sso(fresh, strict, "dora-sub", next_path="/t/acme/")
    assert not is_signed_in(fresh)
    assert response["Location"] == "/accounts/login/?next=%2Ft%2Facme%2F"
    page = fresh.get(response["Location"])
    assert page.status_code == 200 and "6-digit code" in page.content.decode()
    done = enter_code(fresh, current_code(device), next_path="/t/acme/")
    assert done.status_code == 302 and done["Location"] == "/t/acme/" and is_signed_in(fresh)
    assert fresh.get("/t/acme/").status_code == 200


# -- SSO only --------------------------------------------------------------------------------------------

def test_sso_only_refuses_local_passwords_but_not_the_break_glass_superuser(client, sso, settings, bob):
    settings.SSO_ONLY = True
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme Login" in page and 'id="break-glass"' in page and "Forgot your password?" not in page
    refused = sign_in_client(client, "bob")
    assert refused.status_code == 200 and not is_signed_in(client)
    assert "everyone else signs in with Acme Login" in refused.content.decode()
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    assert sign_in_client(client, "root").status_code == 302 and is_signed_in(client)
    anonymous = type(client)()
    for path in ("/accounts/password/reset/", "/accounts/password/reset/MQ/set-password/"):
        response = anonymous.get(path)
        assert response.status_code == 404 and 'id="sso-only"' in response.content.decode()
    assert anonymous.post("/accounts/password/reset/", {"email": "bob@example.com"}).status_code == 404


def test_sso_only_still_lets_people_in_through_the_provider(client, mapped, settings):
    settings.SSO_ONLY = True
    mapped.set_user("dora-sub", preferred_username="dora", groups=["acme-all"])
    assert sign_in_with_sso(client, mapped, "dora-sub")["Location"] == "/" and is_signed_in(client)
    assert client.get("/accounts/password/").status_code == 404


# -- what the provider or a browser may send -----------------------------------------------------------

def test_an_unknown_or_replayed_state_signs_nobody_in(client, mapped):
    mapped.set_user("dora-sub", preferred_username="dora")
    start = client.get("/accounts/sso/start/")
    location = mapped.authorize(start["Location"], "dora-sub")
    forged = callback_path(location).replace("state=", "state=x")
    assert client.get(forged)["Location"] == "/accounts/login/" and not is_signed_in(client)
    assert client.get(callback_path(location)).status_code == 302 and is_signed_in(client)
    replay = type(client)()
    replay.get("/accounts/sso/start/")
    response = replay.get(callback_path(location), follow=True)
    assert response.status_code == 200 and not is_signed_in(replay)
    assert "did not work" in response.content.decode()
    assert type(client)().get("/accounts/sso/callback/?code=x&state=y")["Location"] == "/accounts/login/"
    assert type(client)().get("/accounts/sso/callback/")["Location"] == "/accounts/login/"


def test_a_code_from_another_sign_in_fails_the_nonce(client, mapped):
    """Code injection: someone else's code (its ID token carries their nonce) with this browser's state."""
    mapped.set_user("mallory", preferred_username="mallory")
    victim_start = client.get("/accounts/sso/start/")
    victim_state = dict(p.split("=", 1) for p in victim_start["Location"].split("?", 1)[1].split("&"))["state"]
    attacker = type(client)()
    location = mapped.authorize(attacker.get("/accounts/sso/start/")["Location"], "mallory")
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    response = client.get(f"/accounts/sso/callback/?code={code}&state={victim_state}")
    assert response["Location"] == "/accounts/login/" and not is_signed_in(client)
    assert not SSOIdentity.objects.exists()


def test_cancelled_at_the_provider(client, mapped):
    start = client.get("/accounts/sso/start/")
    response = client.get(callback_path(mapped.deny(start["Location"])), follow=True)
    assert response.status_code == 200 and "was cancelled" in response.content.decode() and not is_signed_in(client)


def test_a_provider_that_cannot_be_reached(client, db, settings, oidc_provider):
    configure(settings, oidc_provider, OIDC_ISSUER="http://127.0.0.1:9")  # nothing listens on the discard port
    response = client.get("/accounts/sso/start/", follow=True)
    assert response.status_code == 200 and "cannot be reached" in response.content.decode()


def test_a_password_sign_in_never_reaches_the_provider(client, sso, bob):
    """A code and state in the sign-in page's address do not make the password step call the token endpoint."""
    response = client.post("/accounts/login/?code=abc&state=def", {"login_view-current_step": "auth",
                                                                    "auth-username": "bob", "auth-password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(bob.pk)
