import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contactcards.teams.services import team_setup


class Command(BaseCommand):
    help = (
        "Create a team (or update its name/token). The Linq API token is read from the "
        "LINQ_API_TOKEN environment variable or from --token-file, never from the command line, "
        "so it does not end up in shell history or process lists."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="short identifier used in URLs, e.g. acme")
        parser.add_argument("--name", required=True, help="display name of the team")
        parser.add_argument("--token-file", type=Path, help="file that contains the Linq API token")

    def handle(self, slug, name, token_file=None, **options):
        if token_file is not None:
            try:
                token = token_file.read_text().strip()
            except OSError as exc:
                raise CommandError(f"Cannot read --token-file: {exc.strerror}") from None
        else:
            token = os.environ.get("LINQ_API_TOKEN", "").strip()
        team, created = team_setup(slug=slug, name=name, token=token)
        verb = "Created" if created else "Updated"
        token_note = f"token ending in …{team.token_last4}" if team.has_token else "no token yet"
        self.stdout.write(self.style.SUCCESS(f"{verb} team {team.slug} ({team.name}), {token_note}."))
