"""CSV export of the audit history: streamed, ISO 8601 timestamps, safe to open in a spreadsheet.

Spreadsheet safety (CSV/formula injection): a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with an apostrophe, so Excel, LibreOffice and Google Sheets
show it as text instead of evaluating it. A value that is plainly a phone number in E.164 form
(``+15550100003``, the one definition in ``phones.py``: ``+`` and 7-15 ASCII digits, nothing else)
is left as it is: it cannot run anything, and programs reading the file get the number unchanged.

Every cell is quoted (``csv.QUOTE_ALL``), so a spreadsheet opened in a locale whose list separator
is ``;`` (or one that guesses the separator) cannot split a cell that contains one.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from functools import lru_cache

from contactcards.common.phones import is_e164
from contactcards.linq.client import CARD_FIELDS

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)

HEADER = [
    "id", "created_at", "phone_number", "username", "action", "subject", "outcome", "request_sent", "applied",
    "http_status",
    "linq_code", "error_message", "trace_id", "retry_after", "duration_ms", "client_ip",
    *[f"{name}_{side}" for name in CARD_FIELDS for side in ("before", "after")],
    "other_changes",  # team administration (a role, the two-factor requirement), as JSON
    "request_body",
]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would treat as a formula gets a leading apostrophe (E.164 numbers
    excepted); None is empty."""
    if value is None:
        return ""
    return _text(value) if isinstance(value, str) else value


def _text(value: str | None) -> str:
    """neutralise() for a column that holds text or NULL (the hot path: no isinstance)."""
    if not value:
        return ""
    if value[0] in _FORMULA_STARTS and not is_e164(value):
        return "'" + value
    return value


# Phone numbers and user names repeat on every row of a history: remember what they became.
_repeated_text = lru_cache(maxsize=4096)(_text)


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # one encoder, not one per row
_json_text = json.JSONDecoder().decode


def csv_row(row: tuple) -> list[object]:
    """One export row from ``history.selectors.history_export_rows``'s tuple, in HEADER order.

    The database has already written ``created_at`` as ISO 8601 text. Every text cell goes through the
    check - the enum columns (action, outcome), ``client_ip`` (SQLite stores whatever text it was
    given) and the JSON columns too - so no column can carry a formula whatever reached the table;
    numbers and booleans are written as they are (None as an empty cell). ``request_body`` comes as
    the database's JSON text and leaves with sorted keys, the same on every database.
    """
    (pk, created_at, phone_number, username, action, subject, outcome, request_sent, applied, http_status,
     linq_code, error_message, trace_id, retry_after, duration_ms, client_ip, *changes, team_changes,
     request_body) = row
    return [
        pk, _text(created_at), _repeated_text(phone_number), _repeated_text(username), _repeated_text(action),
        _text(subject) if subject else "", _repeated_text(outcome),
        "yes" if request_sent else "no", "" if applied is None else "yes" if applied else "no", http_status,
        linq_code, _text(error_message) if error_message else "", _text(trace_id) if trace_id else "",
        retry_after, duration_ms, neutralise(client_ip), *[_text(value) if value else "" for value in changes],
        "" if not team_changes or team_changes == "{}" else _text(_JSON.encode(_json_text(team_changes))),
        "" if request_body is None else _text(_JSON.encode(_json_text(request_body))),
    ]


class _Buffer:
    """Collects what csv.writer writes; ``take()`` hands it over as one string."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.write = self.parts.append

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_lines(rows: Iterable[tuple], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The header, then the rows, yielded a few hundred lines at a time (fewer, larger writes):
    csv.writer.writerows on a list buffer, so per row Python only builds one list."""
    buffer = _Buffer()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    yield buffer.take()
    batch: list[list[object]] = []
    for row in rows:
        batch.append(csv_row(row))
        if len(batch) >= rows_per_chunk:
            writer.writerows(batch)
            batch.clear()
            yield buffer.take()
    if batch:
        writer.writerows(batch)
        yield buffer.take()
