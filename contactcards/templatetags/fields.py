"""``{{ entry.changes|in_field_order }}``: a change's fields in the card's order (first name, last name,
photo), whatever order the database keeps JSON keys in (Postgres's jsonb sorts them by length); and
``{{ entry|choice_label:"action" }}``, a model choice's label without its per-call cost."""

from django import template
from django.utils.translation import get_language

from contactcards.linq.client import CARD_FIELDS

register = template.Library()
_ORDER = {name: index for index, name in enumerate(CARD_FIELDS)}


@register.filter
def in_field_order(changes: object) -> list[tuple[str, object]]:
    if not isinstance(changes, dict):
        return []
    return sorted(changes.items(), key=lambda item: (_ORDER.get(item[0], len(_ORDER)), str(item[0])))


_CHOICE_LABELS: dict[tuple[type, str, str | None], dict[object, str]] = {}


@register.filter
def choice_label(obj: object, field_name: str) -> object:
    """``{{ entry|choice_label:"action" }}``: what ``entry.get_action_display`` says, from a table built once per
    model field and language. ``get_FOO_display`` hashes every lazy choice label (one gettext each: fifteen
    for an action) on every call, which was most of the history table's rendering."""
    key = (type(obj), field_name, get_language())
    labels = _CHOICE_LABELS.get(key)
    if labels is None:
        field = obj._meta.get_field(field_name)  # type: ignore[attr-defined]
        labels = _CHOICE_LABELS[key] = {value: str(label) for value, label in field.flatchoices}
    value = getattr(obj, field_name)
    return labels.get(value, value)
