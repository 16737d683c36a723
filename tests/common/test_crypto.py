"""Secrets are encrypted at rest with Fernet; keys rotate without losing a token or a webhook secret."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import CARD_NUMBER, TOKEN
from contactcards.common import crypto
from contactcards.models import AuditStream, PhoneNumber, Team, WebhookEndpoint, WebhookEvent
from contactcards.sync.reads import card_fetch
from tests.support.helpers import sign_in_as
from tests.support.webhook_helpers import SECRET, deliver, endpoint_for, last_name_changed

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


def test_the_readme_rotation_keeps_the_token_and_the_webhook_secret(client, team, settings):
    """README "Rotating the encryption key", step by step: afterwards Linq's signed webhooks are still
    accepted and the team's token still reaches Linq, with the old key gone."""
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_A]
    team.set_token(TOKEN)
    team.save()
    endpoint = endpoint_for(team)  # the subscription's signing secret, encrypted with A
    stream = AuditStream(team=team, name="SIEM", kind="webhook", url="https://siem.example.com/in")
    stream.set_secret("whsec_c3RyZWFtLXNlY3JldA==")  # an audit stream's signing secret, encrypted with A
    stream.save()
    old = (team.token_encrypted, endpoint.secret_encrypted, stream.secret_encrypted)

    out = StringIO()
    call_command("generatekey", stdout=out)
    new_key = out.getvalue().strip()
    settings.LINQADMIN_ENCRYPTION_KEYS = [new_key, KEY_A]  # the new key first, the old one kept
    out = StringIO()
    call_command("rotatetokens", stdout=out)
    assert all(f"1 contactcards.{column}" in out.getvalue() for column in (
        "Team.token_encrypted", "WebhookEndpoint.secret_encrypted", "AuditStream.secret_encrypted"))
    settings.LINQADMIN_ENCRYPTION_KEYS = [new_key]  # the old key dropped

    team.refresh_from_db()
    endpoint.refresh_from_db()
    assert team.token_encrypted != old[0] and endpoint.secret_encrypted != old[1]
    stream.refresh_from_db()
    assert stream.secret_encrypted != old[2] and stream.get_secret() == "whsec_c3RyZWFtLXNlY3JldA=="
    response = deliver(client, endpoint, last_name_changed(CARD_NUMBER, "Support", "Helpdesk"), secret=SECRET)
    assert response.status_code == 202  # not 503 "secret unreadable"
    assert WebhookEvent.objects.count() == 1
    load = card_fetch(number=PhoneNumber.objects.get(team=team, e164=CARD_NUMBER))
    assert load.error is None and load.card.last_name == "Support"


def test_a_value_no_key_decrypts_is_named_and_the_rest_rotated(team, settings):
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_A]
    team.set_token(TOKEN)
    team.save()
    endpoint = endpoint_for(team)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"lost").decode())  # a key nobody has any more
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    with pytest.raises(CommandError, match=f"WebhookEndpoint.secret_encrypted of row {endpoint.pk}") as failed:
        call_command("rotatetokens", stdout=StringIO())
    assert "lost" not in str(failed.value)
    settings.LINQADMIN_ENCRYPTION_KEYS = [KEY_B]
    assert Team.objects.get(pk=team.pk).get_token() == TOKEN


# Columns of ours whose names sound secret but that hold no ciphertext, by design.
NOT_ENCRYPTED = {"Team.token_last4", "Team.token_set_at", "FormToken.token", "Photo.storage_key",
                 "WebhookEndpoint.path_token", "AuditStream.secret_set_at",
                 "AlertEvent.dedupe_key",  # an alert kind and a period number: nothing secret
                 "AuditEntry.api_token", "Job.api_token",  # which API token acted (a link): nothing secret
                 "ResetRequest.key"}  # a keyed hash of an address, for rate limits: nothing to decrypt


def test_every_secret_column_is_registered_for_rotation():
    """A new encrypted column must be an EncryptedTextField, or rotatetokens would leave it behind."""
    registered = {f"{model.__name__}.{field.name}" for model, field in crypto.encrypted_fields()}
    assert registered == {"Team.token_encrypted", "WebhookEndpoint.secret_encrypted", "AuditStream.secret_encrypted",
                          "AlertSubscription.webhook_url_encrypted"}
    ours = [model for model in apps.get_models() if model.__module__.startswith("contactcards")]
    suspicious = {f"{model.__name__}.{field.name}" for model in ours for field in model._meta.concrete_fields
                  if re.search(r"encrypt|secret|cipher|token|key", field.name)}
    assert suspicious - NOT_ENCRYPTED == registered


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
    sign_in_as(client, alice)
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
    sign_in_as(client, alice)
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
