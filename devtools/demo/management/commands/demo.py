"""Run the dashboard on the embedded defaults: SQLite, the built-in Linq sandbox, demo data.

State survives a restart on both sides: the database keeps the history and the write budget it
derives from it, and the sandbox keeps its cards and spent writes in a JSON file next to the
database (``db.sqlite3.sandbox.json``), so the demo never contradicts itself. ``--reset`` starts
both afresh.
"""

import os
import signal
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from contactcards.common import taskqueue
from contactcards.models import AuditEntry, Membership, PhoneNumber, Role, Team
from contactcards.sync.reconcile import reconcile_team, schedule_reconcile
from devtools.demo.photos import CDN_FOLDER, demo_photo_env, serve_demo_photos
from devtools.sandbox import SandboxServer, SandboxState
from devtools.sandbox.app import API_PREFIX, SandboxApp

DEMO_LABELS = ("Support", "Sales", "Billing", "Onboarding", "New line")
DEMO_USERS = (("demo", Role.OWNER), ("editor", Role.EDITOR), ("viewer", Role.VIEWER))
DEFAULT_PORT = 8000
DEFAULT_SANDBOX_PORT = 8765


def default_addrport() -> str:
    return f"127.0.0.1:{os.environ.get('PORT') or DEFAULT_PORT}"


