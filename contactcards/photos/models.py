"""The team photo library: photos uploaded or used before, to pick again for another number.

Imported into ``contactcards.models`` so contactcards stays one Django app with one set of migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Photo(models.Model):
    """One photo a team can use: an upload we stored, or a checked link that was saved to a card.

    ``url`` is what goes to Linq (always https). For uploads, ``storage_key`` names the object in
    ``STORAGES["photos"]`` and ``sha256`` is the stored file's hash (the same file is kept once).
    """

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        LINK = "link", _("Link")

    team = models.ForeignKey("contactcards.Team", models.CASCADE, related_name="photos")
    source = models.CharField(max_length=10, choices=Source.choices)
    url = models.URLField(max_length=2000)
    storage_key = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=8)
    size_bytes = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True, help_text=_("The uploaded file's name, for people."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_used_at", "-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["team", "url"], name="unique_photo_url_per_team")]
        indexes = [models.Index(fields=["team", "-created_at"], name="photo_team_newest")]

    def __str__(self) -> str:
        return self.name or self.url

    @property
    def label(self) -> str:
        return self.name or self.url.rsplit("/", 1)[-1][:40]


class SentPhoto(models.Model):
    """The photo link we sent a number last, and what Linq made of it.

    Linq re-hosts every image on its CDN, so the card never shows the link we sent. ``url`` is the
    link sent (a team's own link, a library photo); ``linq_url`` the image_url Linq's card showed
    after that write (from the write's answer, or the first read after it; "" while not known);
    ``replaced`` the image_url the card had before it. While Linq still shows ``linq_url``, sending
    ``url`` again changes nothing (``photos.sent.photo_unchanged``, the one rule).
    """

    number = models.OneToOneField("contactcards.PhoneNumber", models.CASCADE, primary_key=True,
                                  related_name="sent_photo")
    url = models.CharField(max_length=2000)
    linq_url = models.CharField(max_length=2000, blank=True)
    replaced = models.CharField(max_length=2000, blank=True)
    entry = models.ForeignKey("contactcards.AuditEntry", models.SET_NULL, null=True, blank=True, related_name="+",
                              db_constraint=False)
    sent_at = models.DateTimeField(help_text=_("When the write that sent it was stored (newest wins)."))
    recorded_at = models.DateTimeField(help_text=_("When we learned that the write took effect."))

    def __str__(self) -> str:
        return f"{self.url} -> {self.linq_url or '?'}"
