"""Encryption at rest for secrets: Linq API tokens and webhook signing secrets (Fernet, with key rotation).

The first key in ``LINQADMIN_ENCRYPTION_KEYS`` encrypts; every key decrypts.
In DEBUG without keys, a key is derived from SECRET_KEY so the demo works out
of the box; production settings refuse to start without explicit keys.

Every column that holds ciphertext is an :class:`EncryptedTextField`; that is the registry
(:func:`encrypted_fields`) ``rotatetokens`` re-encrypts, so a new encrypted column cannot be left
out of a rotation (a test also refuses a secret-looking column that is not one).

Rotating the key without losing a secret (tested in tests/test_crypto.py):

1. ``manage.py generatekey`` prints a new key B.
2. Set ``LINQADMIN_ENCRYPTION_KEYS=B,A`` (new first, old kept) and restart:
   everything still decrypts, new secrets are encrypted with B.
3. ``manage.py rotatetokens`` re-encrypts every stored secret with B.
4. Set ``LINQADMIN_ENCRYPTION_KEYS=B`` and restart; A can be destroyed.

A token that no configured key can decrypt raises TokenDecryptionError; pages
show "cannot be decrypted" instead of calling Linq, and an owner can paste the
token again in the team settings.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.db import models


class TokenDecryptionError(Exception):
    """The stored token cannot be decrypted with any configured key."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = base64.urlsafe_b64encode(hashlib.sha256(f"linqadmin:{secret_key}".encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.LINQADMIN_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError(
            "The stored Linq token cannot be decrypted: check LINQADMIN_ENCRYPTION_KEYS."
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first (current) key."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionError("A stored secret cannot be decrypted with any configured key.") from None


class EncryptedTextField(models.TextField):
    """A column that holds ciphertext (``encrypt``/``decrypt``; "" for none), re-encrypted by ``rotatetokens``.

    Stored exactly like a TextField - same column, and it deconstructs as one, so migrations see no
    change: the class only marks the column for :func:`encrypted_fields`.
    """

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every encrypted column of every installed model: what a key rotation must re-encrypt."""
    return [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)]


def generate_key() -> str:
    return Fernet.generate_key().decode()
