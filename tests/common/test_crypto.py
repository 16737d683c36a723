"""Tokens are encrypted at rest with Fernet; keys rotate without losing a token."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from contactcards.common import crypto
from contactcards.models import Team

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
PLAIN = "rotation-token-QW12"


def test_it_round_trips_and_hides_the_plaintext(settings):
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_A]
    ciphertext = crypto.encrypt(PLAIN)
    assert PLAIN not in ciphertext
    assert crypto.encrypt(PLAIN) != ciphertext  # random IV: equal tokens do not look equal
    assert crypto.decrypt(ciphertext) == PLAIN


def test_rotation_keeps_every_token(db, settings):
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_A]
    team = Team(slug="rot", name="Rot")
    team.set_token(PLAIN)
    team.save()
    old_ciphertext = team.token_encrypted

    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B, KEY_A]  # new key first, old key kept
    assert Team.objects.get(slug="rot").get_token() == PLAIN  # still readable before rotating
    call_command("rotatetokens", stdout=open("/dev/null", "w"))

    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B]  # old key dropped
    team = Team.objects.get(slug="rot")
    assert team.token_encrypted != old_ciphertext
    assert team.get_token() == PLAIN
    assert team.token_last4 == "QW12"


def test_without_the_key_the_token_cannot_be_read(db, settings):
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_A]
    ciphertext = crypto.encrypt(PLAIN)
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B]
    with pytest.raises(crypto.TokenDecryptionError) as raised:
        crypto.decrypt(ciphertext)
    assert PLAIN not in str(raised.value)
    with pytest.raises(crypto.TokenDecryptionError):
        crypto.rotate(ciphertext)


def test_a_lost_key_shows_a_banner_not_an_error_page(client, alice, team, sandbox, settings):
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B]  # the team's token was encrypted with another key
    client.force_login(alice)
    response = client.get("/t/acme/")
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert sandbox.requests == []
    assert "cannot be decrypted" in client.post("/t/acme/settings/token/test/").content.decode()


def test_a_lost_key_on_the_card_page_is_a_banner_too(client, alice, team, sandbox, settings):
    """The card page and its saves use the same client as the dashboard: no 500, nothing sent."""
    from conftest import CARD_NUMBER
    from contactcards.cards.forms import sign_loaded
    from contactcards.models import AuditEntry

    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B]
    client.force_login(alice)
    url = f"/t/acme/numbers/{CARD_NUMBER}/"
    response = client.get(url)
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    loaded = {"first_name": "Acme", "last_name": "Support", "image_url": ""}
    response = client.post(url, {"action": "update", "loaded": sign_loaded(loaded), **loaded, "last_name": "X"})
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert sandbox.requests == [] and not AuditEntry.objects.exists()


def test_generatekey_prints_a_usable_key(capsys):
    call_command("generatekey")
    key = capsys.readouterr().out.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
