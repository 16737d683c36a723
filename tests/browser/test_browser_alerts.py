"""Alerts in Chromium: an owner sets up a team chat channel (the incoming webhook's URL is pasted once and
never shown again), and an alert reaches the https receiver standing in for the chat tool."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from contactcards.alerts import services
from contactcards.models import AlertDelivery, AlertKind, AlertSubscription, PhoneNumber
from tests.support.helpers import sign_in
from tests.support.stream_receiver import WebhookReceiver


def test_an_owner_sets_up_a_team_chat_alert(site, alice, page: Page, settings, photo_tls):
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.AUDIT_STREAM_CA_BUNDLE = str(photo_tls.cert)
    chat = WebhookReceiver(photo_tls.cert, photo_tls.key).start()
    try:
        url = f"https://127.0.0.1:{chat.port}/services/T1/B2/browserSecretPart"
        sign_in(page, site.url, "alice")
        page.goto(f"{site.url}/t/acme/settings/")
        page.locator("#alerts-link").click()
        page.get_by_text("Add a team channel").click()
        form = page.locator("#add-team")
        form.get_by_label("A line was flagged by Linq").check()
        form.get_by_label("Chat (incoming webhook, Slack-compatible)").check()
        form.get_by_label("Incoming webhook URL").fill(url)
        form.get_by_role("button", name="Add team channel").click()
        expect(page.locator("#team-channels")).to_contain_text(f"127.0.0.1:{chat.port}")
        assert "browserSecretPart" not in page.content()
        assert AlertSubscription.objects.get().get_webhook_url() == url

        number = PhoneNumber.objects.get(e164=CARD_NUMBER)
        services.raise_alert(number.team, AlertKind.LINE_FLAGGED, number=number)
        assert services.deliver(AlertDelivery.objects.get().pk) == "sent"
        (posted,) = chat.taken
        assert f"Linq flagged the line {CARD_NUMBER}." in posted.payload["text"]
        page.locator("#all-deliveries").click()
        expect(page.locator("table.alert-deliveries")).to_contain_text("Sent")
    finally:
        chat.stop()
