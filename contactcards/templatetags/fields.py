"""``{{ entry.changes|in_field_order }}``: a change's fields in the card's order (first name, last name,
photo), whatever order the database keeps JSON keys in (Postgres's jsonb sorts them by length)."""

from django import template

from contactcards.linq.client import CARD_FIELDS

register = template.Library()
_ORDER = {name: index for index, name in enumerate(CARD_FIELDS)}


@register.filter
def in_field_order(changes: object) -> list[tuple[str, object]]:
    if not isinstance(changes, dict):
        return []
    return sorted(changes.items(), key=lambda item: (_ORDER.get(item[0], len(_ORDER)), str(item[0])))
