"""Reads for the account pages: whether an account has a second factor; a person's own sign-in activity.

Axes writes a row for every successful sign-in (AccessLog) and every failed one
(AccessFailureLog, flagged when it locked the account out). Each person sees the rows for their
own username; superusers see everyone's in the admin (Axes's read-only admin pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _
from django_otp import devices_for_user

# django-two-factor-auth's name for the device sign-in asks a code from (two_factor.utils.default_device);
# recovery codes and devices under other names are not asked for, so they do not count as a second factor.
SIGN_IN_DEVICE_NAME = "default"


def has_second_factor(user: AbstractBaseUser) -> bool:
    """A confirmed device that sign-in asks a code from (read afresh, never from a cache on ``user``)."""
    return any(device.name == SIGN_IN_DEVICE_NAME for device in devices_for_user(user, confirmed=True))


@dataclass(frozen=True)
class SignInEvent:
    at: datetime
    kind: str  # "success" | "failure" | "lockout"
    ip_address: str | None
    user_agent: str

    @property
    def label(self) -> str:
        return {"success": _("Signed in"), "failure": _("Wrong password"),
                "lockout": _("Wrong password - sign-in paused")}[self.kind]


def sign_in_activity(user: AbstractBaseUser, *, limit: int = 30) -> list[SignInEvent]:
    """The newest ``limit`` sign-ins and failed attempts for this account, newest first."""
    username = user.get_username()
    fields = ("attempt_time", "ip_address", "user_agent")
    successes = [SignInEvent(at, "success", ip, agent) for at, ip, agent in
                 AccessLog.objects.filter(username=username).order_by("-attempt_time").values_list(*fields)[:limit]]
    failures = [SignInEvent(at, "lockout" if locked else "failure", ip, agent) for at, ip, agent, locked in
                AccessFailureLog.objects.filter(username=username).order_by("-attempt_time")
                .values_list(*fields, "locked_out")[:limit]]
    return sorted(successes + failures, key=lambda event: event.at, reverse=True)[:limit]
