"""photo_upload: verify, strip metadata, crop to a square, resize, store, add to the team library."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from PIL import Image

from contactcards.models import Photo
from contactcards.photos import images, services
from contactcards.photos.images import OUTPUT_SIDE, CropBox
from contactcards.photos.services import check_image_url, photo_upload
from contactcards.tests.photo_fixtures import png_bytes, upload


def two_halves_png(width: int = 1200, height: int = 800) -> bytes:
    """Left half red, right half blue: where a crop was taken from shows in the result."""
    image = Image.new("RGB", (width, height), (220, 30, 30))
    image.paste((30, 30, 220), (width // 2, 0, width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def stored_image(photo: Photo) -> Image.Image:
    with services.photo_storage().open(photo.storage_key, "rb") as handle:
        return Image.open(io.BytesIO(handle.read()))


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


@pytest.fixture
def stored(photo_settings, team, alice):
    def run(data: bytes, crop: CropBox | None = None, **kwargs):
        return photo_upload(team=team, user=alice, file=upload(data, **kwargs), crop=crop)

    return run


def test_a_non_square_png_is_centre_cropped_resized_and_stored_as_jpeg(stored, photo_files):
    outcome = stored(two_halves_png())
    assert outcome.ok, outcome.error
    photo = outcome.photo
    image = stored_image(photo)
    assert image.format == "JPEG" and image.size == (OUTPUT_SIDE, OUTPUT_SIDE)
    # The middle 800x800 of a red|blue image: red on the left edge, blue on the right.
    assert near(image.getpixel((5, 512)), (220, 30, 30)) and near(image.getpixel((1018, 512)), (30, 30, 220))
    assert photo.url.startswith(photo_files.url) and photo.url.endswith(f"/{photo.sha256}.jpg")
    assert (photo.source, photo.width, photo.height, photo.format) == ("upload", 1024, 1024, "JPEG")
    assert photo.name == "logo.png" and photo.created_by.username == "alice"


def test_the_chosen_crop_box_is_used(stored):
    outcome = stored(two_halves_png(), crop=CropBox(left=700, top=100, side=500))  # inside the blue half
    image = stored_image(outcome.photo)
    assert near(image.getpixel((5, 5)), (30, 30, 220)) and near(image.getpixel((1018, 1018)), (30, 30, 220))


@pytest.mark.parametrize("crop", [CropBox(-50, -50, 10_000), CropBox(5000, 5000, 300), CropBox(0, 0, 0)])
def test_a_crop_box_outside_the_image_is_clamped(stored, crop):
    outcome = stored(two_halves_png(), crop=crop)
    assert outcome.ok and stored_image(outcome.photo).size == (OUTPUT_SIDE, OUTPUT_SIDE)


def test_metadata_is_stripped_and_the_photo_turned_upright(stored):
    # A portrait photo stored sideways with EXIF orientation 6 ("rotate 90° clockwise to view"), GPS and a comment.
    sideways = Image.new("RGB", (800, 600), (30, 30, 220))
    sideways.paste((220, 30, 30), (0, 0, 800, 300))  # top half red as stored = right half red when upright
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPS latitude
    out = io.BytesIO()
    sideways.save(out, format="JPEG", exif=exif, comment=b"secret comment", quality=95)
    outcome = stored(out.getvalue(), name="IMG_0001.jpg", content_type="image/jpeg")
    image = stored_image(outcome.photo)
    assert not image.getexif() and "comment" not in image.info and "icc_profile" not in image.info
    assert b"Camera maker" not in _raw(outcome.photo) and b"secret comment" not in _raw(outcome.photo)
    assert near(image.getpixel((1018, 512)), (220, 30, 30)) and near(image.getpixel((5, 512)), (30, 30, 220))


def test_transparency_is_flattened_onto_white(stored):
    out = io.BytesIO()
    Image.new("RGBA", (700, 700), (0, 0, 0, 0)).save(out, format="PNG")
    image = stored_image(stored(out.getvalue()).photo)
    assert near(image.getpixel((500, 500)), (255, 255, 255), tolerance=3)


def test_a_small_crop_is_enlarged_with_advice(stored):
    outcome = stored(png_bytes(300, 200))
    assert outcome.ok and any("200x200" in note for note in outcome.advice)


@pytest.mark.parametrize(("data", "message"), [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "not a JPEG or PNG"),
    (b"%PDF-1.4 not an image", "not a JPEG or PNG"),
    (png_bytes(900, 900)[:150], "damaged or incomplete"),
])
def test_files_that_are_not_usable_photos_are_refused(stored, data, message):
    outcome = stored(data)
    assert not outcome.ok and message in outcome.error
    assert not Photo.objects.exists()


def test_an_oversized_file_is_refused(stored, monkeypatch):
    monkeypatch.setattr(services, "MAX_UPLOAD_BYTES", 1000)
    outcome = stored(png_bytes(900, 900) + b"\0" * 2000)
    assert not outcome.ok and "larger than" in outcome.error


def test_a_decompression_bomb_is_refused(stored):
    out = io.BytesIO()
    Image.new("1", (7000, 7000)).save(out, format="PNG")
    outcome = stored(out.getvalue())
    assert not outcome.ok and "million pixels" in outcome.error


def test_the_same_photo_twice_is_stored_once_and_listed_once(stored, settings):
    first, second = stored(two_halves_png()), stored(two_halves_png(), name="copy.png")
    assert first.photo.pk == second.photo.pk
    assert Photo.objects.count() == 1
    assert [path.name for path in Path(settings.PHOTOS_TEST_ROOT).iterdir()] == [f"{first.photo.sha256}.jpg"]


def test_uploads_are_off_when_storage_has_no_https_url(stored, settings, photo_tls):
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(photo_tls.folder / "storage"), "base_url": "/media/photos/"},
    }}
    outcome = stored(two_halves_png())
    assert not outcome.ok and "no public https address" in outcome.error


def test_an_uploaded_photo_passes_the_check_linq_would_make(stored):
    outcome = stored(two_halves_png())
    check = check_image_url(outcome.photo.url)
    assert check.ok and (check.info.width, check.info.height, check.info.format) == (1024, 1024, "JPEG")


def test_storage_failures_are_a_message_not_a_500(stored, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(services.photo_storage()), "save", broken)
    outcome = stored(two_halves_png())
    assert not outcome.ok and "could not be stored" in outcome.error


# -- S3 (production's backend) against moto's real server ------------------------------------------


def test_s3_upload_stores_a_public_object_that_linq_can_fetch(s3_photo_settings, moto_s3, team, alice):
    outcome = photo_upload(team=team, user=alice, file=upload(two_halves_png()), crop=CropBox(700, 100, 500))
    assert outcome.ok, outcome.error
    photo = outcome.photo
    key = f"card-photos/{photo.sha256}.jpg"
    assert photo.url == f"{moto_s3.endpoint}/{moto_s3.bucket}/{key}"
    head = moto_s3.client().head_object(Bucket=moto_s3.bucket, Key=key)
    assert head["ContentType"] == "image/jpeg" and "immutable" in head["CacheControl"]
    grants = moto_s3.client().get_object_acl(Bucket=moto_s3.bucket, Key=key)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)
    # Anyone (Linq) can GET it without credentials, over https.
    response = requests.get(photo.url, verify=str(moto_s3.cert), timeout=5)
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1024, 1024) and near(image.getpixel((5, 5)), (30, 30, 220))
    # And the check Linq-style fetch accepts it.
    assert check_image_url(photo.url).ok


def test_s3_keeps_one_object_per_photo(s3_photo_settings, moto_s3, team, alice):
    for _ in range(2):
        assert photo_upload(team=team, user=alice, file=upload(png_bytes(640, 640, color=(1, 2, 3)))).ok
    listed = moto_s3.client().list_objects_v2(Bucket=moto_s3.bucket, Prefix="card-photos/")["Contents"]
    photo = Photo.objects.get()
    assert [item["Key"] for item in listed].count(f"card-photos/{photo.sha256}.jpg") == 1


def _raw(photo: Photo) -> bytes:
    with services.photo_storage().open(photo.storage_key, "rb") as handle:
        return handle.read()


def test_images_module_states_its_documented_sizes():
    assert (images.MIN_SIDE, images.OUTPUT_SIDE, images.MAX_BYTES) == (600, 1024, 5_000_000)
