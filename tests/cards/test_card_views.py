"""The card page end to end: GET pre-fills, POST diffs and PATCHes only what changed, errors inline."""

from __future__ import annotations

import pytest
from django.core import signing

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.cards.forms import sign_loaded
from contactcards.models import AuditEntry
from tests.support.helpers import EMPTY_URL, URL, sign_in_as, value_of
from tests.support.photo_fixtures import Route, png_bytes

LOADED = {"first_name": "Acme", "last_name": "Support", "image_url": "https://cdn.linqapp.com/contact-card/acme.png"}


def edit_data(**changes):
    data = {**LOADED, **changes}
    return {"action": "update", "loaded": sign_loaded(LOADED), **data}


# -- it works -----------------------------------------------------------------


def test_it_prefills_the_form_from_linq(client, alice):
    response = sign_in_as(client, alice).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert CARD_NUMBER in html
    assert value_of(html, "first_name") == "Acme"
    assert value_of(html, "last_name") == "Support"
    assert "Active" in html
    assert signing.loads(response.context["form"].initial["loaded"], salt="contactcards.card-loaded") == LOADED


def test_it_patches_only_the_changed_field(client, bob, sandbox):
    response = sign_in_as(client, bob).post(URL, edit_data(last_name="Help desk"))
    assert response.status_code == 200
    writes = sandbox.writes_for(CARD_NUMBER)
    assert len(writes) == 1
    assert writes[0].method == "PATCH" and writes[0].body == {"last_name": "Help desk"}
    assert "Saved" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert entry.changes == {"last_name": ["Support", "Help desk"]}
    assert entry.request_body == {"last_name": "Help desk"}
    assert (entry.outcome, entry.http_status, entry.username, entry.action) == ("success", 200, "bob", "update")
    assert entry.client_ip == "127.0.0.1"
    assert len(entry.trace_id) == 32


def test_it_trims_names_before_diffing(client, bob, sandbox):
    response = sign_in_as(client, bob).post(URL, edit_data(first_name="  Acme  ", last_name=" Support"))
    assert "Nothing changed" in response.content.decode()
    assert sandbox.writes_for(CARD_NUMBER) == []


def test_saving_without_changes_sends_nothing_and_writes_no_audit(client, bob, sandbox):
    response = sign_in_as(client, bob).post(URL, edit_data())
    assert response.status_code == 200
    assert "Nothing changed, so nothing was sent to Linq." in response.content.decode()
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert not AuditEntry.objects.exists()


def test_success_shows_the_card_as_linq_returned_it(client, bob, sandbox):
    sandbox.add_fault({"kind": "remote_change", "methods": ["PATCH"], "number": CARD_NUMBER,
                       "changes": {"last_name": "Changed elsewhere"}, "times": 1})
    response = sign_in_as(client, bob).post(URL, edit_data(first_name="Acme Corp"))
    card = response.context["card"]
    assert card.first_name == "Acme Corp" and card.last_name == "Changed elsewhere"


def test_inactive_card_is_shown_as_pending(client, alice, sandbox):
    sandbox.set_card(CARD_NUMBER, is_active=False)
    assert "Pending" in sign_in_as(client, alice).get(URL).content.decode()


def test_number_without_card_shows_create_form(client, bob):
    response = sign_in_as(client, bob).get(EMPTY_URL)
    assert response.context["mode"] == "create"
    assert "Set up a card" in response.content.decode()


def test_create_posts_a_card(client, bob, sandbox):
    response = sign_in_as(client, bob).post(EMPTY_URL, {"action": "create", "first_name": "New", "last_name": ""})
    assert response.status_code == 200
    assert sandbox.writes_for(EMPTY_NUMBER)[0].body == {"phone_number": EMPTY_NUMBER, "first_name": "New"}
    assert response.context["mode"] == "edit"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.changes) == ("create", "success", {"first_name": ["", "New"]})


