from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactcards.common.phones import parse_many
from contactcards.management.teams import team_from_slug
from contactcards.models import PhoneNumber, validate_tag
from contactcards.teams.services import number_label_tags, numbers_add


class Command(BaseCommand):
    help = ("Add one or more phone numbers (E.164, e.g. +14155550123) to a team. Existing ones are skipped, "
            "but --label and --tag are applied to them too.")

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("numbers", nargs="+", metavar="+E164",
                            help="e.g. +14155550123; pasted forms such as '+1 (415) 555-0123' are normalised")
        parser.add_argument("--label", help="the numbers' label (e.g. Support)")
        parser.add_argument("--tag", action="append", dest="tags", metavar="TAG",
                            help="a tag for the numbers; repeat for several (replaces their tags)")

    def handle(self, slug, numbers, label=None, tags=None, **options):
        team = team_from_slug(slug)
        numbers, errors = parse_many(numbers)
        if errors:
            raise CommandError("Nothing was added. " + " ".join(str(error) for error in errors))
        if label is not None and len(label.strip()) > 100:
            raise CommandError("Nothing was added. A label has at most 100 characters.")
        tags = [tag.strip() for tag in tags] if tags else None
        for tag in tags or []:
            try:
                validate_tag(tag)
            except ValidationError as error:
                raise CommandError("Nothing was added. " + error.messages[0]) from None
        result = numbers_add(team=team, e164s=numbers)
        for e164 in dict.fromkeys(numbers):
            if label is not None or tags:
                number = PhoneNumber.objects.select_related("team").get(team=team, e164=e164)
                number_label_tags(number=number, label=label, tags=tags)
            self.stdout.write(f"{'Already there' if e164 in result.existing else 'Added'}: {e164}")
