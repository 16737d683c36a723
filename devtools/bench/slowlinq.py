"""How long can one save take when Linq is as slow as it may be? (``bin/bench --slow-linq``; not a test.)

Runs the real save path (django.test.Client, the middlewares, the sandbox over HTTP) with the
production timeouts - 5 s connect, 20 s read - against a Linq whose every read answers just inside
the read timeout (19.5 s) and whose write never answers. Prints the wall time of one save:

* with the request budget (``LINQ_REQUEST_BUDGET``, 30 s by default): the save ends as "outcome
  unknown" after about the budget;
* without it (each call on its own timeouts, as before issue 9): re-read + write + re-read after
  no answer, about 60 s - gunicorn's ``--timeout 60`` would kill the worker.

Figures go to docs/benchmarks.md. Takes about 1.5 minutes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="linqadmin-slowlinq-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linqadmin.settings_test")
    os.environ["TEST_LINQ_READ_TIMEOUT"] = "20"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    from contactcards.models import AuditEntry, Membership, PhoneNumber, Team
    from devtools.htmlforms import card_form
    from devtools.sandbox import SandboxServer

    setup_test_environment()
    call_command("migrate", verbosity=0)
    number = "+15550100001"
    server = SandboxServer().start()
    server.state.add_account("bench-token", [number])
    server.state.set_card(number, first_name="Acme", last_name="Support")
    team = Team(slug="bench", name="Bench")
    team.set_token("bench-token")
    team.save()
    PhoneNumber.objects.create(team=team, e164=number)
    user = get_user_model().objects.create_user("bench", password="x")
    Membership.objects.create(team=team, user=user, role="editor")
    url = f"/t/bench/numbers/{number}/"

    def one_save(budget: float) -> tuple[float, str]:
        server.state.writes.clear()
        client = Client()
        client.force_login(user)
        server.state.clear_faults()
        with override_settings(LINQ_API_BASE_URL=server.url, LINQ_CONNECT_TIMEOUT=5.0, LINQ_READ_TIMEOUT=20.0,
                               LINQ_REQUEST_BUDGET=budget):
            form = card_form(client.get(url))
            server.state.add_fault({"kind": "latency", "seconds": 19.5, "methods": ["GET"]})
            server.state.add_fault({"kind": "hold", "seconds": 120, "methods": ["PATCH"]})
            started = time.monotonic()
            response = client.post(url, {**form, "last_name": f"Slow {budget}"})
            elapsed = time.monotonic() - started
        entry = AuditEntry.objects.order_by("-id").first()
        assert response.status_code == 200, response.status_code
        return elapsed, f"{entry.get_outcome_display()} ({entry.error_kind or '-'}, applied={entry.applied})"

    print(f"One save against a Linq that reads in 19.5 s and never answers a write (connect 5 s, read 20 s);"
          f" gunicorn --timeout 60. Settings: {settings.SETTINGS_MODULE}.")
    for label, budget in (("with LINQ_REQUEST_BUDGET=30", 30.0), ("without a request budget", 10_000.0)):
        elapsed, outcome = one_save(budget)
        print(f"  {label:<30} {elapsed:6.1f} s   recorded: {outcome}")
    server.state.release_holds()
    server.stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