def test_create_on_existing_card_switches_to_edit_with_input_kept(client, bob, sandbox):
    # The card appears between the save's re-read and its POST, so Linq answers 409/2014.
    # (A card that already exists at the re-read is not POSTed at all: see test_conflicts.py.)
    sandbox.add_fault({"kind": "remote_change", "methods": ["POST"], "times": 1,
                       "changes": {"first_name": "Someone", "last_name": "Else"}})
    response = sign_in_as(client, bob).post(EMPTY_URL, {"action": "create", "first_name": "Mine", "last_name": "Too"})
    assert response.context["mode"] == "edit"
    html = response.content.decode()
    assert "A card already exists" in html
    assert value_of(html, "first_name") == "Mine" and value_of(html, "last_name") == "Too"
    loaded = signing.loads(response.context["form"].initial["loaded"], salt="contactcards.card-loaded")
    assert loaded["first_name"] == "Someone"
    entry = AuditEntry.objects.get(action="create")
    assert (entry.outcome, entry.http_status, entry.linq_code) == ("api_error", 409, 2014)
    # The read after the 409 found the card someone else set up: the history says so (issue 11).
    outside = AuditEntry.objects.get(action="outside")
    assert (outside.found_by, outside.changes["first_name"]) == ("read", ["", "Someone"])


# -- it handles bad input -----------------------------------------------------


@pytest.mark.parametrize("data,field,message", [
    ({"first_name": ""}, "first_name", "First name is required."),
    ({"first_name": "   "}, "first_name", "First name is required."),
    ({"image_url": "http://example.com/a.png"}, "image_url", "must start with https://"),
    ({"image_url": "ftp://x"}, "image_url", "must start with https://"),
    ({"image_url": "https://"}, "image_url", "must start with https://"),
    ({"image_url": ""}, "image_url", "cannot remove a photo"),
    ({"first_name": "x" * 101}, "first_name", "at most 100"),
])
def test_it_rejects_bad_input_and_keeps_it(client, bob, sandbox, data, field, message):
    response = sign_in_as(client, bob).post(URL, edit_data(**data))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert sandbox.writes_for(CARD_NUMBER) == []
    if data.get(field):
        assert value_of(response.content.decode(), field) == data[field]


def test_a_tampered_loaded_field_reloads_the_card(client, bob, sandbox):
    data = edit_data(last_name="Mine")
    data["loaded"] = signing.dumps({"first_name": "X", "last_name": "", "image_url": ""}, salt="other")
    response = sign_in_as(client, bob).post(URL, data)
    assert response.status_code == 200
    assert sandbox.writes_for(CARD_NUMBER) == []
    assert "out of date" in response.content.decode()
    assert value_of(response.content.decode(), "last_name") == "Mine"


def test_garbage_post_never_500s(client, bob):
    sign_in_as(client, bob)
    for data in ({}, {"action": "update"}, {"action": "create"}, {"action": "nonsense", "first_name": "\x00"}):
        assert client.post(URL, data).status_code == 200
        assert client.post(EMPTY_URL, data).status_code == 200


# -- Linq's errors, inline, input kept, audited -------------------------------

LINQ_ERRORS = [
    ({"kind": "error", "status": 500, "code": 2022}, "api_error", 500, 2022,
     "could not complete the change to this card"),
    ({"kind": "error", "status": 503, "code": 4004}, "api_error", 503, 4004, "not active"),
    ({"kind": "error", "status": 429, "code": 1007, "retry_after": 120}, "api_error", 429, 1007,
     "Linq asked to wait before the next change"),
    ({"kind": "error", "status": 500, "code": 3006}, "api_error", 500, 3006, "internal problem"),
    ({"kind": "error", "status": 403, "code": 2006}, "api_error", 403, 2006, "refused access"),
    # 404/2012 on a PATCH switches to the set-up form instead: test_pending_cards.py.
    ({"kind": "error", "status": 400, "code": 1002}, "api_error", 400, 1002, "E.164"),
    ({"kind": "error", "status": 401, "code": 2004}, "api_error", 401, 2004, "rejected the team"),
    ({"kind": "non_json"}, "api_error", 502, None, "Bad Gateway"),
    # apply_write False: the write is lost, so the page reports an error (test_failures.py covers both cases).
    ({"kind": "drop", "apply_write": False}, "network_error", None, None, "connection to Linq was dropped"),
    ({"kind": "timeout", "seconds": 2.5, "apply_write": False}, "network_error", None, None,
     "did not answer in time"),
]


