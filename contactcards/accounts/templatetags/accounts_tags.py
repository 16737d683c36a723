"""Panels of the team settings page that belong to people and sign-in (invitations, two-factor policy)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import timezone

from contactcards.accounts.forms import InviteForm, TwoFactorPolicyForm
from contactcards.accounts.models import Invitation
from contactcards.accounts.services import invitation_link

register = template.Library()


@register.inclusion_tag("includes/settings_invitations.html", takes_context=True)
def invitations_panel(context) -> dict:
    team, membership = context["team"], context["membership"]
    pending = []
    if membership.is_owner:
        pending = list(Invitation.objects.filter(team=team, accepted_at=None, revoked_at=None,
                                                 expires_at__gt=timezone.now()).select_related("invited_by"))
        for invitation in pending:
            invitation.link = invitation_link(invitation)
    return {"team": team, "membership": membership, "pending": pending, "form": InviteForm(),
            "invitation_days": settings.INVITATION_MAX_AGE_DAYS, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("includes/settings_security.html", takes_context=True)
def security_panel(context) -> dict:
    team, membership = context["team"], context["membership"]
    return {"team": team, "membership": membership, "csrf_token": context.get("csrf_token"),
            "form": TwoFactorPolicyForm(initial={"require_two_factor": team.require_two_factor}),
            "request": context.get("request")}
