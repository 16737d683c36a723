"""The Linq client: typed results, one error type for every failure, writes never retried.

Most tests talk to the sandbox over real HTTP; odd answers that the sandbox does
not produce (HTTP-date Retry-After, unexpected shapes) use the `responses` library.
"""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
import responses

from contactcards.linq import Card, LinqClient, LinqError
from contactcards.linq.client import (
    MAX_CODE,
    MAX_RETRY_AFTER,
    MAX_TRACE_ID,
    clean_text,
    clean_trace_id,
    parse_card,
    parse_code,
    parse_retry_after,
)
from devtools.sandbox import SandboxState

TOKEN = "client-test-token"
NUMBER = "+15550002001"
BASE = "https://linq.test/api/partner"


@pytest.fixture
def server(sandbox_server):
    """The session's sandbox server (root conftest); no Django settings needed here."""
    return sandbox_server


@pytest.fixture
def state(server, sandbox) -> SandboxState:
    """``sandbox`` (root conftest) resets the shared sandbox and its clock."""
    server.state.add_account(TOKEN, [NUMBER, "+15550002002"])
    server.state.set_card(NUMBER, first_name="Ada", last_name="Lovelace", image_url="https://cdn.linqapp.com/a.png")
    return server.state


@pytest.fixture
def client(server, state) -> LinqClient:
    return LinqClient(TOKEN, base_url=server.url, connect_timeout=1, read_timeout=1)


def test_get_card_returns_typed_card(client):
    card = client.get_card(NUMBER)
    assert card == Card(NUMBER, "Ada", "Lovelace", "https://cdn.linqapp.com/a.png", True)


def test_get_card_sends_bearer_token_and_number(client, state):
    client.get_card(NUMBER)
    request = state.requests[-1]
    assert request.token == TOKEN
    assert request.query == {"phone_number": NUMBER}


def test_get_card_404_2012_is_no_card(client):
    assert client.get_card("+15550002002") is None


@responses.activate
def test_get_card_empty_list_is_no_card():
    responses.get(f"{BASE}/v3/contact_card", json={"contact_cards": []})
    assert LinqClient(TOKEN, base_url=BASE).get_card(NUMBER) is None


def test_update_card_sends_exactly_the_given_fields(client, state):
    result = client.update_card(NUMBER, {"last_name": "King"})
    request = state.requests[-1]
    assert request.method == "PATCH"
    assert request.query == {"phone_number": NUMBER}
    assert request.body == {"last_name": "King"}
    assert result.card.last_name == "King"
    assert result.card.first_name == "Ada"  # merged, not replaced
    assert result.status == 200 and len(result.trace_id) == 32


def test_update_card_refuses_unknown_or_empty_changes(client):
    with pytest.raises(ValueError):
        client.update_card(NUMBER, {"nickname": "x"})
    with pytest.raises(ValueError):
        client.update_card(NUMBER, {})


def test_create_card_posts_number_in_body(client, state):
    result = client.create_card("+15550002002", first_name="Grace")
    assert state.requests[-1].body == {"phone_number": "+15550002002", "first_name": "Grace"}
    assert result.card.first_name == "Grace" and result.status == 201


def test_create_card_on_existing_card_is_409_2014(client):
    with pytest.raises(LinqError) as caught:
        client.create_card(NUMBER, first_name="Again")
    assert (caught.value.status, caught.value.code) == (409, 2014)
    assert not caught.value.retryable


def test_list_cards_and_phone_numbers(client):
    assert [c.phone_number for c in client.list_cards()] == [NUMBER]
    assert {n.phone_number for n in client.list_phone_numbers()} == {NUMBER, "+15550002002"}


def test_wrong_token_is_401_2004(server, state):
    with pytest.raises(LinqError) as caught:
        LinqClient("wrong", base_url=server.url).get_card(NUMBER)
    assert (caught.value.status, caught.value.code, caught.value.kind) == (401, 2004, "api")
    assert caught.value.trace_id


def test_non_e164_is_400_1002(client):
    with pytest.raises(LinqError) as caught:
        client.get_card("5550002001")
    assert (caught.value.status, caught.value.code) == (400, 1002)


def test_write_budget_429_carries_retry_after(client, state):
    for name in ("A", "B", "C"):
        client.update_card(NUMBER, {"first_name": name})
    with pytest.raises(LinqError) as caught:
        client.update_card(NUMBER, {"first_name": "D"})
    error = caught.value
    assert (error.status, error.code) == (429, 1007)
    assert 590 <= error.retry_after <= 600
    assert error.retryable


def test_writes_are_never_retried(client, state):
    state.add_fault({"kind": "error", "status": 500, "code": 2022, "methods": ["PATCH"]})
    with pytest.raises(LinqError) as caught:
        client.update_card(NUMBER, {"first_name": "Once"})
    assert caught.value.code == 2022 and caught.value.retryable
    assert len(state.writes_for(NUMBER)) == 1


def test_read_timeout_is_a_linq_error_with_unknown_outcome(client, state):
    state.add_fault({"kind": "timeout", "seconds": 1.5, "methods": ["PATCH"], "times": 1})
    with pytest.raises(LinqError) as caught:
        client.update_card(NUMBER, {"first_name": "Slow"})
    assert caught.value.kind == "timeout"
    assert caught.value.outcome_unknown


def test_dropped_connection_is_a_linq_error(client, state):
    state.add_fault({"kind": "drop", "methods": ["GET"], "times": 1})
    with pytest.raises(LinqError) as caught:
        client.get_card(NUMBER)
    assert caught.value.kind == "connection"


