"""Four eyes in a real browser (issue 24): an editor requests a change, an owner approves it, a real worker
sends it, and the history shows the chain - request, approval, write - linked by their job."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from contactcards.models import Job
from tests.support.helpers import card_url, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_an_editor_requests_an_owner_approves_and_the_history_shows_the_chain(live_worker, site, team, alice, bob,
                                                                             sandbox, page: Page):
    sign_in(page, site.url, "bob")
    team.changes_need_approval = True
    team.save()
    page.goto(card_url(site.url))
    expect(page.locator("#needs-approval")).to_be_visible()
    page.locator("#id_last_name").fill("Helpdesk")
    page.get_by_label("Note for the approver").fill("New desk from Monday")
    page.get_by_role("button", name="Request this change").click()
    expect(page.locator("#approval-state")).to_contain_text("Awaiting approval")
    expect(page.locator("#own-request")).to_have_count(0)  # an editor sees no decision buttons at all
    expect(page.locator("#decide-form")).to_have_count(0)
    screenshot(page, "change-request")
    assert sandbox.writes_for(CARD_NUMBER) == []
    job = Job.objects.get()

    page.context.clear_cookies()
    sign_in(page, site.url, "alice")
    page.get_by_role("link", name="Planned").click()
    page.locator("#requests").get_by_role("link", name=f"Job {job.pk}").click()
    expect(page.locator("#request-note")).to_contain_text("New desk from Monday")
    page.get_by_label("Comment").fill("Looks right")
    page.get_by_role("button", name="Approve and send").click()
    expect(page.locator("#approval-state")).to_contain_text("Approved")
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)  # the live worker sent it
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Helpdesk"
    assert [w.method for w in sandbox.writes_for(CARD_NUMBER)] == ["PATCH"]

    page.get_by_role("link", name="Its history entries").click()
    rows = page.locator("table.history > tbody > tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("Change requested")  # newest first
    expect(rows.nth(2)).to_contain_text("bob")
    expect(rows.nth(2)).to_contain_text("New desk from Monday")
    expect(rows.nth(1)).to_contain_text("Change approved")
    expect(rows.nth(1)).to_contain_text("alice")
    expect(rows.nth(1)).to_contain_text("Looks right")
    expect(rows.nth(0)).to_contain_text("Update card")
    expect(rows.nth(0)).to_contain_text("Helpdesk")
    screenshot(page, "change-request-history")
