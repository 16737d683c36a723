"""Access control: one helper per object type, in the healthchecks style.

Each helper loads the object for the signed-in user and returns it with the
membership that grants access. Non-members get 404 (they cannot learn that the
object exists); read-only members get 403 when a view calls ``require_write``. A team that requires two-factor
sign-in is out of reach (``TwoFactorRequired``) until the session is verified with a second factor.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from contactcards.models import AlertSubscription, AuditStream, Membership, PhoneNumber, Team


def user_memberships(request: HttpRequest) -> list[Membership]:
    """All of the signed-in user's memberships with their teams, by team name: one query per request,
    shared by the access check and the header's team switcher (context_processors.teams)."""
    cached = getattr(request, "_memberships", None)
    if cached is None:
        cached = request._memberships = list(
            # team__sync: the dashboard's last refresh; team__board: its version (teams/dashboard.py).
            # One-row LEFT JOINs that save the dashboard two queries.
            Membership.objects.filter(user_id=request.user.pk).select_related("team", "team__sync", "team__board")
            .order_by("team__name")
        )
    return cached


class TwoFactorRequired(Exception):
    """The team requires two-factor sign-in and this session has not used it (accounts middleware answers)."""

    def __init__(self, team: Team) -> None:
        super().__init__(_("%(team)s requires two-factor sign-in.") % {"team": team.name})
        self.team = team


def get_team_for_user(request: HttpRequest, slug: str) -> tuple[Team, Membership]:
    membership = next((m for m in user_memberships(request) if m.team.slug == slug), None)
    if membership is None:
        raise Http404("No such team.")
    if membership.team.require_two_factor and not request.user.is_verified():
        raise TwoFactorRequired(membership.team)
    return membership.team, membership


def get_number_for_user(request: HttpRequest, slug: str, e164: str) -> tuple[PhoneNumber, Membership]:
    team, membership = get_team_for_user(request, slug)
    number = PhoneNumber.objects.filter(team=team, e164=e164).select_related("health").first()  # its line's health
    if number is None:
        raise Http404("No such number.")
    number.team = team  # already loaded; saves a query
    return number, membership


def get_stream_for_user(request: HttpRequest, slug: str, stream_id: int) -> tuple[AuditStream, Membership]:
    """One of the team's audit streams (404 for outsiders, and for a stream of another team)."""
    team, membership = get_team_for_user(request, slug)
    stream = AuditStream.objects.filter(team=team, pk=stream_id).first()
    if stream is None:
        raise Http404("No such stream.")
    stream.team = team  # already loaded; saves a query
    return stream, membership


def require_write(membership: Membership) -> None:
    if not membership.can_write:
        raise PermissionDenied(_("Your role in this team is read-only."))


def require_owner(membership: Membership) -> None:
    if not membership.is_owner:
        raise PermissionDenied(_("Only the team's owners can do this."))


def get_alert_subscription_for_user(request: HttpRequest, slug: str,
                                    subscription_id: int) -> tuple[AlertSubscription, Membership]:
    """One alert subscription of the team: the person's own, or a team channel (404 for outsiders, for
    another team's and for another person's). Changing a team channel is for owners (``require_owner``)."""
    team, membership = get_team_for_user(request, slug)
    subscription = AlertSubscription.objects.filter(team=team, pk=subscription_id).filter(
        Q(user__isnull=True) | Q(user_id=request.user.pk)).first()
    if subscription is None:
        raise Http404("No such alert.")
    subscription.team = team  # already loaded; saves a query
    return subscription, membership
