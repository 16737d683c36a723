"""Every page beside ``/healthz``, in one run (``bin/bench pages``; a benchmark, not a test; issue 22).

In one run, on PostgreSQL (database ``linqadmin_bench_pages``, seeded once and reused) and loopback:

* two teams, of 500 and of 5,000 numbers, one member signed in to both; the 5,000-number team holds
  1,000,000 history rows (``manage.py seedaudit``, the first run only: minutes) and a 5,000-item job;
* the built-in Linq sandbox over real HTTP, answering a card read in 1-3 ms (a latency fault);
* gunicorn, 3 sync workers, persistent connections, DEBUG off; ``wrk`` with 12 connections (Debian's
  wrk, installed when missing);
* each page is loaded for a few seconds per round, the pages interleaved round after round so machine
  noise hits all of them alike; then single requests one at a time (interleaved too) for the median;
* it prints requests/s, the median single request, the share of ``/healthz``'s requests/s, the goal
  beside it (met / not met), and the SQL queries each page makes (in-process count).

``--quick`` is a fast check (100,000 rows in a database of its own, shorter rounds). ``--profile`` profiles
each page in-process instead (through Django's WSGI handler, as gunicorn calls it: cProfile, queries, and
each middleware's cost measured by removing it) - the "Pages against /healthz" section of
docs/benchmarks.md is written from it. The load generator shares the 2 cores with the server: read the
shares, not the absolute figures, and compare them within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from devtools.bench.dashboard import PG_SERVER, fetch, free_port, wait_until_up, wrk
from devtools.bench.dashboard import django_env as dashboard_env

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-token-pages"
SIZES = (500, 5000)
JOB_ITEMS = 5000
MEMBERS = 12
# name -> goal (share of /healthz's requests/s); None: the floor itself
GOALS = {
    "/healthz": None,
    "sign-in": 0.5,
    "dashboard, 500 numbers": 0.5,
    "dashboard, 5,000 numbers": 0.5,
    "job-page poll (5,000 items)": 0.5,
    "card page (one Linq read)": 0.2,
    "history, newest": 0.25,
    "history, one number": 0.25,
}


def e164(size: int, i: int) -> str:
    return f"+1556{size:04d}{i:04d}"


def card_of(i: int) -> dict:
    """The card the sandbox has for the i-th number of a team (the same every run: the mirror matches)."""
    return {"first_name": f"Acme {i}", "last_name": "Support" if i % 2 else None,
            "image_url": f"https://cdn.linqapp.com/contact-card/{i}.png" if i % 3 else None}


def database(quick: bool) -> str:
    return "linqadmin_bench_pages_quick" if quick else "linqadmin_bench_pages"


def django_env(args: argparse.Namespace, sandbox_url: str) -> dict[str, str]:
    return dashboard_env(sandbox_url, database(args.quick))


def ensure_database(name: str, *, reseed: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if reseed:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f"CREATE DATABASE {name}")


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("Installing wrk (Debian's) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env)


def start_sandbox():
    """The sandbox over HTTP with every bench number's card, answering reads in 1-3 ms."""
    from devtools.sandbox import SandboxServer, SandboxState
    from devtools.sandbox.app import Fault

    state = SandboxState()
    numbers = [e164(size, i) for size in SIZES for i in range(size)]
    state.add_account(TOKEN, numbers)
    for size in SIZES:
        for i in range(size):
            state.set_card(e164(size, i), **card_of(i))
    state.add_fault(Fault(kind="latency", methods=("GET",), seconds=0.002))  # + ~0.5 ms of its own work
    return SandboxServer(state).start()


# -- child: seed (once), prepare the run's sessions and URLs, count queries -----------------------


def prepare(args: argparse.Namespace, out: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from contactcards.models import AuditEntry, Job, JobItem, Membership, PhoneNumber, Team
    from contactcards.rollout import jobs

    call_command("migrate", verbosity=0)
    User = get_user_model()
    big = Team.objects.filter(slug=f"bench{SIZES[-1]}").first()
    reused = big is not None and AuditEntry.objects.filter(team=big).count() >= args.rows
    if not reused:
        if big is not None:
            raise SystemExit(f"{database(args.quick)} holds an unfinished seeding: run again with --reseed")
        seed(args.rows)
    user = User.objects.get(username="bench")
    for team in Team.objects.filter(slug__in=[f"bench{size}" for size in SIZES]):
        team.set_token(TOKEN)  # this run's encryption key
        team.save(update_fields=["token_encrypted", "token_last4", "token_set_at"])
    big = Team.objects.get(slug=f"bench{SIZES[-1]}")
    job = Job.objects.filter(team=big).order_by("pk").first()
    shown = list(JobItem.objects.filter(job=job).order_by("pk").values_list("pk", flat=True)[:jobs.ITEMS_PER_PAGE])
    card_number = e164(SIZES[-1], 0)  # the busiest number of the history (seedaudit weighs the first ones)
    since = (timezone.now() - jobs.OVERLAP).isoformat()

    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    from urllib.parse import urlencode

    pages = {
        "/healthz": ("/healthz", False),
        "sign-in": ("/accounts/login/", False),
        "dashboard, 500 numbers": (f"/t/bench{SIZES[0]}/", True),
        "dashboard, 5,000 numbers": (f"/t/bench{SIZES[-1]}/", True),
        "job-page poll (5,000 items)": (f"/t/bench{SIZES[-1]}/jobs/{job.pk}/progress.json?"
                                        + urlencode({"since": since, "items": ".".join(map(str, shown))}), True),
        "card page (one Linq read)": (f"/t/bench{SIZES[-1]}/numbers/{card_number}/", True),
        "history, newest": (f"/t/bench{SIZES[-1]}/history/", True),
        "history, one number": (f"/t/bench{SIZES[-1]}/history/?" + urlencode({"number": card_number}), True),
    }
    queries = {}
    anonymous = Client()
    for name, (url, signed_in) in pages.items():
        who = client if signed_in else anonymous
        for _ in range(2):  # the first view may fill caches or settle what the card read finds
            response = who.get(url)
            assert response.status_code == 200, (name, url, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            who.get(url)
        queries[name] = {"count": len(captured), "sql": [q["sql"][:300] for q in captured.captured_queries],
                         "writes": sum(1 for q in captured.captured_queries
                                       if q["sql"].lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE",
                                                                                         "DELETE"))}
    Path(out).write_text(json.dumps({
        "cookie": cookie, "pages": {name: {"url": url, "signed_in": signed_in}
                                    for name, (url, signed_in) in pages.items()},
        "queries": queries, "reused": reused, "rows": AuditEntry.objects.filter(team=big).count(),
        "numbers": {size: PhoneNumber.objects.filter(team__slug=f"bench{size}").count() for size in SIZES},
        "members": Membership.objects.filter(team=big).count(),
    }))


def seed(rows: int) -> None:
    """Teams of 500 and 5,000 numbers, their members, the card mirror, the history and a 5,000-item job."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from contactcards.models import Job, JobItem, Membership, PhoneNumber, Team
    from contactcards.sync.reconcile import reconcile_team

    User = get_user_model()
    started = time.monotonic()
    user = User.objects.create_user("bench", password="bench-password-1")
    others = [User.objects.create_user(f"bench-member-{i:02d}") for i in range(1, MEMBERS)]
    for size in SIZES:
        team = Team(slug=f"bench{size}", name=f"Bench {size}")
        team.set_token(TOKEN)
        team.save()
        Membership.objects.create(team=team, user=user, role="owner")
        Membership.objects.bulk_create([Membership(team=team, user=other, role="editor") for other in others])
        PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164(size, i),
                                                     label=f"Line {i}" if i % 4 else "") for i in range(size)],
                                        batch_size=1000)
        assert reconcile_team(team=team).ok, "the sandbox did not answer the refresh"
    big = Team.objects.get(slug=f"bench{SIZES[-1]}")
    print(f"Seeding {rows:,} history rows for the {SIZES[-1]:,}-number team (the first run only) ...", flush=True)
    call_command("seedaudit", "--rows", str(rows), "--team", big.slug)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE contactcards_auditentry")
    # A bulk edit of every number: most sent, some failed, the rest queued (no worker runs in the bench).
    job = Job.objects.create(team=big, created_by=user, username="bench", source=Job.Source.BULK,
                             description="bench: every number", enqueued_at=timezone.now())
    then = timezone.now() - timezone.timedelta(hours=1)
    numbers = list(PhoneNumber.objects.filter(team=big).order_by("pk"))
    states = [JobItem.State.SENT] * 6 + [JobItem.State.FAILED, JobItem.State.SKIPPED] + [JobItem.State.QUEUED] * 2
    JobItem.objects.bulk_create([
        JobItem(job=job, number=number, phone_number=number.e164, action="update",
                loaded={"last_name": "Support"}, desired={"last_name": "Rolled out"},
                changes={"last_name": ["Support", "Rolled out"]}, state=states[i % len(states)],
                card_active=True if states[i % len(states)] == JobItem.State.SENT else None,
                why=JobItem.Why.LINQ_ERROR if states[i % len(states)] == JobItem.State.FAILED else "",
                detail={"status": 400, "code": 1005, "message": "A parameter has an invalid value."}
                if states[i % len(states)] == JobItem.State.FAILED else {},
                updated_at=then)
        for i, number in enumerate(numbers[:JOB_ITEMS])], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Seeded in {time.monotonic() - started:.0f} s", flush=True)


# -- the run ----------------------------------------------------------------------------------------


def single(url: str, cookie: str | None) -> float:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        response.read()
    return (time.perf_counter() - started) * 1000


def drain(base: str) -> None:
    """Wait until the server has answered what wrk left queued (a slow page's last requests), so the next
    measurement starts on idle workers: until a /healthz answers in under 100 ms (at most a minute)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and single(f"{base}/healthz", None) > 100:
        pass


def run(args: argparse.Namespace) -> None:
    ensure_wrk()
    sandbox = start_sandbox()
    ensure_database(database(args.quick), reseed=args.reseed)
    env = django_env(args, sandbox.url)
    # --compare DIR: the same run serves another tree of the project too (e.g. main, as ``git archive``
    # unpacked it), from the same database and sandbox, its pages interleaved with this tree's.
    trees = {"before": Path(args.compare).resolve(), "after": ROOT} if args.compare else {"this tree": ROOT}
    prepared: dict[str, dict] = {}
    for label, tree in trees.items():
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([sys.executable, "-m", "devtools.bench.pages", "--prepare", out.name, "--rows",
                            str(args.rows), *(["--quick"] if args.quick else [])], env=env, cwd=tree, check=True)
            prepared[label] = json.loads(Path(out.name).read_text())
            if args.profile:
                subprocess.run([sys.executable, "-m", "devtools.bench.pages", "--profile-child", out.name,
                                "--profile-reps", str(args.profile_reps), *(["--quick"] if args.quick else [])],
                               env=env, cwd=tree, check=True)
    if args.profile:
        sandbox.stop()
        return
    pages = next(iter(prepared.values()))["pages"]
    servers, bases = {}, {}
    for label, tree in trees.items():
        port = free_port()
        bases[label] = f"http://127.0.0.1:{port}"
        servers[label] = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "linqadmin.wsgi", "--workers", "3",
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--chdir", str(tree)],
            env=env, cwd=tree,
        )
    rps = {label: {name: [] for name in pages} for label in trees}
    latency = {label: {name: [] for name in pages} for label in trees}
    bad = {label: dict.fromkeys(pages, 0) for label in trees}

    def cookie_for(label: str, page: dict) -> str | None:
        return prepared[label]["cookie"] if page["signed_in"] else None

    try:
        for label, server in servers.items():
            wait_until_up(f"{bases[label]}/healthz", server)
            for name, page in pages.items():
                status, _body = fetch(bases[label] + page["url"], cookie_for(label, page))
                assert status == 200, (label, name, status)
            # every worker fills its own per-process caches (boards, pages, fragments) first: not what is measured
            for page in pages.values():
                wrk(bases[label] + page["url"], cookie=cookie_for(label, page), seconds=1,
                    connections=args.connections, timeout=10)
                drain(bases[label])
        for round_ in range(args.rounds):
            for name, page in pages.items():
                for label in trees:
                    result = wrk(bases[label] + page["url"], cookie=cookie_for(label, page),
                                 seconds=args.seconds, connections=args.connections, timeout=10)
                    rps[label][name].append(result[0])
                    bad[label][name] += result[2]
                    drain(bases[label])
            for _ in range(args.singles):
                for name, page in pages.items():
                    for label in trees:
                        latency[label][name].append(single(bases[label] + page["url"], cookie_for(label, page)))
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
        linq_reads = sum(1 for r in sandbox.state.requests if r.method == "GET")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)
        sandbox.stop()
    for label in trees:
        report(args, label, prepared[label], rps[label], latency[label], bad[label])
    print(f"Linq reads (sandbox GETs) during the run: {linq_reads:,}")
    if args.compare:
        print(f"\n{'page':<30}{'share before':>14}{'share after':>13}{'single ms before':>18}{'after':>8}")
        floors = {label: statistics.median(rps[label]["/healthz"]) or float("nan") for label in trees}
        for name in pages:
            before, after = (statistics.median(rps[label][name]) / floors[label] for label in trees)
            lat_before, lat_after = (statistics.median(latency[label][name]) for label in trees)
            print(f"{name:<30}{before:>14.2f}{after:>13.2f}{lat_before:>18.1f}{lat_after:>8.1f}")


