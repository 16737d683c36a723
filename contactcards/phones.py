"""The one definition of a phone number in this app: E.164, ``+`` then 7 to 15 ASCII digits.

``parse_e164`` serves every door a number comes in through: the settings forms, the import from
Linq, the management commands, the stored-data check (``manage.py checknumbers``, the system
check and migration 0005) and, for addressing stored rows, the URL converter.

What people paste is accepted and normalised: ``+1 (555) 010-0009``, ``+1-555-010-0009``,
``+1.555.010.0009`` and ``+1 555 010 0009`` all become ``+15550100009``; surrounding whitespace
(a trailing newline from a copied cell) is dropped. Anything else is refused with a message that
names the value: digits other than ASCII ``0-9`` (Arabic-Indic ``٣``, full-width ``３``), letters,
a missing ``+``, a leading 0 in the country code, too few or too many digits.

The pattern is matched with ``fullmatch`` and ``[0-9]``: ``\\d`` also matches every Unicode digit
and ``$`` also matches before a trailing newline, which is how bad values got stored before.
No Django imports here, so the Linq client and the sandbox can use it too.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext as _

from contactcards.text import visible

E164_PATTERN = r"\+[1-9][0-9]{6,14}"
_E164 = re.compile(E164_PATTERN)
# Anchored with \A and \Z (never $), for callers that use .match(): prefer is_e164/parse_e164.
E164_RE = re.compile(rf"\A{E164_PATTERN}\Z")
# Separators people paste between groups of digits: spaces (also the no-break and thin spaces that
# web pages and word processors insert), dashes, dots, slashes and brackets. Nothing else.
_SEPARATORS = re.compile("[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000\u2010-\u2015.()/-]")
MAX_INPUT_LENGTH = 40  # longer than any pasted form of a 15-digit number


class PhoneNumberError(ValueError):
    """A value that is not a phone number in E.164 form; ``str()`` is a message for people."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(_("%(value)s is not a phone number in E.164 form: %(reason)s")
                         % {"value": shown(value), "reason": reason})


def shown(value: object) -> str:
    """A value quoted for an error message, with invisible characters made visible."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_INPUT_LENGTH:
        text = text[:MAX_INPUT_LENGTH] + "…"
    return "“" + visible(text) + "”"


def is_e164(value: object) -> bool:
    """True for a value already in normal form (what is stored and sent to Linq)."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def parse_e164(value: object) -> str:
    """The number in normal form, or PhoneNumberError saying what is wrong with ``value``."""
    if not isinstance(value, str):
        raise PhoneNumberError(str(value), _("it is not text."))
    text = value.strip()
    if not text:
        raise PhoneNumberError(value, "it is empty.")
    if len(text) > MAX_INPUT_LENGTH:
        raise PhoneNumberError(value, _("it is far too long for a phone number."))
    compact = _SEPARATORS.sub("", text)
    if _E164.fullmatch(compact):
        return compact
    odd = next((ch for ch in compact[1:] if not ("0" <= ch <= "9")), None) if compact else None
    if odd is not None and unicodedata.category(odd) == "Nd":
        raise PhoneNumberError(value, _("only the digits 0-9 are allowed, not %(char)s (%(name)s).") % {
            "char": shown(odd), "name": unicodedata.name(odd, "a non-ASCII digit").lower()})
    if odd is not None and odd != "+":
        raise PhoneNumberError(value, _("%(char)s is not allowed (use +, the digits 0-9, and optionally spaces, "
                                        "dashes, dots or brackets).") % {"char": shown(odd)})
    if not compact.startswith("+"):
        raise PhoneNumberError(value, _("it must start with + and the country code (for example +14155550123)."))
    if compact[1:2] == "0":
        raise PhoneNumberError(value, _("a country code never starts with 0."))
    digits = len(compact) - 1
    if compact.count("+") > 1:
        raise PhoneNumberError(value, _("it has more than one +."))
    return _raise_length(value, digits)


def _raise_length(value: str, digits: int) -> str:
    if digits < 7:
        raise PhoneNumberError(value, _("%(digits)d digits is too short (7 to 15 after the +).") % {"digits": digits})
    raise PhoneNumberError(value, _("%(digits)d digits is too long (E.164 allows at most 15 after the +).")
                           % {"digits": digits})


def split_pasted(text: str) -> list[str]:
    """Split a pasted list of numbers: by new lines, commas and semicolons, and by a space before a +.

    ``"+1 555 010 0009, +1 555 010 0010"`` and ``"+15550100009 +15550100010"`` both give two
    numbers, while the spaces inside ``+1 555 010 0009`` stay part of one number.
    """
    parts: list[str] = []
    for chunk in re.split(r"[,;\n\r]+", text):
        parts += [part for part in re.split(r"\s+(?=\+)", chunk.strip()) if part.strip()]
    return parts


def parse_many(values: list[str]) -> tuple[list[str], list[PhoneNumberError]]:
    """Normalise each value: (numbers in order, without repeats; errors, one per bad value)."""
    numbers: list[str] = []
    errors: list[PhoneNumberError] = []
    for value in values:
        try:
            numbers.append(parse_e164(value))
        except PhoneNumberError as error:
            errors.append(error)
    return list(dict.fromkeys(numbers)), errors


class StoredNumber:
    """One stored number that is not in normal form, and what can be done about it."""

    __slots__ = ("pk", "team_id", "value", "normal", "problem")

    def __init__(self, pk: int, team_id: int, value: str, normal: str | None, problem: str) -> None:
        self.pk, self.team_id, self.value, self.normal, self.problem = pk, team_id, value, normal, problem

    @property
    def fixable(self) -> bool:
        """It normalises to a valid number that the team does not already have."""
        return self.normal is not None


def stored_problems(rows: list[tuple[int, int, str]]) -> list[StoredNumber]:
    """Check stored (pk, team_id, value) rows: every one not in normal form, with its fix if one is safe.

    A value that normalises (``+1 555 010 0009``, a trailing newline) is fixable unless its team
    already has the normal form (then both rows are reported and neither is changed: merging two
    rows with their own history is a decision for a person). Anything else (``+1555010009٣``) is
    reported with the reason; such a number can still be opened and removed in the settings.
    """
    taken = {(team_id, value) for _pk, team_id, value in rows}
    problems = []
    for pk, team_id, value in rows:
        if is_e164(value):
            continue
        try:
            normal: str | None = parse_e164(value)
        except PhoneNumberError as error:
            problems.append(StoredNumber(pk, team_id, value, None, str(error)))
            continue
        if (team_id, normal) in taken:
            problems.append(StoredNumber(pk, team_id, value, None,
                                         _("%(value)s is %(normal)s written differently, and the team "
                                           "already has %(normal)s: remove one of them.")
                                         % {"value": shown(value), "normal": normal}))
        else:
            taken.add((team_id, normal))
            problems.append(StoredNumber(pk, team_id, value, normal,
                                         _("%(value)s is not in normal form; it is %(normal)s.")
                                         % {"value": shown(value), "normal": normal}))
    return problems