def sandbox_state_path() -> Path:
    """Where the demo sandbox is kept: next to the SQLite file, else in the project folder."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3") and str(db["NAME"]) != ":memory:":
        name = Path(db["NAME"])
        return name.with_name(name.name + ".sandbox.json")
    return Path(settings.BASE_DIR) / "demo-sandbox.json"


class Command(BaseCommand):
    help = (
        "Start the built-in Linq sandbox, create the demo team and users, and serve the dashboard "
        "(development server). For local trial only; refuses to run with DEBUG off. "
        "Ports: $PORT (default 8000) and $SANDBOX_PORT (default 8765)."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default=None,
                            help=f"address:port to serve on (default 127.0.0.1:$PORT, $PORT={DEFAULT_PORT})")
        parser.add_argument("--sandbox-port", type=int,
                            default=int(os.environ.get("SANDBOX_PORT") or DEFAULT_SANDBOX_PORT),
                            help=f"port of the built-in Linq sandbox (default $SANDBOX_PORT or {DEFAULT_SANDBOX_PORT})")
        parser.add_argument("--reset", action="store_true",
                            help="start afresh: delete the demo's SQLite database and the sandbox's saved state")
        parser.add_argument("--no-serve", action="store_true", help="only prepare data, do not serve")

    def handle(self, addrport, sandbox_port, reset, no_serve, **options):
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DEBUG=1 (it starts a fake Linq API).")
        addrport = addrport or default_addrport()
        state_path = sandbox_state_path()
        if reset:
            self._reset(state_path)
        self.stdout.write("Preparing the database (migrate)…")
        call_command("migrate", verbosity=0, interactive=False)
        password = seed_demo(self.stdout)
        if no_serve:
            return
        state = SandboxState(path=state_path)
        try:
            sandbox = SandboxServer(state, port=sandbox_port).start()
        except OSError as exc:
            raise CommandError(f"Cannot start the Linq sandbox on port {sandbox_port} ({exc.strerror}). "
                               "Set SANDBOX_PORT to a free port.") from None
        # Uploads and the sandbox's CDN published over https (before anything uses storages["photos"]).
        photos = serve_demo_photos(state)
        if state.load():
            move_demo_photos(state, sandbox.root_url)
            self.stdout.write(f"Linq sandbox: kept its cards from the last run ({state_path.name}).")
        else:
            state.load_demo(sandbox.root_url)
            if AuditEntry.objects.filter(team__slug="demo").exists():
                self.stdout.write(self.style.WARNING(
                    "The sandbox starts with fresh demo cards but the database keeps an older history: "
                    "run `bin/run --reset` to start both afresh."))
        state.save()
        settings.LINQ_API_BASE_URL = sandbox.url
        reconcile_team(team=Team.objects.get(slug="demo"), username="demo setup")  # the dashboard shows cards at once
        # Webhooks: the sandbox delivers signed events to this server (PUBLIC_URL) from a thread.
        settings.PUBLIC_URL = settings.PUBLIC_URL or f"http://{addrport}"
        state.webhooks.start_delivery()
        schedule_reconcile()  # the periodic reconcile, run by the worker below
        photos_line = (f"Photos:       {photos.url} (self-signed https: open it once in the browser and accept "
                       "the certificate to see the cards' photos)\n" if photos else "")
        # Rollouts and webhooks run on the task queue: one worker per queue beside the web server (a slow
        # rollout never delays webhooks), talking to the same sandbox (and, for bulk photo changes, to the
        # same photo server).
        workers = taskqueue.start_workers({"LINQ_API_BASE_URL": sandbox.url, "PUBLIC_URL": settings.PUBLIC_URL,
                                           **demo_photo_env()}, interval=0.5)
        queues = zip(taskqueue.queue_names(), workers, strict=True)
        pids = ", ".join(f"{queue} pid {worker.pid}" for queue, worker in queues)
        self.stdout.write(self.style.SUCCESS(
            f"\nLinq sandbox: {sandbox.url}  (SANDBOX_PORT={sandbox.httpd.server_address[1]})\n"
            f"Dashboard:    http://{addrport}/\n{photos_line}Task workers: {pids}\n"
            f"Sign in as demo / {password} (owner), editor / {password}, viewer / {password}\n"
            "Start afresh with: bin/run --reset\n"
        ))
        # Stopped with SIGTERM (not only Ctrl+C): exit through `finally` so the worker stops too.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            for worker in workers:
                taskqueue.stop_worker(worker)

    def _reset(self, state_path: Path) -> None:
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("sqlite3"):
            raise CommandError("--reset only deletes the demo's SQLite database; DATABASE_URL points elsewhere.")
        connections.close_all()
        name = Path(db["NAME"])
        for path in (name, Path(f"{name}-wal"), Path(f"{name}-shm"), state_path):
            path.unlink(missing_ok=True)
        self.stdout.write(f"Reset: deleted {name.name} and the sandbox's saved state.")


def move_demo_photos(state: SandboxState, root_url: str) -> None:
    """Photos on the sandbox's fake CDN follow it to another port, and to https once it is published there
    (``SandboxState.publish_cdn``: a file the CDN no longer has becomes the avatar it served)."""
    markers = (API_PREFIX + "/cdn/contact-card/", f"/{CDN_FOLDER}/contact-card/")
    with state.lock:
        for card in state.cards.values():
            url = card.get("image_url") or ""
            marker = next((m for m in markers if m in url and url.startswith(("http://127.0.0.1", "https://127.0.0.1"))),
                          None)
            if marker is None:
                continue
            name = url[url.index(marker) + len(marker):]
            fallback = f"{root_url}{API_PREFIX}/cdn/contact-card/{name}"
            card["image_url"] = state.cdn_link(name, SandboxApp._avatar(f"/cdn/contact-card/{name}"), fallback)


def seed_demo(stdout=None) -> str:
    """Idempotently create the demo team, numbers and users; return the demo password."""
    password = os.environ.get("LINQADMIN_DEMO_PASSWORD", "linq-demo-2026")
    team, _ = Team.objects.get_or_create(slug="demo", defaults={"name": "Acme (demo)"})
    team.set_token(SandboxState.DEMO_TOKEN)
    team.save()
    for e164, label in zip(SandboxState.DEMO_NUMBERS, DEMO_LABELS, strict=True):
        PhoneNumber.objects.get_or_create(team=team, e164=e164, defaults={"label": label})
    User = get_user_model()
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.save()
        Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return password
