"""Photos in a real browser: upload a non-square PNG, crop it, save; the live link check; the library.

The stored photo is served over real https (self-signed, trusted by the app and the sandbox
only); the sandbox fetches what the app sends it, as Linq would.
"""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image
from playwright.sync_api import Page, expect

from conftest import CARD_NUMBER
from contactcards.models import Photo
from tests.photos.test_photo_upload import near, two_halves_png
from tests.support.helpers import card_url, screenshot, sign_in
from tests.support.photo_fixtures import Route, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("photo_settings")]

RED, BLUE = (220, 30, 30), (30, 30, 220)


def open_card(page: Page, site) -> None:
    sign_in(page, site.url, "alice")
    page.goto(card_url(site.url))


def drag(page: Page, locator, dx: float, dy: float) -> None:
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2)
    page.mouse.move(x + dx, y + dy)
    page.mouse.up()


def test_upload_crop_and_save_sends_an_https_link_to_the_cropped_square(site, alice, sandbox, page: Page,
                                                                        photo_tls):
    open_card(page, site)
    page.get_by_text("Upload a photo instead").click()
    page.get_by_label("Photo file").set_input_files(
        files=[{"name": "team.png", "mimeType": "image/png", "buffer": two_halves_png(1200, 800)}])

    crop = page.locator("[data-crop-box]")
    expect(crop).to_be_visible()
    summary = page.locator("[data-crop-summary]")
    expect(summary).to_contain_text("Square of 800x800 pixels from 1200x800, at 200,0.")  # the centre first
    drag(page, crop, 400, 0)  # move it to the right edge (clamped)
    drag(page, page.locator("[data-crop-handle]"), -120, -120)  # and make it smaller from its corner
    left = int(page.locator("input[name=crop_left]").input_value())
    side = int(page.locator("input[name=crop_side]").input_value())
    assert left + side <= 1200 and 300 < side < 800 and left > 200
    crop.focus()
    page.keyboard.press("ArrowLeft")  # the keyboard moves it too
    assert int(page.locator("input[name=crop_left]").input_value()) < left
    left = int(page.locator("input[name=crop_left]").input_value())
    screenshot(page, "photo-crop")

    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved. Linq updated: photo.")).to_be_visible()

    photo = Photo.objects.get(source="upload")
    writes = sandbox.writes_for(CARD_NUMBER)
    assert [w.body for w in writes] == [{"image_url": photo.url}]
    assert photo.url.startswith("https://127.0.0.1:")
    # What the sandbox received is an https link whose content is the cropped square ...
    sent = requests.get(photo.url, verify=str(photo_tls.cert), timeout=5)
    image = Image.open(io.BytesIO(sent.content))
    assert image.format == "JPEG" and image.size == (1024, 1024)
    boundary = (600 - left) * 1024 / side  # where the red half ends inside the chosen square
    assert near(image.getpixel((int(boundary) - 20, 512)), RED)
    assert near(image.getpixel((int(boundary) + 20, 512)), BLUE)
    assert near(image.getpixel((1018, 1018)), BLUE)
    # ... which the sandbox fetched, like Linq, and now serves from its CDN: the page shows it.
    cdn_url = sandbox.cards[CARD_NUMBER]["image_url"]
    assert requests.get(cdn_url, timeout=5).content == sent.content
    expect(page.locator("#preview-image")).to_have_attribute("src", cdn_url)
    screenshot(page, "photo-saved")


def test_the_link_is_checked_as_it_is_typed(site, alice, sandbox, page: Page, image_server, trap):
    image_server.routes["/wide.png"] = Route(body=png_bytes(900, 600))
    open_card(page, site)
    link = page.get_by_label("Photo link")
    verdict = page.locator("#photo-check")

    link.fill(image_server.url("/wide.png"))
    expect(verdict).to_contain_text("Linq can fetch this: PNG, 900x600 pixels")
    expect(verdict).to_contain_text("not square")

    link.fill(f"https://{trap.host}:{trap.port}/x.png")
    expect(verdict).to_contain_text("not a public one")
    expect(verdict).to_contain_text("Saving will not send it to Linq.")
    screenshot(page, "photo-check")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#id_image_url_error")).to_contain_text("no write was spent")
    assert sandbox.writes_for(CARD_NUMBER) == [] and trap.connections() == 0


def test_a_photo_from_the_library_fills_the_link(site, alice, sandbox, page: Page, team):
    used = Photo.objects.create(team=team, source="link", url="https://cdn.linqapp.com/contact-card/old.png",
                                width=800, height=800, format="PNG", size_bytes=1000)
    open_card(page, site)
    page.get_by_text("Upload a photo instead, or use one from the team library").click()
    page.locator(f"input[name=library_photo][value='{used.pk}']").check()
    expect(page.get_by_label("Photo link")).to_have_value(used.url)
    expect(page.locator("#change-summary")).to_have_text("1 field will change: photo.")
