"""The audit streams page: owners add, change, pause, resume, re-key and delete streams; every member sees
each stream's state; outsiders get 404, read-only members 403; odd or refused targets get the form back."""

from __future__ import annotations

import pytest

from contactcards.models import AuditEntry, AuditStream, StreamMessage
from contactcards.streams import services
from tests.support.helpers import sign_in_as, text

PAGE = "/t/acme/settings/streams/"
ADD = PAGE + "add/"


def change_url(stream) -> str:
    return f"{PAGE}{stream.pk}/"


def action_url(stream) -> str:
    return f"{PAGE}{stream.pk}/action/"


@pytest.fixture
def stream(team, alice, stream_settings):
    return services.stream_create(team=team, user=alice, name="SIEM", kind="webhook",
                                  url="https://127.0.0.1:8443/audit").stream


WEBHOOK = {"name": "SIEM", "kind": "webhook", "url": "https://127.0.0.1:8443/audit", "syslog_facility": "13"}


# -- it works ---------------------------------------------------------------------------------------------------


def test_an_owner_adds_a_webhook_stream_and_sees_its_secret_once(client, alice, stream_settings):
    sign_in_as(client, alice)
    response = client.post(ADD, WEBHOOK)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    stream = AuditStream.objects.get()
    secret = stream.get_secret()
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert secret not in stream.secret_encrypted
    again = client.get(PAGE)
    assert secret not in again.content.decode() and "SIEM" in text(again)
    entry = AuditEntry.objects.get(action="stream_add")
    assert (entry.username, entry.subject) == ("alice", "SIEM")
    assert secret not in str(entry.changes) and "https://127.0.0.1:8443/audit" in str(entry.changes)
    assert StreamMessage.objects.get().entry_id == entry.pk  # its own creation is the first thing it sends


def test_an_owner_adds_a_syslog_stream(client, alice, stream_settings):
    sign_in_as(client, alice)
    response = client.post(ADD, {"name": "Syslog", "kind": "syslog", "syslog_host": "127.0.0.1",
                                 "syslog_port": "514", "syslog_transport": "tcp", "syslog_facility": "10"})
    assert response.status_code == 302
    stream = AuditStream.objects.get()
    assert (stream.target, stream.syslog_facility, stream.secret_encrypted) == ("tcp://127.0.0.1:514", 10, "")


def test_change_pause_resume_rotate_and_delete_are_each_in_the_history(client, alice, stream):
    sign_in_as(client, alice)
    before = stream.get_secret()
    assert client.post(change_url(stream), {f"s{stream.pk}-name": "SIEM 2",
                                            f"s{stream.pk}-url": "https://127.0.0.1:9443/in"}).status_code == 302
    stream.refresh_from_db()
    assert (stream.name, stream.url) == ("SIEM 2", "https://127.0.0.1:9443/in")
    assert client.post(action_url(stream), {"action": "pause"}).status_code == 302
    assert "Paused" in text(client.get(PAGE))
    assert client.post(action_url(stream), {"action": "resume"}).status_code == 302
    rotated = client.post(action_url(stream), {"action": "rotate"})
    stream.refresh_from_db()
    assert stream.get_secret() != before and stream.get_secret() in rotated.content.decode()
    assert client.post(action_url(stream), {"action": "delete"}).status_code == 302
    assert not AuditStream.objects.exists() and not StreamMessage.objects.exists()
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["stream_add", "stream_change", "stream_pause", "stream_resume", "stream_secret",
                       "stream_delete"]
    change = AuditEntry.objects.get(action="stream_change").changes
    assert change == {"name": ["SIEM", "SIEM 2"], "url": ["https://127.0.0.1:8443/audit", "https://127.0.0.1:9443/in"]}
    assert all(before not in str(e.changes) for e in AuditEntry.objects.all())
    history = client.get("/t/acme/history/")
    assert history.status_code == 200
    page = text(history)
    assert all(words in page for words in ("Add audit stream", "Pause audit stream", "Rotate audit stream secret",
                                           "Delete audit stream"))


def test_every_member_sees_the_streams_and_their_state(client, bob, vera, stream):
    for member in (bob, vera):
        response = sign_in_as(client, member).get(PAGE)
        assert response.status_code == 200
        page = text(response)
        assert "SIEM" in page and "on its way" in page and "Only the team's owners" in page
        assert "Add stream" not in page and 'value="delete"' not in response.content.decode()
    assert "SIEM" in text(client.get("/t/acme/settings/"))


