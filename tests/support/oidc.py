"""A real OpenID Connect provider for single sign-on tests: ``oidc-provider-mock`` as its own process.

It serves discovery, the authorization page (a person types or picks their ``sub`` and presses
Authorize), the token endpoint (RS256-signed ID tokens), userinfo and its keys, on loopback. Clients
need no registration; each person's claims (groups, amr, acr, email) are set over its HTTP API
(``PUT /users/<sub>``) and go into their ID token and userinfo. The tests sign in through it exactly
as a browser does: our start page → its authorization page → our callback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

CLIENT_ID = "linqadmin-test"
CLIENT_SECRET = "linqadmin-test-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OIDCProvider:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> OIDCProvider:
        command = [str(Path(sys.executable).parent / "oidc-provider-mock"), "--port", str(self.port),
                   "--require-nonce", "true"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.url}/.well-known/openid-configuration", timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("oidc-provider-mock did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def set_user(self, sub: str, **claims) -> None:
        """The person's claims from now on (their next ID token and userinfo)."""
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def authorize(self, authorization_url: str, sub: str) -> str:
        """What the person does on the provider's page: sign in as ``sub`` and press Authorize. Returns the
        URL the provider sends the browser back to (our callback, with the code and state)."""
        assert authorization_url.startswith(self.url), authorization_url
        response = requests.post(authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def deny(self, authorization_url: str) -> str:
        response = requests.post(authorization_url, data={"action": "deny"}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]


def configure(settings, provider: OIDCProvider, **overrides) -> None:
    """Point the app's single sign-on at ``provider`` (discovery from its issuer), with ``overrides``."""
    values = {
        "OIDC_RP_CLIENT_ID": CLIENT_ID, "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET, "OIDC_ISSUER": provider.url,
        "OIDC_OP_AUTHORIZATION_ENDPOINT": "", "OIDC_OP_TOKEN_ENDPOINT": "", "OIDC_OP_USER_ENDPOINT": "",
        "OIDC_OP_JWKS_ENDPOINT": "", "OIDC_PROVIDER_NAME": "Acme Login", "OIDC_GROUP_MAP": "",
        "OIDC_CREATE_USERS": True, "OIDC_LINK_VERIFIED_EMAIL": False, "SSO_ONLY": False,
    }
    for name, value in {**values, **overrides}.items():
        setattr(settings, name, value)


def callback_path(location: str) -> str:
    """The callback URL the provider redirected to, as a path the test client can GET."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def sign_in_with_sso(client, provider: OIDCProvider, sub: str, *, next_path: str = ""):
    """The whole round trip with Django's test client: our start page, the provider's page, our callback.
    Returns the callback's response (not followed)."""
    start = client.get("/accounts/sso/start/" + (f"?next={next_path}" if next_path else ""))
    assert start.status_code == 302, start.status_code
    location = provider.authorize(start["Location"], sub)
    return client.get(callback_path(location))
