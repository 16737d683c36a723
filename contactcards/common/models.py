"""A person's own preferences. Imported from ``contactcards.models``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    """What one person chose for themselves. ``time_zone`` empty: follow the browser's zone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(max_length=64, blank=True,
                                 help_text=_("IANA name, e.g. Europe/Paris; empty: browser's"))

    def __str__(self) -> str:
        return f"{self.user} · {self.time_zone or 'browser time zone'}"
