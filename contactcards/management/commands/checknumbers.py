"""Find stored phone numbers that are not in E.164 normal form, and normalise the ones that can be.

Numbers stored before validation was strict may hold pasted spaces, a trailing newline or
non-ASCII digits. Such a row never breaks a page (it can be opened and removed in the settings),
but the app cannot use it with Linq. Exit status 1 when anything is left to fix, so it can run
from cron or CI.
"""

from django.core.management.base import BaseCommand, CommandError

from contactcards.teams.services import numbers_not_normal


class Command(BaseCommand):
    help = "List stored numbers that are not E.164; --fix normalises those that safely can be."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true",
                            help="rewrite numbers that only differ by separators or whitespace")

    def handle(self, *args, fix=False, **options):
        problems = numbers_not_normal(fix=fix)
        left = []
        for problem in problems:
            if fix and problem.fixable:
                self.stdout.write(f"Fixed number {problem.pk}: now {problem.normal}.")
            else:
                left.append(problem)
                self.stdout.write(f"Number {problem.pk} (team {problem.team_id}): {problem.problem}")
        if not problems:
            self.stdout.write(self.style.SUCCESS("Every stored number is in E.164 form."))
        if left:
            raise CommandError(f"{len(left)} stored number(s) need attention (see above).", returncode=1)
