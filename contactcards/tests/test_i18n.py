"""Translations ready: LocaleMiddleware on, English shipped (locale/en), page chrome marked for gettext."""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]


def test_locale_middleware_and_languages():
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE
    assert settings.LANGUAGES == [("en", "English")]
    assert (ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po").is_file()


def test_the_catalogue_holds_the_marked_strings():
    catalogue = (ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po").read_text()
    for text in ("Sign out", "Skip to content", "Your time zone", "Follow my browser", "Numbers", "Time zone"):
        assert f'msgid "{text}"' in catalogue, text


@pytest.mark.django_db
def test_pages_name_their_language(client, alice):
    client.force_login(alice)
    with translation.override("en"):
        html = client.get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en' in html and "Sign out" in html
