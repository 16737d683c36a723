"""The dry run shared by bulk edit and CSV import: what would happen to each number, before anything is sent.

A :class:`Target` is one number and the card values someone wants it to have (a subset of the
card fields; a value left out, or an empty CSV cell, keeps what the card has). :func:`build_plan`
reads every card of the team in one call (``GET /v3/contact_card``) and says, per number:
unchanged (skipped), which fields change from what to what, no card (one will be created), or
why it cannot be done. Nothing is written here; :mod:`contactcards.rollout.jobs` turns a confirmed
plan into a job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcards.cards.budget import WRITE_ACTIONS, WRITE_WINDOW, write_budgets
from contactcards.cards.diff import changed_fields
from contactcards.cards.forms import CardForm
from contactcards.common.clients import linq_client_for
from contactcards.linq import Card, LinqError
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import AuditEntry, PhoneNumber, Team
from contactcards.photos.services import sent_link

# change: PATCH an active card; create: POST a first card; recreate: the card is pending at Linq (its set-up
# did not complete, PATCH is refused): POST the whole card again, as the card page's "Set up again" does.
Kind = Literal["change", "create", "recreate", "skip", "cannot"]
FIELD_LABELS = {"first_name": _("First name"), "last_name": _("Last name"), "image_url": _("Photo URL")}


@dataclass(frozen=True)
class Target:
    """One number and what it should become. ``problems`` are found while reading the input (a CSV row)."""

    e164: str
    values: dict[str, str]
    row: int | None = None
    label: str | None = None  # a new label (None: keep)
    tags: tuple[str, ...] | None = None  # the new set of tags (None: keep)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanRow:
    e164: str
    kind: Kind
    row: int | None = None
    number: PhoneNumber | None = None
    loaded: dict[str, str] = field(default_factory=dict)  # the card now ({} without one)
    desired: dict[str, str] = field(default_factory=dict)  # the card afterwards
    changes: dict[str, list[str]] = field(default_factory=dict)  # {field: [from, to]}
    reasons: tuple[str, ...] = ()  # why it cannot be done
    label: list[str] | None = None  # [from, to] when the label changes
    tags: list[list[str]] | None = None  # [[from...], [to...]] when the tags change
    waits_until: datetime | None = None  # no write left now: sent when the budget allows

    @property
    def sends(self) -> bool:
        return self.kind in ("change", "create", "recreate")

    @property
    def local_change(self) -> bool:
        return self.label is not None or self.tags is not None

    @property
    def change_list(self) -> list[tuple[str, str, str]]:
        return [(FIELD_LABELS[name], old, new) for name, (old, new) in self.changes.items()]


@dataclass
class Plan:
    rows: list[PlanRow]
    error: LinqError | None = None  # the cards could not be read: nothing can be previewed
    problems: list[str] = field(default_factory=list)  # about the input as a whole (wrong columns...)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.problems

    @property
    def counts(self) -> dict[str, int]:
        counts = {"change": 0, "create": 0, "recreate": 0, "skip": 0, "cannot": 0}
        for row in self.rows:
            counts[row.kind] += 1
        counts["local"] = sum(1 for row in self.rows if row.local_change and row.kind != "cannot")
        counts["waiting"] = sum(1 for row in self.rows if row.sends and row.waits_until)
        counts["sending"] = counts["change"] + counts["create"] + counts["recreate"]
        counts["doing"] = sum(1 for row in self.rows if row.kind != "cannot" and (row.sends or row.local_change))
        return counts

    @property
    def sending(self) -> list[PlanRow]:
        return [row for row in self.rows if row.sends]

    @property
    def can_confirm(self) -> bool:
        """Something to do, and every row understood."""
        counts = self.counts
        return self.ok and counts["cannot"] == 0 and counts["doing"] > 0

    @property
    def can_skip_refused(self) -> bool:
        """Some rows are refused and others would do something: confirmable only by choosing to skip the refused."""
        counts = self.counts
        return self.ok and counts["cannot"] > 0 and counts["doing"] > 0

    def confirmable(self, *, skip_refused: bool) -> bool:
        return self.can_confirm or (skip_refused and self.can_skip_refused)


class _RowForm(CardForm):
    """The card page's form, bound once and given each row's data in turn: building a form deep-copies
    its fields (most of its cost), and the loaded values are taken as they are (the page signs them only
    to carry them through the browser). Cleaning is the form's own, so the rules are the same."""

    def clean_loaded(self) -> dict[str, str] | None:
        return {name: self._loaded.get(name) or "" for name in CARD_FIELDS} if self.editing else None

    def errors_for(self, data: dict[str, str], loaded: dict[str, str] | None) -> dict:
        self.data, self._loaded, self._errors = data, loaded, None
        return self.errors


_forms = threading.local()


def _row_form(editing: bool) -> _RowForm:
    key = "edit" if editing else "create"
    form = getattr(_forms, key, None)
    if form is None:
        form = _RowForm({}, loaded={} if editing else None)
        setattr(_forms, key, form)
    return form


def validate_values(values: dict[str, str], loaded: dict[str, str] | None) -> list[str]:
    """The card page's rules for one card (the same form), as messages naming the field."""
    data = {**{name: values.get(name, "") for name in CARD_FIELDS}, "token": ""}
    errors = _row_form(loaded is not None).errors_for(data, loaded)
    return [_("%(field)s: %(errors)s") % {"field": FIELD_LABELS.get(name, name), "errors": " ".join(errors)}
            for name, errors in errors.items()]


