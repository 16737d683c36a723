"""Bulk edit in a real browser: select numbers, preview, confirm, watch the job finish (a real worker runs it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from tests.support.helpers import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_select_preview_confirm_and_watch_the_progress_bar_finish(site, live_worker, alice, sandbox, page: Page):
    sign_in(page, site.url, "alice")
    page.get_by_label(f"Select {CARD_NUMBER}").check()
    page.get_by_label(f"Select {EMPTY_NUMBER}").check()
    page.get_by_role("button", name="Bulk edit the selected numbers").click()
    expect(page.get_by_role("heading", name="Bulk edit 2 numbers")).to_be_visible()

    page.get_by_label("Set the first name").check()
    page.locator("#id_first_name").fill("Acme Rollout")
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#preview-rows")
    expect(rows.locator(f'tr[data-number="{CARD_NUMBER}"]')).to_contain_text("Will change")
    expect(rows.locator(f'tr[data-number="{EMPTY_NUMBER}"]')).to_contain_text("No card: will be created")
    screenshot(page, "bulk-preview")
    assert sandbox.writes_for(CARD_NUMBER) == [] and sandbox.writes_for(EMPTY_NUMBER) == []

    page.get_by_role("button", name="Confirm: send 2 changes").click()
    expect(page.get_by_role("heading", name="Job")).to_be_visible()
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)  # updated by job.js, no reload
    bar = page.locator("#job-bar")
    assert bar.get_attribute("max") and page.evaluate("() => document.getElementById('job-bar').value") == 2
    expect(page.locator('[data-count="sent"]')).to_have_text("2")
    expect(page.locator("#job-items")).to_contain_text("history entry")
    screenshot(page, "job-finished")
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Acme Rollout"
    assert sandbox.cards[EMPTY_NUMBER]["first_name"] == "Acme Rollout"
