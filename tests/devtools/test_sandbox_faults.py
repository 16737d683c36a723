"""The sandbox misbehaves on request, over real HTTP, from tests and from `manage.py sandboxfault`."""

from __future__ import annotations

import io
import threading

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.linq import LinqClient, LinqError


@pytest.fixture
def linq(team, settings) -> LinqClient:
    return LinqClient(TOKEN, base_url=settings.LINQ_API_BASE_URL, read_timeout=2)


@pytest.mark.parametrize("where,fmt", [("header", "http_date"), ("body", "seconds"), ("both", "seconds")])
def test_429_carries_retry_after_where_asked(linq, sandbox, where, fmt):
    sandbox.add_fault({"kind": "error", "status": 429, "code": 1007, "retry_after": 60, "times": 1,
                       "retry_after_in": where, "retry_after_format": fmt})
    with pytest.raises(LinqError) as caught:
        linq.get_card(CARD_NUMBER)
    assert caught.value.status == 429 and 58 <= caught.value.retry_after <= 60


def test_faults_can_target_one_number(linq, sandbox):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "number": EMPTY_NUMBER})
    assert linq.get_card(CARD_NUMBER).first_name == "Acme"
    with pytest.raises(LinqError):
        linq.get_card(EMPTY_NUMBER)


def test_inactive_fault_leaves_the_written_card_not_active(linq, sandbox):
    sandbox.add_fault({"kind": "inactive", "methods": ["PATCH"], "times": 1})
    assert linq.update_card(CARD_NUMBER, {"first_name": "X"}).card.is_active is False
    assert linq.get_card(CARD_NUMBER).is_active is False


def test_a_write_that_times_out_may_still_apply(linq, sandbox):
    sandbox.add_fault({"kind": "timeout", "seconds": 2.5, "methods": ["PATCH"], "times": 1})
    with pytest.raises(LinqError) as caught:
        linq.update_card(CARD_NUMBER, {"first_name": "Applied"})
    assert caught.value.kind == "timeout" and caught.value.outcome_unknown
    assert linq.get_card(CARD_NUMBER).first_name == "Applied"


def test_the_control_endpoint_adds_lists_and_clears_faults(sandbox, settings):
    url = settings.LINQ_API_BASE_URL + "/_sandbox/faults"
    assert requests.post(url, json={"kind": "latency", "seconds": 0.01}, timeout=5).status_code == 200
    assert [f["kind"] for f in requests.get(url, timeout=5).json()["faults"]] == ["latency"]
    assert requests.post(url, json={"kind": "nonsense"}, timeout=5).status_code == 400
    assert requests.delete(url, timeout=5).status_code == 200
    assert sandbox.faults == []


def test_sandboxfault_command_switches_faults(sandbox):
    out = io.StringIO()
    call_command("sandboxfault", "error", "--status", "500", "--code", "2022", "--number", CARD_NUMBER,
                 "--methods", "patch", "--times", "2", stdout=out)
    fault = sandbox.faults[0]
    assert (fault.kind, fault.status, fault.code, fault.number, fault.methods, fault.times) == (
        "error", 500, 2022, CARD_NUMBER, ("PATCH",), 2)
    call_command("sandboxfault", "remote_change", "--set", "first_name=Someone", stdout=out)
    assert sandbox.faults[1].changes == {"first_name": "Someone"}
    call_command("sandboxfault", "timeout", "--seconds", "25", "--no-apply", stdout=out)
    assert sandbox.faults[2].apply_write is False
    listed = io.StringIO()
    call_command("sandboxfault", "--list", stdout=listed)
    assert "remote_change" in listed.getvalue()
    call_command("sandboxfault", "--clear", stdout=out)
    assert sandbox.faults == []


def test_sandboxfault_refuses_anything_but_the_local_sandbox(settings):
    with pytest.raises(CommandError, match="not the local sandbox"):
        call_command("sandboxfault", "--clear", "--base-url", "https://api.linqapp.com/api/partner")


def test_sandboxfault_defaults_to_the_demo_sandbox_when_the_app_points_at_linq(settings, monkeypatch):
    from devtools.demo.management.commands.sandboxfault import control_url

    settings.LINQ_API_BASE_URL = "https://api.linqapp.com/api/partner"
    monkeypatch.setenv("SANDBOX_PORT", "8799")
    assert control_url() == "http://127.0.0.1:8799/api/partner/_sandbox/faults"


# -- writes Linq applies after the client gave up (issue 19) -------------------------------------------


def test_a_dropped_write_can_be_applied_later_and_the_log_says_when(linq, sandbox):
    sandbox.add_fault({"kind": "drop", "apply_write": "later", "methods": ["PATCH"], "times": 1})
    with pytest.raises(LinqError) as caught:
        linq.update_card(CARD_NUMBER, {"first_name": "Late"})
    assert caught.value.outcome_unknown
    assert linq.get_card(CARD_NUMBER).first_name == "Acme"  # not yet
    [parked] = sandbox.parked()
    assert parked.body == {"first_name": "Late"} and parked.applied is None
    assert sandbox.apply_deferred() == 1 and sandbox.parked() == []
    assert linq.get_card(CARD_NUMBER).first_name == "Late"
    [write] = sandbox.writes_for(CARD_NUMBER)
    assert write.applied is True and write.applied_at >= write.at


def test_the_log_says_which_writes_never_changed_the_card(linq, sandbox):
    sandbox.add_fault({"kind": "drop", "apply_write": False, "methods": ["PATCH"], "times": 1})
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "methods": ["PATCH"], "skip": 1, "times": 1})
    for name in ("Lost", "Refused"):
        with pytest.raises(LinqError):
            linq.update_card(CARD_NUMBER, {"first_name": name})
    linq.update_card(CARD_NUMBER, {"first_name": "Kept"})
    assert [(w.body["first_name"], w.applied) for w in sandbox.writes_for(CARD_NUMBER)] == [
        ("Lost", False), ("Refused", False), ("Kept", True)]


