"""Messages for people from modules that stay free of Django (the photo fetcher and image checks).

``gettext_noop("%(host)s did not answer in time.", host=host)`` gives ``Words``: a str in English (what those
modules' own tests and logs see) that keeps its template and values, so the Django side words it
in the person's language with ``translated()`` (django.utils.translation.gettext on the template,
then the values). makemessages finds the templates, since ``gettext_noop`` is one of gettext's keywords
("mark now, translate later": what this does). ``_`` is Django's gettext everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Words(str):
    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, params: dict[str, Any]) -> Words:
        words = super().__new__(cls, template % params if params else template)
        words.template = template
        words.params = params
        return words


def gettext_noop(template: str, /, **params: Any) -> Words:
    return Words(template, params)


def translated(message: str, gettext: Callable[[str], str]) -> str:
    """``message`` in the active language (values that are Words themselves too); other text unchanged."""
    if not isinstance(message, Words):
        return message
    params = {key: translated(value, gettext) for key, value in message.params.items()}
    template = gettext(message.template)
    return template % params if params else template
