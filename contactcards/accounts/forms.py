from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from contactcards.accounts.models import Invitation
from contactcards.models import Role


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.EDITOR,
                             help_text=_("Owners manage the team; editors change cards; viewers only read."))

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "invite_%s")  # the settings page has other "email"/"role" fields
        super().__init__(*args, **kwargs)


class InvitedSignUpForm(UserCreationForm):
    """A new account for an invited address: the password validators see the address too."""

    def __init__(self, *args, invitation: Invitation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.instance.email = invitation.email
        self.fields["username"].help_text = _("Letters, digits and @/./+/-/_ only; you sign in with it.")


class TwoFactorPolicyForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor sign-in for every member"), required=False)
