"""The history filter form: a GET form, so every filtered view is a URL that can be bookmarked and shared.

Numbers and users are identified by their readable values (``+14155550123``, ``alice``) rather
than database ids, so the URL says what it shows. Their choices come from the team's numbers and
members, never from the audit table.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.models import AuditEntry, PhoneNumber
from contactcards.selectors.history import HistoryFilters

MAX_TEXT = 100


class HistoryFilterForm(forms.Form):
    number = forms.ChoiceField(required=False, label=_("Number"))
    user = forms.ChoiceField(required=False, label=_("Who"))
    action = forms.ChoiceField(required=False, choices=[("", _("Any action")), *AuditEntry.Action.choices])
    outcome = forms.ChoiceField(
        required=False, choices=[("", _("Any outcome")), *AuditEntry.Outcome.choices],
        error_messages={"invalid_choice": _("Choose an outcome from the list: success, API error or network error.")},
    )
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the start date as YYYY-MM-DD.")},
    )
    date_to = forms.DateField(
        required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the end date as YYYY-MM-DD.")},
    )
    job = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, label=_("Job"),
                             error_messages={"invalid": _("A job is a whole number (see the Jobs page)."),
                                             "min_value": _("A job is a whole number (see the Jobs page)."),
                                             "max_value": _("No such job.")})
    q = forms.CharField(
        required=False, max_length=MAX_TEXT, strip=True, label=_("Text"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("name, number, value, error…")}),
        help_text=_("Matches user names, numbers and their labels, changed values, Linq errors and trace ids."),
    )

    def __init__(self, data, *, numbers: list[PhoneNumber], members: list, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self._numbers = {n.e164: n for n in numbers}
        self._users = {u.get_username(): u for u in members}
        self.fields["number"].choices = [("", _("Any number"))] + [
            (n.e164, f"{n.e164} {n.label}".strip()) for n in numbers
        ]
        self.fields["user"].choices = [("", _("Anyone"))] + [(name, name) for name in self._users]
        self.fields["number"].error_messages["invalid_choice"] = _("That number is not one of this team's numbers.")
        self.fields["user"].error_messages["invalid_choice"] = _("That user is not a member of this team.")

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> HistoryFilters:
        """The validated filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        user = self._users.get(data.get("user") or "")
        return HistoryFilters(
            number=self._numbers.get(data.get("number") or ""),
            user_id=user.pk if user is not None else None,
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
            job_id=data.get("job"),
        )

    SELECTS = ("number", "user", "action", "outcome")
    INPUTS = (("date_from", "date"), ("date_to", "date"), ("job", "number"), ("q", "search"))

    def render_context(self) -> dict:
        """What the filter bar needs, precomputed: rendering 50-option selects through Django's
        widget templates costs more than the whole history query, so the template writes plain HTML."""
        errors = self.errors if self.is_bound else {}
        raw = {name: str(self.data.get(name) or "") for name in self.fields}
        selects = [
            {"name": name, "label": self.fields[name].label or name.title(), "invalid": name in errors,
             "options": [(str(v), text, str(v) == raw[name]) for v, text in self.fields[name].choices]}
            for name in self.SELECTS
        ]
        inputs = [
            {"name": name, "label": self.fields[name].label, "type": kind, "value": raw[name],
             "invalid": name in errors}
            for name, kind in self.INPUTS
        ]
        return {"selects": selects, "inputs": inputs}

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
