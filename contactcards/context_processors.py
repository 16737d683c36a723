from django.http import HttpRequest

from .models import Membership


def teams(request: HttpRequest) -> dict:
    """The signed-in user's teams, for the team switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def load():
        return list(Membership.objects.filter(user_id=user.pk).select_related("team").order_by("team__name"))

    return {"my_memberships": load}
