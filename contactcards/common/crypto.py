"""Encryption at rest for Linq API tokens (Fernet, with key rotation).

The first key in ``LINQADMIN_ENCRYPTION_KEYS`` encrypts; every key decrypts.
In DEBUG without keys, a key is derived from SECRET_KEY so the demo works out
of the box; production settings refuse to start without explicit keys.

Rotating the key without losing a token (tested in tests/test_crypto.py):

1. ``manage.py generatekey`` prints a new key B.
2. Set ``LINQADMIN_ENCRYPTION_KEYS=B,A`` (new first, old kept) and restart:
   everything still decrypts, new tokens are encrypted with B.
3. ``manage.py rotatetokens`` re-encrypts every stored token with B.
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
from django.conf import settings


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
        raise TokenDecryptionError("A stored token cannot be decrypted with any configured key.") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