def test_an_answer_can_come_first_and_the_write_after_a_delay(linq, sandbox, settings):
    url = settings.LINQ_API_BASE_URL + "/_sandbox"
    requests.post(url + "/faults", json={"kind": "answer", "status": 504, "body": "<html>Gateway Timeout</html>",
                                         "content_type": "text/html", "apply_write": "later", "apply_after": 0.2,
                                         "methods": ["PATCH"], "times": 1}, timeout=5).raise_for_status()
    with pytest.raises(LinqError) as caught:
        linq.update_card(CARD_NUMBER, {"first_name": "Eventually"})
    assert caught.value.status == 504 and caught.value.outcome_unknown  # no Linq code: says nothing
    for _ in range(200):  # a condition, not a duration: the sandbox's timer applies it
        if sandbox.cards[CARD_NUMBER]["first_name"] == "Eventually":
            break
        threading.Event().wait(0.02)
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Eventually"
    assert requests.get(url + "/deferred", timeout=5).json() == {"deferred": []}


def test_parked_writes_are_listed_and_applied_through_the_control_endpoint(linq, sandbox, settings):
    url = settings.LINQ_API_BASE_URL + "/_sandbox"
    sandbox.add_fault({"kind": "drop", "apply_write": "later", "methods": ["PATCH"], "times": 1})
    with pytest.raises(LinqError):
        linq.update_card(CARD_NUMBER, {"first_name": "Parked"})
    assert [w["body"] for w in requests.get(url + "/deferred", timeout=5).json()["deferred"]] == [
        {"first_name": "Parked"}]
    assert requests.post(url + "/deferred/apply", json={}, timeout=5).json() == {"applied": 1}
    assert sandbox.cards[CARD_NUMBER]["first_name"] == "Parked"


def test_a_request_waiting_when_the_sandbox_is_reset_never_touches_the_new_state(linq, sandbox):
    sandbox.add_fault({"kind": "hold", "seconds": 30, "methods": ["PATCH"], "times": 1})
    failures = []

    def write() -> None:
        try:
            linq.update_card(CARD_NUMBER, {"first_name": "From before"})
        except LinqError as error:
            failures.append(error)

    writing = threading.Thread(target=write)
    writing.start()
    for _ in range(500):
        if sandbox.writes_for(CARD_NUMBER):
            break
        threading.Event().wait(0.02)
    assert sandbox.writes_for(CARD_NUMBER), "the PATCH never reached the sandbox"
    sandbox.reset()  # lets the held request go on (the next test's sandbox, say)
    sandbox.add_account(TOKEN, [CARD_NUMBER])
    sandbox.set_card(CARD_NUMBER, first_name="Fresh")
    writing.join(30)
    assert len(failures) == 1 and sandbox.cards[CARD_NUMBER]["first_name"] == "Fresh"
    assert sandbox.writes_for(CARD_NUMBER) == []


def test_sandboxfault_can_park_a_write_for_later(sandbox):
    call_command("sandboxfault", "drop", "--methods", "patch", "--apply-after", "5", stdout=io.StringIO())
    fault = sandbox.faults[0]
    assert (fault.apply_write, fault.apply_after) == ("later", 5.0)
    with pytest.raises(ValueError, match="apply_write"):
        sandbox.add_fault({"kind": "drop", "apply_write": "sometimes"})


def test_sandboxfault_changes_a_lines_health_and_assigns_and_releases_lines(sandbox, settings):
    """Issue 23: the command and the control plane change what the sandbox says about a line; each change
    becomes the ``phone_number.*`` event a subscriber gets."""
    sandbox.add_account("line-token", [CARD_NUMBER])
    sandbox.webhooks.create("line-token", {"target_url": "http://127.0.0.1:9/hooks/", "subscribed_events": [
        "phone_number.status_updated", "phone_number.assigned", "phone_number.released"]})
    out = io.StringIO()
    call_command("sandboxfault", "--line", CARD_NUMBER, "--line-status", "FLAGGED", "--reputation", "AT_RISK",
                 stdout=out)
    assert sandbox.line(CARD_NUMBER) == {"status": "FLAGGED", "reputation": "AT_RISK",
                                         "doc_url": "https://docs.linqapp.com/reputation/at_risk"}
    call_command("sandboxfault", "--assign", "+15550001099", "--token", "line-token", stdout=out)
    assert "+15550001099" in sandbox.accounts["line-token"]
    call_command("sandboxfault", "--release", CARD_NUMBER, stdout=out)
    assert CARD_NUMBER not in sandbox.accounts["line-token"]
    events = [delivery.event_type for delivery in sandbox.webhooks.outbox]
    assert events == ["phone_number.status_updated", "phone_number.assigned", "phone_number.released"]
    updated = __import__("json").loads(sandbox.webhooks.outbox[0].body)["data"]
    assert (updated["previous_status"], updated["new_status"]) == ("ACTIVE", "FLAGGED")
    assert updated["new_reputation"]["status"] == "AT_RISK" and updated["changed_at"]
    with pytest.raises(CommandError, match="--line needs"):
        call_command("sandboxfault", "--line", CARD_NUMBER, stdout=out)
    url = settings.LINQ_API_BASE_URL + "/_sandbox/lines"
    assert requests.post(url, json={"phone_number": CARD_NUMBER, "reputation": "CRITICAL"}, timeout=5).json()[
        "reputation"] == "CRITICAL"
    assert requests.post(url, json={"reputation": "CRITICAL"}, timeout=5).status_code == 400
