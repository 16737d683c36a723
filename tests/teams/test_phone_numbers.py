"""One definition of a phone number (contactcards/common/phones.py), at every door, and bad values already stored."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.common.phones import PhoneNumberError, is_e164, parse_e164, split_pasted
from contactcards.models import AuditEntry, PhoneNumber
from tests.support.helpers import sign_in_as

ARABIC = "+1555010009\u0663"  # ends in ARABIC-INDIC DIGIT THREE
FULLWIDTH = "+1555010009\uff13"  # ends in FULLWIDTH DIGIT THREE


@pytest.mark.parametrize("pasted", [
    "+15550100009", "+1 (555) 010-0009", "+1-555-010-0009", "+1 555 010 0009", "+1.555.010.0009",
    " +15550100009\n", "+1\u00a0555\u00a0010\u00a00009", "+1 555–010–0009",
])
def test_pasted_forms_are_normalised(pasted):
    assert parse_e164(pasted) == "+15550100009"


@pytest.mark.parametrize("value, reason", [
    (ARABIC, "only the digits 0-9 are allowed, not “٣” (arabic-indic digit three)"),
    (FULLWIDTH, "only the digits 0-9 are allowed, not “３” (fullwidth digit three)"),
    ("15550100009", "it must start with + and the country code"),
    ("+05550100009", "a country code never starts with 0"),
    ("+1555", "4 digits is too short"),
    ("+1234567890123456", "16 digits is too long"),
    ("+1555O100009", "“O” is not allowed"),
    ("+1555\x000100009", "“<U+0000>” is not allowed"),
    ("+15550100009\nx", "“<U+000A>” is not allowed"),
    ("+1+5550100009", "more than one +"),
    ("", "it is empty"),
    ("+1" + "5" * 60, "far too long"),
])
def test_anything_else_is_refused_with_a_message_naming_the_value(value, reason):
    with pytest.raises(PhoneNumberError) as caught:
        parse_e164(value)
    message = str(caught.value)
    assert reason in message
    assert message.startswith("“")  # the value, quoted, with invisible characters made visible


@pytest.mark.parametrize("value", [ARABIC, FULLWIDTH, "+15550100009\n", "+1 555 010 0009", "+15550100009 "])
def test_the_stored_form_is_strict(value):
    # `\d` accepts ٣ and ３, `$` accepts a trailing newline: neither is used.
    assert not is_e164(value)


def test_a_pasted_list_is_split_without_splitting_a_spaced_number():
    assert split_pasted("+1 555 010 0009, +1 (555) 010-0010\n+15550100011 +15550100012;+15550100013") == [
        "+1 555 010 0009", "+1 (555) 010-0010", "+15550100011", "+15550100012", "+15550100013"]


# -- the doors: settings form, import, commands ----------------------------------------------------


def test_settings_accepts_pasted_numbers_and_stores_them_normalised(client, alice, team, sandbox):
    sandbox.add_account(TOKEN, ["+15550100009", "+15550100010", "+15550100011"])
    sign_in_as(client, alice)
    response = client.post(reverse("settings_numbers_add", args=["acme"]),
                           {"numbers": "+1 (555) 010-0009\n+1-555-010-0010, +1 555 010 0011"})
    assert response.status_code == 302
    assert set(team.numbers.values_list("e164", flat=True)) >= {"+15550100009", "+15550100010", "+15550100011"}


@pytest.mark.parametrize("bad", [ARABIC, FULLWIDTH, "+15550100009\n\n+1555010009\u0663"])
def test_settings_refuses_other_digits_and_keeps_the_input(client, alice, team, bad):
    sign_in_as(client, alice)
    response = client.post(reverse("settings_numbers_add", args=["acme"]), {"numbers": bad})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a phone number in E.164 form: only the digits 0-9 are allowed" in html
    assert "1555010009" in html  # the textarea keeps what was pasted
    assert team.numbers.count() == 2


def test_addnumber_normalises_and_refuses_with_the_value_named(db, team):
    call_command("addnumber", "acme", "+1 (555) 010-0009")
    assert PhoneNumber.objects.filter(e164="+15550100009").exists()
    for bad in (ARABIC, FULLWIDTH, "+15550100019\n"[:-1] + "x"):
        with pytest.raises(CommandError, match="Nothing was added"):
            call_command("addnumber", "acme", "+15550100020", bad)
    assert not PhoneNumber.objects.filter(e164="+15550100020").exists()


def test_the_import_leaves_out_what_linq_lists_that_is_not_a_number(client, alice, team, sandbox):
    sandbox.add_account(TOKEN, ["+15550001005", ARABIC])
    sign_in_as(client, alice)
    page = client.get(reverse("settings_numbers_import", args=["acme"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="import-refused"' in html and "only the digits 0-9 are allowed" in html
    assert 'value="+15550001005"' in html and f'value="{ARABIC}"' not in html
    response = client.post(reverse("settings_numbers_import", args=["acme"]), {"numbers": ["+15550001005", ARABIC]})
    assert response.status_code == 400  # a forged post cannot add it either
    assert not PhoneNumber.objects.filter(e164=ARABIC).exists()


def test_syncnumbers_leaves_them_out_too(db, team, sandbox, capsys):
    sandbox.add_account(TOKEN, [ARABIC])
    call_command("syncnumbers", "acme")
    assert not PhoneNumber.objects.filter(e164=ARABIC).exists()
    assert "Left out:" in capsys.readouterr().err


# -- bad values already stored ------------------------------------------------------------------


@pytest.fixture
def stored_bad(team):
    """Numbers stored before validation was strict (bulk_create skips validation, as old code did)."""
    return PhoneNumber.objects.bulk_create([
        PhoneNumber(team=team, e164=ARABIC, label="arabic digit"),
        PhoneNumber(team=team, e164="+15550001009\n", label="trailing newline"),
        PhoneNumber(team=team, e164="+1 555 000 1010", label="spaces"),
    ])


@pytest.mark.parametrize("persona", ["owner", "editor", "viewer"])
def test_pages_render_for_every_member_despite_bad_stored_numbers(client, personas, stored_bad, persona):
    sign_in_as(client, personas[persona])
    for name in ("dashboard", "team_settings", "team_history"):
        response = client.get(reverse(name, args=["acme"]))
        assert response.status_code == 200, name
    dashboard = client.get(reverse("dashboard", args=["acme"])).content.decode()
    assert "arabic digit" in dashboard and "trailing newline" in dashboard


def test_a_bad_stored_number_can_be_opened_and_its_history_read(client, bob, stored_bad):
    sign_in_as(client, bob)
    for number in stored_bad:
        assert client.get(reverse("card", args=["acme", number.e164])).status_code < 500
        assert client.get(reverse("number_history", args=["acme", number.e164])).status_code == 200


def test_a_bad_stored_number_can_be_removed_from_the_settings(client, alice, stored_bad):
    sign_in_as(client, alice)
    settings_page = client.get(reverse("team_settings", args=["acme"])).content.decode()
    for number in stored_bad:
        url = reverse("settings_number_remove", args=["acme", number.e164])
        assert url in settings_page.replace("&amp;", "&")
        assert client.get(url).status_code == 200
        assert client.post(url).status_code == 302
    assert sorted(PhoneNumber.objects.values_list("e164", flat=True)) == [CARD_NUMBER, EMPTY_NUMBER]


def test_an_audit_entry_for_a_bad_number_renders(client, alice, team, stored_bad):
    entry = AuditEntry.objects.create(team=team, number=stored_bad[0], phone_number=ARABIC, username="alice",
                                      action=AuditEntry.Action.UPDATE, outcome=AuditEntry.Outcome.SUCCESS)
    sign_in_as(client, alice)
    assert client.get(reverse("audit_entry", args=["acme", entry.pk])).status_code == 200


def test_checknumbers_reports_fixes_what_it_safely_can_and_fails_while_any_is_left(db, stored_bad, capsys):
    with pytest.raises(CommandError):
        call_command("checknumbers")
    out = capsys.readouterr().out
    assert "only the digits 0-9 are allowed" in out and "it is +15550001009" in out and "it is +15550001010" in out
    assert PhoneNumber.objects.filter(e164="+15550001009\n").exists()  # nothing changed without --fix

    with pytest.raises(CommandError, match="1 stored number"):
        call_command("checknumbers", "--fix")
    assert set(PhoneNumber.objects.values_list("e164", flat=True)) == {
        CARD_NUMBER, EMPTY_NUMBER, ARABIC, "+15550001009", "+15550001010"}


def test_a_normalised_duplicate_is_reported_not_merged(db, team):
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=CARD_NUMBER + "\n")])
    with pytest.raises(CommandError):
        call_command("checknumbers", "--fix")
    assert PhoneNumber.objects.filter(e164=CARD_NUMBER + "\n").exists()


def test_the_system_check_warns_about_each_bad_number(db, stored_bad):
    found = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    ours = [message for message in found if message.id == "contactcards.W001"]
    assert len(ours) == 3
    assert not checks.run_checks(tags=[checks.Tags.database])  # only when asked for the database


def test_the_migration_normalises_with_the_same_function(db, stored_bad, capsys):
    migration = importlib.import_module("contactcards.migrations.0005_normalise_stored_numbers")
    migration.normalise(apps, None)
    assert "needs attention" in capsys.readouterr().out
    assert set(PhoneNumber.objects.values_list("e164", flat=True)) == {
        CARD_NUMBER, EMPTY_NUMBER, ARABIC, "+15550001009", "+15550001010"}
