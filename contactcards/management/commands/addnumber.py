from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.models import E164_RE, PhoneNumber


class Command(BaseCommand):
    help = "Add one or more phone numbers (E.164, e.g. +14155550123) to a team. Existing ones are skipped."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("numbers", nargs="+", metavar="+E164")

    def handle(self, slug, numbers, **options):
        team = team_from_slug(slug)
        bad = [n for n in numbers if not E164_RE.match(n)]
        if bad:
            raise CommandError(f"Not E.164 (a +, country code and number, digits only): {', '.join(bad)}")
        for e164 in numbers:
            _, created = PhoneNumber.objects.get_or_create(team=team, e164=e164)
            self.stdout.write(f"{'Added' if created else 'Already there'}: {e164}")
