from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.phones import parse_many
from contactcards.services.teams import numbers_add


class Command(BaseCommand):
    help = "Add one or more phone numbers (E.164, e.g. +14155550123) to a team. Existing ones are skipped."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("numbers", nargs="+", metavar="+E164",
                            help="e.g. +14155550123; pasted forms such as '+1 (415) 555-0123' are normalised")

    def handle(self, slug, numbers, **options):
        team = team_from_slug(slug)
        numbers, errors = parse_many(numbers)
        if errors:
            raise CommandError("Nothing was added. " + " ".join(str(error) for error in errors))
        result = numbers_add(team=team, e164s=numbers)
        for e164 in dict.fromkeys(numbers):
            self.stdout.write(f"{'Already there' if e164 in result.existing else 'Added'}: {e164}")
