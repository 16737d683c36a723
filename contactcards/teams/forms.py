"""Forms of the team settings: numbers to add or import, the token, a member's role, a number's label and tags."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.common.phones import parse_many, split_pasted
from contactcards.models import Role, validate_tag


def _numbers_or_errors(values: list[str]) -> list[str]:
    """Every value normalised (phones.parse_e164), or one error naming each value that is not a number."""
    numbers, errors = parse_many(values)
    if errors:
        raise forms.ValidationError([forms.ValidationError(str(error), code="e164") for error in errors])
    return numbers


class NumbersForm(forms.Form):
    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One or more numbers with the country code, e.g. +1 555 010 0009 or +15550100009, "
                  "separated by commas or new lines."),
    )

    # Shown only after Linq did not list a number for the token (settings view): the owner may know
    # better (a number Linq is still provisioning), but then its first save may fail with 403/2006.
    add_unlisted = forms.BooleanField(required=False, label=_("Add them anyway"))

    def clean_numbers(self) -> list[str]:
        return _numbers_or_errors(split_pasted(self.cleaned_data["numbers"]))


class TokenForm(forms.Form):
    """A new Linq token. The input is a password field that is never filled in again."""

    token = forms.CharField(
        label=_("New Linq API token"), max_length=500, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}),
        error_messages={"required": _("Paste the token Linq gave you.")},
        help_text=_("Stored encrypted. It is never shown again, only its last four characters."),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"]
        if any(ch.isspace() for ch in token):
            raise forms.ValidationError(_("A token has no spaces or line breaks; check what was pasted."))
        if len(token) < 8:
            raise forms.ValidationError(_("This is too short to be a Linq token."))
        return token


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ImportNumbersForm(forms.Form):
    """The numbers chosen on the import preview; each must be E.164."""

    numbers = forms.MultipleChoiceField(
        required=True, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one number to add.")},
    )

    def __init__(self, *args, choices: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if choices is None:  # a POST: accept whatever E.164 numbers were ticked (validated below)
            data = args[0] if args else kwargs.get("data")
            choices = data.getlist("numbers") if data is not None and hasattr(data, "getlist") else []
        self.fields["numbers"].choices = [(n, n) for n in choices]

    def clean_numbers(self) -> list[str]:
        return _numbers_or_errors(self.cleaned_data["numbers"])


class LabelTagsForm(forms.Form):
    """A number's label and tags (owners, in the team settings)."""

    MAX_TAGS = 20

    label = forms.CharField(max_length=100, required=False, strip=True)
    tags = forms.CharField(max_length=1000, required=False, strip=True,
                           help_text=_("Comma-separated, e.g. support, floor 2."))

    def clean_tags(self) -> list[str]:
        names = list(dict.fromkeys(t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()))
        if len(names) > self.MAX_TAGS:
            raise forms.ValidationError(_("At most %(max)d tags per number.") % {"max": self.MAX_TAGS})
        for name in names:
            validate_tag(name)
        return names


def _tag_names(text: str, *, most: int) -> list[str]:
    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if len(names) > most:
        raise forms.ValidationError(_("At most %(max)d tags at a time.") % {"max": most})
    for name in names:
        validate_tag(name)
    return names


class SelectionLabelTagsForm(forms.Form):
    """Labels and tags for a dashboard selection: set a label, add tags, remove tags (owners)."""

    MAX_TAGS = 20

    set_label = forms.BooleanField(required=False, label=_("Set the label"))
    label = forms.CharField(max_length=100, required=False, strip=True, label=_("Label"),
                            help_text=_("Leave empty to clear the label of every selected number."))
    add_tags = forms.CharField(max_length=1000, required=False, strip=True, label=_("Add tags"),
                               help_text=_("Comma-separated, e.g. support, floor 2."))
    remove_tags = forms.CharField(max_length=1000, required=False, strip=True, label=_("Remove tags"),
                                  help_text=_("Comma-separated. Tags no number has any more are deleted."))

    def clean_add_tags(self) -> list[str]:
        return _tag_names(self.cleaned_data["add_tags"], most=self.MAX_TAGS)

    def clean_remove_tags(self) -> list[str]:
        return _tag_names(self.cleaned_data["remove_tags"], most=self.MAX_TAGS)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if self.data.get("label", "").strip() and not data.get("set_label"):
            data["set_label"] = True  # typing a label means setting it
        if not data.get("set_label") and not data.get("add_tags") and not data.get("remove_tags"):
            raise forms.ValidationError(_("Set a label, or name tags to add or remove."))
        return data
