"""``{% team_owners team as owners %}``: who to ask, for pages that tell a member they cannot change something."""

from django import template

from contactcards.teams.selectors import team_owner_names

register = template.Library()


@register.simple_tag
def team_owners(team) -> list[str]:
    return team_owner_names(team=team) if team is not None else []
