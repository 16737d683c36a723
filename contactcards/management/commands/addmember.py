import os

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from contactcards.accounts.services import account_create
from contactcards.management.teams import team_from_slug
from contactcards.models import Role
from contactcards.teams.services import TeamChangeError, membership_put


class Command(BaseCommand):
    help = (
        "Add a user to a team with a role (owner, editor or viewer; default editor). With --create the "
        "user is created, with the password from the LINQADMIN_PASSWORD environment variable (the same "
        "password rules as the sign-up page). The last owner cannot be demoted; every change is in the history."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.EDITOR)
        parser.add_argument("--create", action="store_true", help="create the user if missing")

    def handle(self, slug, username, role, create, **options):
        team = team_from_slug(slug)
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f"No user {username!r}; pass --create to make one.")
            password = os.environ.get("LINQADMIN_PASSWORD", "")
            if not password:
                raise CommandError("Set LINQADMIN_PASSWORD to the new user's password.")
            try:
                user = account_create(username=username, password=password)
            except ValidationError as error:
                raise CommandError("The user was not created: " + " ".join(error.messages)) from None
            self.stdout.write(f"Created user {username}.")
        try:
            membership, created = membership_put(team=team, user=user, role=role)  # actor: the command line
        except TeamChangeError as error:
            raise CommandError(render_to_string("includes/team_change_error.txt", {"error": error}).strip()) from None
        self.stdout.write(self.style.SUCCESS(
            f"{username} is {'now' if created else 'still'} a member of {team.slug} as {membership.role}."
        ))
