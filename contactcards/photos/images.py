"""Decoding and preparing card photos with Pillow. No Django imports.

The rules, stated once (the card page shows them):

* Formats: JPEG and PNG only, recognised by their content, never by a name or a Content-Type.
  Pillow is only allowed to try those two decoders (``formats=``), ``verify()`` checks the file's
  structure, and the image is then re-opened and fully decoded, so a truncated or corrupt file
  is refused here rather than at Linq.
* Size: a link may serve at most :data:`MAX_BYTES` (5 MB, as Hiya states for caller photos; an
  upload may be up to :data:`MAX_UPLOAD_BYTES`, since it is re-encoded much smaller) and
  :data:`MAX_PIXELS` pixels (a decompression-bomb limit, checked from the header before any
  pixel is decoded; Pillow's own bomb warning is an error here).
* Advice, not refusal: a photo should be square (iMessage shows it in a circle) and at least
  :data:`MIN_SIDE` px on each side (600x600, Hiya's minimum).
* Uploads are stored as :data:`OUTPUT_SIDE` x :data:`OUTPUT_SIDE` JPEGs (1024x1024, the size
  Apple Business Connect asks for), cropped to a square, turned upright from the EXIF
  orientation, flattened onto white if transparent, with every piece of metadata (EXIF, GPS,
  XMP, comments, ICC profile) left behind: only pixels are copied into a new image.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from contactcards.words import _

ALLOWED_FORMATS = ("JPEG", "PNG")
MAX_BYTES = 5_000_000
MAX_UPLOAD_BYTES = 20_000_000  # an original straight from a camera; what is stored is far smaller
MAX_PIXELS = 36_000_000  # 6000 x 6000
MIN_SIDE = 600
OUTPUT_SIDE = 1024
JPEG_QUALITY = 88

ImageProblemReason = Literal["not_image", "undecodable", "too_large", "too_many_pixels"]


@dataclass
class ImageProblem(Exception):
    reason: ImageProblemReason
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" or "PNG"
    width: int  # as displayed (EXIF orientation applied)
    height: int
    size_bytes: int

    @property
    def square(self) -> bool:
        return self.width == self.height

    def advice(self) -> list[str]:
        notes = []
        if not self.square:
            notes.append(_("The image is %(width)sx%(height)s, not square: iMessage shows photos in a circle, so "
                           "the edges will be cut off. Uploading the file lets you choose the crop.",
                           width=self.width, height=self.height))
        if min(self.width, self.height) < MIN_SIDE:
            notes.append(_("The image is smaller than the recommended %(side)sx%(side)s pixels and may look "
                           "blurry on large screens.", side=MIN_SIDE))
        return notes


@dataclass(frozen=True)
class CropBox:
    """A square crop in the upright image's pixels: left, top and side length."""

    left: int
    top: int
    side: int

    def clamped(self, width: int, height: int) -> tuple[int, int, int, int]:
        side = max(1, min(self.side, width, height))
        left = min(max(0, self.left), width - side)
        top = min(max(0, self.top), height - side)
        return left, top, left + side, top + side

    @staticmethod
    def centred(width: int, height: int) -> tuple[int, int, int, int]:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side


@dataclass(frozen=True)
class PreparedPhoto:
    data: bytes  # the JPEG to store
    source: ImageInfo
    crop_side: int  # the side of the square taken from the source, in source pixels

    @property
    def advice(self) -> list[str]:
        if self.crop_side < MIN_SIDE:
            return [_("The cropped area is only %(side)sx%(side)s pixels; it was enlarged to %(out)sx%(out)s and "
                      "may look blurry. A larger original looks sharper.", side=self.crop_side, out=OUTPUT_SIDE)]
        return []


def inspect_image(data: bytes) -> ImageInfo:
    """Identify and fully decode ``data``; raise :class:`ImageProblem` when it is not a usable photo."""
    image, format_name = _decode(data)
    return ImageInfo(format=format_name, width=image.width, height=image.height, size_bytes=len(data))


def prepare_upload(data: bytes, crop: CropBox | None = None) -> PreparedPhoto:
    """The stored form of an uploaded photo: square, upright, resized, re-encoded without metadata."""
    image, format_name = _decode(data, max_bytes=MAX_UPLOAD_BYTES)
    info = ImageInfo(format=format_name, width=image.width, height=image.height, size_bytes=len(data))
    box = crop.clamped(image.width, image.height) if crop else CropBox.centred(image.width, image.height)
    square = _flatten(image).crop(box)
    if square.width != OUTPUT_SIDE:
        square = square.resize((OUTPUT_SIDE, OUTPUT_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", square.size)  # a new image: pixels only, no metadata travels along
    clean.paste(square)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return PreparedPhoto(data=out.getvalue(), source=info, crop_side=box[2] - box[0])


def _decode(data: bytes, max_bytes: int = MAX_BYTES) -> tuple[Image.Image, str]:
    """The upright, fully decoded image and the format it came in."""
    if len(data) > max_bytes:
        raise ImageProblem("too_large", _("The image is larger than %(mb)s MB.", mb=max_bytes // 1_000_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS)) as probe:
                format_name = probe.format or ""
                _check_pixels(*probe.size)
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
            _check_pixels(*image.size)
            image.load()
            upright = ImageOps.exif_transpose(image)
        except ImageProblem:
            raise
        except UnidentifiedImageError:
            raise ImageProblem("not_image", _("This is not a JPEG or PNG image (judged by its content).")) from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageProblem("too_many_pixels", _too_many_pixels()) from None
        except Exception:  # Pillow raises many types for corrupt data (OSError, SyntaxError, ValueError, ...)
            raise ImageProblem("undecodable", _("The image is damaged or incomplete and cannot be decoded.")) from None
    return upright, format_name


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageProblem("too_many_pixels", _too_many_pixels())


def _too_many_pixels() -> str:
    return _("The image has more than %(millions)s million pixels; scale it down first.",
             millions=MAX_PIXELS // 1_000_000)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
