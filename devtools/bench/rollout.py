"""Benchmark of rollouts (``bin/bench-rollout``; not a test): each figure of issue 21 beside its target.

Against the built-in sandbox over real HTTP (it answers at once), on a fresh database (PostgreSQL
``linqadmin_bench_rollout`` by default, or an SQLite file in /tmp with ``--database sqlite``), with a
team of N numbers (default 5,000), every one with a card:

* **preview**: a CSV of N rows (a new last name for every number) uploaded to the import view
  (``cards_import``, through Django's test client in this process: the view, the plan and the page);
* **enqueue**: the confirm request (the view re-reads the cards, compares the plan with the preview's
  fingerprint, creates the job, its N items and N tasks);
* **job page and its poll**: the job page (its first 100 items), then ``job_progress`` JSON as job.js asks
  for it while the N items are queued (the page's cursor and the ids of its rows): the median of 20;
* **dashboard**: requests/s of the team's dashboard beside ``/healthz`` under gunicorn (3 workers,
  ``wrk``, after a warm-up that lets each worker compute the board once), as a ratio, in the same run;
* **rollout**: items/s two ``db_worker`` processes reach until the job is finished, or until
  ``--rollout-seconds`` have passed (from their start, so worker start-up counts);
* beside it, the one-page-at-a-time path: ``card_update`` called in this process for a few numbers.

``--profile DIR`` writes cProfile files of the preview, the confirm and each worker there. Figures on a shared 2-core
machine are noisy: read them as orders of magnitude and compare within one run.
"""

from __future__ import annotations

import argparse
import cProfile
import html
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://linqadmin:linqadmin@127.0.0.1:5432/linqadmin_bench_rollout"
SQLITE = "/tmp/linqadmin_bench_rollout.sqlite3"
TARGETS = {"preview": 3.0, "enqueue": 2.0, "poll": 0.020, "ratio": 0.5, "items": 100.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=5000)
    parser.add_argument("--one-by-one", type=int, default=50, help="numbers saved one page at a time")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per page (dashboard ratio)")
    parser.add_argument("--interval", type=float, default=None, help="db_worker --interval (default: its own)")
    parser.add_argument("--rollout-seconds", type=float, default=120,
                        help="stop the workers after this long if the job is not finished (items/s so far)")
    parser.add_argument("--watch-interval", type=float, default=1.0,
                        help="seconds between two looks at the job's progress while the workers run")
    parser.add_argument("--profile", metavar="DIR",
                        help="write cProfile files of the preview, the confirm and each worker (worker-N.prof)")
    args = parser.parse_args()
    url = PG if args.database == "postgres" else f"sqlite:///{SQLITE}"
    if args.database == "postgres":
        import psycopg

        with psycopg.connect(PG.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS linqadmin_bench_rollout WITH (FORCE)")
            conn.execute("CREATE DATABASE linqadmin_bench_rollout")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="linqadmin.settings_test",
                      LINQADMIN_TASKS_QUEUE="default", ALLOWED_HOSTS="127.0.0.1,localhost,testserver")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def timed(profile: str | None, name: str, call):
    """(result, seconds) of ``call()``, profiled into ``profile/name.prof`` when asked."""
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = call()
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler:
        Path(profile).mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(f"{profile}/{name}.prof")
    return result, seconds


