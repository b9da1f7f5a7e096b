"""Encryption at rest for store and corp credentials (appsecret, push token, EncodingAESKey)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SecretBox", "SecretError", "mask"]


class SecretError(ValueError):
    """Ciphertext that this key cannot open (the secret key changed, or the value was altered)."""


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) keyed from ``DESK_SECRET_KEY``.

    The Fernet key is derived with a label so the same secret key can also sign sessions and
    CSRF tokens without the two uses sharing key material.
    """

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"desk/secret-box/v1\x00" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise SecretError("cannot decrypt a stored secret: was DESK_SECRET_KEY changed?") from None


def mask(secret: str, visible: int = 4) -> str:
    """A secret as admins see it after saving: only its last characters, never the whole value."""
    if len(secret) <= visible * 2:
        return "•" * 8
    return "•" * 8 + secret[-visible:]
