"""The photo views: the JSON link check, the library page (upload, list) and stored photos, per persona."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import PASSWORD
from contactcards.models import AuditEntry, Photo
from contactcards.photos.services import photo_used
from contactcards.tests.photo_fixtures import Route, png_bytes

pytestmark = pytest.mark.usefixtures("photo_settings")

CHECK = "/t/acme/photos/check/"
LIBRARY = "/t/acme/photos/"


def signed_in(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


# -- the check endpoint ------------------------------------------------------------------------


def test_check_answers_json_for_a_usable_image(client, bob, image_server, sandbox):
    image_server.routes["/a.png"] = Route(body=png_bytes(900, 600))
    response = signed_in(client, bob).get(CHECK, {"url": image_server.url("/a.png")})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    data = response.json()
    assert data["ok"] is True and (data["width"], data["height"], data["format"]) == (900, 600, "PNG")
    assert any("not square" in note for note in data["advice"])
    assert sandbox.requests == [] and not AuditEntry.objects.exists()


def test_check_answers_json_for_a_refused_link(client, alice, trap):
    data = signed_in(client, alice).get(CHECK, {"url": f"https://{trap.host}:{trap.port}/x.png"}).json()
    assert data["ok"] is False and data["reason"] == "private_address" and data["message"]
    assert trap.connections() == 0


@pytest.mark.parametrize("url", ["", "not a url", "https://\x00evil", "https://" + "a" * 5000])
def test_check_handles_nonsense_without_a_500(client, alice, url):
    response = signed_in(client, alice).get(CHECK, {"url": url})
    assert response.status_code == 200 and response.json()["ok"] is False


def test_check_is_for_people_who_can_write(client, personas):
    assert signed_in(client, personas["viewer"]).get(CHECK, {"url": "https://example.com/a.png"}).status_code == 403
    client.logout()
    assert signed_in(client, personas["outsider"]).get(CHECK, {"url": "https://example.com/a.png"}).status_code == 404
    client.logout()
    assert client.get(CHECK).status_code == 302  # to the sign-in page


def test_check_only_answers_get(client, alice):
    assert signed_in(client, alice).post(CHECK, {"url": "https://example.com/a.png"}).status_code == 405


# -- the library -----------------------------------------------------------------------------


def test_editor_uploads_to_the_library_and_sees_it(client, bob):
    signed_in(client, bob)
    response = client.post(LIBRARY, {"photo": SimpleUploadedFile("team.png", png_bytes(1200, 800)),
                                     "crop_left": "100", "crop_top": "0", "crop_side": "800"})
    assert response.status_code == 302
    photo = Photo.objects.get()
    page = client.get(LIBRARY)
    assert page.status_code == 200
    assert "team.png" in page.content.decode() and photo.url in page.content.decode()
    image = client.get(f"/t/acme/photos/{photo.pk}/image.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"


def test_a_bad_upload_is_refused_inline(client, bob):
    response = signed_in(client, bob).post(LIBRARY, {"photo": SimpleUploadedFile("x.gif", b"GIF89a;")})
    assert response.status_code == 400
    assert "not a JPEG or PNG" in response.content.decode()
    assert not Photo.objects.exists()


def test_an_upload_without_a_file_says_so(client, bob):
    response = signed_in(client, bob).post(LIBRARY, {})
    assert response.status_code == 400 and "Choose a JPEG or PNG file" in response.content.decode()


def test_a_nonsense_crop_box_falls_back_to_the_centre(client, bob):
    response = signed_in(client, bob).post(LIBRARY, {
        "photo": SimpleUploadedFile("a.png", png_bytes(800, 600)),
        "crop_left": "-5", "crop_top": "1e999", "crop_side": "\x00"})
    assert response.status_code == 302 and Photo.objects.count() == 1


def test_viewers_see_the_library_but_cannot_upload(client, vera, team):
    photo_used(team=team, url="https://cdn.example.com/used.png", user=None)
    signed_in(client, vera)
    page = client.get(LIBRARY)
    assert page.status_code == 200 and "https://cdn.example.com/used.png" in page.content.decode()
    assert "Upload to the library" not in page.content.decode()
    response = client.post(LIBRARY, {"photo": SimpleUploadedFile("a.png", png_bytes(700, 700))})
    assert response.status_code == 403 and not Photo.objects.filter(source="upload").exists()


def test_outsiders_get_404_for_everything(client, charlie, team, bob):
    signed_in(client, bob).post(LIBRARY, {"photo": SimpleUploadedFile("a.png", png_bytes(700, 700))})
    photo = Photo.objects.get()
    client.logout()
    signed_in(client, charlie)
    assert client.get(LIBRARY).status_code == 404
    assert client.post(LIBRARY, {"photo": SimpleUploadedFile("a.png", png_bytes(700, 700))}).status_code == 404
    assert client.get(f"/t/acme/photos/{photo.pk}/image.jpg").status_code == 404
    # Their own team's page does not serve our photo either.
    assert client.get(f"/t/other/photos/{photo.pk}/image.jpg").status_code == 404


def test_a_missing_stored_file_is_a_404_not_a_500(client, bob, team):
    photo = Photo.objects.create(team=team, source="upload", url="https://x.example/gone.jpg",
                                 storage_key="gone.jpg", width=1, height=1, format="JPEG", size_bytes=1)
    assert signed_in(client, bob).get(f"/t/acme/photos/{photo.pk}/image.jpg").status_code == 404


def test_used_links_are_remembered_and_counted(team):
    photo_used(team=team, url="https://cdn.example.com/a.png", user=None)
    photo_used(team=team, url="https://cdn.example.com/a.png", user=None)
    photo_used(team=team, url="http://cdn.example.com/not-https.png", user=None)
    photo = Photo.objects.get()
    assert (photo.source, photo.use_count) == ("link", 2) and photo.last_used_at is not None


def test_the_library_page_sends_the_strict_csp(client, alice):
    policy = signed_in(client, alice).get(LIBRARY)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
