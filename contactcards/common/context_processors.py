from django.http import HttpRequest

from contactcards.common.access import user_memberships


def teams(request: HttpRequest) -> dict:
    """The signed-in user's teams, for the team switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def nav_team():
        """The team whose navigation the header shows on pages of no team (the account, two-factor, time
        zone): the one used last (the dashboard remembers it), else the first."""
        memberships = user_memberships(request)
        last = request.session.get("team")
        chosen = next((m for m in memberships if m.team.slug == last), memberships[0] if memberships else None)
        return chosen.team if chosen else None

    return {"my_memberships": lambda: user_memberships(request), "nav_team": nav_team}
