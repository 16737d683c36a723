"""Settings for the test suite: the real settings with test-only secrets and fast hashing."""

import atexit
import os
import shutil
import tempfile

from cryptography.fernet import Fernet

# Never a .env: not the one bin/run writes beside manage.py, nor one LINQADMIN_ENV_FILE names. Set in
# os.environ, so every process a test starts (workers, gunicorn, manage.py) inherits it too.
os.environ["LINQADMIN_ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("LINQADMIN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Counters shared by this process and every process it starts (workers, gunicorn), as bin/run and
# production have them (README "Metrics"): a fresh folder per test run, inherited through os.environ.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="linqadmin-test-metrics-")
    atexit.register(shutil.rmtree, os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
# Tests see the production posture unless a test's own environment says otherwise.
os.environ.setdefault("DEBUG", "0")

from linqadmin.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Short, so a test of a timeout is quick; a real server started by a test may ask for longer.
LINQ_READ_TIMEOUT = float(os.environ.get("TEST_LINQ_READ_TIMEOUT", 2.0))
LINQ_CONNECT_TIMEOUT = 1.0
# The sandbox's fake CDN serves photos over http on loopback.
CSP_EXTRA_IMG_SRC = ["http://127.0.0.1:*", "http://localhost:*"]

# Real task workers (separate processes) must see the test database: on SQLite that means a
# file next to the configured one, never the default in-memory test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}-test"}  # noqa: F405
# On PostgreSQL a commit need not wait for the disk in the tests (nothing here must outlive a crash of the machine,
# and the suite commits tens of thousands of times); every process a test starts reads this file too.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
# The session's live workers have queues of their own (tests/support/worker.py).
TASKS["default"]["QUEUES"] = sorted({*TASKS["default"]["QUEUES"], "live", "live-webhooks"})  # noqa: F405
# Links in emails start with PUBLIC_URL (never the request's Host); tests that serve the app for real
# (a browser, webhook deliveries) point it at their live server.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "https://linqadmin.example.com")
# Admin tests sign staff in without a second factor; test_two_factor turns this on to check it.
ADMIN_REQUIRE_TWO_FACTOR = False
# A session is renewed (saved) when it starts, not again during a test: query counts stay exact
# whatever the clock does. Idle-timeout tests set this to 0.
SESSION_REFRESH_SECONDS = 10**9

# The demo-and-test tools app: demo commands, and the shared clock of worker processes started by a
# test that moved its clock (devtools/demo/apps.py reads LINQADMIN_TEST_CLOCK_OFFSET).
if "devtools.demo" not in INSTALLED_APPS:  # noqa: F405
    INSTALLED_APPS = [*INSTALLED_APPS, "devtools.demo"]  # noqa: F405
