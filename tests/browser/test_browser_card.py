"""The card page in a real browser: editing, the live preview, what is sent to Linq, errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER, EMPTY_NUMBER
from tests.support.helpers import PHOTO_URL, card_url, screenshot, sign_in

pytestmark = pytest.mark.browser


def open_card(page: Page, site, username: str = "alice", number: str = CARD_NUMBER) -> None:
    sign_in(page, site.url, username)
    page.goto(card_url(site.url, number))


def test_editing_one_field_sends_only_that_field(site, alice, sandbox, page: Page):
    open_card(page, site)
    screenshot(page, "card-edit")

    page.get_by_label("First name").fill("Acme Help")
    expect(page.locator("#change-summary")).to_have_text("1 field will change: first name.")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_text("Saved. Linq updated: first name.")).to_be_visible()
    writes = sandbox.writes_for(CARD_NUMBER)
    assert [(w.method, w.body) for w in writes] == [("PATCH", {"first_name": "Acme Help"})]
    expect(page.get_by_label("First name")).to_have_value("Acme Help")
    expect(page.locator("#change-summary")).to_have_text("No changes: saving sends nothing.")


def test_saving_unchanged_sends_nothing(site, alice, sandbox, page: Page):
    open_card(page, site)
    expect(page.locator("#change-summary")).to_have_text("No changes: saving sends nothing.")
    save = page.locator("#save-button")
    expect(save).to_have_text("Save (no changes)")
    expect(save).to_be_enabled()

    save.click()

    expect(page.get_by_text("Nothing changed, so nothing was sent to Linq.")).to_be_visible()
    assert sandbox.writes_for(CARD_NUMBER) == []


def test_the_preview_follows_the_typing(site, alice, page: Page):
    open_card(page, site)
    expect(page.locator("#preview-name")).to_have_text("Acme Support")
    expect(page.locator("#preview-image")).to_be_visible()

    page.get_by_label("First name").fill("Zed")
    page.get_by_label("Last name").fill("Widgets")
    expect(page.locator("#preview-name")).to_have_text("Zed Widgets")
    expect(page.locator("#change-summary")).to_have_text("2 fields will change: first name, last name.")

    page.get_by_label("Photo link").fill(PHOTO_URL)
    expect(page.locator("#preview-image")).to_have_attribute("src", PHOTO_URL)
    expect(page.locator("#preview-image")).to_be_visible()
    expect(page.locator("#change-summary")).to_have_text("3 fields will change: first name, last name, photo.")
    expect(page.locator("#preview-image-note")).to_be_hidden()
    screenshot(page, "card-changes")


def test_an_image_that_cannot_load_falls_back_to_initials(site, alice, page: Page):
    open_card(page, site)

    page.get_by_label("Photo link").fill("https://photos.example.invalid/missing.png")

    note = page.locator("#preview-image-note")
    expect(note).to_contain_text("could not be loaded")
    expect(page.locator("#preview-image")).to_be_hidden()
    expect(page.locator("#preview-initials")).to_have_text("AS")
    expect(page.locator("#preview-initials")).to_be_visible()

    page.get_by_label("Photo link").fill("http://insecure.example.test/a.png")
    expect(note).to_have_text("No preview: the link must start with https://.")


def test_setting_up_a_card(site, alice, sandbox, page: Page):
    open_card(page, site, number=EMPTY_NUMBER)
    expect(page.get_by_role("heading", name="Set up a card")).to_be_visible()
    expect(page.locator("#preview-name")).to_have_text("No name yet")

    page.get_by_label("First name").fill("Acme")
    page.get_by_label("Last name").fill("Onboarding")
    expect(page.locator("#change-summary")).to_have_text("Creating the card sends: first name, last name.")
    screenshot(page, "card-create")
    page.get_by_role("button", name="Create card").click()

    expect(page.get_by_text("The card was set up at Linq.")).to_be_visible()
    writes = sandbox.writes_for(EMPTY_NUMBER)
    assert [(w.method, w.body) for w in writes] == [
        ("POST", {"phone_number": EMPTY_NUMBER, "first_name": "Acme", "last_name": "Onboarding"}),
    ]


ERROR_CASES = {
    "setup-failed": ({"kind": "error", "status": 500, "code": 2022},
                     "Linq could not complete the change to this card."),
    "upstream-limited": ({"kind": "error", "status": 503, "code": 4004}, "upstream service is rate-limited"),
    "timeout": ({"kind": "timeout", "seconds": 3, "apply_write": False}, "Linq did not answer in time."),
    "dropped": ({"kind": "drop", "apply_write": False}, "The connection to Linq was dropped."),
}


@pytest.mark.parametrize("fault, expected", ERROR_CASES.values(), ids=ERROR_CASES.keys())
def test_linq_errors_are_shown_with_the_input_kept(site, alice, sandbox, page: Page, fault, expected):
    open_card(page, site)
    sandbox.add_fault({**fault, "methods": ["PATCH"], "times": 1})

    page.get_by_label("First name").fill("Acme Help")
    page.get_by_role("button", name="Save changes").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(expected)
    expect(summary).to_be_focused()
    expect(page.get_by_label("First name")).to_have_value("Acme Help")


def test_a_rejected_token_is_explained(site, alice, team, page: Page):
    open_card(page, site)
    team.set_token("test-token-WRONG")
    team.save()

    page.get_by_label("First name").fill("Acme Help")
    page.get_by_role("button", name="Save changes").click()

    expect(page.locator("#error-summary")).to_contain_text("Linq rejected the team's API token.")
    expect(page.get_by_label("First name")).to_have_value("Acme Help")


def test_an_image_linq_cannot_fetch_is_marked_on_its_field(site, alice, sandbox, page: Page):
    open_card(page, site)
    bad = "https://photos.example.invalid/acme.png"

    page.get_by_label("Photo link").fill(bad)
    page.get_by_role("button", name="Save changes").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Photo link")  # the words stand once, under the field
    expect(summary).not_to_contain_text("Linq could not use this image.")
    field_error = page.locator("#id_image_url_error")
    expect(field_error).to_contain_text("Linq could not use this image.")
    image = page.get_by_label("Photo link")
    expect(image).to_have_value(bad)
    expect(image).to_have_attribute("aria-invalid", "true")
    assert "id_image_url_error" in image.get_attribute("aria-describedby").split()
    screenshot(page, "card-error")

    summary.get_by_role("link", name="Photo link").click()
    expect(image).to_be_focused()


def test_form_errors_link_to_their_fields(site, alice, page: Page):
    open_card(page, site)
    page.get_by_label("First name").fill("")
    page.get_by_role("button", name="Save changes").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("aria-live", "assertive")
    expect(page.locator("#id_first_name_error")).to_have_text("First name is required.")
    # Every aria-describedby on the page names an element that exists.
    missing = page.evaluate("""() => [...document.querySelectorAll('[aria-describedby]')]
        .flatMap(el => el.getAttribute('aria-describedby').split(/\\s+/))
        .filter(id => !document.getElementById(id))""")
    assert missing == []

    summary.get_by_role("link", name="First name").click()
    expect(page.get_by_label("First name")).to_be_focused()


def test_the_history_shows_the_change(site, alice, page: Page):
    open_card(page, site)
    page.get_by_label("First name").fill("Acme Help")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()

    page.get_by_role("link", name="Full history of this number").click()

    history = page.locator("main")
    expect(history).to_contain_text("alice")
    expect(history.get_by_role("cell", name="Acme Help", exact=True)).to_be_visible()  # the new value
    expect(history.get_by_role("cell", name="Acme", exact=True)).to_be_visible()  # and the one it replaced
    screenshot(page, "history")


def test_a_viewer_has_no_save_button_and_cannot_post(site, alice, vera, sandbox, page: Page):
    open_card(page, site, username="vera")
    expect(page.locator("#ask-owners")).to_contain_text("ask the team's owner, alice")
    expect(page.locator("#budget")).to_have_count(0)  # a viewer has no write budget to watch
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)

    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        card_url(site.url),
        form={
            "csrfmiddlewaretoken": token,
            "action": "update",
            "first_name": "Hacked",
            "last_name": "",
            "image_url": "",
        },
        headers={"Referer": card_url(site.url)},
    )

    assert response.status == 403
    assert sandbox.writes_for(CARD_NUMBER) == []


def test_works_without_javascript(site, alice, sandbox, browser, page: Page):
    context = browser.new_context(java_script_enabled=False, base_url=site.url)
    try:
        plain = context.new_page()
        sign_in(plain, site.url, "alice")
        plain.goto(card_url(site.url))
        expect(plain.locator("#preview-name")).to_have_text("Acme Support")
        expect(plain.locator("#change-summary")).to_be_hidden()

        plain.get_by_label("Last name").fill("Help Desk")
        plain.get_by_role("button", name="Save changes").click()

        expect(plain.get_by_text("Saved. Linq updated: last name.")).to_be_visible()
        assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Help Desk"}]
    finally:
        context.close()


def test_a_stored_photo_that_cannot_load_shows_initials(site, alice, sandbox, page: Page):
    sandbox.set_card(CARD_NUMBER, image_url="https://cdn.linqapp.com/contact-card/gone.png")  # unreachable here
    open_card(page, site)

    expect(page.locator(".card-status .avatar-empty")).to_have_text("AS")
    expect(page.locator("#preview-image")).to_be_hidden()
    expect(page.locator("#preview-image-note")).to_contain_text("could not be loaded")
    expect(page.locator("#change-summary")).to_have_text("No changes: saving sends nothing.")


def test_the_card_page_scripts_speak_the_persons_language(site, alice, sandbox, page: Page, pseudo_language):
    """static/js words come from Django's JavaScript catalogue: in a (pseudo) language, the live summary is in it."""
    sign_in(page, site.url, "alice")
    page.set_extra_http_headers({"Accept-Language": pseudo_language})
    page.goto(card_url(site.url, CARD_NUMBER))
    expect(page.locator("#change-summary")).to_have_text("⟪No changes: saving sends nothing.⟫")
    expect(page.locator("#save-button")).to_have_text("⟪Save (no changes)⟫")
    page.locator("#id_first_name").fill("Acme Help")
    expect(page.locator("#change-summary")).to_have_text("⟪1 field will change: ⟪first name⟫.⟫")
