"""Forms for the card page. Field names match Linq's API: first_name, last_name, image_url."""

from __future__ import annotations

from django import forms
from django.core import signing

from .linq.client import CARD_FIELDS
from .models import E164_RE

_LOADED_SALT = "contactcards.card-loaded"


def sign_loaded(values: dict[str, str]) -> str:
    return signing.dumps({name: values.get(name) or "" for name in CARD_FIELDS}, salt=_LOADED_SALT)


class CardForm(forms.Form):
    """Create or edit a card. In edit mode, ``loaded`` carries (signed) what the form was loaded with."""

    first_name = forms.CharField(
        max_length=100, strip=True,
        error_messages={"required": "First name is required."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = forms.CharField(max_length=100, required=False, strip=True,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    image_url = forms.CharField(
        label="Image URL", max_length=2000, required=False, strip=True,
        widget=forms.URLInput(attrs={"placeholder": "https://…", "inputmode": "url"}),
        help_text="A public https link to a JPEG or PNG. Linq copies the image to its own CDN.",
    )
    loaded = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, loaded: dict[str, str] | None = None, **kwargs) -> None:
        self.editing = loaded is not None
        self._loaded = loaded
        super().__init__(*args, **kwargs)
        if loaded is not None and not self.is_bound:
            self.initial = {**{k: loaded.get(k) or "" for k in CARD_FIELDS}, **self.initial}
            self.initial["loaded"] = sign_loaded(loaded)

    def clean_loaded(self) -> dict[str, str] | None:
        raw = self.cleaned_data.get("loaded")
        if not self.editing:
            return None
        try:
            return signing.loads(raw or "", salt=_LOADED_SALT)
        except signing.BadSignature:
            raise forms.ValidationError(
                "This form is out of date. The card has been reloaded; check it and save again."
            ) from None

    @property
    def loaded_values(self) -> dict[str, str]:
        """What the form was loaded with (from the signed field once bound, else the constructor)."""
        if self.is_bound and hasattr(self, "cleaned_data") and self.cleaned_data.get("loaded"):
            return self.cleaned_data["loaded"]
        return {k: (self._loaded or {}).get(k) or "" for k in CARD_FIELDS}

    def clean_first_name(self) -> str:
        value = self.cleaned_data["first_name"]
        if not value.strip():
            raise forms.ValidationError("First name is required.")
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        image_url = cleaned.get("image_url", "")
        loaded = cleaned.get("loaded") or {}
        # Only a new image URL is checked: the URL Linq returns for a stored image is its own.
        if image_url and image_url != (loaded.get("image_url") or ""):
            if not image_url.lower().startswith("https://") or len(image_url) <= len("https://"):
                self.add_error("image_url", "The image URL must start with https:// (Linq only fetches secure links).")
            elif any(ch.isspace() for ch in image_url):
                self.add_error("image_url", "The image URL cannot contain spaces.")
        if self.editing and loaded and not image_url and loaded.get("image_url"):
            self.add_error("image_url", "Linq's API cannot remove a photo. Paste a new link, or keep the current one.")
        return cleaned

    def submitted(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in CARD_FIELDS}


class NumbersForm(forms.Form):
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One or more E.164 numbers, separated by spaces, commas or new lines.",
    )

    def clean_numbers(self) -> list[str]:
        raw = self.cleaned_data["numbers"].replace(",", " ").split()
        bad = [n for n in raw if not E164_RE.match(n)]
        if bad:
            raise forms.ValidationError(
                "Not E.164 (a +, the country code and the number, digits only): %(bad)s",
                params={"bad": ", ".join(bad)},
            )
        return list(dict.fromkeys(raw))
