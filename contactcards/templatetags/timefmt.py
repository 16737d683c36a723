"""``{{ seconds|duration }}``: one humane duration format everywhere (contactcards/durations.py)."""

from django import template

from contactcards.durations import humane_duration

register = template.Library()


@register.filter
def duration(value: object) -> str:
    try:
        return humane_duration(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return ""
