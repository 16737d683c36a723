from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.models import PhoneNumber
from contactcards.phones import parse_many


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
        for e164 in numbers:
            _, created = PhoneNumber.objects.get_or_create(team=team, e164=e164)
            self.stdout.write(f"{'Added' if created else 'Already there'}: {e164}")
