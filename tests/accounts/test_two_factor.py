"""Two-factor sign-in: TOTP and recovery codes, a team's requirement, the admin's."""

from __future__ import annotations

import base64
import importlib
import re

import pytest
from django.contrib.auth import get_user_model
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from contactcards.accounts.models import AccountSecurity
from contactcards.models import AuditEntry
from tests.support.helpers import (
    add_recovery_codes,
    add_totp_device,
    current_code,
    enter_code,
    is_signed_in,
    sign_in_as,
    sign_in_client,
)

pytestmark = pytest.mark.django_db
SETUP_URL = "/accounts/two-factor/setup/"


def test_an_account_with_a_device_needs_the_code(client, alice):
    device = add_totp_device(alice)
    response = sign_in_client(client, "alice")
    assert response.status_code == 200 and not is_signed_in(client)
    assert "6-digit code" in response.content.decode()
    assert enter_code(client, current_code(device)).status_code == 302 and is_signed_in(client)


def test_a_wrong_code_is_refused(client, alice):
    device = add_totp_device(alice)
    sign_in_client(client, "alice")
    wrong = enter_code(client, "000000" if current_code(device) != "000000" else "111111")
    assert wrong.status_code == 200 and not is_signed_in(client)
    assert "6-digit code" in wrong.content.decode()


def test_a_recovery_code_works_once(client, alice):
    add_totp_device(alice)
    add_recovery_codes(alice, "rc0001", "rc0002")
    sign_in_client(client, "alice")
    client.post("/accounts/login/", {"login_view-current_step": "token", "wizard_goto_step": "backup"})
    assert enter_code(client, "rc0001", step="backup").status_code == 302 and is_signed_in(client)
    again = type(client)()
    sign_in_client(again, "alice")
    again.post("/accounts/login/", {"login_view-current_step": "token", "wizard_goto_step": "backup"})
    assert enter_code(again, "rc0001", step="backup").status_code == 200 and not is_signed_in(again)


def test_setting_it_up_from_the_account_page(client, alice):
    sign_in_as(client, alice)
    assert "Off: your password alone" in client.get("/accounts/").content.decode()
    page = client.post("/accounts/two-factor/setup/", {"setup_view-current_step": "welcome"})
    key = client.session["django_two_factor-qr_secret_key"]
    grouped = " ".join(key[i:i + 4] for i in range(0, len(key), 4))
    assert grouped in page.content.decode()  # shown for typing into the app, in groups of four
    assert client.get("/accounts/two-factor/qrcode/").status_code == 200
    code = totp(base64.b32decode(key))
    response = client.post("/accounts/two-factor/setup/", {"setup_view-current_step": "generator",
                                                          "generator-token": f"{code:06d}"})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
    codes = client.post("/accounts/two-factor/recovery-codes/")
    assert codes.status_code == 302
    page = client.get("/accounts/two-factor/recovery-codes/").content.decode()
    assert page.count("<li><code>") == 10
    assert "On: you sign in with your password and a code" in client.get("/accounts/").content.decode()


