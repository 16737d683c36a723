"""The sandbox plays Linq's image fetch: really fetching from the local https photo server, 5007 otherwise."""

from __future__ import annotations

import requests

from conftest import CARD_NUMBER, TOKEN
from contactcards.photos.services import photo_upload
from tests.support.photo_fixtures import png_bytes, upload


def patch_image(sandbox_server, url: str) -> requests.Response:
    return requests.patch(f"{sandbox_server.url}/v3/contact_card", params={"phone_number": CARD_NUMBER},
                          json={"image_url": url}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def test_the_sandbox_fetches_an_uploaded_photo_and_serves_it_from_its_cdn(photo_settings, team, alice,
                                                                        sandbox_server):
    photo = photo_upload(team=team, user=alice, file=upload(png_bytes(900, 700))).photo
    response = patch_image(sandbox_server, photo.url)
    assert response.status_code == 200
    cdn_url = response.json()["image_url"]
    assert cdn_url.endswith(".jpg")
    served = requests.get(cdn_url, timeout=5)
    assert served.headers["Content-Type"] == "image/jpeg"
    with open(photo_settings.PHOTOS_TEST_ROOT / photo.storage_key, "rb") as stored:
        assert served.content == stored.read()


def test_a_link_on_a_fetchable_origin_that_fails_is_5007_and_spends_a_write(photo_settings, photo_files, team,
                                                                           sandbox_server, sandbox):
    response = patch_image(sandbox_server, f"{photo_files.url}missing.jpg")
    assert response.status_code == 400 and response.json()["error"]["code"] == 5007
    assert len(sandbox.writes[CARD_NUMBER]) == 1  # like Linq: the refused write still counted


def test_made_up_hosts_still_answer_5007(team, sandbox_server):
    response = patch_image(sandbox_server, "https://photos.invalid/a.png")
    assert response.status_code == 400 and response.json()["error"]["code"] == 5007
