"""What a stream sends: an entry's facts as JSON (the webhook body, the syslog message's text), and the
RFC 5424 syslog line around it. No Django models are read here: callers pass the entry.

The facts are the history's own columns, typed (the CSV export's row, ``history.export.HEADER``,
without its spreadsheet escaping): never the Linq token, a signing secret or anything else encrypted -
the entry holds none. ``request_body`` is the exact JSON sent to Linq (card fields only).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

EVENT_TYPES = {"written": "audit.entry.written", "outcome": "audit.entry.outcome",
               "settled": "audit.entry.settled"}
APP_NAME = "linqadmin"
# The structured data's id: "name@<private enterprise number>"; 32473 is the number RFC 5612 sets aside
# for examples and documentation (linqadmin has none of its own).
SD_ID = "linqadmin@32473"
SEVERITY_NOTICE, SEVERITY_WARNING = 5, 4


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def entry_facts(entry: Any, *, team_slug: str) -> dict[str, Any]:
    """One history entry as JSON-ready facts (``AuditEntry`` columns, as they are now)."""
    changes = entry.changes if isinstance(entry.changes, dict) else {}
    return {
        "id": entry.pk,
        "team": team_slug,
        "number": entry.phone_number or None,
        "actor": {"username": entry.username, "user_id": entry.user_id, "type": entry.actor_type or None},
        "action": entry.action,
        "subject": entry.subject or None,
        "changes": {name: {"before": pair[0], "after": pair[1]}
                    for name, pair in changes.items() if isinstance(pair, (list, tuple)) and len(pair) == 2},
        "outcome": entry.outcome,
        "stage": entry.stage or None,
        "request_sent": entry.request_sent,
        "applied": entry.applied,
        "http_status": entry.http_status,
        "linq_code": entry.linq_code if entry.linq_code is not None else (entry.linq_code_text or None),
        "error_kind": entry.error_kind or None,
        "error_message": entry.error_message or None,
        "trace_id": entry.trace_id or None,
        "retry_after": entry.retry_after,
        "duration_ms": entry.duration_ms,
        "client_ip": entry.client_ip,
        "origin": entry.origin or None,
        "found_by": entry.found_by or None,
        "job": entry.job_id,
        "restored_from": entry.restored_from,
        "created_at": _iso(entry.created_at),
        "outcome_at": _iso(entry.outcome_at),
        "reconciled_at": _iso(entry.reconciled_at),
        "occurred_at": _iso(entry.occurred_at),
        "request_body": entry.request_body,
    }


def message_payload(entry: Any, event: str, *, team_slug: str, at: datetime) -> dict[str, Any]:
    """The stored message (without its sequence, given at delivery): Standard Webhooks' recommended
    shape, ``{"type", "timestamp", "data"}``; ``at`` is when the change committed."""
    return {"type": EVENT_TYPES[event], "timestamp": at.isoformat(), "data": entry_facts(entry, team_slug=team_slug)}


def body(payload: dict[str, Any], *, sequence: int) -> str:
    """The exact text sent (and signed): the same for every try of one message."""
    return json.dumps({**payload, "sequence": sequence}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sd_value(value: object) -> str:
    """An RFC 5424 PARAM-VALUE: '"', '\\' and ']' escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_line(payload: dict[str, Any], *, sequence: int, message_id: str, facility: int, hostname: str,
                at: datetime) -> bytes:
    """One RFC 5424 message: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] BOM JSON``.

    Severity: notice, or warning when the entry's outcome is an error. MSGID is the event
    (``written``, ``outcome``, ``settled``); the structured data repeats the ids a tool filters on.
    """
    data = payload.get("data", {})
    severity = SEVERITY_WARNING if data.get("outcome") in ("api_error", "network_error") else SEVERITY_NOTICE
    event = message_id.rsplit("_", 1)[-1]
    structured = (f'[{SD_ID} id="{_sd_value(message_id)}" entry="{_sd_value(data.get("id"))}" '
                  f'team="{_sd_value(data.get("team"))}" action="{_sd_value(data.get("action"))}" '
                  f'outcome="{_sd_value(data.get("outcome"))}" sequence="{sequence}"]')
    host = "".join(ch for ch in hostname if 33 <= ord(ch) <= 126)[:255] or "-"
    head = f"<{facility * 8 + severity}>1 {at.isoformat()} {host} {APP_NAME} - {event} {structured} "
    return head.encode() + b"\xef\xbb\xbf" + body(payload, sequence=sequence).encode()