def test_the_code_step_reads_as_at_sign_in_and_takes_spaces(client, alice):
    sign_in_as(client, alice)
    page = client.post(SETUP_URL, {"setup_view-current_step": "welcome"}).content.decode()
    field = re.search(r'<input[^>]*name="generator-token"[^>]*>', page).group(0)
    assert 'type="text"' in field and 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field
    assert "Code from your authenticator app" in page and ">Token<" not in page
    assert page.index('class="primary"') < page.index('name="wizard_goto_step"')  # Enter submits, not Back
    wrong = client.post(SETUP_URL, {"setup_view-current_step": "generator", "generator-token": "12ab56"})
    assert "Enter the 6-digit code your authenticator app shows." in wrong.content.decode()
    key = client.session["django_two_factor-qr_secret_key"]
    code = f"{totp(base64.b32decode(key)):06d}"
    response = client.post(SETUP_URL, {"setup_view-current_step": "generator",
                                       "generator-token": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302 and TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


def set_up_with_the_wizard(client) -> None:
    """The account page's setup, as a person does it: the intro, then a code from the app for the shown key."""
    client.post(SETUP_URL, {"setup_view-current_step": "welcome"})
    key = client.session["django_two_factor-qr_secret_key"]
    code = totp(base64.b32decode(key))
    response = client.post(SETUP_URL, {"setup_view-current_step": "generator", "generator-token": f"{code:06d}"})
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/complete/"


def test_a_session_from_before_the_device_ends_and_cannot_add_its_own(client, alice):
    """Issue 19, item 4: a password-only session of the account, opened before it had a second factor."""
    old = type(client)()
    sign_in_client(old, "alice")  # the password alone (there is no device yet)
    assert old.get("/t/acme/").status_code == 200
    sign_in_as(client, alice)
    set_up_with_the_wizard(client)  # the owner of the account turns two-factor on elsewhere
    assert TOTPDevice.objects.filter(user=alice).count() == 1

    # The old session is over: it can neither use the team nor set up a device of its own.
    response = old.get("/t/acme/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not is_signed_in(old)
    assert old.post(SETUP_URL, {"setup_view-current_step": "welcome"})["Location"].startswith("/accounts/login/")
    assert old.get("/accounts/two-factor/recovery-codes/")["Location"].startswith("/accounts/login/")
    assert TOTPDevice.objects.filter(user=alice).count() == 1

    # The session that set it up was verified by the new device and carries on.
    assert client.post("/accounts/two-factor/recovery-codes/").status_code == 302
    assert client.get("/accounts/two-factor/recovery-codes/").content.decode().count("<li><code>") == 10
    assert client.get("/t/acme/").status_code == 200


def test_a_device_added_any_other_way_ends_password_only_sessions_too(client, alice, bob):
    sign_in_client(client, "alice")
    bobs = type(client)()
    sign_in_client(bobs, "bob")
    add_totp_device(alice)  # e.g. by an administrator, in the admin
    assert client.get("/t/acme/").status_code == 302 and not is_signed_in(client)
    assert bobs.get("/t/acme/").status_code == 200  # other accounts are untouched
    StaticDevice.objects.create(user=bob, name="backup", confirmed=True)  # recovery codes are not a second factor
    assert bobs.get("/t/acme/").status_code == 200


@pytest.mark.parametrize("method,data", [
    ("get", {}),
    ("post", {"setup_view-current_step": "welcome"}),
    ("post", {"setup_view-current_step": "method", "method-method": "generator"}),
    ("post", {"setup_view-current_step": "generator", "generator-token": "123456"}),
])
@pytest.mark.parametrize("verified", [False, True])
def test_setup_is_refused_on_every_step_once_a_device_exists(client, alice, method, data, verified):
    device = add_totp_device(alice)
    if verified:
        sign_in_client(client, "alice")
        enter_code(client, current_code(device))
    else:
        sign_in_as(client, alice)  # a session that did not use the code, still current
    response = getattr(client, method)(SETUP_URL, data)
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert "Two-factor sign-in is already on for this account" in client.get("/accounts/").content.decode()
    assert "django_two_factor-qr_secret_key" not in client.session
    assert client.get("/accounts/two-factor/qrcode/").status_code == 404
    assert list(TOTPDevice.objects.filter(user=alice)) == [device]
    if not verified:  # and it never becomes verified, so the recovery codes stay out of reach
        assert client.get("/accounts/two-factor/recovery-codes/").status_code == 302
        assert not client.get("/accounts/").context["verified"]


def test_turning_it_off_and_on_again_works(client, alice):
    sign_in_as(client, alice)
    set_up_with_the_wizard(client)
    response = client.post("/accounts/two-factor/disable/", {"understand": "on"})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(user=alice).exists()
    set_up_with_the_wizard(client)
    assert TOTPDevice.objects.filter(user=alice, confirmed=True).count() == 1
    assert client.get("/t/acme/").status_code == 200


def test_the_upgrade_ends_sessions_of_accounts_that_already_have_a_device(client, alice, bob, vera):
    """Migration accounts 0003: devices from before this fix did not end any session; it does, once."""
    from django.apps import apps

    migration = importlib.import_module("contactcards.accounts.migrations.0003_end_password_only_sessions")
    add_totp_device(alice)
    add_totp_device(bob)
    AccountSecurity.objects.filter(user=bob).delete()  # as before: no row yet
    bob = get_user_model().objects.get(pk=bob.pk)
    sessions = {user: type(client)() for user in (alice, bob, vera)}
    for user, session in sessions.items():
        sign_in_as(session, user)  # password-only sessions, as a device from before the fix left them
        assert session.get("/accounts/").status_code == 200
    migration.end_sessions_of_accounts_with_a_device(apps, None)
    assert sessions[alice].get("/accounts/").status_code == 302
    assert sessions[bob].get("/accounts/").status_code == 302
    assert sessions[vera].get("/accounts/").status_code == 200  # no device: untouched


# -- a team that requires it --------------------------------------------------------------------

def test_a_member_without_it_is_sent_to_set_it_up_before_any_team_page(client, team, bob):
    team.require_two_factor = True
    team.save()
    sign_in_as(client, bob)
    for url in ("/t/acme/", "/t/acme/history/", "/t/acme/settings/", "/t/acme/numbers/+15550001001/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/required/")
    page = client.get("/accounts/two-factor/required/").content.decode()
    assert "Acme requires every member to sign in with a second factor" in page
    assert client.get("/accounts/").status_code == 200  # the account pages stay reachable


def test_a_member_with_a_device_but_an_unverified_session_signs_in_again(client, team, bob):
    team.require_two_factor = True
    team.save()
    device = add_totp_device(bob)
    sign_in_as(client, bob)  # a session that did not use the code
    response = client.get("/t/acme/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/t/acme/"
    sign_in_client(client, "bob", next_path="/t/acme/")
    response = enter_code(client, current_code(device), next_path="/t/acme/")
    assert response["Location"] == "/t/acme/"
    assert client.get("/t/acme/").status_code == 200


def test_other_teams_are_not_affected(client, team, other_team, charlie):
    team.require_two_factor = True
    team.save()
    sign_in_as(client, charlie)
    assert client.get("/t/other/").status_code == 200
    assert client.get("/t/acme/").status_code == 404  # outsiders still learn nothing


def test_the_owner_turns_it_on_once_verified_and_it_is_in_the_history(client, team, alice):
    sign_in_as(client, alice)
    response = client.post("/t/acme/settings/two-factor/", {"require_two_factor": "on"}, follow=True)
    assert "Set up two-factor sign-in for your own account" in response.content.decode()
    team.refresh_from_db()
    assert not team.require_two_factor
    device = add_totp_device(alice)
    client.logout()
    sign_in_client(client, "alice")
    enter_code(client, current_code(device))
    response = client.post("/t/acme/settings/two-factor/", {"require_two_factor": "on"}, follow=True)
    assert "Members now need two-factor sign-in" in response.content.decode()
    client.post("/t/acme/settings/two-factor/", {"require_two_factor": "on"})  # unchanged: no row
    client.post("/t/acme/settings/two-factor/", {"require_two_factor": ""})
    rows = AuditEntry.objects.filter(team=team, action=AuditEntry.Action.TWO_FACTOR_POLICY).order_by("id")
    assert [r.changes for r in rows] == [{"require_two_factor": [False, True]}, {"require_two_factor": [True, False]}]
    assert {r.username for r in rows} == {"alice"}


@pytest.mark.parametrize("persona,status", [("editor", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_change_the_requirement(client, personas, team, persona, status):
    sign_in_as(client, personas[persona])
    assert client.post("/t/acme/settings/two-factor/", {"require_two_factor": "on"}).status_code == status
    team.refresh_from_db()
    assert not team.require_two_factor


# -- the admin ------------------------------------------------------------------------------------

def test_the_admin_requires_a_verified_session_when_configured(client, db, settings):
    settings.ADMIN_REQUIRE_TWO_FACTOR = True
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    sign_in_client(client, "root")
    response = client.get("/admin/")
    assert response.status_code == 302
    refused = client.get(response["Location"])
    assert refused.status_code == 403 and "only opens for staff who signed in with a second factor" in \
        refused.content.decode()
    device = add_totp_device(root)
    client.logout()
    sign_in_client(client, "root")
    enter_code(client, current_code(device))
    assert client.get("/admin/").status_code == 200


def test_production_settings_require_it_for_the_admin():
    import subprocess
    import sys

    code = ("import django,os;os.environ['DJANGO_SETTINGS_MODULE']='linqadmin.settings';"
            "os.environ.pop('DEBUG',None);os.environ.pop('ADMIN_REQUIRE_TWO_FACTOR',None);"
            "os.environ['SECRET_KEY']='x'*50;os.environ['LINQADMIN_ENCRYPTION_KEYS']='k';"
            "from django.conf import settings;print(settings.ADMIN_REQUIRE_TWO_FACTOR)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "True", done.stderr
