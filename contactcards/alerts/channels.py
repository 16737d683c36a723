"""Sending one delivery: an email (Django's mail, through the configured SMTP server) or a chat message
(one POST of Slack-compatible JSON, ``{"text": ...}``, to the subscription's incoming webhook).

The chat POST goes through ``streams.targets.post``, the app's one outbound-webhook sender: the URL must
be https and resolve to public addresses (or the networks the operator allows,
``AUDIT_STREAM_ALLOWED_NETWORKS``), it is checked again before every send, the connection goes to the
checked address (no second lookup), with TLS verified for the name, no redirects, no proxy from the
environment, bounded timeouts. The URL is never logged: a failure is a code and the receiver's status.
"""

from __future__ import annotations

import json
import zoneinfo

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation

from contactcards.common.crypto import TokenDecryptionError
from contactcards.models import AlertDelivery, AlertEvent, AlertSubscription, UserPreference
from contactcards.streams import targets

USER_AGENT = "linqadmin-alerts/1.0"
Failure = AlertDelivery.Failure


class Failed(Exception):
    def __init__(self, code: str, status: int | None = None) -> None:
        super().__init__(code)
        self.code, self.status = code, status


def zone_for(user_id: int | None) -> zoneinfo.ZoneInfo:
    """A person's chosen time zone; a team channel's (or a person without one): ``TIME_ZONE``."""
    name = ""
    if user_id is not None:
        name = UserPreference.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first() or ""
    try:
        return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def context_of(delivery: AlertDelivery, events: list[AlertEvent]) -> dict:
    return {"delivery": delivery, "team": delivery.team, "events": events, "digest": delivery.cadence == "digest",
            "personal": delivery.user_id is not None, "public_url": settings.PUBLIC_URL.rstrip("/")}


def render(delivery: AlertDelivery, events: list[AlertEvent]) -> tuple[str, str, str]:
    """(email subject, email body, chat text), in the product's language and the subscriber's time zone."""
    context = context_of(delivery, events)
    with translation.override(settings.LANGUAGE_CODE), timezone.override(zone_for(delivery.user_id)):
        subject = " ".join(render_to_string("alerts/email_subject.txt", context).split())
        body = render_to_string("alerts/email.txt", context)
        chat = render_to_string("alerts/chat.txt", context).strip()
    return subject, body, chat


def send(delivery: AlertDelivery, events: list[AlertEvent]) -> None:
    """Send it once; raise :class:`Failed` with a code when it did not get through."""
    subject, body, chat = render(delivery, events)
    if delivery.channel == AlertSubscription.Channel.EMAIL:
        if not delivery.target:
            raise Failed(Failure.NO_ADDRESS)
        try:
            send_mail(subject, body, None, [delivery.target])
        except Exception:  # noqa: BLE001 - smtplib and sockets raise many kinds; all mean "not sent"
            raise Failed(Failure.MAIL) from None
        return
    subscription = delivery.subscription
    if subscription is None:
        raise Failed(Failure.ADDRESS)  # deleted since: nowhere to send
    try:
        url = subscription.get_webhook_url()
    except TokenDecryptionError:
        raise Failed(Failure.SECRET) from None
    payload = json.dumps({"text": chat}, ensure_ascii=False).encode()
    try:
        targets.post(url, payload, {"Content-Type": "application/json", "User-Agent": USER_AGENT})
    except targets.Failed as failed:
        raise Failed(failed.code, failed.status) from None
