"""The upload form: a file and, when JS drew a crop box, its square in the image's own pixels."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from contactcards.photos.images import MAX_UPLOAD_BYTES, CropBox

_MAX_COORD = 100_000  # no JPEG/PNG we accept is wider than this; larger numbers are nonsense input


class PhotoUploadForm(forms.Form):
    photo = forms.FileField(
        label=_("Photo file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png", "data-photo-input": ""}),
        help_text=format_lazy(_("JPEG or PNG, up to {mb} MB. It is cropped to a square (the middle, unless you "
                                "choose), resized to 1024x1024 and stripped of metadata (location, camera) "
                                "before it is stored."), mb=MAX_UPLOAD_BYTES // 1_000_000),
    )
    crop_left = forms.IntegerField(required=False, min_value=0, max_value=_MAX_COORD, widget=forms.HiddenInput)
    crop_top = forms.IntegerField(required=False, min_value=0, max_value=_MAX_COORD, widget=forms.HiddenInput)
    crop_side = forms.IntegerField(required=False, min_value=1, max_value=_MAX_COORD, widget=forms.HiddenInput)

    def crop(self) -> CropBox | None:
        """The posted crop box, or None (centre crop) when there is none or it is not usable."""
        data = getattr(self, "cleaned_data", {})
        left, top, side = data.get("crop_left"), data.get("crop_top"), data.get("crop_side")
        if left is None or top is None or not side:
            return None
        return CropBox(left=left, top=top, side=side)

    def clean(self):
        cleaned = super().clean()
        # A bad crop box (a script's or a stale page's) is not worth refusing the upload: centre-crop instead.
        for name in ("crop_left", "crop_top", "crop_side"):
            if name in self.errors:
                del self.errors[name]
                cleaned[name] = None
        return cleaned


class CardPhotoForm(PhotoUploadForm):
    """The card page's photo controls: an upload with its crop box, or a photo from the team library."""

    library_photo = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.RadioSelect)

    def clean(self):
        cleaned = super().clean()
        if "library_photo" in self.errors:  # not a photo id: as if nothing was picked
            del self.errors["library_photo"]
            cleaned["library_photo"] = None
        return cleaned
