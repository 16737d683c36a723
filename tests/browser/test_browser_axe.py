"""axe-core over every page of the product, at 1280 and 390 px: no violation of any impact.

axe-core is the test's own copy (``tests/support/axe/``, pinned, checked by its digest) and is evaluated in
the page through the DevTools protocol, so the product never serves it and its Content-Security-Policy stays
as strict as it is. One test, parametrised by page: each case signs in (or not), brings the page into the
state named, and runs axe at both widths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER, PASSWORD
from contactcards.models import Photo
from tests.support.helpers import add_totp_device, make_entry
from tests.support.rollout_helpers import start_bulk

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "support" / "axe" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
PENDING_NUMBER = "+15550001003"
WIDTHS = (1280, 390)


def _axe_source() -> str:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "tests/support/axe/axe.min.js is not axe-core 4.14.1"
    return source.decode()


# -- each page in the state named -------------------------------------------------------------------------------

def _go(page: Page, url: str, path: str, username: str = "alice", status: int = 200) -> None:
    """Sign in through the real page, then open ``path``."""
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out", exact=True).wait_for()
    response = page.goto(f"{url}{path}")
    assert response is not None and response.status == status, (path, response and response.status)


def _signed_in(path: str) -> Callable:
    def visit(page: Page, url: str, ctx) -> None:
        _go(page, url, path)
    return visit


def _sign_in_page(page: Page, url: str, ctx) -> None:
    page.goto(f"{url}/accounts/login/")


def _sign_in_refused(page: Page, url: str, ctx) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#error-summary")).to_be_visible()


def _two_factor_code(page: Page, url: str, ctx) -> None:
    add_totp_device(ctx["alice"])
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Code from your authenticator app")).to_be_visible()


def _card_pending(page: Page, url: str, ctx) -> None:
    _go(page, url, f"/t/acme/numbers/{PENDING_NUMBER}/")


def _card_refused(page: Page, url: str, ctx) -> None:
    ctx["sandbox"].add_fault({"kind": "error", "number": CARD_NUMBER, "methods": ["PATCH"], "status": 400,
                              "code": 1002, "times": 1})
    _go(page, url, f"/t/acme/numbers/{CARD_NUMBER}/")
    page.locator("#id_last_name").fill("Help Desk")
    page.locator("#save-button").click()
    expect(page.locator("#error-summary, .banner-error").first).to_be_visible()


def _card_image_refused(page: Page, url: str, ctx) -> None:
    _go(page, url, f"/t/acme/numbers/{CARD_NUMBER}/")
    page.locator("#id_image_url").fill("https://example.invalid/photo.png")
    page.locator("#save-button").click()
    expect(page.locator(".field-error").first).to_be_visible()


def _dashboard_ticked(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/acme/")
    page.get_by_label(f"Select {CARD_NUMBER}").check()


def _bulk_preview(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/acme/")
    page.get_by_label(f"Select {CARD_NUMBER}").check()
    page.get_by_label(f"Select {EMPTY_NUMBER}").check()
    page.get_by_role("button", name="Bulk edit the selected numbers").click()
    page.get_by_label("Set the first name").check()
    page.locator("#id_first_name").fill("Acme Rollout")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-rows")).to_be_visible()


def _labels(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/acme/")
    page.get_by_label(f"Select {CARD_NUMBER}").check()
    page.get_by_role("button", name="Set labels and tags").click()
    expect(page.locator("h1")).to_contain_text("1 number")


def _webhooks_subscribed(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/acme/settings/webhooks/")
    page.locator("#subscribe").click()
    expect(page.locator("#subscription-status")).to_contain_text("Subscribed")


def _photos_with_items(page: Page, url: str, ctx) -> None:
    for name in ("a1", "b2"):
        Photo.objects.create(team=ctx["team"], source=Photo.Source.UPLOAD, url=f"https://photos.example/{name}.jpg",
                             sha256=name * 32, width=1024, height=1024, format="JPEG", size_bytes=48_000,
                             name="logo.png", created_by=ctx["alice"])
    _go(page, url, "/t/acme/photos/")


def _job(page: Page, url: str, ctx) -> None:
    job = start_bulk(ctx["team"], ctx["alice"], [CARD_NUMBER], {"first_name": "Acme Rollout"})
    _go(page, url, f"/t/acme/jobs/{job.pk}/")


def _entry(ctx):
    number = ctx["team"].numbers.get(e164=CARD_NUMBER)
    return make_entry(ctx["team"], number=number, user=ctx["alice"],
                      changes={"last_name": ["Support", "Help Desk"]}, request_body={"last_name": "Help Desk"})


def _history_path(suffix: str) -> Callable:
    def visit(page: Page, url: str, ctx) -> None:
        entry = _entry(ctx)
        _go(page, url, f"/t/acme/history/{entry.pk}/{suffix}")
    return visit


def _forbidden(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/acme/import/", "vera", status=403)


def _not_found(page: Page, url: str, ctx) -> None:
    _go(page, url, "/t/nobody/", status=404)


PAGES: dict[str, Callable] = {
    "sign-in": _sign_in_page,
    "sign-in-refused": _sign_in_refused,
    "two-factor-code": _two_factor_code,
    "two-factor-setup": _signed_in("/accounts/two-factor/setup/"),
    "account": _signed_in("/accounts/"),
    "password-change": _signed_in("/accounts/password/"),
    "time-zone": _signed_in("/account/time-zone/"),
    "dashboard": _signed_in("/t/acme/"),
    "dashboard-ticked": _dashboard_ticked,
    "card-active": _signed_in(f"/t/acme/numbers/{CARD_NUMBER}/"),
    "card-pending": _card_pending,
    "card-no-card": _signed_in(f"/t/acme/numbers/{EMPTY_NUMBER}/"),
    "card-refused-save": _card_refused,
    "card-refused-photo": _card_image_refused,
    "history": _history_path("../"),
    "history-entry": _history_path(""),
    "restore": _history_path("restore/"),
    "number-history": _signed_in(f"/t/acme/numbers/{CARD_NUMBER}/history/"),
    "bulk-preview": _bulk_preview,
    "import": _signed_in("/t/acme/import/"),
    "jobs": _signed_in("/t/acme/jobs/"),
    "job": _job,
    "settings": _signed_in("/t/acme/settings/"),
    "webhooks": _signed_in("/t/acme/settings/webhooks/"),
    "streams": _signed_in("/t/acme/settings/streams/"),
    "photos": _signed_in("/t/acme/photos/"),
    "photos-two-logos": _photos_with_items,
    "webhooks-subscribed": _webhooks_subscribed,
    "labels": _labels,
    "error-403": _forbidden,
    "error-404": _not_found,
}


def _violations(page: Page, source: str) -> list[str]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)  # through the DevTools protocol: no script tag, the page's CSP is untouched
    assert page.evaluate("() => axe.version") == AXE_VERSION
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => `${v.impact} ${v.id}: ${v.help} -> ` +
            v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    return found


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_nothing(name, site, alice, vera, team, sandbox, page: Page):
    team.numbers.create(e164=PENDING_NUMBER, label="Pending")
    sandbox.add_account("test-token-ACME-7f3k9Q", [PENDING_NUMBER])
    sandbox.set_card(PENDING_NUMBER, first_name="Acme", last_name="Pending", is_active=False)
    PAGES[name](page, site.url, {"alice": alice, "team": team, "sandbox": sandbox})
    page.wait_for_load_state("networkidle")
    source = _axe_source()
    found = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 860})
        found[width] = _violations(page, source)
    assert found == {width: [] for width in WIDTHS}, (name, page.url, found)
