"""Benchmark of rollouts (``bin/bench-rollout``; not a test): preview, enqueue, and two real workers.

Against the built-in sandbox over real HTTP, on a fresh database (SQLite file in /tmp, or
PostgreSQL ``linqadmin_bench_rollout`` with ``--database postgres``), with N numbers (default 500):

* the time to preview a bulk edit of all N numbers (one GET of every card + the per-number plan);
* the time to confirm it (Job + JobItems + one task per item enqueued);
* items per second two ``db_worker`` processes reach until the job is finished;
* beside it, the one-page-at-a-time path: the card page's save (``card_update``) called for each
  number in turn, in this process, as a person saving pages one after the other would.

Figures on a shared 2-core machine are noisy; compare the two paths within one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = "postgres://linqadmin:linqadmin@127.0.0.1:5432/linqadmin_bench_rollout"
SQLITE = "/tmp/linqadmin_bench_rollout.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=500)
    parser.add_argument("--one-by-one", type=int, default=100, help="numbers saved one page at a time")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    url = PG if args.database == "postgres" else f"sqlite:///{SQLITE}"
    if args.database == "postgres":
        import psycopg

        with psycopg.connect(PG.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS linqadmin_bench_rollout")
            conn.execute("CREATE DATABASE linqadmin_bench_rollout")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{SQLITE}{suffix}").unlink(missing_ok=True)
    os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="linqadmin.settings_test",
                      LINQADMIN_TASKS_QUEUE="default")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def run(args) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from contactcards.cards.services import card_update
    from contactcards.common import taskqueue
    from contactcards.models import Job, Membership, PhoneNumber, Team
    from contactcards.rollout import jobs
    from contactcards.rollout.plan import Target, build_plan
    from devtools.processes import worker_env
    from devtools.sandbox import SandboxServer

    server = SandboxServer().start()
    settings.LINQ_API_BASE_URL = server.url
    token = "bench-token-123456"
    total = args.numbers + args.one_by_one
    e164s = [f"+1555400{i:04d}" for i in range(total)]
    server.state.add_account(token, e164s)
    for e164 in e164s:
        server.state.set_card(e164, first_name="Old", last_name="Name")
    team = Team(slug="bench", name="Bench")
    team.set_token(token)
    team.save()
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in e164s])
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    Membership.objects.create(team=team, user=user, role="owner")

    bulk = e164s[: args.numbers]
    started = time.perf_counter()
    plan = build_plan(team, [Target(e164=e164, values={"last_name": "Rolled out"}) for e164 in bulk])
    preview = time.perf_counter() - started
    started = time.perf_counter()
    job = jobs.job_create(team=team, user=user, plan=plan, source=Job.Source.BULK)
    enqueue = time.perf_counter() - started

    env = {**os.environ, **worker_env(server.url, LINQADMIN_TASKS_QUEUE="default")}
    started = time.perf_counter()
    workers = [subprocess.Popen(taskqueue.worker_command(interval=0.05, extra=["--verbosity", "0"]), env=env,
                                cwd=ROOT) for _ in range(2)]
    while not jobs.job_progress(job).finished:
        time.sleep(0.05)
    rollout = time.perf_counter() - started
    for worker in workers:
        taskqueue.stop_worker(worker)
    progress = jobs.job_progress(job)

    numbers = {n.e164: n for n in PhoneNumber.objects.filter(team=team).select_related("team")}
    started = time.perf_counter()
    for e164 in e164s[args.numbers:]:
        loaded = {"first_name": "Old", "last_name": "Name", "image_url": ""}
        card_update(number=numbers[e164], user=user, loaded=loaded, submitted={**loaded, "last_name": "One by one"})
    one_by_one = time.perf_counter() - started
    server.stop()

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"\nRollout benchmark on {db}, sandbox over HTTP ({args.numbers} numbers in the job)")
    print(f"  preview of {args.numbers} numbers (one GET of all cards + plan)   {preview * 1000:8.0f} ms")
    print(f"  confirm: job + {args.numbers} items + {args.numbers} tasks enqueued         {enqueue * 1000:8.0f} ms")
    print(f"  two db_worker processes: {progress.counts['sent']} sent in {rollout:.1f} s"
          f"                {progress.counts['sent'] / rollout:8.1f} items/s (incl. worker start-up)")
    print(f"  one page at a time (card_update x {args.one_by_one}, in-process)       "
          f"{args.one_by_one / one_by_one:8.1f} items/s")


if __name__ == "__main__":
    sys.exit(main())
