"""Shared fixtures: the Linq sandbox over real HTTP, a team with four personas, Chromium for Playwright."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.http import HttpRequest  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402

from devtools.sandbox import SandboxServer, SandboxState  # noqa: E402

# Photos (issue 14): local https file server, image server, moto S3 server, resolver and connection traps.
pytest_plugins = ["tests.support.photo_fixtures"]

TOKEN = "test-token-ACME-7f3k9Q"
OTHER_TOKEN = "test-token-OTHER-2b8x"
CARD_NUMBER = "+15550001001"   # has a card
EMPTY_NUMBER = "+15550001002"  # has no card
PASSWORD = "correct-horse-battery"


def sign_in_request() -> HttpRequest:
    """The request django-axes needs on every authenticate(): the test client's login() passes none."""
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    return request


class Client(DjangoClient):
    """Django's test client; ``login()`` passes a request, as django-axes checks every sign-in against one."""

    def login(self, **credentials) -> bool:
        credentials.setdefault("request", sign_in_request())
        return super().login(**credentials)


def pytest_collection_modifyitems(config, items) -> None:
    """When bin/test runs both databases (``TEST_BOTH_DATABASES=1``), a test marked ``once`` runs in one of the two
    runs only: its subject does not depend on the database. ``once(on="postgres")`` picks the PostgreSQL run, plain
    ``once`` the SQLite run. Browser tests are ``once``: what they add to the server-side tests (which run on
    both) is the page in Chromium, the same on either database; the README's commands run in the PostgreSQL run,
    so the two runs take about as long."""
    if os.environ.get("TEST_BOTH_DATABASES") != "1":
        return
    here = os.environ.get("TEST_DB_LABEL", "sqlite")

    def elsewhere(item) -> bool:
        marker = item.get_closest_marker("once")
        if marker is None and item.get_closest_marker("browser"):
            return here != "sqlite"
        return marker is not None and marker.kwargs.get("on", "sqlite") != here

    skipped = [item for item in items if elsewhere(item)]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if not elsewhere(item)]


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server, settings) -> SandboxState:
    """A fresh sandbox state for each test, with the app pointed at it."""
    sandbox_server.state.reset()
    sandbox_server.state.clock = __import__("time").time
    settings.LINQ_API_BASE_URL = sandbox_server.url
    return sandbox_server.state


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback for the whole run (see tests/support/mail.py)."""
    from tests.support.mail import Inbox, SMTPServer

    server = SMTPServer(Inbox())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server, settings):
    """An empty inbox, and the app sending mail to it through Django's SMTP backend."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    smtp_server.handler.clear()
    return smtp_server.handler


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID Connect provider (oidc-provider-mock) on loopback for the whole run (tests/support/oidc.py)."""
    from tests.support.oidc import OIDCProvider

    provider = OIDCProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def sso(oidc_provider, settings):
    """Single sign-on through ``oidc_provider``, named "Acme Login"; a test sets OIDC_GROUP_MAP and more."""
    from tests.support.oidc import configure

    configure(settings, oidc_provider)
    return oidc_provider


@pytest.fixture
def team(db, sandbox):
    from contactcards.models import PhoneNumber, Team

    sandbox.add_account(TOKEN, [CARD_NUMBER, EMPTY_NUMBER])
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Support",
                     image_url="https://cdn.linqapp.com/contact-card/acme.png")
    team = Team(slug="acme", name="Acme")
    team.set_token(TOKEN)
    team.save()
    PhoneNumber.objects.create(team=team, e164=CARD_NUMBER, label="Support")
    PhoneNumber.objects.create(team=team, e164=EMPTY_NUMBER, label="New")
    return team


@pytest.fixture
def other_team(db, sandbox):
    from contactcards.models import PhoneNumber, Team

    sandbox.add_account(OTHER_TOKEN, ["+15550009001"])
    team = Team(slug="other", name="Other Co")
    team.set_token(OTHER_TOKEN)
    team.save()
    PhoneNumber.objects.create(team=team, e164="+15550009001")
    return team


def _member(team, username, role):
    from django.contrib.auth import get_user_model

    from contactcards.models import Membership

    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    if team is not None:
        Membership.objects.create(team=team, user=user, role=role)
    return user


@pytest.fixture
def alice(team):
    """Owner."""
    return _member(team, "alice", "owner")


@pytest.fixture
def bob(team):
    """Editor."""
    return _member(team, "bob", "editor")


@pytest.fixture
def vera(team):
    """Viewer (read-only)."""
    return _member(team, "vera", "viewer")


@pytest.fixture
def charlie(other_team):
    """Outsider: owner of another team."""
    return _member(other_team, "charlie", "owner")


@pytest.fixture
def personas(alice, bob, vera, charlie):
    return {"owner": alice, "editor": bob, "viewer": vera, "outsider": charlie}


@pytest.fixture(scope="session")
def _live_worker_processes(django_db_setup, sandbox_server):
    """Real `db_worker`s for the whole session, one per queue (as bin/run), on queues of their own,
    stopped before the test DB is dropped."""
    from tests.support.worker import Workers

    workers = Workers(sandbox_server.url)
    processes = workers.start_live()
    yield processes
    workers.stop_all()


@pytest.fixture
def live_worker(_live_worker_processes, transactional_db, sandbox, settings):
    """Workers that run this test's tasks as they come (for tests that watch work happen); returns the
    work queue's."""
    from tests.support.worker import LIVE_QUEUE, LIVE_WEBHOOKS_QUEUE, died

    for process in _live_worker_processes:
        assert process.poll() is None, f"a session's db_worker has died: {died(process)}"
    settings.LINQADMIN_TASKS_QUEUE = LIVE_QUEUE
    settings.LINQADMIN_WEBHOOKS_QUEUE = LIVE_WEBHOOKS_QUEUE
    return _live_worker_processes[0]


