"""Run the dashboard on the embedded defaults: SQLite, the built-in Linq sandbox, demo data."""

import os
import signal
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from contactcards import taskqueue
from contactcards.models import Membership, PhoneNumber, Role, Team
from contactcards.photos.demo import demo_photo_env, serve_demo_photos
from contactcards.sandbox import SandboxServer, SandboxState
from contactcards.services.mirror import refresh_team

DEMO_LABELS = ("Support", "Sales", "Billing", "Onboarding", "New line")
DEMO_USERS = (("demo", Role.OWNER), ("editor", Role.EDITOR), ("viewer", Role.VIEWER))


class Command(BaseCommand):
    help = (
        "Start the built-in Linq sandbox, create the demo team and users, and serve the dashboard "
        "(development server). For local trial only; refuses to run with DEBUG off."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", 8765)))
        parser.add_argument("--no-serve", action="store_true", help="only prepare data, do not serve")

    def handle(self, addrport, sandbox_port, no_serve, **options):
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DEBUG=1 (it starts a fake Linq API).")
        call_command("migrate", verbosity=0, interactive=False)
        password = seed_demo(self.stdout)
        if no_serve:
            return
        state = SandboxState()
        sandbox = SandboxServer(state, port=sandbox_port).start()
        state.load_demo(sandbox.root_url)
        settings.LINQ_API_BASE_URL = sandbox.url
        refresh_team(team=Team.objects.get(slug="demo"), username="demo setup")  # the dashboard shows cards at once
        photos = serve_demo_photos(state)  # uploads published over https, fetchable by the sandbox
        photos_line = f"Photos:       {photos.url} (self-signed https, for the sandbox)\n" if photos else ""
        # Rollouts run on the task queue: one worker beside the web server, talking to the same sandbox
        # (and, for bulk photo changes, to the same photo server).
        worker = taskqueue.start_worker({"LINQ_API_BASE_URL": sandbox.url, **demo_photo_env()}, interval=0.5)
        self.stdout.write(self.style.SUCCESS(
            f"\nLinq sandbox: {sandbox.url}\nDashboard:    http://{addrport}/\n{photos_line}"
            f"Task worker:  pid {worker.pid}\n"
            f"Sign in as demo / {password} (owner), editor / {password}, viewer / {password}\n"
        ))
        # Stopped with SIGTERM (not only Ctrl+C): exit through `finally` so the worker stops too.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            taskqueue.stop_worker(worker)


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
