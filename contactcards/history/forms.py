"""The history filter form: a GET form, so every filtered view is a URL that can be bookmarked and shared.

Numbers and users are identified by their readable values (``+14155550123``, ``alice``) rather
than database ids, so the URL says what it shows. The user is chosen from the team's members (a
few); the number is typed - a team may have thousands, and a list of them all would be rendered on
every view - and checked when the form is submitted: the number itself or its label, one of the
team's (``history_number_lookup``). With JavaScript the field suggests the team's numbers as you
type (``static/js/history.js``, from ``history_number_search``).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contactcards.history.selectors import HistoryFilters, history_number_lookup
from contactcards.models import AuditEntry, PhoneNumber, Team

MAX_TEXT = 100


class HistoryFilterForm(forms.Form):
    number = forms.CharField(
        required=False, max_length=MAX_TEXT, strip=True, label=_("Number"),
        error_messages={"max_length": _("Type a number or its label (at most 100 characters).")},
    )
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

    def __init__(self, data, *, team: Team, members: list, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self._team = team
        self._number: PhoneNumber | None = None
        self._users = {u.get_username(): u for u in members}
        self.fields["user"].choices = [("", _("Anyone"))] + [(name, name) for name in self._users]
        self.fields["user"].error_messages["invalid_choice"] = _("That user is not a member of this team.")

    def clean_number(self) -> str:
        """The number typed, or its label: one of the team's numbers, or a message under the field."""
        text = self.cleaned_data.get("number") or ""
        if not text:
            return ""
        found = history_number_lookup(team=self._team, text=text)
        if not found:
            raise forms.ValidationError(
                _("That number is not one of this team's numbers. Type part of the number or of its label "
                  "and pick one of the suggestions."), code="unknown_number")
        if len(found) > 1:
            raise forms.ValidationError(
                _("Several of this team's numbers are labelled “%(label)s”: type the number instead."),
                code="ambiguous_label", params={"label": text})
        self._number = found[0]
        return found[0].e164

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
            number=self._number if data.get("number") else None,
            user_id=user.pk if user is not None else None,
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
            job_id=data.get("job"),
        )

    # The filter bar, in order: (field, "select" or the input's type).
    BAR = (("number", "text"), ("user", "select"), ("action", "select"), ("outcome", "select"),
           ("date_from", "date"), ("date_to", "date"), ("job", "number"), ("q", "search"))

    def render_context(self) -> dict:
        """What the filter bar needs, precomputed: rendering selects through Django's widget templates
        costs more than the whole history query, so the template writes plain HTML. Nothing in it
        grows with the team's numbers (the number is typed; the members are few)."""
        errors = self.errors if self.is_bound else {}
        raw = {name: str(self.data.get(name) or "") for name in self.fields}
        bar = []
        for name, kind in self.BAR:
            field = {"name": name, "label": self.fields[name].label or name.title(), "kind": kind,
                     "value": raw[name][:MAX_TEXT * 2], "invalid": name in errors}
            if kind == "select":
                field["options"] = [(str(v), text, str(v) == raw[name]) for v, text in self.fields[name].choices]
            bar.append(field)
        number = self._number if "number" not in errors and raw["number"] else None
        return {"fields": bar, "number": number}

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
