"""The demo's tools of issue 26: playing a change made in Linq's own dashboard (`manage.py outsidechange`),
`sandboxfault` naming the address it tried, and https links on the sandbox's CDN when the demo publishes it."""

from __future__ import annotations

import io
import socket

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry
from devtools.demo.management.commands import sandboxfault
from devtools.demo.management.commands.demo import move_demo_photos
from devtools.localtls import StaticTLSServer, self_signed_certificate
from devtools.sandbox import SandboxServer, SandboxState
from devtools.sandbox.app import API_PREFIX, SandboxApp
from tests.support.helpers import sign_in_as


def closed_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- outsidechange ---------------------------------------------------------------------------------------


def test_outsidechange_changes_the_card_at_linq_and_the_app_finds_it_as_an_outside_change(client, alice, team,
                                                                                         sandbox):
    sign_in_as(client, alice)
    assert client.get(f"/t/acme/numbers/{CARD_NUMBER}/").status_code == 200  # the mirror knows the card
    out = io.StringIO()
    call_command("outsidechange", "+1 555 000 1001", "--set", "last_name=Marketing", stdout=out)
    assert sandbox.cards[CARD_NUMBER]["last_name"] == "Marketing"
    assert sandbox.cards[CARD_NUMBER]["is_active"] is True  # left as it was
    assert "Marketing" in out.getvalue() and "now active" in out.getvalue()

    assert client.get(f"/t/acme/numbers/{CARD_NUMBER}/").status_code == 200  # someone opens the number
    entry = AuditEntry.objects.get(action=AuditEntry.Action.OUTSIDE)
    assert entry.changes == {"last_name": ["Support", "Marketing"]}


def test_outsidechange_keeps_a_pending_card_pending_unless_asked_and_can_remove_a_card(team, sandbox):
    sandbox.set_card(EMPTY_NUMBER, first_name="Acme", is_active=False)
    call_command("outsidechange", EMPTY_NUMBER, "--set", "first_name=Acme New", stdout=io.StringIO())
    assert sandbox.cards[EMPTY_NUMBER]["is_active"] is False
    call_command("outsidechange", EMPTY_NUMBER, "--active", stdout=io.StringIO())
    assert (sandbox.cards[EMPTY_NUMBER]["first_name"], sandbox.cards[EMPTY_NUMBER]["is_active"]) == ("Acme New", True)
    call_command("outsidechange", EMPTY_NUMBER, "--delete", stdout=io.StringIO())
    assert EMPTY_NUMBER not in sandbox.cards


@pytest.mark.parametrize(("args", "problem"), [
    (["+1555abc"], "is not a phone number"),
    ([CARD_NUMBER], "Say what changes"),
    ([CARD_NUMBER, "--set", "nickname=x"], "Unknown field nickname"),
    ([CARD_NUMBER, "--set", "last_name"], "FIELD=VALUE"),
    ([CARD_NUMBER, "--delete", "--set", "last_name=x"], "takes no --set"),
    ([CARD_NUMBER, "--set", "last_name=x", "--base-url", "https://api.linqapp.com/api/partner"],
     "not the local sandbox"),
])
def test_outsidechange_refuses_what_it_cannot_do(team, sandbox, args, problem):
    before = dict(sandbox.cards[CARD_NUMBER])
    with pytest.raises(CommandError, match=problem):
        call_command("outsidechange", *args, stdout=io.StringIO())
    assert sandbox.cards[CARD_NUMBER] == before


# -- sandboxfault names what it tried ----------------------------------------------------------------------


def test_without_sandbox_port_sandboxfault_names_the_default_port_it_tried(settings, monkeypatch):
    settings.LINQ_API_BASE_URL = "https://api.linqapp.com/api/partner"
    monkeypatch.delenv("SANDBOX_PORT", raising=False)
    port = closed_port()
    monkeypatch.setattr(sandboxfault, "DEFAULT_SANDBOX_PORT", port)
    with pytest.raises(CommandError) as raised:
        call_command("sandboxfault", "--list")
    message = str(raised.value)
    assert f"http://127.0.0.1:{port}/api/partner/_sandbox/faults" in message
    assert f"port {port}" in message and "SANDBOX_PORT is not set" in message


def test_with_sandbox_port_sandboxfault_says_it_came_from_there(settings, monkeypatch):
    settings.LINQ_API_BASE_URL = "https://api.linqapp.com/api/partner"
    port = closed_port()
    monkeypatch.setenv("SANDBOX_PORT", str(port))
    with pytest.raises(CommandError, match=f"port {port}, the demo's sandbox, SANDBOX_PORT={port}"):
        call_command("outsidechange", CARD_NUMBER, "--set", "last_name=x")


# -- the demo's photo links are https ----------------------------------------------------------------------


@pytest.fixture
def published_cdn(tmp_path):
    """The demo's https file server (localtls) with the sandbox's CDN published in it."""
    cert, key = self_signed_certificate(tmp_path / "tls")
    files = StaticTLSServer(tmp_path / "photos", cert, key).start()
    state = SandboxState()
    state.publish_cdn(files.url + "linq-cdn/", tmp_path / "photos" / "linq-cdn")
    sandbox = SandboxServer(state).start()
    yield state, sandbox, files, cert
    sandbox.stop()
    files.stop()


def test_the_demo_cards_photo_is_an_https_link_the_file_server_serves(published_cdn):
    state, sandbox, files, cert = published_cdn
    state.load_demo(sandbox.root_url)
    link = state.cards["+15550100001"]["image_url"]
    assert link == f"{files.url}linq-cdn/contact-card/acme.svg"
    answer = requests.get(link, verify=str(cert), timeout=5)
    assert answer.status_code == 200 and answer.content.startswith(b"<svg")


def test_a_photo_linq_rehosts_comes_back_as_https(published_cdn):
    state, sandbox, files, cert = published_cdn
    state.add_account("demo-token", [CARD_NUMBER])
    state.set_card(CARD_NUMBER, first_name="Acme")
    answer = requests.patch(f"{sandbox.url}/v3/contact_card", params={"phone_number": CARD_NUMBER},
                            json={"image_url": "https://photos.example.com/logo.png"},
                            headers={"Authorization": "Bearer demo-token"}, timeout=5)
    assert answer.status_code == 200, answer.text
    link = state.cards[CARD_NUMBER]["image_url"]
    assert link.startswith(f"{files.url}linq-cdn/contact-card/") and link.endswith(".svg")
    assert requests.get(link, verify=str(cert), timeout=5).status_code == 200


def test_old_http_demo_links_move_to_the_published_https_cdn(published_cdn):
    state, sandbox, files, _cert = published_cdn
    state.set_card("+15550100001", image_url=f"http://127.0.0.1:8765{API_PREFIX}/cdn/contact-card/acme.svg")
    state.set_card("+15550100002", image_url="https://cdn.example.com/x.png")
    move_demo_photos(state, sandbox.root_url)
    assert state.cards["+15550100001"]["image_url"] == f"{files.url}linq-cdn/contact-card/acme.svg"
    assert state.cards["+15550100002"]["image_url"] == "https://cdn.example.com/x.png"


def test_without_a_published_cdn_the_sandbox_serves_its_own_as_before():
    state = SandboxState()
    state.load_demo("http://127.0.0.1:8765")
    assert state.cards["+15550100001"]["image_url"] == f"http://127.0.0.1:8765{API_PREFIX}/cdn/contact-card/acme.svg"
    assert SandboxApp._avatar("/cdn/contact-card/acme.svg").startswith(b"<svg")
