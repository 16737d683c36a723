"""Bulk edit in a real browser: select numbers, preview, confirm, watch the job finish (a real worker runs it)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import JobItem
from tests.support.helpers import screenshot, sign_in
from tests.support.rollout_helpers import many_numbers, numbers, start_bulk

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
    expect(bar).to_have_attribute("aria-valuenow", "2")
    expect(bar).to_have_attribute("aria-valuemax", "2")
    expect(page.locator('#job-counts [data-count="active"]')).to_have_text("2")  # sent, and active at Linq
    expect(page.locator('#job-counts [data-count="failed"]')).to_have_text("0")
    expect(page.locator("#job-items")).to_contain_text("history entry")
    screenshot(page, "job-finished")
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Acme Rollout"
    assert sandbox.cards[EMPTY_NUMBER]["first_name"] == "Acme Rollout"


# Every number on one line, the page no wider than the screen (a phone shows each item as a block).
_LAYOUT = """() => {
    const doc = document.documentElement;
    const wrapped = [...document.querySelectorAll('.job-number, #job-counts strong')].filter(el => {
        const range = document.createRange();
        range.selectNodeContents(el);
        return range.getClientRects().length > 1 || el.scrollWidth > el.clientWidth + 1;
    }).map(el => el.textContent);
    const outside = [...document.querySelectorAll('#job-items tr, #job-counts li, #job-bar')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5).length;
    return {page: doc.scrollWidth, screen: window.innerWidth, wrapped, outside};
}"""


@pytest.mark.parametrize("width", [390, 1280])
def test_the_job_page_fits_the_screen_and_numbers_never_wrap(site, live_worker, alice, team, sandbox,
                                                            page: Page, width):
    many_numbers(team, sandbox, 3)
    sandbox.add_fault({"kind": "error", "number": numbers(1), "methods": ["PATCH"], "status": 400, "code": 1002,
                       "times": 1})
    job = start_bulk(team, alice, [numbers(i) for i in range(3)],
                     {"last_name": "Acme Corporation International Support Desk"})
    page.set_viewport_size({"width": width, "height": 860})
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/jobs/{job.pk}/")
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)
    expect(page.locator('#job-counts [data-count="failed"]')).to_have_text("1")
    expect(page.locator("#job-bar rect.seg-failed")).to_have_count(1)  # a failure shows in the bar
    expect(page.locator("#job-items")).to_contain_text("Last name")  # words, not last_name
    expect(page.locator("#job-items")).not_to_contain_text("last_name")
    expect(page.locator("#job-items")).to_contain_text("Linq code 1002")
    found = page.evaluate(_LAYOUT)
    assert found["page"] <= found["screen"] and found["wrapped"] == [] and found["outside"] == 0, found
    counted = sum(int(n) for n in page.locator("#job-counts strong").all_inner_texts())
    assert counted == 3  # every item in exactly one box
    screenshot(page, f"job-{width}")


def test_retry_the_failed_item_from_the_job_page(site, live_worker, alice, team, sandbox, page: Page):
    many_numbers(team, sandbox, 2)
    sandbox.add_fault({"kind": "error", "number": numbers(1), "methods": ["PATCH"], "status": 400, "code": 1002,
                       "times": 1})
    job = start_bulk(team, alice, [numbers(0), numbers(1)], {"first_name": "Retried"})
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/jobs/{job.pk}/")
    retry = page.get_by_role("button", name="Retry the failed items (1)")
    expect(retry).to_be_visible(timeout=60_000)  # shown by job.js once the job finishes with a failure
    retry.click()
    expect(page.locator("#retry-of")).to_contain_text(f"job {job.pk}")
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)
    expect(page.locator('#job-counts [data-count="active"]')).to_have_text("1")
    expect(page.locator('#job-counts [data-count="failed"]')).to_have_text("0")
    assert sandbox.cards[numbers(1)]["first_name"] == "Retried"
    assert JobItem.objects.filter(job__retry_of=job, state=JobItem.State.SENT).count() == 1
    page.get_by_role("link", name=f"job {job.pk}").click()
    expect(page.locator("#retried-in")).to_be_visible()


def test_a_bulk_edit_meets_every_card_state_skips_a_refused_row_and_retries_a_failure(
        site, live_worker, alice, team, sandbox, page: Page):
    """Issue 21's walk: select numbers including a pending one, go back and keep the selection, a preview
    that names what happens to each, one refused row skipped on purpose, the job finishes, the failed item
    is retried and succeeds."""
    active, pending, empty, flaky = (n.e164 for n in many_numbers(team, sandbox, 4, with_card=lambda i: i != 2))
    sandbox.set_card(pending, is_active=False)  # its set-up did not complete
    sandbox.add_fault({"kind": "error", "number": flaky, "methods": ["PATCH"], "status": 400, "code": 1002,
                       "times": 1})
    sign_in(page, site.url, "alice")
    page.goto(f"{site.url}/t/acme/?q=%2B1555200")
    for e164 in (active, pending, empty, flaky):
        page.get_by_label(f"Select {e164}").check()
    page.get_by_role("button", name="Bulk edit the selected numbers").click()
    expect(page.get_by_role("heading", name="Bulk edit 4 numbers")).to_be_visible()

    page.get_by_role("button", name="Change the selection").click()  # and back: the same four are ticked
    for e164 in (active, pending, empty, flaky):
        expect(page.get_by_label(f"Select {e164}")).to_be_checked()
    page.get_by_role("button", name="Bulk edit the selected numbers").click()

    page.locator("#id_last_name").fill("Acme Corp")  # typing ticks "Set the last name"
    expect(page.get_by_label("Set the last name")).to_be_checked()
    page.get_by_role("button", name="Preview").click()
    rows = page.locator("#preview-rows")
    expect(rows.locator(f'tr[data-number="{active}"]')).to_contain_text("Will change")
    expect(rows.locator(f'tr[data-number="{pending}"]')).to_contain_text("Pending at Linq: will be set up again")
    expect(rows.locator(f'tr[data-number="{empty}"]')).to_contain_text("a first name is needed")
    expect(page.get_by_role("button", name="Confirm: send 3 changes")).to_have_count(0)
    screenshot(page, "bulk-preview-every-state")

    page.get_by_role("button", name="Send the 3 rows that can be done, skip the 1 refused").click()
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)
    expect(page.locator('#job-counts [data-count="failed"]')).to_have_text("1")
    expect(page.locator('#job-counts [data-count="skipped"]')).to_have_text("1")
    expect(page.locator("#job-items")).to_contain_text("a first name is needed")  # the skipped row's reason
    assert sandbox.cards[pending]["is_active"] and sandbox.cards[pending]["last_name"] == "Acme Corp"
    assert [w.method for w in sandbox.writes_for(pending)] == ["POST"] and sandbox.writes_for(empty) == []

    page.get_by_role("button", name="Retry the failed items (1)").click()
    expect(page.locator("#job-status")).to_have_text("Finished.", timeout=60_000)
    expect(page.locator('#job-counts [data-count="failed"]')).to_have_text("0")
    expect(page.locator('#job-counts [data-count="active"]')).to_have_text("1")
    assert sandbox.cards[flaky]["last_name"] == "Acme Corp"
    screenshot(page, "bulk-retried")
