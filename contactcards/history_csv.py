"""CSV export of the audit history: streamed, ISO 8601 timestamps, safe to open in a spreadsheet.

Spreadsheet safety (CSV/formula injection): a text cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with an apostrophe, so Excel, LibreOffice and Google Sheets
show it as text instead of evaluating it. This includes phone numbers: ``+14155550123`` is exported
as ``'+14155550123``. That is deliberate - a spreadsheet would otherwise read it as the number
14155550123 (dropping the + and any formula-like content); the apostrophe keeps the E.164 text intact
and is easy to strip when the file is read by a program.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from .linq.client import CARD_FIELDS

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)

HEADER = [
    "id", "created_at", "phone_number", "username", "action", "outcome", "request_sent", "applied", "http_status",
    "linq_code", "error_message", "trace_id", "retry_after", "duration_ms", "client_ip",
    *[f"{name}_{side}" for name in CARD_FIELDS for side in ("before", "after")],
    "request_body",
]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would treat as a formula gets a leading apostrophe; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
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
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    batch: list[str] = []
    for entry in entries:
        batch.append(writer.writerow(csv_row(entry)))
        if len(batch) >= rows_per_chunk:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
