"""Settings for the test suite: the real settings with test-only secrets and fast hashing."""

import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("LINQADMIN_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests see the production posture even in a folder where bin/run wrote a development .env.
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
# The session's live worker has a queue of its own (contactcards/tests/worker.py).
TASKS["default"]["QUEUES"] = sorted({*TASKS["default"]["QUEUES"], "live"})  # noqa: F405
# Admin tests sign staff in without a second factor; test_two_factor turns this on to check it.
ADMIN_REQUIRE_TWO_FACTOR = False
# A session is renewed (saved) when it starts, not again during a test: query counts stay exact
# whatever the clock does. Idle-timeout tests set this to 0.
SESSION_REFRESH_SECONDS = 10**9

# Worker processes started by a test that moved its clock (contactcards/tests/clock.py) share that time.
if os.environ.get("LINQADMIN_TEST_CLOCK_OFFSET"):
    from contactcards.tests.clock import shift_django_now

    shift_django_now(float(os.environ["LINQADMIN_TEST_CLOCK_OFFSET"]))
