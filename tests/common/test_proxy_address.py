"""The client's address behind proxies (issue 19, item 3): read from the right, validated, one for all.

X-Forwarded-For's left part is whatever the client wrote. These tests send what an attacker would
(a new fake address per try, a victim's address, ``=2+5``, ``not-an-ip``) through a proxy that appends
what it saw, as nginx does, and check that sign-in throttling (django-axes) and the history see the
address the proxy saw - the same one - and that no CSV cell can carry a formula.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessLog
from django.test import RequestFactory
from django.urls import reverse

from conftest import CARD_NUMBER, PASSWORD, Client
from contactcards.common.http import client_ip
from contactcards.common.phones import is_e164
from contactcards.history.export import FORMULA_PREFIXES, HEADER, csv_row
from contactcards.models import AuditEntry, PhoneNumber
from contactcards.rollout.cards_csv import COLUMNS, write_csv
from tests.cards.test_card_views import edit_data
from tests.support.helpers import LOGIN_URL, URL, is_signed_in, make_entry, read_csv

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.5"  # our nginx: REMOTE_ADDR of every request that came through it
ATTACKER, VICTIM = "198.51.100.66", "203.0.113.7"


def through_proxy(client_address: str, claimed: str = "") -> dict[str, str]:
    """The request's META after one proxy: the client may send any X-Forwarded-For, the proxy appends."""
    forwarded = f"{claimed}, {client_address}" if claimed else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}


def sign_in(client, username: str, password: str, meta: dict[str, str]):
    return client.post(LOGIN_URL, {"login_view-current_step": "auth", "auth-username": username,
                                   "auth-password": password}, **meta)


def address(remote_addr: str, forwarded: str | None = None) -> str | None:
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


# -- which address ------------------------------------------------------------------------------


@pytest.mark.parametrize(("forwarded", "expected"), [
    (None, PROXY),                                      # nothing forwarded: the socket's
    (VICTIM, VICTIM),                                   # what the proxy saw
    (f"{VICTIM}, {ATTACKER}", ATTACKER),                # the left part is the client's own writing
    (f"1.1.1.1, 2.2.2.2, {ATTACKER}", ATTACKER),
    ("not-an-ip", PROXY),                               # not an address: the socket's
    ("=2+5", PROXY),
    (f"{VICTIM}, =2+5", PROXY),
    ("", PROXY),
    (" , ", PROXY),
    ("2001:DB8::1", "2001:db8::1"),                     # written canonically: one client, one key
    ("[2001:db8::1]:443", "2001:db8::1"),
    ("203.0.113.7:51234", VICTIM),
    ("::ffff:203.0.113.7", VICTIM),
    ("fe80::1%eth0", "fe80::1"),
    ("\x00", PROXY),
    ("9" * 10_000, PROXY),
])
def test_one_hop_takes_the_right_most_address(settings, forwarded, expected):
    settings.TRUSTED_PROXY_HOPS, settings.TRUSTED_PROXIES = 1, []
    assert address(PROXY, forwarded) == expected


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_HOPS, settings.TRUSTED_PROXIES = 0, []
    assert address(ATTACKER, VICTIM) == ATTACKER
    assert address("not-an-ip") is None and address("") is None


def test_two_hops_take_the_second_from_the_right(settings):
    settings.TRUSTED_PROXY_HOPS, settings.TRUSTED_PROXIES = 2, []  # CDN -> nginx -> app
    assert address(PROXY, f"{VICTIM}, {ATTACKER}, 192.0.2.1") == ATTACKER
    assert address(PROXY, f"{ATTACKER}, 192.0.2.1") == ATTACKER
    assert address(PROXY, "192.0.2.1") == PROXY  # fewer entries than proxies: not the way we know


def test_trusted_networks_are_walked_from_the_right(settings):
    settings.TRUSTED_PROXY_HOPS, settings.TRUSTED_PROXIES = 0, ["10.0.0.0/8", "192.0.2.1"]
    assert address(PROXY, f"{VICTIM}, {ATTACKER}, 192.0.2.1, 10.1.2.3") == ATTACKER
    assert address(PROXY, f"{VICTIM}, {ATTACKER}") == ATTACKER
    assert address(PROXY, "10.9.9.9") == "10.9.9.9"  # every hop ours: an internal client
    assert address(PROXY, f"{VICTIM}, not-an-ip, 10.1.2.3") == PROXY
    assert address(ATTACKER, VICTIM) == ATTACKER  # not from one of our proxies: the header is the client's
    assert address(PROXY) == PROXY


