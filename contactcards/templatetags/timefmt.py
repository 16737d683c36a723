"""``{{ seconds|duration }}``: one humane duration format everywhere (contactcards/common/durations.py)."""

from django import template

from contactcards.common.durations import humane_duration

register = template.Library()


@register.filter
def duration(value: object) -> str:
    try:
        return humane_duration(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return ""
