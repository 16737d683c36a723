"""Forms for changes that wait (issue 24): a note and a schedule on any change, an approver's decision."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.rollout.deferred import Deferral

# <input type="datetime-local"> sends this; the time is in the person's zone (the middleware activates it).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class LocalTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class WhenForm(forms.Form):
    """Optional on every change: why (for the approver), from when, until when."""

    note = forms.CharField(required=False, max_length=1000, strip=True, label=_("Note for the approver"),
                           widget=forms.Textarea(attrs={"rows": 2}))
    start_at = forms.DateTimeField(required=False, input_formats=LOCAL_FORMATS, widget=LocalTimeInput,
                                   label=_("Send at"), help_text=_("Empty: as soon as it may be sent."))
    end_at = forms.DateTimeField(required=False, input_formats=LOCAL_FORMATS, widget=LocalTimeInput,
                                 label=_("Put the card back at"),
                                 help_text=_("Optional: at this time the fields changed get their old values back."))

    def deferral(self, *, approval: bool) -> Deferral:
        data = self.cleaned_data
        return Deferral(approval=approval, start_at=data.get("start_at"), end_at=data.get("end_at"),
                        note=data.get("note") or "")


class RescheduleForm(forms.Form):
    start_at = forms.DateTimeField(required=False, input_formats=LOCAL_FORMATS, widget=LocalTimeInput,
                                   label=_("Send at"))
    end_at = forms.DateTimeField(required=False, input_formats=LOCAL_FORMATS, widget=LocalTimeInput,
                                 label=_("Put the card back at"))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    comment = forms.CharField(required=False, max_length=1000, strip=True, label=_("Comment"),
                              widget=forms.Textarea(attrs={"rows": 2}))


class ApprovalSettingsForm(forms.Form):
    """The team's rule: do card changes need approval, how long a request waits, which editors approve."""

    changes_need_approval = forms.BooleanField(required=False, label=_("Card changes need approval"),
                                               help_text=_("Changes by members who are not approvers become "
                                                           "requests that an owner or approver decides."))
    approval_hours = forms.IntegerField(min_value=1, max_value=720, label=_("Requests expire after (hours)"))
    approvers = forms.MultipleChoiceField(required=False, label=_("Editors who may approve"),
                                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, editors=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["approvers"].choices = [(str(m.pk), m.user.get_username()) for m in editors]
