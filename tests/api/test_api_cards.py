"""The API's card flow against the sandbox, as curl would do it: read, change one field, see it in the history
with the token as the actor; a stale version is a conflict; one Idempotency-Key sends one write."""

from __future__ import annotations

from conftest import CARD_NUMBER, EMPTY_NUMBER
from contactcards.models import AuditEntry

CARD = f"/api/v1/teams/acme/numbers/{CARD_NUMBER}/card"
PROBLEM = "application/problem+json"


def _writes(sandbox, number=CARD_NUMBER):
    return [r for r in sandbox.requests if r.method in ("PATCH", "POST") and r.path.endswith("contact_card")
            and (r.body or {}).get("phone_number", number) == number]


def test_read_change_one_field_and_find_it_in_the_history(owner_api, sandbox, client, alice):
    read = owner_api.get(CARD)
    assert read.status_code == 200, read.content
    card = read.json()["card"]
    assert card["first_name"] == "Acme" and card["active"] is True
    assert read["ETag"] == f'"{card["version"]}"'

    changed = owner_api.send("PATCH", CARD, {"first_name": "Acme Inc", "version": card["version"]})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["outcome"] == "saved" and body["changed"] == ["first_name"]
    assert body["card"]["first_name"] == "Acme Inc" and body["card"]["version"] != card["version"]
    patches = [r for r in sandbox.requests if r.method == "PATCH"]
    assert len(patches) == 1 and patches[0].body == {"first_name": "Acme Inc"} or patches[0].query

    history = owner_api.get("/api/v1/teams/acme/history/", {"number": CARD_NUMBER})
    assert history.status_code == 200
    entry = history.json()["entries"][0]
    assert entry["id"] == body["entry_id"]
    assert (entry["action"], entry["outcome"], entry["username"], entry["api_token"]) == (
        "update", "success", "alice", "ci-deploy")
    assert entry["changes"] == {"first_name": ["Acme", "Acme Inc"]}
    row = AuditEntry.objects.get(pk=body["entry_id"])
    assert row.api_token_id == owner_api.token.pk and row.client_ip == "127.0.0.1"

    # The page words it: "api: ci-deploy, by alice".
    client.force_login(alice)
    page = client.get("/t/acme/history/")
    assert "api: ci-deploy, by alice" in " ".join(page.content.decode().split())

    csv = owner_api.get("/api/v1/teams/acme/history.csv", {"action": "update"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = b"".join(csv.streaming_content).decode()
    assert '"Acme Inc"' in text and text.count("\n") == 2


def test_a_stale_version_is_a_conflict_and_nothing_is_sent(owner_api, sandbox):
    version = owner_api.get(CARD).json()["card"]["version"]
    sandbox.set_card(CARD_NUMBER, first_name="Changed at Linq", last_name="Support",
                     image_url="https://cdn.linqapp.com/contact-card/acme.png")
    answer = owner_api.send("PATCH", CARD, {"first_name": "Mine", "version": version})
    assert answer.status_code == 409
    assert answer["Content-Type"] == PROBLEM
    problem = answer.json()
    assert problem["type"] == "urn:linqadmin:problem:conflict" and problem["status"] == 409
    assert problem["conflicts"] == [{"field": "first_name", "yours_was": "Acme", "linq_now": "Changed at Linq",
                                     "yours": "Mine"}]
    assert not [r for r in sandbox.requests if r.method == "PATCH"]
    # With the version the conflict gives, the same change goes through.
    again = owner_api.send("PATCH", CARD, {"first_name": "Mine", "version": problem["version"]})
    assert again.status_code == 200 and again.json()["card"]["first_name"] == "Mine"


def test_the_same_idempotency_key_twice_sends_one_write(owner_api, sandbox):
    version = owner_api.get(CARD).json()["card"]["version"]
    key = {"Idempotency-Key": "deploy-42"}
    first = owner_api.send("PATCH", CARD, {"last_name": "Helpdesk", "version": version}, headers=key)
    second = owner_api.send("PATCH", CARD, {"last_name": "Helpdesk", "version": version}, headers=key)
    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["outcome"] == "replayed"
    assert second.json()["entry_id"] == first.json()["entry_id"]
    assert second.json()["card"]["last_name"] == "Helpdesk"
    assert len([r for r in sandbox.requests if r.method == "PATCH"]) == 1
    assert AuditEntry.objects.filter(action="update").count() == 1
    # The same key for another change is refused, and sends nothing either.
    other = owner_api.send("PATCH", CARD, {"last_name": "Other", "version": version}, headers=key)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency_key_reused")
    assert len([r for r in sandbox.requests if r.method == "PATCH"]) == 1


def test_post_sets_up_a_card_and_patch_of_no_card_says_so(owner_api, sandbox):
    path = f"/api/v1/teams/acme/numbers/{EMPTY_NUMBER}/card"
    assert owner_api.get(path).json() == {"card": None}
    made = owner_api.send("POST", path, {"first_name": "New", "last_name": "Line"})
    assert made.status_code == 201, made.content
    assert made.json()["card"]["first_name"] == "New"
    again = owner_api.send("POST", path, {"first_name": "New"})
    assert again.status_code == 409 and again.json()["type"].endswith("card_exists")


def test_linq_refusal_is_problem_details_with_linqs_code_message_and_trace(owner_api, sandbox):
    version = owner_api.get(CARD).json()["card"]["version"]
    sandbox.add_fault({"kind": "error", "number": CARD_NUMBER, "methods": ["PATCH"], "status": 400, "code": 1005,
                       "times": 1})
    answer = owner_api.send("PATCH", CARD, {"first_name": "Refused", "version": version})
    assert answer.status_code == 422 and answer["Content-Type"] == PROBLEM
    linq = answer.json()["linq"]
    assert linq["status"] == 400 and linq["code"] == 1005 and linq["message"] and linq["trace_id"]
    assert AuditEntry.objects.get(pk=answer.json()["entry_id"]).linq_code == 1005


def test_bad_input_is_a_400_problem_never_a_500(owner_api, sandbox):
    cases = [
        ("PATCH", CARD, {"first_name": "X", "version": "made-up"}),
        ("PATCH", CARD, {"version": owner_api.get(CARD).json()["card"]["version"]}),
        ("PATCH", CARD, ["not", "an", "object"]),
        ("PATCH", CARD, {"first_name": "A\u202eB", "version": owner_api.get(CARD).json()["card"]["version"]}),
        ("POST", f"/api/v1/teams/acme/numbers/{EMPTY_NUMBER}/card", {"first_name": " "}),
        ("POST", f"/api/v1/teams/acme/numbers/{EMPTY_NUMBER}/card", {"first_name": "A", "image_url": "http://x"}),
    ]
    for method, path, body in cases:
        answer = owner_api.send(method, path, body)
        assert answer.status_code == 400, (body, answer.content)
        assert answer["Content-Type"] == PROBLEM
    assert owner_api.get("/api/v1/teams/acme/numbers/+1999/card").status_code == 404
    assert owner_api.get("/api/v1/teams/other/numbers/").status_code == 404
    assert owner_api.get("/api/v1/teams/acme/history/", {"before": "nope"}).status_code == 400
    assert owner_api.get("/api/v1/teams/acme/history/", {"user": "nobody"}).status_code == 400
    assert owner_api.send("PATCH", CARD, {"first_name": "X", "version": "v"},
                          headers={"Idempotency-Key": "\x7f"}).status_code == 400
    assert not [r for r in sandbox.requests if r.method in ("PATCH", "POST")]
