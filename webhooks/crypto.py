"""Signing secrets: generation, the hint shown by the API, encryption at rest.

Secrets are Standard Webhooks secrets (``whsec_`` + base64 of 32 random bytes). They are stored
encrypted with ``MultiFernet`` over ``WEBHOOK_ENCRYPTION_KEY`` (newest key first): any listed key
decrypts, the first one encrypts, so keys rotate by prepending a new one and re-encrypting
(``secret_reencrypt``).
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from webhooks.conf import encryption_keys
from webhooks.constants import SECRET_BYTES, SECRET_HINT_CHARS, SECRET_PREFIX


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_is_valid(secret: str) -> bool:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24..64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except ValueError:
        return False
    return 24 <= len(key) <= 64


def secret_hint(secret: str) -> str:
    """What the API shows instead of the secret: the prefix and its last characters."""
    return f"{SECRET_PREFIX}...{secret[-SECRET_HINT_CHARS:]}"


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def _current() -> MultiFernet:
    return _fernet(encryption_keys())


def secret_encrypt(secret: str) -> bytes:
    return _current().encrypt(secret.encode("utf-8"))


def secret_decrypt(token: bytes | memoryview) -> str:
    try:
        return _current().decrypt(bytes(token)).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable(
            "a webhook secret cannot be decrypted with WEBHOOK_ENCRYPTION_KEY "
            "(was a key removed before its secrets were re-encrypted?)"
        ) from None


def secret_reencrypt(token: bytes | memoryview) -> bytes:
    """The token encrypted with the newest key (``MultiFernet.rotate``)."""
    try:
        return _current().rotate(bytes(token))
    except InvalidToken:
        raise SecretUnreadable("a webhook secret cannot be decrypted for re-encryption") from None
