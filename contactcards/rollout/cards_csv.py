"""Every card of a team as CSV, and a CSV read back into rollout targets with per-row problems.

Export columns: number, label, tags, first_name, last_name, image_url, status (status is read-only:
it is ignored on import). Tags are separated by commas inside their cell. Text that a spreadsheet
would take for a formula is prefixed with an apostrophe (``history_csv.neutralise``); the import
strips it again.

The import accepts what spreadsheets write: UTF-8 with or without a BOM, ``,`` or ``;`` or tab
separators, quoted cells with line breaks, blank lines, columns in any order and any subset of
them as long as ``number`` is there. A file that cannot be read as a whole (not UTF-8, no
``number`` column, unknown columns, too large) gets one clear message and no rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contactcards.common.phones import PhoneNumberError, parse_e164
from contactcards.history.export import FORMULA_PREFIXES, neutralise
from contactcards.linq import Card
from contactcards.linq.client import CARD_FIELDS
from contactcards.models import PhoneNumber, validate_tag
from contactcards.rollout.plan import Target

COLUMNS = ["number", "label", "tags", "first_name", "last_name", "image_url", "status"]
READ_ONLY = {"status"}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_LABEL = 100


def export_rows(numbers: list[PhoneNumber], cards: dict[str, Card] | None) -> Iterator[list[object]]:
    """Header, then one row per number (``cards`` None: Linq could not be read, card columns empty)."""
    yield COLUMNS
    for number in numbers:
        card = (cards or {}).get(number.e164)
        fields = card.fields() if card else dict.fromkeys(CARD_FIELDS, "")
        if cards is None:
            status = "unknown"
        else:
            status = "no card" if card is None else ("active" if card.is_active else "pending")
        tags = ", ".join(tag.name for tag in number.tags.all())
        yield [number.e164, number.label, tags, *fields.values(), status]


def write_csv(rows: Iterator[list[object]]) -> str:
    """The rows as CSV, every cell through ``neutralise``: nothing a row holds can become a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
    return buffer.getvalue()


@dataclass
class ParsedCsv:
    targets: list[Target] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the file as a whole: nothing is imported

    @property
    def ok(self) -> bool:
        return not self.problems


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def _cell(value: str) -> str:
    value = value.replace("\x00", "").strip()
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES:  # our own export's formula guard
        value = value[1:]
    return value


def parse_cards_csv(raw: bytes) -> ParsedCsv:
    if len(raw) > MAX_BYTES:
        return ParsedCsv(problems=[_("The file is larger than %(mb)s MB; split it.")
                                   % {"mb": MAX_BYTES // (1024 * 1024)}])
    text = _text(raw)
    if text is None:
        return ParsedCsv(problems=[_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")])
    if "\x00" in text:
        return ParsedCsv(problems=[_("The file contains binary data (NUL characters); it is not a CSV file.")])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header: list[str] | None = None
        targets = []
        line = 1  # where the next record starts (a quoted cell may span lines)
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if header is None:
                header = [cell.strip().lower().lstrip("\ufeff") for cell in record]
                problem = _check_header(header)
                if problem:
                    return ParsedCsv(problems=[problem])
                continue
            if len(targets) >= MAX_ROWS:
                return ParsedCsv(problems=[_("The file has more than %(rows)s rows; split it.")
                                           % {"rows": f"{MAX_ROWS:,}"}])
            targets.append(_target(header, record, start))
    except csv.Error as error:
        return ParsedCsv(problems=[_("Line %(line)s: the file is not valid CSV (%(error)s).")
                                   % {"line": reader.line_num, "error": error}])
    if header is None:
        return ParsedCsv(problems=[_("The file is empty. Export the cards first and edit that file.")])
    if not targets:
        return ParsedCsv(problems=[_("The file has a header but no rows.")])
    return ParsedCsv(targets=targets)


def parse_rows(rows: list[dict[str, str]]) -> ParsedCsv:
    """Rows given as objects (the API's JSON import): each read exactly as a CSV line with those columns,
    the same checks and problems; ``row`` is the position in the list, from 1."""
    if not rows:
        return ParsedCsv(problems=[_("The file has a header but no rows.")])
    if len(rows) > MAX_ROWS:
        return ParsedCsv(problems=[_("The file has more than %(rows)s rows; split it.") % {"rows": f"{MAX_ROWS:,}"}])
    header = list(dict.fromkeys(name.strip().lower() for row in rows for name in row))
    problem = _check_header(header)
    if problem:
        return ParsedCsv(problems=[problem])
    return ParsedCsv(targets=[_target(header, [row.get(name, "") for name in header], index)
                              for index, row in enumerate(({k.strip().lower(): v for k, v in row.items()}
                                                           for row in rows), start=1)])


def _check_header(header: list[str]) -> str | None:
    unknown = [name or _("(empty)") for name in header if name not in COLUMNS]
    if unknown:
        return ngettext("Unknown column: %(names)s. The columns are: %(columns)s (number is required, the others "
                        "are optional).",
                        "Unknown columns: %(names)s. The columns are: %(columns)s (number is required, the others "
                        "are optional).", len(unknown)) % {"names": ", ".join(unknown), "columns": ", ".join(COLUMNS)}
    if "number" not in header:
        return _("The file has no “number” column. The columns are: %(columns)s.") % {"columns": ", ".join(COLUMNS)}
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        return ngettext("Column %(names)s appear more than once.", "Columns %(names)s appear more than once.",
                        len(repeated)) % {"names": ", ".join(repeated)}
    return None


def _target(header: list[str], record: list[str], line: int) -> Target:
    problems = []
    if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
        problems.append(_("The row has %(cells)d cells but the header has %(columns)d columns.")
                        % {"cells": len(record), "columns": len(header)})
    cells = {name: _cell(record[i]) if i < len(record) else "" for i, name in enumerate(header)}
    try:
        e164 = parse_e164(cells["number"])
    except PhoneNumberError as error:
        e164 = cells["number"][:20]
        problems.append(str(error))
    label = cells.get("label") if "label" in header else None
    if label is not None and len(label) > MAX_LABEL:
        problems.append(_("The label is longer than %(max)d characters.") % {"max": MAX_LABEL})
    tags = None
    if "tags" in header:
        tags = tuple(dict.fromkeys(tag.strip() for tag in cells["tags"].split(",") if tag.strip()))
        for tag in tags:
            try:
                validate_tag(tag)
            except ValidationError as error:
                problems.append(error.messages[0])
    values = {name: cells[name] for name in CARD_FIELDS if name in header}
    return Target(e164=e164[:20], values=values, row=line, label=label, tags=tags, problems=tuple(problems))
