"""The form that makes an API token: a name, the scopes (as far as the person's role allows), how long."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contactcards.api.selectors import ROLE_SCOPES
from contactcards.models import Membership, Scope

DAYS = (7, 30, 90, 365)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, strip=True,
                           help_text=_("What uses it, e.g. ci-deploy. The history names it on every change it makes."),
                           error_messages={"required": _("Give the token a name.")})
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple,
                                       error_messages={"required": _("Choose at least one scope.")})
    days = forms.TypedChoiceField(label=_("Expires after"), coerce=int, initial=90)

    def __init__(self, *args, membership: Membership, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        allowed = ROLE_SCOPES.get(membership.role, ())
        words = {Scope.READ: _("read: cards, numbers, history, jobs"),
                 Scope.WRITE: _("write: change cards, start and cancel jobs"),
                 Scope.ADMIN: _("admin: labels and tags in jobs")}
        self.fields["scopes"].choices = [(scope.value, words[scope]) for scope in allowed]
        self.fields["scopes"].initial = [Scope.READ.value]
        days = [d for d in DAYS if d <= settings.API_TOKEN_MAX_DAYS] or [settings.API_TOKEN_MAX_DAYS]
        self.fields["days"].choices = [(d, _("%(days)d days") % {"days": d}) for d in days]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise forms.ValidationError(_("The name cannot contain control characters."))
        return name
