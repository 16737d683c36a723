"""Reads of the alerts domain: a person's subscriptions, a team's channels, the record of deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from contactcards.models import AlertDelivery, AlertSubscription, Team

PAGE = 100


def personal_subscriptions(*, team: Team, user) -> list[AlertSubscription]:
    return list(AlertSubscription.objects.filter(team=team, user=user).select_related("user"))


def team_channels(*, team: Team) -> list[AlertSubscription]:
    return list(AlertSubscription.objects.filter(team=team, user__isnull=True))


def team_deliveries(*, team: Team) -> QuerySet[AlertDelivery]:
    """Every telling of the team's alerts, newest first (the owners' page)."""
    return (AlertDelivery.objects.filter(team=team).select_related("user")
            .prefetch_related("events")[:PAGE])


def personal_deliveries(*, team: Team, user) -> QuerySet[AlertDelivery]:
    """What this person was told about the team, newest first."""
    return AlertDelivery.objects.filter(team=team, user=user).prefetch_related("events")[:PAGE]


def digest_hour() -> int:
    return settings.ALERT_DIGEST_HOUR
