"""The demo's sandbox: kept across restarts (so it agrees with the history), spare numbers to import."""

import json

import requests

from contactcards.models import PhoneNumber
from devtools.demo.management.commands.demo import move_demo_photos, seed_demo
from devtools.sandbox import SandboxServer, SandboxState
from devtools.sandbox.app import API_PREFIX


def test_sandbox_state_survives_a_restart(tmp_path):
    path = tmp_path / "sandbox.json"
    first = SandboxState(path=path)
    first.load_demo("http://127.0.0.1:8765")
    first.add_fault({"kind": "error", "status": 500, "code": 2022})
    server = SandboxServer(first).start()
    try:
        answer = requests.patch(f"{server.url}/v3/contact_card", params={"phone_number": "+15550100002"},
                                json={"first_name": "Changed"},
                                headers={"Authorization": f"Bearer {SandboxState.DEMO_TOKEN}"}, timeout=5)
        assert answer.status_code == 500  # the fault answered; nothing changed
        first.clear_faults()
        answer = requests.patch(f"{server.url}/v3/contact_card", params={"phone_number": "+15550100002"},
                                json={"first_name": "Changed"},
                                headers={"Authorization": f"Bearer {SandboxState.DEMO_TOKEN}"}, timeout=5)
        assert answer.status_code == 200
    finally:
        server.stop()
    second = SandboxState(path=path)
    assert second.load()
    assert second.cards["+15550100002"]["first_name"] == "Changed"
    assert len(second.writes["+15550100002"]) == 1  # the spent write counts after the restart too
    assert second.faults == []  # faults are a demo trick of one run, never kept
    assert second.accounts == first.accounts


def test_unreadable_state_is_ignored(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text("{not json")
    state = SandboxState(path=path)
    assert state.load() is False and state.cards == {}
    path.write_text(json.dumps({"cards": []}))
    assert state.load() is False
    assert SandboxState(path=tmp_path / "missing.json").load() is False
    SandboxState().save()  # no path: memory only, nothing written


def test_demo_has_spare_numbers_to_import(db):
    seed_demo()
    state = SandboxState()
    state.load_demo()
    visible = state.accounts[SandboxState.DEMO_TOKEN]
    on_team = set(PhoneNumber.objects.filter(team__slug="demo").values_list("e164", flat=True))
    assert on_team < visible
    assert visible - on_team == set(SandboxState.DEMO_SPARE_NUMBERS)


def test_demo_photos_follow_the_sandbox_to_another_port():
    state = SandboxState()
    state.load_demo("http://127.0.0.1:8765")
    state.set_card("+15550100002", image_url="https://cdn.example.com/x.png")
    move_demo_photos(state, "http://127.0.0.1:9765")
    assert state.cards["+15550100001"]["image_url"] == f"http://127.0.0.1:9765{API_PREFIX}/cdn/contact-card/acme.svg"
    assert state.cards["+15550100002"]["image_url"] == "https://cdn.example.com/x.png"
