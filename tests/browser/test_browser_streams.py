"""Audit streams in Chromium: an owner adds a signed webhook stream, copies its secret once, and the team's
settings page says when the stream falls behind - also on a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from contactcards.models import AuditStream
from contactcards.streams import delivery
from tests.support.helpers import screenshot, sign_in


def test_an_owner_adds_a_stream_and_the_settings_say_when_it_falls_behind(site, alice, page: Page, settings):
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/settings/streams/")
    page.get_by_label("Name").fill("SIEM")
    page.get_by_label("HTTPS address").fill("https://127.0.0.1:9/audit")  # nothing listens there
    page.get_by_role("button", name="Add stream").click()
    secret = page.locator("#secret-value").inner_text()
    assert secret.startswith("whsec_") and secret == AuditStream.objects.get().get_secret()

    stream = AuditStream.objects.get()
    assert delivery.deliver(stream.pk).startswith("sent 0, then failed: connection")
    page.set_viewport_size({"width": 390, "height": 860})
    page.goto(f"{site.url}/t/acme/settings/")
    state = page.locator(f"#audit-streams #stream-{stream.pk}-state")
    expect(state).to_contain_text("Behind by 1 message")
    expect(page.locator(f"#audit-streams #stream-{stream.pk}-failing")).to_contain_text(
        "Last error: the connection was refused or broke")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(f"{site.url}/t/acme/settings/streams/")
    expect(page.locator("#secret-value")).to_have_count(0)  # shown once, never again
    screenshot(page, "phone-streams")
