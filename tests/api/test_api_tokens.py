"""Tokens: scopes limited by the role now, expiry, revocation, the rate limit; the token pages for each persona."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from conftest import CARD_NUMBER, PASSWORD
from contactcards.api.auth import TokenRateThrottle
from contactcards.models import ApiToken, AuditEntry, Membership
from tests.api.conftest import make_token

CARD = f"/api/v1/teams/acme/numbers/{CARD_NUMBER}/card"


def _patch(api):
    version = api.get(CARD).json()["card"]["version"]
    return api.send("PATCH", CARD, {"first_name": "Scripted", "version": version})


def test_without_or_with_a_wrong_token_it_is_401_problem_details(api_for, team):
    for secret in (None, "lqa_not-a-real-token-at-all", "x"):
        answer = api_for(secret).get("/api/v1/teams/")
        assert answer.status_code == 401
        assert answer["Content-Type"] == "application/problem+json"
        assert answer["WWW-Authenticate"].startswith("Bearer")


def test_teams_lists_the_tokens_team_only(owner_api, other_team):
    answer = owner_api.get("/api/v1/teams/")
    assert answer.json() == [{"slug": "acme", "name": "Acme", "role": "owner", "scopes": ["admin", "read", "write"]}]
    assert owner_api.get("/api/v1/teams/other/history/").status_code == 404


def test_a_read_token_cannot_write(team, bob, api_for, sandbox):
    api = api_for(make_token(bob, team, scopes=("read",)).secret)
    assert api.get(CARD).status_code == 200
    refused = _patch(api)
    assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden")
    assert not [r for r in sandbox.requests if r.method == "PATCH"]


def test_a_viewer_cannot_be_given_write_and_a_demoted_editors_token_stops_writing(team, bob, vera, api_for, sandbox):
    with pytest.raises(ValueError):
        make_token(vera, team, scopes=("read", "write"))
    api = api_for(make_token(bob, team, scopes=("read", "write")).secret)
    assert _patch(api).status_code == 200
    Membership.objects.filter(user=bob, team=team).update(role="viewer")
    assert _patch(api).status_code == 403
    assert api.get("/api/v1/teams/").json()[0]["scopes"] == ["read"]
    Membership.objects.filter(user=bob, team=team).delete()
    assert api.get("/api/v1/teams/").status_code == 401


def test_expired_and_revoked_tokens_are_refused(team, alice, api_for):
    made = make_token(alice, team)
    api = api_for(made.secret)
    assert api.get("/api/v1/teams/").status_code == 200
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/teams/").json()["detail"] == "This token has expired."
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() + timedelta(days=1))
    from contactcards.api.services import token_revoke
    token_revoke(token=made.token, user=alice)
    answer = api.get("/api/v1/teams/")
    assert answer.status_code == 401 and answer.json()["detail"] == "This token was revoked."


def test_the_token_is_stored_hashed_and_its_use_recorded(team, alice, api_for):
    made = make_token(alice, team)
    row = ApiToken.objects.get(pk=made.token.pk)
    assert made.secret not in (row.digest, row.prefix) and len(row.digest) == 64
    assert made.secret.startswith(row.prefix) and row.last_used_at is None
    api_for(made.secret).get("/api/v1/teams/", headers={"X-Forwarded-For": "203.0.113.9"})
    row.refresh_from_db()
    assert row.last_used_at is not None and row.last_used_ip == "127.0.0.1"  # no trusted proxy: the socket's


def test_the_rate_limit_is_per_token_with_retry_after(team, alice, bob, api_for, settings, monkeypatch):
    settings.API_RATE_LIMIT = "3/min"
    cache.clear()
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: 1_000_000.0)  # a still clock: no wall time
    api = api_for(make_token(alice, team).secret)
    assert [api.get("/api/v1/teams/").status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get("/api/v1/teams/")
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert limited.json()["type"] == "urn:linqadmin:problem:rate_limited"
    other = api_for(make_token(bob, team).secret)
    assert other.get("/api/v1/teams/").status_code == 200
    cache.clear()


def test_numbers_with_filters_and_keyset_pages(owner_api, team):
    from contactcards.models import Tag

    tag = Tag.objects.create(team=team, name="west")
    team.numbers.get(e164=CARD_NUMBER).tags.add(tag)
    first = owner_api.get("/api/v1/teams/acme/numbers/", {"limit": 1}).json()
    assert [n["number"] for n in first["numbers"]] == [CARD_NUMBER] and first["numbers"][0]["tags"] == ["west"]
    second = owner_api.get("/api/v1/teams/acme/numbers/", {"limit": 1, "after": first["next"]}).json()
    assert [n["number"] for n in second["numbers"]] == ["+15550001002"] and second["next"] is None
    tagged = owner_api.get("/api/v1/teams/acme/numbers/", {"tag": "west"}).json()
    assert [n["number"] for n in tagged["numbers"]] == [CARD_NUMBER]
    assert owner_api.get("/api/v1/teams/acme/numbers/", {"status": "bogus"}).status_code == 400


def test_jobs_dry_run_create_read_and_cancel(owner_api, team, sandbox):
    rows = [{"number": CARD_NUMBER, "last_name": "Desk"}, {"number": "+1 555 000 1002", "first_name": "New"}]
    preview = owner_api.send("POST", "/api/v1/teams/acme/jobs/", {"rows": rows, "dry_run": True})
    assert preview.status_code == 200, preview.content
    assert [r["kind"] for r in preview.json()["rows"]] == ["change", "create"] and preview.json()["job"] is None
    refused = owner_api.send("POST", "/api/v1/teams/acme/jobs/", {"rows": [{"number": "nope"}]})
    assert refused.status_code == 422 and refused.json()["rows"][0]["kind"] == "cannot"
    made = owner_api.send("POST", "/api/v1/teams/acme/jobs/", {"rows": rows})
    assert made.status_code == 201
    job = made.json()["job"]
    assert job["source"] == "api" and job["total"] == 2
    assert owner_api.get(f"/api/v1/teams/acme/jobs/{job['id']}/").json()["id"] == job["id"]
    cancelled = owner_api.send("POST", f"/api/v1/teams/acme/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["stopped"] == 2
    assert not [r for r in sandbox.requests if r.method in ("PATCH", "POST")]  # nothing ran: no worker here


# -- the token pages, for each persona ---------------------------------------------------------------


def test_token_pages_for_each_persona(client, personas):
    for persona, user in personas.items():
        client.login(username=user.username, password=PASSWORD)
        page = client.get("/t/acme/settings/api-tokens/")
        if persona == "outsider":
            assert page.status_code == 404
            assert client.post("/t/acme/settings/api-tokens/", {"name": "x", "scopes": ["read"], "days": 30}
                               ).status_code == 404
            continue
        assert page.status_code == 200
        made = client.post("/t/acme/settings/api-tokens/", {"name": f"{persona}-script", "scopes": ["read"],
                                                            "days": 30})
        assert made.status_code == 200 and b'id="token-value">lqa_' in made.content
        assert made["Cache-Control"].startswith("max-age=0")
        if persona == "viewer":  # a viewer's role does not allow write: the choice is not offered, and refused
            refused = client.post("/t/acme/settings/api-tokens/", {"name": "w", "scopes": ["write"], "days": 30})
            assert refused.status_code == 400
        client.logout()
    entries = AuditEntry.objects.filter(action="api_token_create")
    assert sorted(e.subject for e in entries) == ["editor-script", "owner-script", "viewer-script"]


def test_revoking_from_the_account_page_and_by_the_teams_owner(client, team, alice, bob, vera):
    bobs = make_token(bob, team, name="bob-ci").token
    veras = make_token(vera, team, name="vera-ci", scopes=("read",)).token
    client.login(username="vera", password=PASSWORD)
    assert client.post(f"/t/acme/settings/api-tokens/{bobs.pk}/revoke/").status_code == 404  # not hers
    account = client.get("/accounts/")
    assert b"vera-ci" in account.content and b"bob-ci" not in account.content
    back = client.post(f"/t/acme/settings/api-tokens/{veras.pk}/revoke/", {"back": "account"})
    assert back.status_code == 302 and back["Location"] == "/accounts/"
    client.logout()
    client.login(username="alice", password=PASSWORD)
    page = client.get("/t/acme/settings/api-tokens/")
    assert b"bob-ci" in page.content and b"vera-ci" in page.content  # an owner sees everyone's
    assert client.post(f"/t/acme/settings/api-tokens/{bobs.pk}/revoke/").status_code == 302
    revoked = AuditEntry.objects.filter(action="api_token_revoke").order_by("id")
    assert [(e.subject, e.username) for e in revoked] == [("vera-ci", "vera"), ("bob-ci", "alice")]
    history = client.get("/t/acme/history/", {"action": "api_token_revoke"})
    assert b"Revoke API token" in history.content
