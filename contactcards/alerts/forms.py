"""The alerts page's form: which kinds, how (email or a chat webhook), when (at once or a daily digest).

A chat webhook's URL is checked as a delivery checks it (``streams.targets``: https, public addresses unless
the operator allows a network) and never put back into a form: a form that comes back with errors has the
URL field empty (``render_value`` is off, as for a password).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.models import AlertKind, AlertSubscription
from contactcards.streams import targets
from contactcards.streams.forms import _refusal_words

Channel = AlertSubscription.Channel


class KindsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class SubscriptionChangeForm(forms.Form):
    kinds = KindsField(label=_("Tell me when"), choices=AlertKind.choices,
                       error_messages={"required": _("Choose at least one kind of alert.")})
    cadence = forms.ChoiceField(label=_("When"), choices=AlertSubscription.Cadence.choices,
                                initial=AlertSubscription.Cadence.IMMEDIATE, widget=forms.RadioSelect)


class SubscriptionAddForm(SubscriptionChangeForm):
    """``personal``: a person's own (email goes to their account's address); else a team channel, which
    needs its own email address."""

    channel = forms.ChoiceField(label=_("Send by"), choices=Channel.choices, initial=Channel.EMAIL,
                                widget=forms.RadioSelect)
    email = forms.EmailField(label=_("Email address"), max_length=254, required=False,
                             help_text=_("The team's address, e.g. a shared inbox or a mailing list."))
    webhook_url = forms.CharField(
        label=_("Incoming webhook URL"), max_length=2000, required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("From your chat tool (Slack, Mattermost, Rocket.Chat… anything that takes Slack's "
                    "{\"text\": …} JSON). It is a secret: stored encrypted and never shown again."))
    field_order = ["kinds", "cadence", "channel", "email", "webhook_url"]

    def __init__(self, *args, personal: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.personal = personal
        if personal:
            del self.fields["email"]

    def clean(self):
        data = super().clean()
        channel = data.get("channel")
        if channel == Channel.EMAIL and not self.personal and "email" not in self.errors and not data.get("email"):
            self.add_error("email", _("Give the email address the team's alerts go to."))
        if channel == Channel.CHAT:
            url = (data.get("webhook_url") or "").strip()
            if not url:
                self.add_error("webhook_url", _("Give the chat tool's incoming webhook URL."))
                return data
            try:
                target = targets.webhook_target(url)
            except targets.Refused as refused:
                self.add_error("webhook_url", _refusal_words(refused, what="url"))
                return data
            data["webhook_url"] = url
            data["webhook_host"] = target.host_header  # what people see: the host, never the secret path
        else:
            data["webhook_url"], data["webhook_host"] = "", ""
        return data
