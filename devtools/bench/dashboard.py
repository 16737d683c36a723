"""Benchmark of the dashboard under gunicorn (run it with ``bin/bench dashboard``; it is not a test).

In one run, on PostgreSQL (database ``linqadmin_bench_dashboard``, created afresh) and loopback:

* seeds two teams, one with 5 numbers and one with 500, a member signed in to both, a few audit
  entries, and fills the card mirror the way the refresh button does (one GET to the built-in
  Linq sandbox per team);
* serves the project with gunicorn (3 sync workers, persistent connections, DEBUG off);
* loads each page with ``wrk`` for a few seconds, in rounds, interleaved: the sign-in page, a
  signed-in page of a user in no team (the floor for any page that reads a session), the
  dashboard at 5 numbers, at 500 numbers, and a searched/sorted later page at 500;
* loads the 500-number dashboard once more while a writer changes one of its numbers 20 times a
  second (a busy fleet: every change replaces the board version, so most views compute the board
  afresh instead of reusing it - the cost of a cold board, see teams/dashboard.py);
* prints requests per second, each page's ratio to the sign-in page, and the number of calls the
  sandbox received while the dashboards were being loaded (it must be 0: no Linq call per view).

The load generator shares the machine's cores with the server: read the ratios, not the absolute
figures, and compare them within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PG_SERVER = "postgres://linqadmin:linqadmin@127.0.0.1:5432"
PG_NAME = "linqadmin_bench_dashboard"
SIZES = (5, 500)
# Secrets made afresh for each run (the database is created afresh too); the seeding process and
# every gunicorn worker get them through the environment, so they agree.
SECRET_KEY = "bench-only-" + secrets.token_urlsafe(40)
FERNET_KEY = Fernet.generate_key().decode()
TOKEN = "bench-token-0000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_NAME}")


def django_env(sandbox_url: str, database: str = PG_NAME) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG_SERVER}/{database}",
        "CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "linqadmin.settings_test",  # DEBUG off, plain static storage
        "SECRET_KEY": SECRET_KEY,
        "LINQADMIN_ENCRYPTION_KEYS": FERNET_KEY,
        "LINQ_API_BASE_URL": sandbox_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::UserWarning",
    }


# -- seeding (a child process with Django) -------------------------------------------------------


def seed(out: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from contactcards.models import AuditEntry, Membership, PhoneNumber, Team, point_numbers_at_newest_entries
    from contactcards.sync.reconcile import reconcile_team

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    for size in SIZES:
        team = Team(slug=f"bench{size}", name=f"Bench {size}")
        team.set_token(TOKEN)
        team.save()
        Membership.objects.create(team=team, user=user, role="editor")
        numbers = PhoneNumber.objects.bulk_create([
            PhoneNumber(team=team, e164=f"+1555{size:03d}{i:04d}", label=f"Line {i}" if i % 4 else "")
            for i in range(size)
        ])
        AuditEntry.objects.bulk_create([
            AuditEntry(team=team, number=number, phone_number=number.e164, user=user, username="bench",
                       action=AuditEntry.Action.UPDATE, changes={"last_name": ["Old", "New"]},
                       outcome=AuditEntry.Outcome.SUCCESS if i % 10 else AuditEntry.Outcome.API_ERROR)
            for i, number in enumerate(numbers) for _ in range(3)
        ])
        point_numbers_at_newest_entries(team.numbers.all())
        assert reconcile_team(team=team).ok, "the sandbox did not answer the refresh"
    loner = get_user_model().objects.create_user("loner", password="bench-password-1")  # in no team

    def signed_in(who) -> str:
        """A session made by Django's own login() (so every sign-in rule's session keys are there)."""
        client = Client()
        client.force_login(who)
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    Path(out).write_text(json.dumps({"cookie": signed_in(user), "loner": signed_in(loner)}))


# -- the run ---------------------------------------------------------------------------------------

WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_BAD = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_LATENCY = re.compile(r"Latency\s+([\d.]+)(us|ms|s)")


def wrk(url: str, *, cookie: str | None, seconds: int, connections: int,
        timeout: int | None = None) -> tuple[float, float, int]:
    """(requests/s, mean latency ms, non-2xx responses) of ``url`` under wrk (``timeout``: wrk's, in seconds)."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if timeout:
        command += ["--timeout", f"{timeout}s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(WRK_RPS.search(output).group(1))
    bad = WRK_BAD.search(output)
    latency = WRK_LATENCY.search(output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return rps, float(latency.group(1)) * scale[latency.group(2)] if latency else 0.0, int(bad.group(1)) if bad else 0


def fetch(url: str, cookie: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited before serving")
        try:
            fetch(url, None)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start in time")


CHURNED_500 = "500, while 20 changes/s"
CHURNED = {CHURNED_500}


class Churn:
    """While active, change a label of the 500-number team 20 times a second (its board version moves)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.stop = threading.Event()
        self.changes = 0

    def __enter__(self) -> Churn:
        if self.enabled:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/{PG_NAME}", autocommit=True) as conn:
            while not self.stop.wait(0.05):
                self.changes += 1
                conn.execute("UPDATE contactcards_phonenumber SET label = %s WHERE e164 = %s",
                             (f"Line 1 ({self.changes})", "+15555000001"))

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stop.set()
            self.thread.join()


def run(args: argparse.Namespace) -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y --no-install-recommends wrk)")
    from devtools.sandbox import SandboxServer, SandboxState

    state = SandboxState()
    sandbox = SandboxServer(state).start()
    numbers = [f"+1555{size:03d}{i:04d}" for size in SIZES for i in range(size)]
    state.add_account(TOKEN, numbers)
    for i, e164 in enumerate(numbers):
        if i % 5:
            state.set_card(e164, first_name=f"Acme {i}", last_name="Support" if i % 2 else None,
                           image_url=f"https://cdn.linqapp.com/contact-card/{i}.png" if i % 3 else None,
                           is_active=bool(i % 7))
    reset_database()
    env = django_env(sandbox.url)
    print(f"Seeding {PG_NAME}: teams with {' and '.join(map(str, SIZES))} numbers ...", flush=True)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, "-m", "devtools.bench.dashboard", "--seed", out.name],
                       env=env, cwd=ROOT, check=True)
        cookies = json.loads(Path(out.name).read_text())
    cookie = cookies["cookie"]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "linqadmin.wsgi", "--workers", "3",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    try:
        wait_until_up(f"{base}/accounts/login/", server)
        pages = {
            "sign-in page": ("/accounts/login/", None),
            # The floor for any signed-in page: session, user and memberships read, a small template.
            "signed in, no team (floor)": ("/", cookies["loner"]),
            "dashboard, 5 numbers": ("/t/bench5/", cookie),
            "dashboard, 500 numbers": ("/t/bench500/", cookie),
            "500: search + sort + page 2": ("/t/bench500/?q=Acme&sort=name&page=2", cookie),
            CHURNED_500: ("/t/bench500/", cookie),
        }
        for name, (path, page_cookie) in pages.items():
            status, html = fetch(base + path, page_cookie)
            rows = html.count('<tr class="status-')
            assert status == 200 and (page_cookie is None or rows or "floor" in name), (name, status)
            print(f"  {name:<30} {path:<40} 200, {rows} rows", flush=True)
        state.requests.clear()
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in pages}
        for round_ in range(args.rounds):
            for name, (path, page_cookie) in pages.items():
                with Churn(enabled=name in CHURNED):
                    results[name].append(wrk(base + path, cookie=page_cookie, seconds=args.seconds,
                                             connections=args.connections))
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
        linq_calls = len(state.requests)
    finally:
        server.terminate()
        server.wait(timeout=30)
        sandbox.stop()

    print("\n" + "=" * 96)
    print(f"gunicorn, 3 workers, PostgreSQL, loopback; wrk -t2 -c{args.connections} -d{args.seconds}s x "
          f"{args.rounds} rounds (median); ratio = page's requests/s / sign-in page's")
    print("=" * 96)
    print(f"{'page':<32}{'requests/s':>12}{'latency ms':>12}{'ratio':>9}{'non-2xx':>10}")
    signin = statistics.median(rps for rps, _, _ in results["sign-in page"])
    for name, runs in results.items():
        rps = statistics.median(r for r, _, _ in runs)
        latency = statistics.median(lat for _, lat, _ in runs)
        bad = sum(b for _, _, b in runs)
        print(f"{name:<32}{rps:>12.1f}{latency:>12.1f}{rps / signin:>9.2f}{bad:>10}")
    print(f"Calls to Linq (the sandbox) while the pages were loaded: {linq_calls}")
    goal = statistics.median(r for r, _, _ in results["dashboard, 500 numbers"]) / signin
    print(f"Goal: dashboard at 500 numbers >= 0.5 x the sign-in page: {goal:.2f} -> "
          f"{'met' if goal >= 0.5 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Requests/s of the dashboard under gunicorn, beside the sign-in page.")
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per page and round (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the median is shown")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed(args.seed)
    else:
        run(args)


if __name__ == "__main__":
    main()
