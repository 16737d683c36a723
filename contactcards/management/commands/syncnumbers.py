"""Import a team's numbers from Linq from the command line (the same service as the settings page)."""

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from contactcards.common.errors import meaning
from contactcards.management.teams import team_from_slug
from contactcards.teams.selectors import numbers_import_preview
from contactcards.teams.services import numbers_sync


class Command(BaseCommand):
    help = (
        "Add to a team every number its Linq token can see (one GET /v3/phone_numbers). Numbers the team "
        "already has are left alone; nothing is removed. Use --dry-run to only list what would be added."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("--dry-run", action="store_true", help="show the new numbers without adding them")

    def handle(self, slug, dry_run=False, **options):
        team = team_from_slug(slug)
        if dry_run:
            preview, added = numbers_import_preview(team=team), None
        else:
            preview, added = numbers_sync(team=team)
        if preview.error is not None:
            words = render_to_string("includes/error_text.txt", {"error": meaning(preview.error),
                                                                  "membership": {"is_owner": True}}).strip()
            raise CommandError(f"{words} ({preview.error})")
        self.stdout.write(f"Linq lists {len(preview.visible)} number(s) for {team.slug}; "
                          f"{len(preview.new)} new.")
        for problem in preview.refused:
            self.stderr.write(f"Left out: {problem}")
        for e164 in preview.new:
            self.stdout.write(f"{'Would add' if dry_run else 'Added'}: {e164}")
        if added is not None:
            self.stdout.write(self.style.SUCCESS(f"Imported {len(added.added)} number(s) into {team.slug}."))
