"""``{{ value|visible }}``: text from Linq shown safely (see contactcards/lib/text.py).

Each control or bidi embedding/override/isolate character is replaced by a visible marker
(``U+202E`` in a span whose title names it), and the whole is wrapped in ``<bdi>`` so a
right-to-left name cannot reorder the text around it. Plain left-to-right text is returned as
it is (and escaped as usual).
"""

from __future__ import annotations

import unicodedata

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from contactcards.lib.text import describe_char, is_hidden

register = template.Library()


@register.filter
def visible(value: object) -> SafeString | object:
    if not isinstance(value, str) or (value.isascii() and value.isprintable()):
        return value  # the common case, without a look at each character: ASCII has no hidden or RTL ones
    if not any(is_hidden(ch) or unicodedata.bidirectional(ch) in ("R", "AL")
                                             for ch in value):
        return value
    parts = [
        format_html('<span class="hidden-char" title="{}">U+{}</span>', describe_char(ch), f"{ord(ch):04X}")  # no-i18n
        if is_hidden(ch) else escape(ch)
        for ch in value
    ]
    return mark_safe("<bdi>" + "".join(parts) + "</bdi>")  # every part escaped above
