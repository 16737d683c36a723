"""Test helpers, one home: sign in, read pages as a browser would, audit entries at chosen times, browsers.

Fixtures (personas, the sandbox, the team) are in the root ``conftest.py``; these are plain functions.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from conftest import CARD_NUMBER, EMPTY_NUMBER, PASSWORD, Client
from contactcards.models import AuditEntry, PhoneNumber, Team
from devtools.demo.seeding import keep_created_at
from devtools.htmlforms import card_form, forms_on

URL = f"/t/acme/numbers/{CARD_NUMBER}/"
EMPTY_URL = f"/t/acme/numbers/{EMPTY_NUMBER}/"
BASE_TIME = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# -- the test client: sign in, read pages ---------------------------------------


# -- accounts: the two-step sign-in page (django-two-factor-auth's wizard), codes -------

LOGIN_URL = "/accounts/login/"


def sign_in_client(client, username: str, password: str = PASSWORD, *, ip: str = "127.0.0.1", next_path: str = ""):
    """Post the username/password step, from ``ip``; returns the response (not followed)."""
    url = f"{LOGIN_URL}?next={next_path}" if next_path else LOGIN_URL
    return client.post(url, {"login_view-current_step": "auth", "auth-username": username,
                             "auth-password": password}, REMOTE_ADDR=ip)


def enter_code(client, code: str, *, step: str = "token", ip: str = "127.0.0.1", next_path: str = ""):
    """Post the second step (the app's code, or a recovery code with ``step="backup"``)."""
    field = "token-otp_token" if step == "token" else "backup-otp_token"
    url = f"{LOGIN_URL}?next={next_path}" if next_path else LOGIN_URL
    return client.post(url, {"login_view-current_step": step, field: code}, REMOTE_ADDR=ip)


def add_totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows now (computed from the device key)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def add_recovery_codes(user, *codes: str) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
    for code in codes:
        device.token_set.create(token=code)
    return device


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def retry_form(response) -> dict[str, str] | None:
    for form in forms_on(response):
        if "retry-form" in form["attrs"].get("class", ""):
            return {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
    return None


def sign_in_as(client, user):
    """The one way a test that is not about signing in starts signed in: a session for ``user``, as after a
    successful sign-in (Django's ``login``: the session epoch is stamped, sign-in signals run). Tests of the
    sign-in page itself use ``sign_in_client``; browser tests use ``sign_in``."""
    client.force_login(user)
    return client


def load(client, url: str = URL) -> dict[str, str]:
    """GET the card page and return its card form's fields."""
    response = client.get(url)
    assert response.status_code == 200
    return card_form(response)


def text(response) -> str:
    """The page's text with tags removed and whitespace collapsed, for message assertions."""
    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def value_of(html: str, name: str) -> str | None:
    """The value attribute of the input called ``name`` in the page, whatever the attribute order."""
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', html)
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0)) if tag else None
    return unescape(value.group(1)) if value else None


# -- audit history ----------------------------------------------------------------


def make_entry(team: Team, *, number: PhoneNumber | None = None, user=None, at: datetime | None = None,
               **fields) -> AuditEntry:
    """One audit entry as the services would write it, with a chosen ``created_at``."""
    values = {
        "action": AuditEntry.Action.UPDATE,
        "outcome": AuditEntry.Outcome.SUCCESS,
        "changes": {"first_name": ["Old", "New"]},
        "request_body": {"first_name": "New"},
        "http_status": 200,
        "duration_ms": 120,
    }
    values.update(fields)
    entry = AuditEntry(
        team=team, number=number, phone_number=number.e164 if number else "",
        user=user, username=user.get_username() if user else "", **values,
    )
    if at is not None:
        entry.created_at = at
        with keep_created_at():
            entry.save()
    else:
        entry.save()
    return entry


def pending_attempt(team: Team, user, *, last_name: str = "Night shift") -> AuditEntry:
    """An attempt as write_ahead stores it, whose process never recorded an answer."""
    entry = AuditEntry(team=team, number=PhoneNumber.objects.get(e164=CARD_NUMBER), phone_number=CARD_NUMBER,
                       user=user, username=user.username, action=AuditEntry.Action.UPDATE,
                       changes={"last_name": ["Support", last_name]}, request_body={"last_name": last_name},
                       outcome=AuditEntry.Outcome.PENDING)
    entry.save()
    return entry


def make_series(team: Team, count: int, *, start: datetime, step: timedelta = timedelta(minutes=1),
                **fields) -> list[AuditEntry]:
    """``count`` entries one ``step`` apart, oldest first."""
    return [make_entry(team, at=start + i * step, **fields) for i in range(count)]


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(body)))


# -- real browsers (Playwright) ---------------------------------------------------

# A tiny photo the tests serve for one made-up https host, to preview a link that loads.
PHOTO_URL = "https://photos.example.test/acme-new.svg"
PHOTO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" rx="48" '
    b'fill="#e0803a"/><circle cx="48" cy="38" r="16" fill="#fff"/><path d="M20 82c4-18 52-18 56 0" '
    b'fill="#fff"/></svg>'
)


def sign_in(page: Page, base_url: str, username: str, *, next_path: str = "/") -> None:
    """Start the browser signed in as ``username`` on ``next_path``: a session made as ``sign_in_as`` makes it
    (Django's ``login``), its cookie handed to the browser. The sign-in page itself, typed into, is the subject of
    tests/browser/test_browser_accounts.py and test_browser_axe.py."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    client = sign_in_as(Client(), get_user_model().objects.get(username=username))
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": base_url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.goto(base_url + next_path)
    page.get_by_role("button", name="Sign out", exact=True).wait_for()


def card_url(base_url: str, number: str = CARD_NUMBER, slug: str = "acme") -> str:
    return f"{base_url}/t/{slug}/numbers/{number}/"


def screenshot(page: Page, name: str) -> None:
    """Save a full-page PNG when ``SCREENSHOTS_DIR`` is set (``bin/screenshots``)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
