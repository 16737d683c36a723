"""Settle card writes whose outcome is unknown, for cron: re-read each card, record whether the change took effect.

A write's attempt is stored before it is sent (write-ahead audit, docs/audit-history.md). When no
answer was ever recorded - the worker was killed during the call, the request ran out of time - or
the answer did not say and the immediate re-read failed, the attempt waits for a re-read. Opening
the number in the dashboard does that; this command does it for every number, e.g. every 5 minutes:

    */5 * * * *  cd /srv/linqadmin && .venv/bin/python manage.py reconcileattempts

One GET per number with such attempts (reads do not spend the write budget); attempts that may
still be in flight are left alone. Exit status 1 if a card could not be read (tried again next run).
"""

from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.sync.settle import settle_all_attempts


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
        for e164, error in report.unreadable:
            self.stderr.write(f"{e164}: the card could not be read ({error}); tried again next time.")
        self.stdout.write(f"{len(report.settled)} attempt(s) settled.")
        if report.unreadable:
            raise CommandError(f"{len(report.unreadable)} card(s) could not be read.", returncode=1)
