from django.http import HttpRequest

from contactcards.access import user_memberships


def teams(request: HttpRequest) -> dict:
    """The signed-in user's teams, for the team switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    return {"my_memberships": lambda: user_memberships(request)}
