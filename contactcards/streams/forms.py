"""Forms of the audit streams page: add a stream, change one. The target is checked as a delivery would
check it (``streams.targets``): https only, public addresses unless the operator allows a network."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.models import AuditStream
from contactcards.streams import targets

FACILITIES = [(13, "log audit (13)"), (10, "authpriv (10)"), (4, "auth (4)"), (1, "user (1)"),
              *[(16 + n, f"local{n} ({16 + n})") for n in range(8)]]


def _refusal_words(refused: targets.Refused, *, what: str) -> str:
    if refused.reason == "not_https":
        return str(_("The address must start with https://."))
    if refused.reason == "unresolvable":
        return str(_("The host name does not resolve to an address."))
    if refused.reason == "private_address":
        return str(_("The host points to an address that is not public (%(address)s). Only the networks the "
                     "operator allows (AUDIT_STREAM_ALLOWED_NETWORKS) may receive a stream.")
                   % {"address": refused.address})
    return str(_("This is not a valid https address.")) if what == "url" else str(_("This is not a valid host name."))


class StreamFields(forms.Form):
    """The fields both forms share; ``kind`` says which of them a stream uses."""

    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("For people, e.g. “SIEM” or “Splunk”."))
    url = forms.CharField(label=_("HTTPS address"), max_length=2000, required=False,
                          widget=forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false"}))
    syslog_host = forms.CharField(label=_("Syslog host"), max_length=253, required=False,
                                  widget=forms.TextInput(attrs={"spellcheck": "false"}))
    syslog_port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, required=False)
    syslog_transport = forms.ChoiceField(label=_("Transport"), choices=AuditStream.Transport.choices,
                                         initial=AuditStream.Transport.UDP, required=False)
    syslog_facility = forms.TypedChoiceField(label=_("Facility"), choices=FACILITIES, coerce=int, initial=13)

    def kind_of(self) -> str:
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        if self.kind_of() == AuditStream.Kind.WEBHOOK:
            url = (data.get("url") or "").strip()
            if "url" in self.errors:
                return data
            if not url:
                self.add_error("url", _("Give the https address that receives the entries."))
                return data
            try:
                targets.webhook_target(url)
            except targets.Refused as refused:
                self.add_error("url", _refusal_words(refused, what="url"))
            data["url"] = url
        elif self.kind_of() == AuditStream.Kind.SYSLOG:
            host, port = (data.get("syslog_host") or "").strip(), data.get("syslog_port")
            if not host and "syslog_host" not in self.errors:
                self.add_error("syslog_host", _("Give the syslog server's host name or address."))
            if port is None and "syslog_port" not in self.errors:
                self.add_error("syslog_port", _("Give the syslog server's port (often 514)."))
            if host and port is not None:
                try:
                    targets.syslog_addresses(host, port)
                except targets.Refused as refused:
                    self.add_error("syslog_host", _refusal_words(refused, what="host"))
            data["syslog_host"] = host
            data["syslog_transport"] = data.get("syslog_transport") or AuditStream.Transport.UDP
        return data


class StreamAddForm(StreamFields):
    kind = forms.ChoiceField(label=_("Send to"), choices=AuditStream.Kind.choices, initial=AuditStream.Kind.WEBHOOK)
    field_order = ["name", "kind", "url", "syslog_host", "syslog_port", "syslog_transport", "syslog_facility"]

    def kind_of(self) -> str:
        return self.cleaned_data.get("kind", "")


class StreamChangeForm(StreamFields):
    """Changing a stream: its kind stays (``kind`` is given by the view, from the stream)."""

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        syslog = ("syslog_host", "syslog_port", "syslog_transport", "syslog_facility")
        unused = syslog if kind == AuditStream.Kind.WEBHOOK else ("url",)
        for name in unused:
            del self.fields[name]

    def kind_of(self) -> str:
        return self.kind