def _budget_waits(team: Team, numbers: Iterable[PhoneNumber]) -> dict[int, datetime]:
    """When each number can be written again, for the few with writes in the last ten minutes (one query
    for the team, one for those numbers' budgets: once per number, however many rows name it)."""
    recent = set(
        AuditEntry.objects.filter(team=team, action__in=WRITE_ACTIONS, created_at__gt=timezone.now() - WRITE_WINDOW)
        .values_list("number_id", flat=True)
    )
    budgets = write_budgets(numbers={number.pk: number for number in numbers if number.pk in recent}.values())
    return {pk: budget.next_write_at for pk, budget in budgets.items() if budget.exhausted}


def build_plan(team: Team, targets: list[Target], *, cards: dict[str, Card] | None = None) -> Plan:
    """Preview every target against the team's cards as Linq has them now (one call)."""
    if cards is None:
        try:
            cards = {card.phone_number: card for card in linq_client_for(team).list_cards()}
        except LinqError as error:
            return Plan(rows=[], error=error)
    numbers = PhoneNumber.objects.filter(team=team).select_related("sent_photo")
    if any(target.tags is not None for target in targets):  # (prefetching costs seconds at thousands of numbers)
        numbers = numbers.prefetch_related("tags")
    numbers = {n.e164: n for n in numbers}
    waits = _budget_waits(team, [numbers[t.e164] for t in targets if t.e164 in numbers])
    seen: dict[str, int | None] = {}
    rows = []
    for target in targets:
        number = numbers.get(target.e164)
        reasons = list(target.problems)
        if not reasons and number is None:
            reasons.append(_("%(number)s is not one of this team's numbers.") % {"number": target.e164})
        if not reasons and target.e164 in seen:
            where = _("row %(row)s") % {"row": seen[target.e164]} if seen[target.e164] else _("another row")
            reasons.append(_("%(number)s is already on %(where)s; keep one row per number.")
                           % {"number": target.e164, "where": where})
        if reasons:
            rows.append(PlanRow(e164=target.e164, kind="cannot", row=target.row, number=number,
                                reasons=tuple(reasons)))
            continue
        seen[target.e164] = target.row
        rows.append(_plan_row(target, number, cards.get(target.e164), waits.get(number.pk)))
    return Plan(rows=rows)


def _plan_row(target: Target, number: PhoneNumber, card: Card | None, waits: datetime | None) -> PlanRow:
    values = {name: value.strip() for name, value in target.values.items() if name in CARD_FIELDS}
    values = {name: value for name, value in values.items() if value}  # empty: keep what the card has
    label = _label_change(number, target.label)
    tags = _tags_change(number, target.tags)
    common = {"e164": target.e164, "row": target.row, "number": number, "label": label, "tags": tags}
    if card is None:
        desired = {name: values.get(name, "") for name in CARD_FIELDS}
        if not values:
            return PlanRow(kind="skip", desired=desired, **common)
        if not desired["first_name"]:
            return PlanRow(kind="cannot", reasons=(_("No card yet: a first name is needed to create one."),), **common)
        problems = validate_values(desired, None)
        if problems:
            return PlanRow(kind="cannot", reasons=tuple(problems), **common)
        changes = {name: ["", value] for name, value in desired.items() if value}
        return PlanRow(kind="create", desired=desired, changes=changes, waits_until=waits, **common)
    loaded = card.fields()
    desired = {**loaded, **values}
    changes = changed_fields(loaded, desired, sent=sent_link(number))  # the photo link sent last: photos.sent
    if not changes:
        return PlanRow(kind="skip", loaded=loaded, desired=desired, **common)
    # A pending card cannot be PATCHed: the whole card is POSTed again, checked as a set-up is.
    kind: Kind = "change" if card.is_active else "recreate"
    problems = validate_values(desired, loaded if card.is_active else None)
    if problems:
        return PlanRow(kind="cannot", loaded=loaded, reasons=tuple(problems), **common)
    return PlanRow(kind=kind, loaded=loaded, desired=desired, changes=changes, waits_until=waits, **common)


def owner_only_rows(plan: Plan, *, owner: bool) -> Plan:
    """Labels and tags are changed by owners: a row of anyone else that would change them cannot go ahead."""
    if owner:
        return plan
    rows = [
        PlanRow(e164=r.e164, kind="cannot", row=r.row, number=r.number, loaded=r.loaded,
                reasons=(_("Only owners change labels and tags; leave those cells as they are."),))
        if r.local_change and r.kind != "cannot" else r
        for r in plan.rows
    ]
    return Plan(rows=rows, error=plan.error, problems=plan.problems)


def _label_change(number: PhoneNumber, label: str | None) -> list[str] | None:
    if label is None or label.strip() == number.label:
        return None
    return [number.label, label.strip()]


def _tags_change(number: PhoneNumber, tags: tuple[str, ...] | None) -> list[list[str]] | None:
    if tags is None:
        return None
    current = sorted(tag.name for tag in number.tags.all())
    wanted = sorted(set(tags))
    return None if current == wanted else [current, wanted]
