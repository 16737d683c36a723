"""The card save path checks a new photo before any write: a refused link costs no write, no budget, no row.

And the photo's other sources on the card page: an upload (cropped, stored, sent as its https
link, fetched by the sandbox) and a pick from the team library.
"""

from __future__ import annotations

import io

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.cards.budget import write_budget
from contactcards.models import AuditEntry, PhoneNumber, Photo
from tests.cards.test_card_views import edit_data
from tests.photos.test_photo_upload import near, two_halves_png
from tests.support.helpers import EMPTY_URL, URL, sign_in_as, value_of
from tests.support.photo_fixtures import Route, Trap, png_bytes

pytestmark = pytest.mark.usefixtures("photo_settings")


def nothing_spent(sandbox, number: str = CARD_NUMBER) -> bool:
    """No write reached the sandbox, no audit row was written, the budget is untouched."""
    phone = PhoneNumber.objects.get(e164=number)
    return (sandbox.writes_for(number) == [] and not AuditEntry.objects.exists()
            and write_budget(number=phone).used == 0 and sandbox.writes.get(number) is None)


REFUSALS = {
    "unresolvable": lambda server, trap: "https://photos.example.invalid/logo.png",
    "private_address": lambda server, trap: f"https://{trap.host}:{trap.port}/logo.png",
    "not_image": lambda server, trap: server.url("/page.html"),
    "undecodable": lambda server, trap: server.url("/cut.png"),
    "bad_status": lambda server, trap: server.url("/missing.png"),
    "too_many_redirects": lambda server, trap: server.url("/loop"),
}


@pytest.fixture
def refusing_server(image_server):
    image_server.routes["/page.html"] = Route(body=b"<html>a page, not an image</html>",
                                              headers={"Content-Type": "image/png"})
    image_server.routes["/cut.png"] = Route(body=png_bytes(800, 800)[:100])
    image_server.routes["/missing.png"] = Route(status=404, body=b"")
    image_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    return image_server


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_an_edit_with_a_refused_link_sends_nothing_and_spends_nothing(client, bob, sandbox, refusing_server, trap,
                                                                      reason):
    url = REFUSALS[reason](refusing_server, trap)
    response = sign_in_as(client, bob).post(URL, edit_data(image_url=url, last_name="Desk"))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["image_url"])
    assert "Linq could not use this image" in errors and "no write was spent" in errors
    html = response.content.decode()
    assert value_of(html, "image_url") == url and value_of(html, "last_name") == "Desk"  # input kept
    assert nothing_spent(sandbox)
    assert trap.connections() == 0


def test_a_create_with_a_refused_link_sends_nothing(client, bob, sandbox, refusing_server):
    url = refusing_server.url("/missing.png")
    response = sign_in_as(client, bob).post(EMPTY_URL, {"action": "create", "first_name": "New", "image_url": url})
    assert "Linq could not use this image" in " ".join(response.context["form"].errors["image_url"])
    assert nothing_spent(sandbox, EMPTY_NUMBER)


def test_https_127_0_0_1_in_production_is_refused_on_save_without_connecting(client, bob, sandbox, settings):
    settings.PHOTO_FETCH_ALLOWED_NETWORKS = []
    trap = Trap("127.0.0.1")
    try:
        response = sign_in_as(client, bob).post(URL, edit_data(image_url=f"https://127.0.0.1:{trap.port}/a.png"))
        assert "loopback" in " ".join(response.context["form"].errors["image_url"])
        assert trap.connections() == 0 and nothing_spent(sandbox)
    finally:
        trap.sock.close()


def test_a_usable_link_is_sent_and_joins_the_library(client, bob, sandbox, image_server):
    image_server.routes["/new.png"] = Route(body=png_bytes(800, 600))
    url = image_server.url("/new.png")
    response = sign_in_as(client, bob).post(URL, edit_data(image_url=url))
    assert "Saved" in response.content.decode()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"image_url": url}]
    photo = Photo.objects.get()
    assert (photo.source, photo.url, photo.width, photo.height, photo.use_count) == ("link", url, 800, 600, 1)


def test_an_unchanged_photo_is_not_checked(client, bob, sandbox, image_server):
    # The loaded link (Linq's CDN) cannot be fetched from here: checking it would refuse the save.
    response = sign_in_as(client, bob).post(URL, edit_data(last_name="Desk"))
    assert "Saved" in response.content.decode()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Desk"}]
    assert image_server.requests == []


def post_upload(client, data: bytes, *, url: str = URL, crop: tuple[int, int, int] | None = None, **fields):
    payload = {**edit_data(), **fields, "photo": SimpleUploadedFile("team.png", data, content_type="image/png")}
    if url == EMPTY_URL:
        payload = {"action": "create", "first_name": "New", "image_url": "", **fields,
                   "photo": payload["photo"]}
    if crop:
        payload.update(crop_left=str(crop[0]), crop_top=str(crop[1]), crop_side=str(crop[2]))
    return client.post(url, payload)


def test_an_uploaded_photo_is_cropped_stored_sent_as_https_and_fetched_by_the_sandbox(client, bob, sandbox):
    response = post_upload(sign_in_as(client, bob), two_halves_png(), crop=(700, 100, 500))  # the blue half
    assert "Saved" in response.content.decode()
    photo = Photo.objects.get(source="upload")
    writes = sandbox.writes_for(CARD_NUMBER)
    assert [w.body for w in writes] == [{"image_url": photo.url}] and photo.url.startswith("https://")
    # Linq's stand-in fetched it and serves those very bytes from its CDN: the cropped square.
    cdn = requests.get(sandbox.cards[CARD_NUMBER]["image_url"], timeout=5)
    image = Image.open(io.BytesIO(cdn.content))
    assert image.size == (1024, 1024) and near(image.getpixel((5, 5)), (30, 30, 220))
    assert near(image.getpixel((1018, 1018)), (30, 30, 220))


