"""Operations: /healthz for load balancers, /healthz/linq apart from it, JSON logs on request."""

import json
import logging
import subprocess
import sys

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.urls import reverse

from linqadmin.logging import JsonFormatter
from tests.support.fresh_shell import ROOT, free_port


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_healthz_reports_the_database_without_signing_in(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] is True
    assert "linq" not in body  # Linq's health never decides whether this server takes traffic
    assert "no-cache" in response["Cache-Control"]
    assert client.post(reverse("healthz")).status_code == 405


def test_healthz_is_503_when_the_database_fails(client, db, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper

    def broken(self, *args, **kwargs):
        raise OperationalError("could not connect to server")

    with monkeypatch.context() as patch:  # undone before the test database is cleaned up
        patch.setattr(BaseDatabaseWrapper, "cursor", broken)
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"] == {**response.json()["database"], "ok": False, "error": "OperationalError"}
    assert "could not connect" not in response.content.decode()  # no internals to anonymous callers


def test_healthz_linq_probes_without_token_or_write_and_is_cached(client, db, sandbox):
    response = client.get(reverse("healthz_linq"))
    assert response.status_code == 200
    linq = response.json()["linq"]
    assert linq["reachable"] is True and linq["status"] == 401
    again = client.get(reverse("healthz_linq"))
    assert again.json()["linq"] == linq
    assert [(r.method, r.path, r.token) for r in sandbox.requests] == [("GET", "/v3/phone_numbers", None)]


def test_healthz_linq_unreachable_or_failing_is_503(client, db, sandbox, settings):
    sandbox.add_fault({"kind": "error", "status": 503, "code": 4004, "methods": ["GET"]})
    response = client.get(reverse("healthz_linq"))
    assert response.status_code == 503
    assert response.json()["linq"]["reachable"] is False and response.json()["linq"]["status"] == 503
    cache.clear()
    settings.LINQ_API_BASE_URL = f"http://127.0.0.1:{free_port()}/api/partner"
    response = client.get(reverse("healthz_linq"))
    assert response.status_code == 503
    assert response.json()["linq"]["detail"].startswith("connection failed")
    assert client.get(reverse("healthz")).status_code == 200  # the app itself is still healthy


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord("contactcards.services", logging.WARNING, __file__, 1, "Linq said %s\nline two",
                               ("no",), None)
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_json_formatter_writes_one_object_per_line_with_extras():
    class Request:
        method, path = "POST", "/t/acme/numbers/+15550001001/"

    line = JsonFormatter().format(_record(trace_id="abc123", status_code=429, request=Request(), obj=object()))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "Linq said no\nline two"
    assert (entry["level"], entry["logger"]) == ("WARNING", "contactcards.services")
    assert entry["trace_id"] == "abc123" and entry["status_code"] == 429
    assert entry["request"] == "POST /t/acme/numbers/+15550001001/"
    assert entry["time"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record()
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exception"]


def test_log_format_json_applies_to_the_whole_process(tmp_path):
    code = ("import logging, django; django.setup(); "
            "logging.getLogger('contactcards.x').warning('hello %s', 'there', extra={'number': '+15550001001'})")
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "linqadmin.settings", "DEBUG": "0",
           "LINQADMIN_ENV_FILE": "", "SECRET_KEY": "k" * 50, "LINQADMIN_ENCRYPTION_KEYS": "", "LOG_FORMAT": "json",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert [json.loads(line)["message"] for line in lines] == ["hello there"], result.stderr
    assert json.loads(lines[0])["number"] == "+15550001001"
