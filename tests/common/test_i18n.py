"""Translations ready: LocaleMiddleware on, English shipped (locale/en), page chrome marked for gettext."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests.support.helpers import sign_in_as
from tests.support.i18n_lint import (
    javascript_files,
    python_files,
    template_files,
    untranslated_in_javascript,
    untranslated_in_python,
    untranslated_in_template,
)

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
    sign_in_as(client, alice)
    with translation.override("en"):
        html = client.get("/t/acme/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en' in html and "Sign out" in html


# -- every string marked: templates, Python, JavaScript (tests/support/i18n_lint.py) -----------



def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", template_files(), ids=_name)
def test_template_words_are_marked_for_translation(path):
    assert untranslated_in_template(path.read_text()) == []


@pytest.mark.parametrize("path", python_files(), ids=_name)
def test_python_words_are_marked_for_translation(path):
    assert untranslated_in_python(path.read_text()) == []


@pytest.mark.parametrize("path", javascript_files(), ids=_name)
def test_javascript_words_are_marked_for_translation(path):
    assert untranslated_in_javascript(path.read_text()) == []


def test_the_template_check_finds_what_it_should():
    source = (
        '{% load i18n %}<p title="Open it">{% translate "Fine" %} {{ name }}</p>\n'
        "<span>Loose words</span>{# a comment #}\n"
        '{% blocktranslate %}Also fine {{ x }}{% endblocktranslate %}<input type="submit" value="Go on">\n'
        '<img alt="" src="x.png"><td data-label="Number">{{ n }}</td><button type="button">&times;</button>\n'
        '<button name="action" value="preview">{% translate "Preview" %}</button>{{ who|default:"someone" }}\n'
        '{{ who|default:_("someone") }}\n'
    )
    found = untranslated_in_template(source)
    assert [line for line, _ in found] == [1, 2, 3, 4, 5]
    assert 'title="Open it"' in found[0][1] and "Loose words" in found[1][1]
    assert 'value="Go on"' in found[2][1] and 'data-label="Number"' in found[3][1]
    assert 'default:"someone"' in found[4][1]  # a button's value is a code, not words; a default is words


def test_the_python_check_finds_what_it_should():
    source = (
        "from django.utils.translation import gettext as _\n"
        "messages.success(request, 'Saved it')\n"
        "messages.success(request, _('Saved it'))\n"
        "raise ValidationError(f'Bad {x}')\n"
        "field = forms.CharField(label='Name', help_text=_('Help'))\n"
        "class Kind(models.TextChoices):\n"
        "    A = 'a', 'A kind'\n"
        "    B = 'b', _('B kind')\n"
    )
    assert [line for line, _ in untranslated_in_python(source)] == [2, 4, 5, 7]


def test_the_javascript_check_finds_what_it_should():
    source = (
        'el.textContent = "Saved.";\n'
        'el.textContent = gettext("Saved.");\n'
        'el.className = "photo-check photo-check-" + kind;\n'
        'var s = interpolate(ngettext("1 field will change.", "%s fields will change.", n), [n]);\n'
        'el.querySelector("[data-x] .y");\n'
    )
    assert untranslated_in_javascript(source) == [(1, "Saved.")]


# -- the catalogue is current: makemessages finds nothing that locale/en lacks ----------------------

_MSGID = re.compile(r'^msgid ((?:"(?:\\.|[^"\\])*"\s*)+)', re.M)


def _msgids(po: Path) -> set[str]:
    return {"".join(re.findall(r'"((?:\\.|[^"\\])*)"', block)) for block in _MSGID.findall(po.read_text())} - {""}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_english_catalogue_holds_every_marked_string(domain, tmp_path):
    """What a translator gets from `makemessages -l <lang>` is exactly what locale/en holds (and vice versa)."""
    for part in ("manage.py", "linqadmin", "contactcards", "devtools", "templates", "static"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, tmp_path / part, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        else:
            shutil.copy(source, tmp_path / part)
    (tmp_path / "locale").mkdir()
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "en", "-d", domain, "--no-obsolete"],
                   cwd=tmp_path, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    made = _msgids(tmp_path / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po")
    shipped = _msgids(ROOT / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po")
    assert made, "makemessages found no strings"
    assert made - shipped == set(), "run: python manage.py makemessages -l en -d " + domain
    assert shipped - made == set(), "run: python manage.py makemessages -l en -d " + domain + " --no-obsolete"


# -- a translation takes effect everywhere: a pseudo-language built from the shipped catalogue -----

@pytest.mark.django_db
def test_a_translation_reaches_templates_python_and_javascript(client, alice, team, pseudo_language):
    sign_in_as(client, alice)
    html = client.get("/t/acme/", HTTP_ACCEPT_LANGUAGE=pseudo_language).content.decode()
    assert f'<html lang="{pseudo_language}"' in html
    for text in ("⟪Sign out⟫", "⟪Refresh from Linq⟫", "⟪Bulk edit the selected numbers⟫",
                 "⟪Last change failed⟫"):  # base template, dashboard include, dashboard page, Python label
        assert text in html, text
    assert "Refresh from Linq<" not in html
    settings_page = client.get("/t/acme/settings/", HTTP_ACCEPT_LANGUAGE=pseudo_language).content.decode()
    assert "⟪Linq API token⟫" in settings_page and "⟪Webhooks and outside changes⟫" in settings_page
    catalogue = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE=pseudo_language).content.decode()
    # static/js/card.js's words, served by Django's JavaScriptCatalog (as JSON: ⟪ is \u27ea there)
    assert '"No name yet": "\\u27eaNo name yet\\u27eb"' in catalogue


@pytest.mark.django_db
def test_messages_from_the_django_free_photo_checks_are_translated_too(pseudo_language):
    """photos/fetch.py and images.py stay free of Django: their Words are translated where they are used."""
    from contactcards.photos.services import check_image_url

    with translation.override(pseudo_language):
        check = check_image_url("http://cdn.example.com/logo.png")
    assert not check.ok and check.message == "⟪The link must start with https:// (Linq only fetches secure links).⟫"


def test_words_keep_their_template_and_values():
    from contactcards.lib.words import gettext_noop as words
    from contactcards.lib.words import translated

    kind = words("loopback")
    message = words("%(host)s points to a %(kind)s address.", host="x.test", kind=kind)
    assert message == "x.test points to a loopback address."  # English where no translation is asked for
    assert translated(message, lambda text: f"«{text}»") == "«x.test points to a «loopback» address.»"
    assert translated("plain text", str.upper) == "plain text"