@pytest.mark.parametrize("fault,outcome,status,code,text", LINQ_ERRORS)
def test_linq_errors_show_inline_with_input_kept_and_are_audited(client, bob, sandbox, fault, outcome, status,
                                                                  code, text):
    sandbox.add_fault({**fault, "methods": ["PATCH"], "times": 1})
    response = sign_in_as(client, bob).post(URL, edit_data(last_name="Kept input"))
    assert response.status_code == 200
    html = response.content.decode()
    assert text in html
    assert value_of(html, "last_name") == "Kept input"
    assert 'role="alert"' in html
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.http_status, entry.linq_code) == (outcome, status, code)
    assert entry.request_body == {"last_name": "Kept input"}
    assert entry.error_message
    if code:
        assert f"Linq code {code}" in html and entry.trace_id in html


def test_image_error_is_shown_under_the_image_field(client, bob, sandbox, photo_settings, image_server):
    # A link that passes our own check (issue 14) and that Linq still refuses (the sandbox: "broken" links).
    image_server.routes["/broken.png"] = Route(body=png_bytes(700, 700))
    url = image_server.url("/broken.png")
    response = sign_in_as(client, bob).post(URL, edit_data(image_url=url))
    form = response.context["form"]
    assert "could not use this image" in " ".join(form.errors["image_url"])
    assert value_of(response.content.decode(), "image_url") == url
    assert AuditEntry.objects.get().linq_code == 5007


def test_unreachable_linq_on_save(client, bob, settings):
    sign_in_as(client, bob)
    settings.LINQ_API_BASE_URL = "http://127.0.0.1:9/api/partner"
    response = client.post(URL, edit_data(last_name="Offline"))
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()
    assert value_of(response.content.decode(), "last_name") == "Offline"
    # The save re-reads the card first; that read fails, so the write is not sent - but the attempt is audited.
    assert "could not be re-read before saving, so nothing was sent" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.request_sent, entry.http_status) == ("network_error", False, None)
    assert entry.request_body == {"last_name": "Offline"}
    assert (entry.stage, entry.error_kind) == ("check", "connection")  # facts; the history words them
    history = client.get(f"{URL}history/").content.decode()
    assert "could not be re-read before saving, so the change was not sent" in history


@pytest.mark.parametrize("fault", [{"kind": "error", "status": 500, "code": 3006}, {"kind": "non_json"},
                                   {"kind": "drop"}, {"kind": "error", "status": 401, "code": 2004}])
def test_load_errors_render_a_banner_not_a_500(client, alice, sandbox, fault):
    sandbox.add_fault({**fault, "methods": ["GET"], "times": 1})
    response = sign_in_as(client, alice).get(URL)
    assert response.status_code == 200
    assert "could not be loaded" in response.content.decode()
    assert response.context["form"] is None


# -- access -------------------------------------------------------------------


def test_it_requires_login(client, team):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_checks_team_membership(client, charlie, sandbox):
    sign_in_as(client, charlie)
    assert client.get(URL).status_code == 404
    assert client.post(URL, edit_data(last_name="Hacked")).status_code == 404
    assert sandbox.requests == []


def test_unknown_number_is_404(client, alice):
    assert sign_in_as(client, alice).get("/t/acme/numbers/+15559999999/").status_code == 404


def test_viewer_can_read_but_not_write(client, vera, sandbox):
    sign_in_as(client, vera)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Save changes" not in response.content.decode()
    assert client.post(URL, edit_data(last_name="Nope")).status_code == 403
    assert client.post(EMPTY_URL, {"action": "create", "first_name": "Nope"}).status_code == 403
    assert sandbox.writes_for(CARD_NUMBER) == [] and not AuditEntry.objects.exists()


def test_owner_and_editor_can_write(client, alice, bob, sandbox):
    loaded = dict(LOADED)
    for user, name in ((alice, "A"), (bob, "B")):
        data = {**loaded, "last_name": name}
        sign_in_as(client, user).post(URL, {"action": "update", "loaded": sign_loaded(loaded), **data})
        loaded = data  # each save starts from the card as it is now (a stale form gets the conflict view)
    assert [w.body for w in sandbox.writes_for(CARD_NUMBER)] == [{"last_name": "A"}, {"last_name": "B"}]


def test_a_failed_call_is_logged_with_its_trace_id_and_without_the_token(client, bob, sandbox, caplog):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "methods": ["PATCH"], "times": 1})
    sign_in_as(client, bob).post(URL, edit_data(last_name="Logged"))
    entry = AuditEntry.objects.get()
    lines = [r.getMessage() for r in caplog.records if r.name == "contactcards.common.clients"]
    assert any(entry.trace_id in line and "code=3006" in line for line in lines)
    assert not any("test-token" in line for line in lines)
