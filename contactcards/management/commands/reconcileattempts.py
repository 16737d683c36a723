"""Settle card writes whose outcome is unknown, for cron: re-read each card, record whether the change took effect.

A write's attempt is stored before it is sent (write-ahead audit, docs/audit-history.md). When no
answer was ever recorded - the worker was killed during the call, the request ran out of time - or
the answer did not say and the immediate re-read did not show the change, the attempt waits for a
re-read: one that shows the change settles it as applied; one begun after the attempt's window
(LINQ_ATTEMPT_STALE_AFTER + LINQ_UNKNOWN_RECHECK_AFTER: Linq may apply a write after we stopped
waiting) settles it as not applied. Every read does that (opening the number, the periodic reconcile,
the re-check each attempt schedules on the task queue); this command does it for every number, e.g.
from cron every 5 minutes, as a backstop:

    */5 * * * *  cd /srv/linqadmin && .venv/bin/python manage.py reconcileattempts

One GET per number with such attempts (reads do not spend the write budget); attempts that may
still be in flight are left alone, and those still within their window stay unknown (listed, with
when they can be settled). Exit status 1 if a card could not be read (tried again next run).
"""

from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.sync.recheck import settle_all_attempts


class Command(BaseCommand):
    help = "Re-read the card of every number with a write whose outcome is unknown, and record whether it took effect."

    def add_arguments(self, parser):
        parser.add_argument("--team", help="only this team's numbers (its slug)")

    def handle(self, *args, team=None, **options):
        report = settle_all_attempts(team=team_from_slug(team) if team else None)
        for entry in report.settled:
            verdict = "took effect" if entry.applied else "did not take effect"
            self.stdout.write(f"{entry.phone_number}: {entry.get_action_display().lower()} by {entry.username} "
                              f"at {entry.created_at:%Y-%m-%d %H:%M:%S} {verdict} (entry {entry.pk}).")
        for entry in report.unknown:
            self.stdout.write(f"{entry.phone_number}: {entry.get_action_display().lower()} by {entry.username} "
                              f"at {entry.created_at:%Y-%m-%d %H:%M:%S} not shown yet; Linq may still apply it "
                              f"until {entry.recheck_after:%Y-%m-%d %H:%M:%S} (entry {entry.pk}).")
        for e164, error in report.unreadable:
            self.stderr.write(f"{e164}: the card could not be read ({error}); tried again next time.")
        self.stdout.write(f"{len(report.settled)} attempt(s) settled.")
        if report.unreadable:
            raise CommandError(f"{len(report.unreadable)} card(s) could not be read.", returncode=1)
