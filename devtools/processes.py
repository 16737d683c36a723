"""The environment for another process that must act like this one (task workers, gunicorn): the same
database, keys, sandbox and mail. Used by the tests' workers and by the benchmarks."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for the database this process is connected to (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def email_url() -> str:
    """An EMAIL_URL for the mail settings of this process: the ``mailbox`` fixture's SMTP server, or none."""
    if settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
        return f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return "dummymail://"  # pytest-django's in-memory outbox cannot reach another process


def worker_env(sandbox_url: str, **extra: str) -> dict[str, str]:
    """The environment a worker process needs to act like this test process (read when the worker starts)."""
    return {
        "DJANGO_SETTINGS_MODULE": "linqadmin.settings_test",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "LINQADMIN_ENCRYPTION_KEYS": ",".join(settings.LINQADMIN_ENCRYPTION_KEYS),
        "LINQ_API_BASE_URL": sandbox_url,
        "PUBLIC_URL": settings.PUBLIC_URL,
        "EMAIL_URL": email_url(),
        "DEBUG": "0",
        **extra,
    }
