"""Read all of a team's cards in one call and record the changes nobody told us about.

    manage.py reconcile            every team with a token
    manage.py reconcile acme       one team
    manage.py reconcile --schedule start the periodic reconcile on the task queue (RECONCILE_INTERVAL_SECONDS)
"""

from django.core.management.base import BaseCommand, CommandError

from contactcards.models import Team
from contactcards.sync.reconcile import reconcile_team, schedule_reconcile


class Command(BaseCommand):
    help = "Compare every card at Linq with what linqadmin last knew; record differences as outside changes."

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", help="the team (default: every team with a token)")
        parser.add_argument("--schedule", action="store_true", help="enqueue the periodic reconcile and exit")

    def handle(self, *args, slug=None, schedule=False, **options):
        if schedule:
            schedule_reconcile()
            self.stdout.write("The periodic reconcile is scheduled.")
            return
        teams = Team.objects.filter(slug=slug) if slug else Team.objects.exclude(token_encrypted="")
        if slug and not teams.exists():
            raise CommandError(f"No team {slug!r}.")
        failed = False
        for team in teams:
            result = reconcile_team(team=team, username="manage.py reconcile")
            if result.ok:
                self.stdout.write(f"{team.slug}: {len(result.entries)} change(s) made outside linqadmin found.")
            else:
                failed = True
                self.stderr.write(f"{team.slug}: Linq could not be read ({result.error}).")
        if failed:
            raise CommandError("Some teams could not be reconciled.")
