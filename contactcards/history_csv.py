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
from datetime import datetime

from .linq.client import CARD_FIELDS
from .phones import is_e164

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)

HEADER = [
    "id", "created_at", "phone_number", "username", "action", "outcome", "request_sent", "applied", "http_status",
    "linq_code", "error_message", "trace_id", "retry_after", "duration_ms", "client_ip",
    *[f"{name}_{side}" for name in CARD_FIELDS for side in ("before", "after")],
    "request_body",
]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would treat as a formula gets a leading apostrophe (E.164 numbers
    excepted); None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS and not is_e164(value):
        return "'" + value
    return value


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "no"


def csv_row(entry: dict) -> list[object]:
    changes = entry.get("changes") or {}
    body = entry.get("request_body")
    cells: list[object] = [
        entry["id"], _iso(entry["created_at"]), entry["phone_number"], entry["username"], entry["action"],
        entry["outcome"], "yes" if entry["request_sent"] else "no", _yes_no(entry.get("applied")),
        entry["http_status"], entry["linq_code"],
        entry["error_message"], entry["trace_id"], entry["retry_after"], entry["duration_ms"], entry["client_ip"],
    ]
    for name in CARD_FIELDS:
        pair = [*(changes.get(name) or []), "", ""]
        cells += [pair[0], pair[1]]
    cells.append(json.dumps(body, ensure_ascii=False, sort_keys=True) if body is not None else "")
    return [neutralise(cell) for cell in cells]


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(entries: Iterable[dict], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """The header, then the rows, yielded a few hundred lines at a time (fewer, larger writes)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(HEADER)
    batch: list[str] = []
    for entry in entries:
        batch.append(writer.writerow(csv_row(entry)))
        if len(batch) >= rows_per_chunk:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
