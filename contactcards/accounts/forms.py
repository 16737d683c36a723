from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _
from two_factor.forms import TOTPDeviceForm

from contactcards.accounts.models import Invitation
from contactcards.models import Role


class SignInForm(AuthenticationForm):
    """Django's sign-in form, with the user name's length enforced. Django sets the field's max_length
    after building it, so no validator checks it: a longer name reached authenticate(), and
    django-axes recorded the failure in a 255-character column (a 500 on PostgreSQL). A name no
    account can have gets the same answer as a wrong password, and nothing is authenticated."""

    def clean(self):
        if len(self.cleaned_data.get("username") or "") > self.fields["username"].max_length:
            raise self.get_invalid_login_error()
        return super().clean()

    def get_invalid_login_error(self):
        if settings.SSO_ONLY:  # only the break-glass superuser signs in with a password (backends.ModelBackend)
            return forms.ValidationError(
                _("Only administrators sign in with a password here; everyone else signs in with %(provider)s.")
                % {"provider": settings.OIDC_PROVIDER_NAME}, code="sso_only")
        return super().get_invalid_login_error()


class NameForm(forms.Form):
    """One's own name, as teammates see it beside the user name."""

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False,
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))


class EmailChangeForm(forms.Form):
    """A new address for one's own account: confirmed by a link mailed to it."""

    email = forms.EmailField(label=_("New email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email.casefold() == (self.user.email or "").casefold():
            raise forms.ValidationError(_("That is already your address."), code="same")
        return email


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


class SetupCodeForm(TOTPDeviceForm):
    """The setup wizard's code step, worded and typed as at sign-in: a text box for digits (no number box
    with spinner arrows), the same label, the phone's one-time-code autofill; spaces are allowed."""

    token = forms.CharField(label=_("Code from your authenticator app"), max_length=20,
                            widget=forms.TextInput(attrs={"autofocus": "autofocus", "inputmode": "numeric",
                                                          "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}))

    def clean_token(self):
        digits = "".join(self.cleaned_data.get("token", "").split())
        if not (digits.isdigit() and len(digits) == self.digits):
            raise forms.ValidationError(_("Enter the 6-digit code your authenticator app shows."))
        self.cleaned_data["token"] = int(digits)
        return super().clean_token()

