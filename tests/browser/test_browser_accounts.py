"""People in a real browser: two-factor sign-in, an invitation and a password reset from received emails.

Mail goes through the real SMTP server the tests start (``mailbox``), reset emails from a real
task worker; the tests open the links in the messages it received, as a person would.
"""

from __future__ import annotations

import base64

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect

from conftest import PASSWORD
from tests.support.helpers import add_totp_device, current_code, screenshot, sign_in

pytestmark = pytest.mark.browser
NEW_PASSWORD = "violet-kettle-harbour-9"


def test_sign_in_with_two_factor(site, alice, page: Page):
    device = add_totp_device(alice)
    page.goto(f"{site.url}/accounts/login/?next=/t/acme/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    code = page.get_by_label("Code from your authenticator app")
    expect(code).to_be_visible()
    screenshot(page, "sign-in-code")
    code.fill(current_code(device))  # what the app on alice's phone shows now
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Acme: numbers")).to_be_visible()


def test_accept_an_invitation_from_the_email(site, alice, page: Page, browser: Browser, mailbox):
    sign_in(page, site.url, "alice", next_path="/t/acme/settings/")
    page.get_by_label("Email address").fill("dana@example.com")
    page.locator("#invite").get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to dana@example.com")).to_be_visible()
    expect(page.locator("#invitations")).to_contain_text("dana@example.com")

    [link] = mailbox.links("dana@example.com")
    assert link.startswith(site.url)
    dana = browser.new_context().new_page()
    dana.goto(link)
    expect(dana.get_by_role("heading", name="Join Acme")).to_be_visible()
    dana.get_by_label("Username").fill("dana")
    dana.locator("#id_password1").fill(NEW_PASSWORD)
    dana.get_by_label("Password confirmation").fill(NEW_PASSWORD)
    screenshot(dana, "invitation")
    dana.get_by_role("button", name="Create account and join").click()
    expect(dana.get_by_role("heading", name="Acme: numbers")).to_be_visible()
    expect(dana.get_by_text("you joined Acme as viewer")).to_be_visible()


def test_reset_a_forgotten_password_from_the_email(site, alice, page: Page, mailbox, workers):
    alice.email = "alice@example.com"
    alice.save()
    page.goto(f"{site.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("alice@example.com")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator("#reset-sent")).to_be_visible()

    workers.run_batch()  # the task queue sends the email, not the page
    [link] = mailbox.links("alice@example.com")
    assert link.startswith(site.url)
    page.goto(link)
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("#reset-complete")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Acme: numbers")).to_be_visible()


def test_set_and_confirm_my_own_name_and_email_address(site, alice, page: Page, mailbox, workers):
    sign_in(page, site.url, "alice", next_path="/accounts/")
    page.get_by_label("First name").fill("Alice")
    page.get_by_label("Last name").fill("Archer")
    page.get_by_role("button", name="Save your name").click()
    expect(page.get_by_text("Your name is saved.")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Alice")

    page.get_by_label("New email address").fill("alice@example.com")
    page.get_by_role("button", name="Set your email address").click()
    expect(page.get_by_text("We sent a link to alice@example.com")).to_be_visible()
    workers.run_batch()  # the task queue sends the email, not the page
    [link] = mailbox.links("alice@example.com")
    assert link.startswith(site.url)
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    page.get_by_role("button", name="Use this address").click()
    expect(page.get_by_text("Your email address is now alice@example.com.")).to_be_visible()
    expect(page.locator("#current-email")).to_contain_text("alice@example.com")
    screenshot(page, "account")


@pytest.mark.parametrize("width", [390, 1280])
def test_set_up_two_factor_with_enter_on_the_code(site, alice, page: Page, width):
    """The code step completes on Enter (not "Back"); the box reads as at sign-in; the key is in fours; the
    account and two-factor pages keep the team's navigation."""
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice", next_path="/t/acme/")
    page.goto(f"{site.url}/accounts/")
    expect(page.get_by_role("navigation", name="Team").get_by_role("link", name="History")).to_be_visible()
    page.get_by_role("link", name="Set up two-factor sign-in").click()
    page.get_by_role("button", name="Next").click()
    code = page.get_by_label("Code from your authenticator app")
    expect(code).to_have_attribute("type", "text")  # no spinner arrows
    expect(code).to_have_attribute("inputmode", "numeric")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(page.get_by_role("navigation", name="Team")).to_be_visible()
    shown = page.locator("#totp-secret").inner_text()
    groups = shown.split(" ")
    assert len("".join(groups)) == 32 and all(len(group) == 4 for group in groups), shown
    screenshot(page, f"two-factor-setup-{width}")
    code.fill(f"{totp(base64.b32decode(''.join(groups))):06d}")
    code.press("Enter")
    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    assert TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
