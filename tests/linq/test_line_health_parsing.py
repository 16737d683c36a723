"""What ``GET /v3/phone_numbers`` says about each line (issue 23): status, reputation and its doc link, parsed
at the client's boundary - values this app does not know are kept as UNKNOWN, never an error."""

from __future__ import annotations

import pytest

from contactcards.linq import LinqClient
from contactcards.linq.client import (
    LINE_STATUSES,
    REPUTATIONS,
    parse_doc_url,
    parse_line_value,
    parse_reputation,
)

TOKEN = "line-health-token"
NUMBER = "+15550003001"


@pytest.mark.parametrize(("value", "known", "parsed"), [
    ("FLAGGED", LINE_STATUSES, "FLAGGED"),
    ("active", LINE_STATUSES, "ACTIVE"),
    ("at-risk", REPUTATIONS, "AT_RISK"),
    ("At Risk", REPUTATIONS, "AT_RISK"),
    ("SUSPENDED", LINE_STATUSES, "UNKNOWN"),  # a value Linq may add later
    ("CRITICAL\x00", REPUTATIONS, "CRITICAL"),  # NUL removed (Postgres refuses it)
    ("\ud800", REPUTATIONS, "UNKNOWN"),  # a lone surrogate: text, but no value we know
    ("x" * 10_000, REPUTATIONS, "UNKNOWN"),
    ("", REPUTATIONS, None),
    ("   ", LINE_STATUSES, None),
    (None, LINE_STATUSES, None),
    (42, REPUTATIONS, None),
    (["FLAGGED"], LINE_STATUSES, None),
    ({"status": "FLAGGED"}, LINE_STATUSES, None),
    (True, LINE_STATUSES, None),
])
def test_a_status_or_reputation_is_known_unknown_or_absent_never_an_error(value, known, parsed):
    assert parse_line_value(value, known) == parsed


@pytest.mark.parametrize(("value", "parsed"), [
    ("https://docs.linqapp.com/reputation/at_risk", "https://docs.linqapp.com/reputation/at_risk"),
    ("http://docs.example.com/x", "http://docs.example.com/x"),
    ("javascript:alert(1)", None),
    ("data:text/html,<script>", None),
    ("//evil.example", None),
    ("https://", None),
    ("https://docs.linqapp.com/" + "a" * 600, None),  # longer than anything worth showing
    (" https://docs.linqapp.com/x\n", "https://docs.linqapp.com/x"),
    (12, None),
    (None, None),
])
def test_only_http_and_https_doc_links_are_kept(value, parsed):
    assert parse_doc_url(value) == parsed


def test_a_reputation_is_an_object_or_a_bare_string():
    assert parse_reputation({"status": "CRITICAL", "doc_url": "https://d.example/c"}) == ("CRITICAL", "https://d.example/c")
    assert parse_reputation({"status": "SHAKY", "doc_url": "javascript:x"}) == ("UNKNOWN", None)
    assert parse_reputation("AT_RISK") == ("AT_RISK", None)
    assert parse_reputation(None) == (None, None)
    assert parse_reputation([1, 2]) == (None, None)


@pytest.fixture
def client(sandbox_server):
    state = sandbox_server.state
    state.reset()
    state.add_account(TOKEN, [NUMBER, "+15550003002", "+15550003003", "+15550003004"])
    return LinqClient(TOKEN, base_url=sandbox_server.url), state


def test_the_sandbox_lists_each_lines_health_and_odd_values_do_not_break_the_read(client):
    linq, state = client
    state.set_line(NUMBER, status="FLAGGED", reputation="AT_RISK")
    state.set_line("+15550003002", status="ON_FIRE", reputation="UNHEARD_OF")  # values this app does not know
    state.set_line("+15550003003", reputation=7)  # the wrong type altogether
    lines = {info.phone_number: info for info in linq.list_phone_numbers()}
    flagged = lines[NUMBER]
    assert (flagged.status, flagged.reputation) == ("FLAGGED", "AT_RISK")
    assert flagged.doc_url == "https://docs.linqapp.com/reputation/at_risk"
    assert (lines["+15550003002"].status, lines["+15550003002"].reputation) == ("UNKNOWN", "UNKNOWN")
    assert (lines["+15550003003"].status, lines["+15550003003"].reputation) == ("ACTIVE", None)
    assert (lines["+15550003004"].status, lines["+15550003004"].reputation, lines["+15550003004"].doc_url) == (
        "ACTIVE", "HEALTHY", None)
