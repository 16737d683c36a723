"""Single sign-on in a real browser, through the real provider's pages (oidc-provider-mock)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from contactcards.models import Membership

pytestmark = pytest.mark.browser


def test_sign_in_through_the_provider_lands_in_the_mapped_team(site, sso, settings, page: Page):
    settings.OIDC_GROUP_MAP = "acme-editors=acme:editor"
    sso.set_user("dora-sub", preferred_username="dora", email="dora@example.com", groups=["acme-editors"],
                 amr=["pwd", "mfa"])
    page.goto(f"{site.url}/accounts/login/?next=/t/acme/")
    page.get_by_role("link", name="Sign in with Acme Login").click()
    page.locator("input[name=sub]").fill("dora-sub")  # the provider's own page
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", name="Acme: numbers")).to_be_visible()
    assert Membership.objects.get(user__username="dora", team__slug="acme").role == "editor"