@pytest.fixture(scope="session")
def _batch_server(django_db_setup, sandbox_server):
    """The fork server that ``workers.run_batch()`` runs its batches from (tests/support/batch_server.py),
    stopped before the test DB is dropped."""
    from tests.support.worker import BatchServer

    server = BatchServer(sandbox_server.url)
    yield server
    server.process.stdin.close()
    server.stop()


@pytest.fixture
def workers(transactional_db, sandbox_server, sandbox, _batch_server):
    """Real `db_worker` processes on demand: ``workers.run_batch()`` runs what is due and returns."""
    from tests.support.worker import Workers

    started = Workers(sandbox_server.url, _batch_server)
    yield started
    started.stop_all()


@pytest.fixture
def clock(monkeypatch, sandbox, workers):
    """Move time for the app, the sandbox and the test's workers alike: ``clock.advance(minutes=10)``."""
    from tests.support.clock import Clock

    return Clock(monkeypatch, sandbox, workers)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus: on Postgres, end stray sessions before it is dropped.

    Django's connections are per thread/context; a connection opened while Playwright's event
    loop was running lives in another context, so the final close_all() does not see it and
    DROP DATABASE would fail ("being accessed by other users").
    """
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        connection.close()


# -- a pseudo-language (tests/common/test_i18n.py, browser tests) ------------------------------

PSEUDO = "eo"  # a language Django knows (so LocaleMiddleware accepts it); every string becomes ⟪…⟫


@pytest.fixture
def pseudo_language(tmp_path, settings):
    """locale/en's catalogues with every msgstr set to ⟪msgid⟫, compiled with GNU gettext, switched on."""
    target = tmp_path / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    for domain in ("django", "djangojs"):
        source = Path(__file__).resolve().parent / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"
        english = subprocess.run(["msgen", str(source)], check=True, capture_output=True).stdout
        pseudo = subprocess.run(["msgfilter", "--keep-header", "sed", "-e", "s/^/⟪/", "-e", "s/$/⟫/"],
                                input=english, check=True, capture_output=True).stdout
        subprocess.run(["msgfmt", "-o", str(target / f"{domain}.mo"), "-"], input=pseudo, check=True,
                       capture_output=True)
    from django.core.cache import caches
    from django.utils import translation

    # /jsi18n/ is cached per language (cache_page): no catalogue from before or after this fixture
    # may be served while it is on, nor its pseudo-catalogue after it.
    caches["default"].clear()
    settings.LOCALE_PATHS = [tmp_path]
    settings.LANGUAGES = [("en", "English"), (PSEUDO, "Pseudo")]
    yield PSEUDO
    caches["default"].clear()
    translation.activate(settings.LANGUAGE_CODE)
