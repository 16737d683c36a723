"""API tokens: one person's key to one team's API, limited to scopes. Imported from ``contactcards.models``.

The secret is shown once, when the token is made; only its SHA-256 is stored (a random 256-bit secret
needs no slow hash: nobody can guess it, and the digest cannot be turned back into it), with a short
prefix in clear so a person can tell their tokens apart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contactcards.teams.models import Team


class Scope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Write")
    ADMIN = "admin", _("Admin")


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    team = models.ForeignKey(Team, models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=50)
    prefix = models.CharField(max_length=16)  # the start of the token, shown to tell tokens apart
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the whole token, hex
    scopes = models.JSONField(default=list)  # a subset of Scope values
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "user"], name="apitoken_team_user")]

    def __str__(self) -> str:
        return f"API token {self.name} ({self.prefix}…) of user {self.user_id} in team {self.team_id}"

    @property
    def expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired
