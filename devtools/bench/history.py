"""Benchmark of the audit history at scale (run it with ``bin/bench``; it is not a test).

For each database (SQLite in /tmp, PostgreSQL database ``linqadmin_bench``) it seeds a history
(default one million rows, ``--rows`` to change), then measures in-process with Django's test
client, signed in, many times each, and prints the median server time of:

* ``/healthz`` (the floor: one Django request, one query), our history page, filtered pages (one
  by a number typed as its label), a free-text page, the card page (its one read from a Linq double
  on loopback: the sandbox, in a thread of the child) for a busy and a quiet number, the per-number
  page and a CSV export of about 100,000 rows;
* the Django admin changelist of the same table showing the same thing (as a superuser),

side by side with the ratio, the number of SQL queries (and writes) per page, each page's share of
/healthz's time, and the query plans of the main queries (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN
QUERY PLAN on SQLite). ``--numbers 5000`` seeds a team of that size (the history's number filter
and the card page must not grow with it); ``BENCH_PG_NAME`` keeps a second seeded database apart.

Each database runs in its own child process (Django settings are per process); the parent
prints the combined table at the end. Figures on a shared 2-core machine are noisy: compare
ratios within one run rather than absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
SQLITE_PATH = Path(tempfile.gettempdir()) / "linqadmin_bench.sqlite3"
PG_SERVER = "postgres://linqadmin:linqadmin@127.0.0.1:5432"
PG_NAME = os.environ.get("BENCH_PG_NAME", "linqadmin_bench")  # another name keeps two seeded histories apart
TEAM = "bench"
RESEED_EXIT = 3
BENCH_TOKEN = "bench-token"  # the Linq double's account for the bench team
EXPORT_ROWS = 100_000


# -- parent: prepare databases, run one child per database, print the table ---------------------


def database_url(kind: str) -> str:
    return f"sqlite:///{SQLITE_PATH}" if kind == "sqlite" else f"{PG_SERVER}/{PG_NAME}"


def reset_database(kind: str) -> None:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME}")
        conn.execute(f"CREATE DATABASE {PG_NAME}")


def ensure_pg_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone():
            conn.execute(f"CREATE DATABASE {PG_NAME}")


def run_child(kind: str, args: argparse.Namespace) -> dict:
    if args.reseed:
        reset_database(kind)
    elif kind == "postgres":
        ensure_pg_database()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(kind),
        "DJANGO_SETTINGS_MODULE": "linqadmin.settings_test",
        "CONN_MAX_AGE": "600",  # persistent connections, as in production
        "ALLOWED_HOSTS": "testserver,localhost",
        "LOG_LEVEL": "WARNING",
        "PYTHONWARNINGS": "ignore::UserWarning",  # whitenoise: "No directory at staticfiles/"
    }
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "devtools.bench.history", "--child", kind, "--rows", str(args.rows),
                   "--numbers", str(args.numbers), "--reps", str(args.reps), "--csv-reps", str(args.csv_reps),
                   "--json-out", out.name]
        returncode = subprocess.run(command, env=env, cwd=ROOT).returncode
        if returncode == RESEED_EXIT:
            reset_database(kind)
            returncode = subprocess.run(command, env=env, cwd=ROOT).returncode
        if returncode:
            raise SystemExit(f"The {kind} benchmark failed (exit code {returncode}).")
        return json.loads(Path(out.name).read_text())


def print_summary(results: dict[str, dict]) -> None:
    """One line per page; per database: ours (ms, queries), admin (ms, queries), admin/ours."""
    print("\n" + "=" * 112)
    print("Median server time in ms, in-process django.test.Client, signed in; q = SQL queries per request;")
    print("x = admin changelist time / our time for the same rows (higher is better for us)")
    print("=" * 112)
    print(f"{'':<30}" + "".join(f"| {kind:<38}" for kind in results))
    print(f"{'page':<30}" + "".join(f"| {'ours':>8} {'q':>3} {'admin':>9} {'q':>3} {'x':>7}  " for _ in results))
    for name in next(iter(results.values()))["pages"]:
        line = f"{name:<30}"
        for result in results.values():
            page = result["pages"][name]
            line += f"| {page['ours_ms']:8.1f} {page['ours_queries']:>3}"
            if page.get("admin_ms") is not None:
                ratio = page["admin_ms"] / page["ours_ms"]
                line += f" {page['admin_ms']:9.1f} {page['admin_queries']:>3} {ratio:6.1f}x  "
            else:
                line += f" {'-':>9} {'-':>3} {'':>7}  "
        print(line)
    for kind, result in results.items():
        floor = result["pages"].get("healthz (the floor)", {}).get("ours_ms")
        if floor:
            shares = ", ".join(f"{name} {floor / page['ours_ms']:.2f}" for name, page in result["pages"].items()
                               if "CSV" not in name and "healthz" not in name)
            print(f"{kind}: share of /healthz's time in-process (goal under gunicorn: card page 0.2, history 0.25): "
                  f"{shares}")
    for kind, result in results.items():
        seeded = "reused from an earlier run" if result["reused"] else f"seeded in {result['seed_s']:.0f} s"
        print(f"{kind}: {result['rows']:,} rows ({seeded}); CSV export = {result['export_rows']:,} rows")
    for kind, result in results.items():
        export_ms = next(page["ours_ms"] for name, page in result["pages"].items() if name.startswith("CSV"))
        rate = result["export_rows"] / (export_ms / 1000) if export_ms else 0.0
        print(f"{kind}: CSV export streams {rate:,.0f} rows/s ({result['export_rows']:,} rows in {export_ms:,.0f} ms, "
              "median; target on PostgreSQL at 1M rows: 50,000 rows/s)")


def parent(args: argparse.Namespace) -> None:
    results = {}
    for kind in args.databases.split(","):
        print(f"\n##### {kind} " + "#" * 80, flush=True)
        results[kind] = run_child(kind, args)
    print_summary(results)


# -- child: one database ---------------------------------------------------------------------------


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def median_pair(fn, other, *, reps: int, other_reps: int, warmup: int = 2) -> tuple[float, float | None]:
    """Median ms of ``fn`` (``reps`` runs) and of ``other`` (``other_reps`` runs), interleaved."""
    for _ in range(warmup):
        fn()
        if other:
            other()
    ours, theirs = [], []
    for i in range(max(reps, other_reps if other else 0)):
        if i < reps:
            ours.append(_timed(fn))
        if other and i < other_reps:
            theirs.append(_timed(other))
    return statistics.median(ours), (statistics.median(theirs) if theirs else None)


def seed_numbers(team_slug: str, count: int) -> None:
    """The bench team with ``count`` numbers (labelled "Line i"), before seedaudit spreads the rows over them."""
    from contactcards.models import PhoneNumber, Team

    team, _ = Team.objects.get_or_create(slug=team_slug, defaults={"name": team_slug.title()})
    if not PhoneNumber.objects.filter(team=team).exists():
        PhoneNumber.objects.bulk_create(
            [PhoneNumber(team=team, e164=f"+1555{i:07d}", label=f"Line {i}") for i in range(1, count + 1)],
            batch_size=1000)


def child(kind: str, rows: int, numbers: int, reps: int, csv_reps: int, json_out: str) -> None:
    import django

    from devtools.sandbox import SandboxServer, SandboxState

    linq = SandboxState()  # the card page's one read goes to a Linq double on loopback (answers in ~1 ms)
    sandbox = SandboxServer(linq).start()
    os.environ["LINQ_API_BASE_URL"] = sandbox.url
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contactcards.models import AuditEntry, Membership, PhoneNumber, Team

    call_command("migrate", verbosity=0)
    existing = AuditEntry.objects.filter(team__slug=TEAM).count()
    have_numbers = PhoneNumber.objects.filter(team__slug=TEAM).count()
    # A card page view may add a few entries (a read that finds the Linq double's card differs from the
    # mirror files an outside change): a history a little longer than seeded is still the same history.
    reused, seed_s = rows <= existing <= rows + 100 and have_numbers == numbers, 0.0
    if not reused:
        if existing or have_numbers:
            print(f"{kind}: the bench team has {existing:,} rows and {have_numbers:,} numbers, not {rows:,} and "
                  f"{numbers:,}: starting afresh.", flush=True)
            raise SystemExit(RESEED_EXIT)
        started = time.monotonic()
        seed_numbers(TEAM, numbers)
        call_command("seedaudit", "--rows", str(rows), "--team", TEAM)
        seed_s = time.monotonic() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE contactcards_auditentry" if kind == "postgres" else "ANALYZE")

    team = Team.objects.get(slug=TEAM)
    member = Membership.objects.filter(team=team).select_related("user").order_by("user__username").first().user
    busiest = (AuditEntry.objects.filter(team=team, number__isnull=False).order_by("-created_at")
               .values_list("number__e164", flat=True).first())
    number = PhoneNumber.objects.get(team=team, e164=busiest)
    quiet = PhoneNumber.objects.filter(team=team).order_by("-e164").first()  # few entries of its own
    team.set_token(BENCH_TOKEN)
    team.save()
    linq.add_account(BENCH_TOKEN, [number.e164, quiet.e164])
    for card_number in (number, quiet):
        linq.set_card(card_number.e164, first_name="Bench", last_name=card_number.label)
    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.com", "bench-admin-pw")

    ours, admin_client = Client(), Client()
    ours.force_login(member)
    admin_client.force_login(admin)

    # The CSV export of ~100,000 rows: from the day after the 100,000th newest entry's day (the
    # date filter is day-granular, so the export holds a little under EXPORT_ROWS rows).
    cut = (AuditEntry.objects.filter(team=team).order_by("-created_at", "-id")
           .values_list("created_at", flat=True)[EXPORT_ROWS - 1:EXPORT_ROWS].first())
    export_day = cut.date() + timedelta(days=1) if cut else date(2000, 1, 1)
    export_count = AuditEntry.objects.filter(
        team=team, created_at__gte=datetime.combine(export_day, datetime.min.time(), tzinfo=UTC)).count()
    export_from = export_day.isoformat()

    history = f"/t/{TEAM}/history/"
    admin_list = "/admin/contactcards/auditentry/"
    pages = {
        "healthz (the floor)": ("/healthz", None),
        "history (newest 50)": (history, admin_list),
        "filtered: action+outcome": (f"{history}?action=update&outcome=api_error",
                                     f"{admin_list}?action__exact=update&outcome__exact=api_error"),
        "filtered: user+date range": (f"{history}?user={member.username}&date_from=2026-01-01&date_to=2026-03-31",
                                      None),
        "free text (bounded window)": (f"{history}?q=Billing", f"{admin_list}?q=Billing"),
        "older page (keyset, deep)": (None, None),
        "filtered: number (its label)": (f"{history}?{urlencode({'number': number.label or number.e164})}", None),
        "card page (one Linq read)": (f"/t/{TEAM}/numbers/{number.e164}/", None),
        "card page, a quiet number": (f"/t/{TEAM}/numbers/{quiet.e164}/", None),
        "per-number timeline": (f"/t/{TEAM}/numbers/{number.e164}/history/",
                                f"{admin_list}?q={number.e164.replace('+', '%2B')}"),
        f"CSV export (~{EXPORT_ROWS // 1000}k rows)": (f"{history}export.csv?date_from={export_from}", None),
    }
    # A deep page: the cursor of an entry ~half-way through the history.
    middle = (AuditEntry.objects.filter(team=team).order_by("-created_at", "-id")
              .values_list("created_at", "id")[rows // 2: rows // 2 + 1].first())
    if middle:
        from contactcards.history.selectors import Cursor

        pages["older page (keyset, deep)"] = (f"{history}?before={Cursor(*middle).encode()}", None)
    else:
        del pages["older page (keyset, deep)"]

    def fetch(client: Client, url: str) -> int:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            return sum(len(chunk) for chunk in response.streaming_content)
        return len(response.content)

    def count_queries(client: Client, url: str) -> tuple[int, list[str]]:
        connection.queries_log.clear()  # a full log (9,000 queries) would capture nothing
        with CaptureQueriesContext(connection) as captured:
            fetch(client, url)
        sql = [q["sql"] for q in captured.captured_queries]
        return len(sql), sql

    results: dict = {}
    plans: dict[str, list[tuple[str, str]]] = {}
    for name, (our_url, admin_url) in pages.items():
        is_csv = "CSV" in name
        if not is_csv:
            fetch(ours, our_url)  # a card page's first view records the card: only later views need not write
        n_ours, sql = count_queries(ours, our_url)
        writes = sum(1 for q in sql if q.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")))
        result = {"url": our_url, "ours_queries": n_ours, "writes": writes}
        if admin_url:
            result["admin_queries"], _ = count_queries(admin_client, admin_url)
        # Interleaved (ours, admin, ours, admin, ...) so that load from elsewhere on the machine
        # hits both sides alike; the admin is slow, so it gets a third of the repetitions.
        ours_ms, admin_ms = median_pair(
            lambda u=our_url: fetch(ours, u),
            (lambda u=admin_url: fetch(admin_client, u)) if admin_url else None,
            reps=csv_reps if is_csv else reps, other_reps=max(5, reps // 3),
        )
        result["ours_ms"] = ours_ms
        if admin_url:
            result["admin_ms"] = admin_ms
        results[name] = result
        plans[name] = [(q, explain(connection, kind, q)) for q in sql if "contactcards_auditentry" in q]
        admin_part = (f" | admin {result['admin_ms']:.1f} ms, {result['admin_queries']} queries"
                      if admin_url else "")
        print(f"{name:<32} ours {result['ours_ms']:8.1f} ms, {n_ours} queries ({writes} writes){admin_part}",
              flush=True)

    print(f"\n--- query plans ({kind}) ---")
    for name, items in plans.items():
        print(f"\n[{name}]")
        for sql, plan in items:
            print("  SQL: " + (sql if len(sql) < 400 else sql[:400] + " …"))
            print("\n".join("    " + line for line in plan.splitlines()))
    _, admin_sql = count_queries(admin_client, admin_list)
    print("\n[admin changelist, for comparison]")
    for sql in admin_sql:
        if "contactcards_auditentry" in sql:
            print("  SQL: " + (sql if len(sql) < 300 else sql[:300] + " …"))
            print("\n".join("    " + line for line in explain(connection, kind, sql).splitlines()))

    Path(json_out).write_text(json.dumps({
        "rows": rows,
        "seed_s": seed_s, "reused": reused, "export_rows": export_count, "pages": results,
    }))


def explain(connection, kind: str, sql: str) -> str:
    prefix = "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " if kind == "postgres" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        rows = cursor.fetchall()
    if kind == "postgres":
        return "\n".join(row[0] for row in rows)
    return "\n".join(str(row[-1]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the audit history pages on SQLite and PostgreSQL.")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to seed (default 1,000,000)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--numbers", type=int, default=40, help="numbers of the bench team (default 40)")
    parser.add_argument("--reps", type=int, default=40, help="requests per page for the median")
    parser.add_argument("--csv-reps", type=int, default=5, help="requests for the CSV export median")
    parser.add_argument("--reseed", action="store_true", help="drop the bench databases and seed again")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.numbers, args.reps, args.csv_reps, args.json_out)
    else:
        parent(args)


if __name__ == "__main__":
    main()