class Queries:
    """Counts the queries this process sends while active (a request resets Django's own query log)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __len__(self) -> int:
        return self.count


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the preview"
    return html.unescape(found.group(1))


def run(args) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from contactcards.cards.services import card_update
    from contactcards.common import taskqueue
    from contactcards.models import Job, Membership, PhoneNumber, Team
    from contactcards.rollout import jobs
    from contactcards.sync.reconcile import reconcile_team
    from devtools.processes import worker_env
    from devtools.sandbox import SandboxServer

    server = SandboxServer().start()
    settings.LINQ_API_BASE_URL = server.url
    token = "bench-token-123456"
    total = args.numbers + args.one_by_one
    e164s = [f"+1555{i:07d}" for i in range(total)]
    server.state.add_account(token, e164s)
    for e164 in e164s:
        server.state.set_card(e164, first_name="Old", last_name="Name")
    team = Team(slug="bench", name="Bench")
    team.set_token(token)
    team.save()
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164, label=f"Line {i}")
                                     for i, e164 in enumerate(e164s)], batch_size=1000)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(team=team, user=user, role="owner")
    assert reconcile_team(team=team).ok  # the card mirror, as the refresh button fills it (the dashboard)
    client = Client()
    client.force_login(user)

    # 1. preview of an N-row CSV, through the import view
    bulk = e164s[: args.numbers]
    csv_text = "number,last_name\n" + "".join(f"{e164},Rolled out\n" for e164 in bulk)
    upload = SimpleUploadedFile("bench.csv", csv_text.encode(), content_type="text/csv")
    import_url = reverse("cards_import", args=[team.slug])
    preview_queries, confirm_queries = Queries(), Queries()
    with connection.execute_wrapper(preview_queries):
        response, preview = timed(args.profile, "preview", lambda: client.post(
            import_url, {"file": upload, "action": "preview"}))
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    preview_kb = len(page) / 1024
    assert 'id="confirm"' in page, "the preview offers no confirm"

    # 2. enqueue: the confirm request
    form = {"action": "confirm", "fingerprint": hidden(page, "fingerprint"), "payload": hidden(page, "payload"),
            "filename": hidden(page, "filename")}
    with connection.execute_wrapper(confirm_queries):
        response, enqueue = timed(args.profile, "confirm", lambda: client.post(import_url, form))
    assert response.status_code == 302, (response.status_code, response.content[:2000])
    job = Job.objects.get(team=team)
    assert job.items.count() == args.numbers

    # 3. the job page (its first 100 items), then its polls as job.js makes them while every item is queued:
    # with the page's cursor and the ids of the rows it shows, then the cursor each answer returns
    started = time.perf_counter()
    page = client.get(reverse("job_detail", args=[team.slug, job.pk]))
    first_poll, first_kb = time.perf_counter() - started, len(page.content) / 1024
    assert page.status_code == 200
    text = page.content.decode()
    shown = ".".join(re.findall(r'data-item="(\d+)"', text))
    cursor = html.unescape(re.search(r'data-cursor="([^"]*)"', text).group(1))
    progress_url = reverse("job_progress", args=[team.slug, job.pk])
    polls, query = [], {"since": cursor, "items": shown}
    time.sleep(jobs.OVERLAP.total_seconds() + 0.1)  # the page's rows were stamped at the confirm: polls after that
    for _ in range(21):
        started = time.perf_counter()
        response = client.get(progress_url, query)
        polls.append((time.perf_counter() - started, len(response.content)))
        assert response.status_code == 200
        if "cursor" in response.json():
            query = {"since": response.json()["cursor"], "items": shown}
    poll, poll_kb = statistics.median(t for t, _ in polls[1:]), statistics.median(n for _, n in polls[1:]) / 1024

    # 4. two workers until the job is finished (or --rollout-seconds have passed: items/s so far)
    env = {**os.environ, **worker_env(server.url, LINQADMIN_TASKS_QUEUE="default")}
    started, started_at = time.perf_counter(), timezone.now()
    commands = [taskqueue.worker_command(interval=args.interval, extra=["--verbosity", "0"]) for _ in range(2)]
    if args.profile:  # each worker under cProfile (written when it stops: SIGTERM ends it through SystemExit)
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        commands = [[command[0], "-m", "cProfile", "-o", str(Path(args.profile).resolve() / f"worker-{i}.prof"),
                     *command[1:]] for i, command in enumerate(commands, 1)]
    workers = [subprocess.Popen(command, env=env, cwd=ROOT) for command in commands]
    # watched as one open job page watches it (job.js polls once a second): a tighter loop here would take
    # CPU from the workers on a 2-core machine (a 5,000-item aggregate 20 times a second did)
    while not jobs.job_progress(job).finished and time.perf_counter() - started < args.rollout_seconds:
        time.sleep(args.watch_interval)
    progress = jobs.job_progress(job)
    rollout = time.perf_counter() - started
    job.refresh_from_db()
    if progress.finished and job.finished_at:  # to the moment the last item finished, not to the next look
        rollout = min(rollout, (job.finished_at - started_at).total_seconds())
    for worker in workers:
        taskqueue.stop_worker(worker)

    # 5. the one-page-at-a-time path
    numbers = {n.e164: n for n in PhoneNumber.objects.filter(team=team).select_related("team")}
    started = time.perf_counter()
    for e164 in e164s[args.numbers:]:
        loaded = {"first_name": "Old", "last_name": "Name", "image_url": ""}
        card_update(number=numbers[e164], user=user, loaded=loaded, submitted={**loaded, "last_name": "One by one"})
    one_by_one = time.perf_counter() - started

    # 6. the dashboard beside /healthz under gunicorn
    ratio = dashboard_ratio(args, env, client, team.slug)
    server.stop()

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    sent = progress.counts["sent"]
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"\nRollout benchmark on {db}, sandbox over HTTP, a team of {total} numbers ({args.numbers} in the job)")
    print(f"  {'figure':<58}{'result':>14}  target")
    print(f"  {f'preview of a {args.numbers}-row CSV (import view, {preview_kb:,.0f} KB page)':<58}"
          f"{preview:>12.2f} s  <= {TARGETS['preview']:.0f} s {verdict(preview <= TARGETS['preview'])}"
          f"  ({len(preview_queries)} queries)")
    print(f"  {f'enqueue: the confirm request (job, {args.numbers} items and tasks)':<58}"
          f"{enqueue:>12.2f} s  <= {TARGETS['enqueue']:.0f} s {verdict(enqueue <= TARGETS['enqueue'])}"
          f"  ({len(confirm_queries)} queries)")
    print(f"  {f'the job page, first 100 items ({first_kb:,.0f} KB)':<58}"
          f"{first_poll * 1000:>11.1f} ms")
    print(f"  {f'job-page poll, job_progress JSON ({poll_kb:,.0f} KB, median of 20)':<58}"
          f"{poll * 1000:>11.1f} ms  <= {TARGETS['poll'] * 1000:.0f} ms {verdict(poll <= TARGETS['poll'])}")
    if ratio is not None:
        dash, health = ratio
        print(f"  {f'dashboard {dash:.0f} req/s vs /healthz {health:.0f} req/s (ratio)':<58}"
              f"{dash / health:>14.2f}  >= {TARGETS['ratio']} {verdict(dash / health >= TARGETS['ratio'])}")
    finished = "finished" if progress.finished else f"stopped after {args.rollout_seconds:.0f} s"
    print(f"  {f'two db_worker processes: {sent} sent in {rollout:.1f} s ({finished})':<58}"
          f"{sent / rollout:>8.1f} items/s  >= {TARGETS['items']:.0f} {verdict(sent / rollout >= TARGETS['items'])}")
    print(f"  {f'one page at a time (card_update x {args.one_by_one}, in-process)':<58}"
          f"{args.one_by_one / one_by_one:>8.1f} items/s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dashboard_ratio(args, env: dict, client, slug: str) -> tuple[float, float] | None:
    """(dashboard requests/s, /healthz requests/s) under gunicorn with 3 workers, ``wrk -t2 -c16``."""
    from django.conf import settings

    from devtools.bench.dashboard import wrk

    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install -y --no-install-recommends wrk): no dashboard ratio")
        return None
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "linqadmin.wsgi", "--workers", "3",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        env={**env, "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).read()  # noqa: S310 - loopback only
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        request = urllib.request.Request(f"{base}/t/{slug}/", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            assert response.status == 200 and '<tr class="status-' in response.read().decode()
        # every gunicorn worker computes the board once (its "boards" cache is its own): not what is measured
        wrk(f"{base}/t/{slug}/", cookie=cookie, seconds=3, connections=16)
        health = wrk(f"{base}/healthz", cookie=None, seconds=args.seconds, connections=16)[0]
        dash, _latency, bad = wrk(f"{base}/t/{slug}/", cookie=cookie, seconds=args.seconds, connections=16)
        assert not bad, f"{bad} dashboard requests did not answer 200"
        return dash, health
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
