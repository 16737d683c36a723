"""``{{ seconds|duration }}``: one humane duration format everywhere (contactcards/common/durations.py);
``{{ moment|time_tag }}``: a ``<time>`` element in the viewer's time zone, for lists of many rows."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from contactcards.common.durations import humane_duration

register = template.Library()


@register.filter
def duration(value: object) -> str:
    try:
        return humane_duration(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return ""


@register.filter
def time_tag(value: object, seconds: bool = True) -> SafeString | str:
    """``<time datetime="{{ v|date:'c' }}">{{ v|date:"Y-m-d H:i:s T" }}</time>`` (``time_tag:False``: without
    the seconds), the same text from one conversion to the active time zone instead of two ``date``
    filters: a list of 50 rows called them 100 times per page."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return format_html('<time datetime="{}">{} {}</time>', local.isoformat(), shown, local.tzname() or "")
