"""Characters that must not hide in names and messages, in one place (no Django imports).

Control characters (Unicode category Cc: NUL, tab, new line, escape, ...) and the bidirectional
embedding, override and isolate characters (U+202A-U+202E, U+2066-U+2069) are invisible, yet the
latter reorder the text around them: ``Acme\\u202egnp.exe`` shows as ``Acmeexe.png``. People cannot
type them into a name (``name_problem``); values that come from Linq with them are shown with each
one made visible (``visible`` here, the ``visible`` template filter for HTML).
"""

from __future__ import annotations

import unicodedata

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_hidden(ch: str) -> bool:
    """A control character or a bidi embedding/override/isolate character."""
    return ch in BIDI_CONTROLS or unicodedata.category(ch) == "Cc"


def describe_char(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``, ``U+0007`` (control characters have no name)."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def visible(value: str) -> str:
    """The text with each hidden character written as ``<U+XXXX>``."""
    return "".join(f"<U+{ord(ch):04X}>" if is_hidden(ch) or ch == "\u00a0" else ch for ch in value)


def name_problem(value: str) -> tuple[str, str] | None:
    """Why a name cannot be sent as typed, or None: ("direction" or "control", the first offending
    character described). The form words it (contactcards/cards/forms.py)."""
    for ch in value:
        if ch in BIDI_CONTROLS:
            return "direction", describe_char(ch)
        if unicodedata.category(ch) == "Cc":
            return "control", describe_char(ch)
    return None
