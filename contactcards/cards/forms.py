"""Forms for the card page. Field names match Linq's API: first_name, last_name, image_url."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from contactcards.lib.text import name_problem
from contactcards.linq.client import CARD_FIELDS

_LOADED_SALT = "contactcards.card-loaded"
_TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")


def new_form_token() -> str:
    """A one-time token for one rendering of a card form (see FormToken)."""
    return secrets.token_hex(16)


def sign_loaded(values: dict[str, str]) -> str:
    return signing.dumps({name: values.get(name) or "" for name in CARD_FIELDS}, salt=_LOADED_SALT)


def unsign_loaded(signed: str) -> dict[str, str]:
    """The values ``sign_loaded`` signed; BadSignature if they were changed. (The signature holds a
    timestamp, so two signings of the same values differ: compare these values, never the strings.)"""
    return signing.loads(signed, salt=_LOADED_SALT)


NAME_FIELDS = {"first_name": _("first name"), "last_name": _("last name")}
NAME_PROBLEMS = {
    "direction": _("The %(field)s contains an invisible text-direction character (%(char)s), which would make the "
                   "name display in a misleading order. Remove it and type the name again."),
    "control": _("The %(field)s contains an invisible control character (%(char)s), often pasted by accident. "
                 "Remove it and type the name again."),
}


class CardForm(forms.Form):
    """Create or edit a card. In edit mode, ``loaded`` carries (signed) what the form was loaded with."""

    first_name = forms.CharField(
        max_length=100, strip=True,
        error_messages={"required": _("First name is required.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    last_name = forms.CharField(max_length=100, required=False, strip=True,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    image_url = forms.CharField(
        label=_("Photo link"), max_length=2000, required=False, strip=True,
        widget=forms.URLInput(attrs={"placeholder": _("https://…"), "inputmode": "url"}),
        help_text=_("A public https link to a JPEG or PNG. Linq copies the image to its own CDN."),
    )
    loaded = forms.CharField(widget=forms.HiddenInput, required=False)
    # One-time token: the first save of this form sends; a double click or resubmit finds it used.
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, loaded: Mapping[str, str] | None = None, **kwargs) -> None:
        self.editing = loaded is not None
        self._loaded = loaded
        kwargs["initial"] = dict(kwargs.get("initial") or {})  # a copy: the form adds its token to it
        super().__init__(*args, **kwargs)
        if loaded is not None and not self.is_bound:
            self.initial = {**{k: loaded.get(k) or "" for k in CARD_FIELDS}, **self.initial}
            self.initial["loaded"] = sign_loaded(loaded)
        if not self.is_bound:
            self.initial["token"] = new_form_token()

    def clean_token(self) -> str:
        """A malformed token is refused; a missing one (a script, not our page) gets no dedupe.

        Without a token a repeated post is still harmless: the save re-reads the card under the
        number's lock and sends nothing when Linq already has the values.
        """
        token = (self.cleaned_data.get("token") or "").strip().lower()
        if token and not _TOKEN_RE.match(token):
            self.renew_token()
            raise forms.ValidationError(_("This form is out of date. Check the values and save again."))
        return token

    @property
    def has_field_errors(self) -> bool:
        """Errors a person can fix in a visible field (the hidden token/loaded fields have their own banners)."""
        return any(field.errors for field in self.visible_fields())

    def renew_token(self) -> None:
        """Give a re-rendered bound form a fresh token, after its own token caused a write."""
        if self.is_bound:
            self.data = self.data.copy()
            self.data["token"] = new_form_token()
        else:
            self.initial["token"] = new_form_token()

    def clean_loaded(self) -> dict[str, str] | None:
        raw = self.cleaned_data.get("loaded")
        if not self.editing:
            return None
        try:
            return unsign_loaded(raw or "")
        except signing.BadSignature:
            raise forms.ValidationError(
                _("This form is out of date. The card has been reloaded; check it and save again.")
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
            raise forms.ValidationError(_("First name is required."))
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        image_url = cleaned.get("image_url", "")
        loaded = cleaned.get("loaded") or {}
        for name in ("first_name", "last_name"):
            value = cleaned.get(name) or ""
            # Only what the person typed is checked: a name Linq already has is shown as it is.
            problem = name_problem(value) if value != (loaded.get(name) or "") else None
            if problem:
                kind, char = problem
                self.add_error(name, NAME_PROBLEMS[kind] % {"field": NAME_FIELDS[name], "char": char})
        # Only a new image URL is checked: the URL Linq returns for a stored image is its own.
        if image_url and image_url != (loaded.get("image_url") or ""):
            if not image_url.lower().startswith("https://") or len(image_url) <= len("https://"):
                self.add_error("image_url",
                               _("The photo link must start with https:// (Linq only fetches secure links)."))
            elif any(ch.isspace() for ch in image_url):
                self.add_error("image_url", _("The photo link cannot contain spaces."))
        if self.editing and loaded and not image_url and loaded.get("image_url"):
            self.add_error("image_url",
                           _("Linq's API cannot remove a photo. Paste a new link, or keep the current one."))
        return cleaned

    def submitted(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in CARD_FIELDS}
