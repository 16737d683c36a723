"""Helpers shared by the management commands."""

from django.core.management.base import CommandError

from contactcards.models import Team


def team_from_slug(slug: str) -> Team:
    """The team with this slug, or a CommandError that names it."""
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f"No team with slug {slug!r}.")
    return team
