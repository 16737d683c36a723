"""Deploy checks for photos (``manage.py check --deploy``): say so when production is set up to
fetch from private addresses, or when uploads cannot work because stored photos have no https URL."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def photo_settings_check(app_configs, **kwargs):
    from contactcards.photos.services import storage_is_public

    problems = []
    if settings.PHOTO_FETCH_ALLOWED_NETWORKS and not settings.DEBUG:
        problems.append(Warning(
            "PHOTO_FETCH_ALLOWED_NETWORKS is set: the photo check may fetch from these non-public addresses.",
            hint="Leave it empty in production; it exists for tests and the local demo.", id="photos.W001"))
    if not storage_is_public():
        problems.append(Warning(
            "Stored photos have no https URL, so photo uploads are turned off (Linq only fetches https links).",
            hint="Set PHOTOS_S3_BUCKET (and PHOTOS_S3_*), or PHOTOS_BASE_URL to the https address that serves "
                 "PHOTOS_ROOT.", id="photos.W002"))
    return problems