def report(args, label: str, prepared: dict, rps: dict, latency: dict, bad: dict) -> None:
    floor = statistics.median(rps["/healthz"]) or float("nan")
    width = 100
    print("\n" + "=" * width)
    print(f"[{label}] gunicorn, 3 workers, PostgreSQL (persistent connections), loopback; wrk -t2 "
          f"-c{args.connections} -d{args.seconds}s x {args.rounds} rounds, interleaved (median); single = median of "
          f"{args.singles * args.rounds} requests one at a time")
    seeded = "reused" if prepared["reused"] else "seeded in this run"
    print(f"teams of {prepared['numbers']['500']:,} and {prepared['numbers']['5000']:,} numbers; "
          f"{prepared['rows']:,} history rows ({seeded}); Linq sandbox read: 2 ms delay + its own work")
    print("=" * width)
    print(f"{'page':<30}{'requests/s':>11}{'single ms':>11}{'share':>8}{'goal':>7}  {'':<8}{'queries':>8}"
          f"{'writes':>7}{'non-2xx':>8}")
    for name in rps:
        rate = statistics.median(rps[name])
        share = rate / floor
        goal = GOALS.get(name)
        verdict = "" if goal is None else ("met" if share >= goal else "NOT met")
        queries = prepared["queries"][name]
        print(f"{name:<30}{rate:>11.1f}{statistics.median(latency[name]):>11.1f}{share:>8.2f}"
              f"{'' if goal is None else f'>= {goal}':>7}  {verdict:<8}{queries['count']:>8}{queries['writes']:>7}"
              f"{bad[name]:>8}")
    print("queries/writes: SQL statements of one request (in-process, after two warm-up views; under gunicorn each "
          "request also pays the connection's health check, SELECT 1)")
    if args.show_sql:
        for name, queries in prepared["queries"].items():
            print(f"\n[{name}]")
            for sql in queries["sql"]:
                print("   ", sql)