def test_a_card_can_be_created_with_an_upload(client, bob, sandbox):
    response = post_upload(sign_in_as(client, bob), png_bytes(900, 700), url=EMPTY_URL)
    assert "The card was set up at Linq" in response.content.decode()
    photo = Photo.objects.get(source="upload")
    assert sandbox.writes_for(EMPTY_NUMBER)[0].body["image_url"] == photo.url


def test_a_bad_upload_is_refused_inline_and_nothing_is_sent(client, bob, sandbox):
    response = post_upload(sign_in_as(client, bob), b"GIF89a not a photo", last_name="Desk")
    html = response.content.decode()
    assert "The photo was not used: This is not a JPEG or PNG image" in html
    assert value_of(html, "last_name") == "Desk"
    assert nothing_spent(sandbox) and not Photo.objects.exists()


def test_an_upload_is_kept_as_a_link_when_the_rest_of_the_form_needs_fixing(client, bob, sandbox):
    response = post_upload(sign_in_as(client, bob), png_bytes(700, 700), first_name="")
    photo = Photo.objects.get(source="upload")
    assert "First name is required" in response.content.decode()
    assert value_of(response.content.decode(), "image_url") == photo.url  # the file is not lost
    assert nothing_spent(sandbox)


def test_a_photo_from_the_library_is_picked_without_js(client, bob, sandbox, team):
    sign_in_as(client, bob)
    client.post("/t/acme/photos/", {"photo": SimpleUploadedFile("a.png", png_bytes(640, 640))})
    photo = Photo.objects.get()
    page = client.get(URL).content.decode()
    assert f'name="library_photo" value="{photo.pk}"' in page
    response = client.post(URL, {**edit_data(), "library_photo": str(photo.pk)})
    assert "Saved" in response.content.decode()
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"image_url": photo.url}]
    assert Photo.objects.get().use_count == 1


def test_another_teams_photo_cannot_be_picked(client, bob, sandbox, other_team):
    theirs = Photo.objects.create(team=other_team, source="link", url="https://cdn.example.com/theirs.png",
                                  width=600, height=600, format="PNG", size_bytes=10)
    response = sign_in_as(client, bob).post(URL, {**edit_data(), "library_photo": str(theirs.pk)})
    assert "not in this team&#x27;s library" in response.content.decode()
    assert nothing_spent(sandbox)


@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999999", "\x00"])
def test_a_nonsense_library_pick_is_ignored(client, bob, sandbox, value):
    response = sign_in_as(client, bob).post(URL, {**edit_data(last_name="Desk"), "library_photo": value})
    assert response.status_code == 200
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "Desk"}]


def test_the_card_page_offers_upload_library_and_the_live_check(client, bob, image_server):
    html = sign_in_as(client, bob).get(URL).content.decode()
    assert 'enctype="multipart/form-data"' in html and 'data-photo-check-url="/t/acme/photos/check/"' in html
    assert 'name="photo"' in html and 'accept="image/jpeg,image/png"' in html


def test_viewers_do_not_get_the_photo_controls(client, vera):
    html = sign_in_as(client, vera).get(URL).content.decode()
    assert 'name="photo"' not in html


# -- rollouts (issue 19): a slow photo server holds a worker for one deadline per job, not per number --


def test_a_rollout_checks_its_photo_link_once_and_each_item_fails_without_a_write(sandbox, team, alice, image_server,
                                                                                 settings):
    """The link trickles (one byte per 0.2 s): the first item's check ends at the deadline, the others
    reuse that check. Every item fails with the reason, nothing is sent, and no task is left running."""
    from contactcards.models import JobItem
    from contactcards.rollout import jobs
    from tests.support.rollout_helpers import many_numbers, start_bulk

    settings.PHOTO_FETCH_TOTAL_TIMEOUT = 0.6
    image_server.routes["/slow.png"] = Route(body=b"\x89PNG" + b"\0" * 16, trickle=0.2)
    numbers = [number.e164 for number in many_numbers(team, sandbox, 3)]
    job = start_bulk(team, alice, numbers, {"image_url": image_server.url("/slow.png")})
    results = [jobs.run_item(pk) for pk in job.items.order_by("pk").values_list("pk", flat=True)]

    assert results == ["failed"] * 3
    assert [path for _host, path in image_server.requests] == ["/slow.png"]  # one fetch for the whole job
    for item in job.items.all():
        assert item.state == JobItem.State.FAILED
        assert item.why == JobItem.Why.IMAGE_REFUSED and item.detail["reason"] == "timeout", item.detail
        assert "took too long" in item.detail["message"], item.detail
    assert all(sandbox.writes_for(e164) == [] for e164 in numbers)
    assert not AuditEntry.objects.exists()


def test_another_rollout_checks_the_link_again(sandbox, team, alice, image_server):
    """The reuse is per job: a later rollout sees the link as it is now."""
    from contactcards.rollout import jobs
    from tests.support.rollout_helpers import many_numbers, start_bulk

    image_server.routes["/logo.png"] = Route(status=404, body=b"")
    (number,) = many_numbers(team, sandbox, 1)
    first = start_bulk(team, alice, [number.e164], {"image_url": image_server.url("/logo.png")})
    assert jobs.run_item(first.items.get().pk) == "failed"
    image_server.routes["/logo.png"] = Route(body=png_bytes(700, 700))
    second = start_bulk(team, alice, [number.e164], {"image_url": image_server.url("/logo.png")})
    assert jobs.run_item(second.items.get().pk) == "sent"
    assert len(image_server.requests) == 2
