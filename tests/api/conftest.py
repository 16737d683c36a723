"""API tests: tokens made through the service (as the token page makes them), requests as curl would send them."""

from __future__ import annotations

import pytest


def make_token(user, team, *, name="ci-deploy", scopes=("read", "write"), days=30):
    from contactcards.api.services import token_create
    from contactcards.models import Membership

    membership = Membership.objects.select_related("team", "user").get(user=user, team=team)
    return token_create(membership=membership, name=name, scopes=list(scopes), days=days)


class Api:
    """``curl -H 'Authorization: Bearer …'`` with Django's test client."""

    def __init__(self, client, secret: str | None) -> None:
        self.client, self.secret = client, secret

    def _headers(self, headers: dict | None) -> dict:
        sent = dict(headers or {})
        if self.secret:
            sent.setdefault("Authorization", f"Bearer {self.secret}")
        return sent

    def get(self, path: str, params: dict | None = None, headers: dict | None = None):
        return self.client.get(path, params or {}, headers=self._headers(headers))

    def send(self, method: str, path: str, body=None, headers: dict | None = None):
        call = getattr(self.client, method.lower())
        return call(path, data=body, content_type="application/json", headers=self._headers(headers))


@pytest.fixture
def api_for(client):
    def build(secret):
        return Api(client, secret)
    return build


@pytest.fixture
def owner_api(team, alice, api_for):
    made = make_token(alice, team, scopes=("read", "write", "admin"))
    api = api_for(made.secret)
    api.token = made.token
    return api