# -- child: profiles ---------------------------------------------------------------------------------


def profile(args: argparse.Namespace, prepared_path: str) -> None:
    """Each page in-process through Django's WSGI handler (as gunicorn calls it), DEBUG off."""
    import django

    django.setup()
    import cProfile
    import io
    import pstats

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.test.utils import override_settings

    prepared = json.loads(Path(prepared_path).read_text())
    cookie = prepared["cookie"]

    def environ(url: str, signed_in: bool) -> dict:
        path, _, query = url.partition("?")
        env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
               "wsgi.version": (1, 0)}
        if signed_in:
            env["HTTP_COOKIE"] = cookie
        return env

    def call(handler, url: str, signed_in: bool) -> int:
        statuses = []
        result = handler(environ(url, signed_in), lambda status, headers, exc_info=None: statuses.append(status))
        for _chunk in result:
            pass
        result.close()
        assert statuses[0].startswith("200"), (url, statuses[0])
        return int(statuses[0][:3])

    def timed(handler, url: str, signed_in: bool, reps: int) -> tuple[float, float]:
        """(median wall ms, median CPU ms) of ``reps`` requests."""
        walls, cpus = [], []
        for _ in range(reps):
            wall, cpu = time.perf_counter(), time.process_time()
            call(handler, url, signed_in)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        return statistics.median(walls), statistics.median(cpus)

    handler = WSGIHandler()
    pages = prepared["pages"]
    reps = args.profile_reps
    print(f"\n{'=' * 100}\nIn-process, through WSGIHandler, DEBUG off, PostgreSQL; median of {reps} requests\n"
          f"{'=' * 100}")
    print(f"{'page':<30}{'wall ms':>9}{'CPU ms':>9}{'queries':>9}")
    for name, page in pages.items():
        for _ in range(3):
            call(handler, page["url"], page["signed_in"])
        wall, cpu = timed(handler, page["url"], page["signed_in"], reps)
        print(f"{name:<30}{wall:>9.2f}{cpu:>9.2f}{prepared['queries'][name]['count']:>9}", flush=True)

    print(f"\n{'=' * 100}\nMiddleware: each removed in turn (median CPU ms of this process over {reps} requests; "
          f"the cost is the difference; 'needed' = others fail without it)\n{'=' * 100}")
    import logging

    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    probes = {"/healthz": (pages["/healthz"]["url"], False), "sign-in": (pages["sign-in"]["url"], False),
              "/healthz signed in": (pages["/healthz"]["url"], True),
              "dashboard 500": (pages["dashboard, 500 numbers"]["url"], True)}
    print(f"{'without':<58}" + "".join(f"{probe:>20}" for probe in probes))
    configs = [(name, [m for m in settings.MIDDLEWARE if m != name]) for name in settings.MIDDLEWARE]
    line = f"{'(none removed: CPU ms per request)':<58}"
    for url, signed_in in probes.values():
        line += f"{timed(handler, url, signed_in, reps)[1]:>14.2f} ms   "
    print(line, flush=True)
    for label, middleware in configs:
        with override_settings(MIDDLEWARE=middleware):
            without = WSGIHandler()  # reads MIDDLEWARE once, here; requests then run with the real settings
        line = f"{label:<58}"
        for url, signed_in in probes.values():
            try:
                for _ in range(3):
                    call(without, url, signed_in)
            except Exception:  # e.g. AuthenticationMiddleware without the session one
                line += f"{'needed':>20}"
                continue
            # interleaved, request by request, with the full stack: noise hits both alike
            full, less = [], []
            for _ in range(reps):
                full.append(timed(handler, url, signed_in, 1)[1])
                less.append(timed(without, url, signed_in, 1)[1])
            line += f"{statistics.median(less) - statistics.median(full):>+14.2f} ms   "
        print(line, flush=True)

    print(f"\n{'=' * 100}\ncProfile per page ({reps} requests; the costliest functions by cumulative time, "
          f"below the handler)\n{'=' * 100}")
    for name, page in pages.items():
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(reps):
            call(handler, page["url"], page["signed_in"])
        profiler.disable()
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("cumulative").print_stats(45)
        print(f"\n--- {name} ({page['url'][:90]}) ---")
        lines = stream.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        noise = ("deprecation.py", "exception.py:52", "base.py:136", "wsgi.py:120", "pages.py", "functional.py")
        for line in lines[start:]:
            if line.strip() and not any(part in line for part in noise):
                print(line[:160])
        print("queries:")
        for sql in prepared["queries"][name]["sql"]:
            print("   ", sql[:200])
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Every page's requests/s beside /healthz (issue 22).")
    parser.add_argument("--quick", action="store_true", help="100,000 rows (own database), short rounds")
    parser.add_argument("--rows", type=int, default=None, help="history rows (default 1,000,000; quick 100,000)")
    parser.add_argument("--seconds", type=int, default=None, help="wrk seconds per page and round (default 5)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; quick 1)")
    parser.add_argument("--singles", type=int, default=None, help="single requests per page and round")
    parser.add_argument("--connections", type=int, default=12)
    parser.add_argument("--reseed", action="store_true", help="drop the bench database and seed again")
    parser.add_argument("--show-sql", action="store_true", help="print each page's queries")
    parser.add_argument("--compare", metavar="DIR",
                        help="also serve the project tree in DIR (e.g. `git archive main | tar -x -C DIR`), "
                             "interleaved with this one: before/after in one run")
    parser.add_argument("--profile", action="store_true", help="profile each page in-process instead")
    parser.add_argument("--profile-reps", type=int, default=200)
    parser.add_argument("--prepare", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", metavar="PREPARED", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quick = args.quick
    args.rows = args.rows or (100_000 if quick else 1_000_000)
    args.seconds = args.seconds or (2 if quick else 5)
    args.rounds = args.rounds or (1 if quick else 3)
    args.singles = args.singles or (10 if quick else 15)
    if quick and args.profile_reps == 200:
        args.profile_reps = 50
    if args.prepare:
        prepare(args, args.prepare)
    elif args.profile_child:
        profile(args, args.profile_child)
    else:
        run(args)


if __name__ == "__main__":
    main()
