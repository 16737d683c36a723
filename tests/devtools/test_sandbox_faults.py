"""The sandbox misbehaves on request, over real HTTP, from tests and from `manage.py sandboxfault`."""

from __future__ import annotations

import io

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
