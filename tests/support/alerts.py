"""Alert subscriptions for tests, made through the same service as the alerts page."""

from __future__ import annotations

from contactcards.alerts import services
from contactcards.models import AlertKind, AlertSubscription


def subscribe(team, user, *kinds: str, channel: str = "email", cadence: str = "immediate", personal: bool = True,
              email: str = "", webhook_url: str = "", webhook_host: str = "") -> AlertSubscription:
    return services.subscription_create(team=team, user=user, personal=personal, channel=channel,
                                        kinds=list(kinds or AlertKind.values), cadence=cadence, email=email,
                                        webhook_url=webhook_url, webhook_host=webhook_host)