def test_refused_connection_is_never_sent():
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url="http://127.0.0.1:9", connect_timeout=1).update_card(NUMBER, {"first_name": "x"})
    assert caught.value.kind == "connection"
    assert caught.value.sent is False and not caught.value.outcome_unknown


def test_html_error_body_becomes_linq_error(client, state):
    state.add_fault({"kind": "non_json", "times": 1})
    with pytest.raises(LinqError) as caught:
        client.get_card(NUMBER)
    assert caught.value.status == 502
    assert "502 Bad Gateway" in caught.value.message
    assert caught.value.code is None and caught.value.retryable


@responses.activate
def test_success_with_non_json_body_is_malformed():
    responses.patch(f"{BASE}/v3/contact_card", body="OK", status=200)
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url=BASE).update_card(NUMBER, {"first_name": "x"})
    assert caught.value.kind == "malformed" and caught.value.outcome_unknown


@pytest.mark.parametrize("payload", [
    {"cards": []},
    {"contact_cards": "nope"},
    {"contact_cards": [{"first_name": "no number"}]},
    {"contact_cards": [{"phone_number": 15550100001, "first_name": "x"}]},
    ["not", "an", "object"],
])
@responses.activate
def test_unexpected_shapes_are_malformed(payload):
    responses.get(f"{BASE}/v3/contact_card", json=payload)
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url=BASE).get_card(NUMBER)
    assert caught.value.kind == "malformed"


@responses.activate
def test_error_envelope_fields_and_header_fallbacks():
    responses.patch(
        f"{BASE}/v3/contact_card", status=429,
        json={"success": False, "error": {"status": 429, "code": 1007, "message": "Slow down"}},
        headers={"Retry-After": "42", "X-Trace-ID": "f" * 32},
    )
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url=BASE).update_card(NUMBER, {"first_name": "x"})
    error = caught.value
    assert (error.message, error.retry_after, error.trace_id) == ("Slow down", 42, "f" * 32)


@responses.activate
def test_retry_after_as_http_date():
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    responses.patch(f"{BASE}/v3/contact_card", status=429, body="", headers={"Retry-After": when})
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url=BASE).update_card(NUMBER, {"first_name": "x"})
    assert 115 <= caught.value.retry_after <= 121


@pytest.mark.parametrize("value,expected", [
    ("30", 30), (12, 12), (1.2, 2), ("-5", 0), ("soon", None), (None, None), ("", None), (True, None),
    (-1e308, 0), (float("-inf"), 0), (float("inf"), MAX_RETRY_AFTER), (float("nan"), MAX_RETRY_AFTER),
    ("1e400", MAX_RETRY_AFTER), ("-1e400", 0), ("nan", MAX_RETRY_AFTER), (10**400, MAX_RETRY_AFTER),
    (-(10**400), 0), (MAX_RETRY_AFTER + 1, MAX_RETRY_AFTER), ("Tue, 01 Jun 2105 00:00:00 GMT", MAX_RETRY_AFTER),
    ("Mon, 01 Jan 1990 00:00:00 GMT", 0), ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
    ("Sat, 32 Foo 99999 99:99:99 GMT", None), ([30], None), ({"seconds": 30}, None), ("3\x000", 30),
])
def test_parse_retry_after_clamps_to_a_sane_range(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value,code,text", [
    (2012, 2012, None), ("2012", 2012, None), (2012.0, 2012, None), (0, 0, None), (MAX_CODE, MAX_CODE, None),
    (-1, None, "-1"), (2**40, None, str(2**40)), (10**60, None, str(10**60)[:40] + "…"), (True, None, None),
    (None, None, None), (1.5, None, "1.5"), ("E2012", None, "E2012"), ([1], None, "[1]"),
])
def test_parse_code_accepts_any_integer_and_stores_safely(value, code, text):
    assert parse_code(value) == (code, text)


def test_trace_ids_are_cleaned_and_long_ones_shortened_with_a_hash():
    assert clean_trace_id("abc") == "abc"
    assert clean_trace_id("a\x00b\nc") == "abc"
    assert clean_trace_id(42) is None and clean_trace_id("  ") is None
    long_a, long_b = "t" * 300, "t" * 299 + "u"
    assert len(clean_trace_id(long_a)) == MAX_TRACE_ID and clean_trace_id(long_a).startswith("t" * 40)
    assert clean_trace_id(long_a) != clean_trace_id(long_b)


def test_strings_lose_nul_and_unpaired_surrogates():
    assert clean_text("Ac\x00me\ud800!") == "Acme\ufffd!"
    card = parse_card({"phone_number": NUMBER, "first_name": "A\x00b", "last_name": 7, "image_url": ["x"],
                       "is_active": "yes"})
    assert (card.first_name, card.last_name, card.image_url, card.is_active) == ("Ab", None, None, False)


@responses.activate
def test_connect_timeout_is_not_sent():
    responses.patch(f"{BASE}/v3/contact_card", body=requests.exceptions.ConnectTimeout())
    with pytest.raises(LinqError) as caught:
        LinqClient(TOKEN, base_url=BASE).update_card(NUMBER, {"first_name": "x"})
    assert caught.value.kind == "timeout" and caught.value.sent is False


def test_repr_never_shows_the_token():
    client = LinqClient("secret-token-1234", base_url=BASE)
    assert "secret-token-1234" not in repr(client)


def test_without_a_token_nothing_is_sent(server, state):
    client = LinqClient("", base_url=server.url)
    with pytest.raises(LinqError) as caught:
        client.update_card(NUMBER, {"first_name": "x"})
    assert (caught.value.kind, caught.value.sent, caught.value.retryable) == ("token", False, False)
    assert state.requests == []
