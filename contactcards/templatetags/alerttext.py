"""Filters for alert messages: text for a chat tool (Slack's escaping: ``&``, ``<``, ``>`` only, so
nothing a name holds can become a mention or a link)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def chat_escape(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