# -- it checks ownership (404 for outsiders, 403 for everyone but owners) -----------------------------------------


def test_outsiders_get_404_everywhere(client, charlie, stream):
    sign_in_as(client, charlie)
    assert client.get(PAGE).status_code == 404
    assert client.post(ADD, WEBHOOK).status_code == 404
    assert client.post(change_url(stream), {f"s{stream.pk}-name": "x"}).status_code == 404
    assert client.post(action_url(stream), {"action": "delete"}).status_code == 404
    assert AuditStream.objects.filter(pk=stream.pk, name="SIEM").exists()


def test_another_teams_stream_is_404_for_an_owner(client, alice, charlie, other_team, stream_settings):
    theirs = services.stream_create(team=other_team, user=charlie, name="Theirs", kind="webhook",
                                    url="https://127.0.0.1:8443/x").stream
    sign_in_as(client, alice)
    assert client.post(action_url(theirs), {"action": "delete"}).status_code == 404
    assert client.post(change_url(theirs), {f"s{theirs.pk}-name": "x"}).status_code == 404
    assert AuditStream.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("who", ["bob", "vera"])
def test_it_requires_the_owner_role(client, who, bob, vera, stream):
    sign_in_as(client, {"bob": bob, "vera": vera}[who])
    assert client.post(ADD, WEBHOOK).status_code == 403
    assert client.post(change_url(stream), {f"s{stream.pk}-name": "x"}).status_code == 403
    for action in ("pause", "rotate", "delete"):
        assert client.post(action_url(stream), {"action": action}).status_code == 403
    stream.refresh_from_db()
    assert (stream.name, stream.paused, AuditStream.objects.count()) == ("SIEM", False, 1)


def test_methods(client, alice, stream):
    sign_in_as(client, alice)
    assert client.post(PAGE).status_code == 405
    assert client.get(ADD).status_code == 405
    assert client.get(change_url(stream)).status_code == 405
    assert client.get(action_url(stream)).status_code == 405


# -- it handles bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1:8443/audit", "must start with https://"),
    ("https://127.0.0.2:8443/audit", "not public (127.0.0.2)"),
    ("https://10.0.0.5/audit", "not public (10.0.0.5)"),
    ("https://no-such-host.invalid/", "does not resolve"),
    ("https://user:pw@127.0.0.1/", "not a valid https address"),
    ("", "Give the https address"),
])
def test_a_refused_webhook_address_gets_the_form_back(client, alice, stream_settings, url, words):
    sign_in_as(client, alice)
    response = client.post(ADD, {**WEBHOOK, "url": url})
    assert response.status_code == 400 and words in text(response)
    assert not AuditStream.objects.exists()


def test_a_syslog_stream_needs_a_public_host_and_a_port(client, alice, stream_settings):
    sign_in_as(client, alice)
    missing = client.post(ADD, {"name": "S", "kind": "syslog", "syslog_facility": "13"})
    assert missing.status_code == 400 and "Give the syslog server's port" in text(missing)
    private = client.post(ADD, {"name": "S", "kind": "syslog", "syslog_host": "192.168.1.20", "syslog_port": "514",
                                "syslog_facility": "13"})
    assert private.status_code == 400 and "not public (192.168.1.20)" in text(private)
    assert not AuditStream.objects.exists()


def test_an_unknown_action_or_kind_is_400(client, alice, stream):
    sign_in_as(client, alice)
    assert client.post(action_url(stream), {"action": "explode"}).status_code == 400
    assert client.post(ADD, {**WEBHOOK, "kind": "carrier-pigeon"}).status_code == 400
    syslog = services.stream_create(team=stream.team, user=alice, name="Syslog", kind="syslog",
                                    syslog_host="127.0.0.1", syslog_port=514, syslog_transport="udp").stream
    assert client.post(action_url(syslog), {"action": "rotate"}).status_code == 400  # no secret to rotate


def test_an_unchanged_stream_records_nothing(client, alice, stream):
    sign_in_as(client, alice)
    client.post(change_url(stream), {f"s{stream.pk}-name": "SIEM", f"s{stream.pk}-url": stream.url})
    assert not AuditEntry.objects.filter(action="stream_change").exists()