def test_settings_keep_the_old_switch_and_refuse_bad_values():
    """linqadmin/settings.py as production reads it, once per environment (a child process)."""
    cases = {
        "default": {},
        "legacy": {"TRUST_X_FORWARDED_FOR": "1"},
        "hops": {"TRUSTED_PROXY_HOPS": "2", "TRUST_X_FORWARDED_FOR": "1"},
        "networks": {"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1"},
        "bad_network": {"TRUSTED_PROXIES": "10.0.0.0/8,nginx"},
        "both": {"TRUSTED_PROXIES": "10.0.0.0/8", "TRUSTED_PROXY_HOPS": "1"},
        "negative": {"TRUSTED_PROXY_HOPS": "-1"},
    }
    script = (
        "import importlib, json, os, sys\n"
        "cases = json.loads(sys.argv[1]); out = {}\n"
        "import linqadmin.settings as s\n"
        "for name, extra in cases.items():\n"
        "    for key in ('TRUST_X_FORWARDED_FOR', 'TRUSTED_PROXY_HOPS', 'TRUSTED_PROXIES'):\n"
        "        os.environ.pop(key, None)\n"
        "    os.environ.update(extra)\n"
        "    importlib.reload(s)\n"
        "    out[name] = [s.TRUSTED_PROXY_HOPS, s.TRUSTED_PROXIES, [p for p in s.CONFIG_PROBLEMS if 'TRUST' in p]]\n"
        "print(json.dumps(out))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "LINQADMIN_ENV_FILE": "", "SECRET_KEY": "k" * 50,
           "LINQADMIN_ENCRYPTION_KEYS": "k", "DATABASE_URL": "sqlite:////tmp/unused.sqlite3"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(cases)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["default"] == [0, [], []]
    assert seen["legacy"] == [1, [], []]  # TRUST_X_FORWARDED_FOR=1 keeps working: one hop
    assert seen["hops"] == [2, [], []]
    assert seen["networks"] == [0, ["10.0.0.0/8", "192.0.2.1"], []]
    assert seen["bad_network"][2] == ["TRUSTED_PROXIES: 'nginx' is not an IP address or network (CIDR)."]
    assert seen["both"][2] == ["Set TRUSTED_PROXIES or TRUSTED_PROXY_HOPS (or TRUST_X_FORWARDED_FOR), not both."]
    assert seen["negative"][2] == ["TRUSTED_PROXY_HOPS must be 0 or more, not -1."]


# -- sign-in throttling and the history, through a proxy ------------------------------------------


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_HOPS, settings.TRUSTED_PROXIES = 1, []


@pytest.mark.django_db
def test_a_new_fake_address_per_guess_is_still_throttled(client, alice, settings, behind_proxy):
    for guess in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "alice", f"guess-{guess}", through_proxy(ATTACKER, claimed=f"10.66.0.{guess}"))
    refused = sign_in(client, "alice", PASSWORD, through_proxy(ATTACKER, claimed="10.66.1.1"))
    assert refused.status_code == 429 and not is_signed_in(client)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


@pytest.mark.django_db
def test_claiming_a_victims_address_does_not_lock_the_victim_out(client, alice, settings, behind_proxy):
    for guess in range(settings.AXES_FAILURE_LIMIT + 3):
        sign_in(client, "alice", f"guess-{guess}", through_proxy(ATTACKER, claimed=VICTIM))
    victim = Client()
    assert sign_in(victim, "alice", PASSWORD, through_proxy(VICTIM)).status_code == 302
    assert is_signed_in(victim)


@pytest.mark.django_db
@pytest.mark.parametrize("claimed", ["not-an-ip", "=2+5", "1.2.3.4.5", "203.0.113.7, "])
def test_a_forwarded_address_that_is_not_one_is_replaced_by_the_sockets(client, alice, sandbox, settings, claimed):
    """``TRUSTED_PROXY_HOPS=1`` and no proxy in front: the client writes the header itself."""
    settings.TRUSTED_PROXY_HOPS = 1
    meta = {"REMOTE_ADDR": ATTACKER, "HTTP_X_FORWARDED_FOR": claimed}
    assert sign_in(client, "alice", "wrong", meta).status_code == 200  # the form again, not a 500
    assert sign_in(client, "alice", PASSWORD, meta).status_code == 302
    saved = client.post(URL, edit_data(last_name="Help desk"), **meta)
    assert saved.status_code == 200 and "Saved" in saved.content.decode()
    assert AuditEntry.objects.get().client_ip == ATTACKER
    assert set(AccessLog.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    exported = read_csv(client.get(reverse("history_export", args=["acme"]), **meta))
    assert dict(zip(HEADER, exported[1], strict=True))["client_ip"] == ATTACKER


@pytest.mark.django_db
def test_throttling_and_the_history_see_the_same_address(client, alice, sandbox, behind_proxy):
    meta = through_proxy(VICTIM, claimed="192.0.2.99")
    assert sign_in(client, "alice", PASSWORD, meta).status_code == 302
    assert client.post(URL, edit_data(last_name="Help desk"), **meta).status_code == 200
    assert AccessLog.objects.get().ip_address == AuditEntry.objects.get().client_ip == VICTIM


# -- no CSV cell can carry a formula ----------------------------------------------------------------

FORMULAS = ["=2+5", "+SUM(A1)", "-1+1", "@evil", "\tTab", "\rCR"]


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell or cell[0] not in FORMULA_PREFIXES or is_e164(cell), (cell, row)


def test_every_text_column_of_a_history_row_is_neutralised():
    """csv_row directly, with a formula in every column the database hands over as text
    (SQLite keeps any text in client_ip; Postgres cannot, so this does not need a database)."""
    text_columns = {"created_at", "phone_number", "username", "action", "subject", "outcome", "error_message",
                    "trace_id", "client_ip", *HEADER[HEADER.index("client_ip") + 1:HEADER.index("other_changes")]}
    for formula in FORMULAS:
        row = [formula if name in text_columns else None for name in HEADER]
        row[HEADER.index("id")] = 1
        row[HEADER.index("other_changes")] = json.dumps(formula)  # JSON that is not an object
        row[HEADER.index("request_body")] = "-5"
        cells = [str(cell) for cell in csv_row(tuple(row))]
        assert_no_formula([cells])
        assert cells[HEADER.index("client_ip")] == "'" + formula


@pytest.mark.django_db
def test_the_history_export_neutralises_what_is_stored(client, team, alice):
    card = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    for formula in FORMULAS:
        make_entry(team, number=card, user=alice, subject=formula, error_message=formula, trace_id=formula,
                   changes={"first_name": [formula, formula], "image_url": ["", formula]},
                   request_body={"first_name": formula})
    client.force_login(alice)
    rows = read_csv(client.get(reverse("history_export", args=["acme"])))
    assert len(rows) == 1 + len(FORMULAS)
    assert_no_formula(rows)
    assert {row[HEADER.index("subject")] for row in rows[1:]} == {"'" + formula for formula in FORMULAS}


@pytest.mark.django_db
def test_every_cell_of_the_cards_export_is_neutralised(client, team, alice, sandbox):
    card = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    card.label = "=HYPERLINK(1)"
    card.save(update_fields=["label"])
    sandbox.set_card(CARD_NUMBER, first_name="+SUM(A1)", last_name="-1+1", image_url="@evil")
    client.force_login(alice)
    response = client.get(reverse("cards_export", args=["acme"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == COLUMNS
    assert_no_formula(rows)
    exported = dict(zip(COLUMNS, next(row for row in rows if row[0] == CARD_NUMBER), strict=True))
    assert (exported["label"], exported["first_name"], exported["last_name"], exported["image_url"]) == (
        "'=HYPERLINK(1)", "'+SUM(A1)", "'-1+1", "'@evil")
    # and write_csv itself guards every cell, whatever rows it is given
    assert list(csv.reader(io.StringIO(write_csv(iter([["=1", "\t2", 3]]))))) == [["'=1", "'\t2", "3"]]
