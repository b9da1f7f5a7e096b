"""WXBizMsgCrypt: the signature and AES scheme of WeChat and WeCom callbacks (spec §8).

``key = b64decode(EncodingAESKey + "=")`` (43 characters → 32 bytes); AES-256-CBC with
``IV = key[:16]`` and PKCS#7 padding to a 32-byte block. The plaintext is 16 random bytes, the
message length as 4 bytes big-endian, the message, then the receive-id (the store's appid, or the
WeCom corpid). Signatures are the SHA-1 of the sorted, concatenated strings.

Errors carry the -400xx codes of Tencent's sample code so logs match the platform's documentation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "BLOCK_SIZE",
    "CryptoError",
    "MsgCrypt",
    "decode_aes_key",
    "is_valid_aes_key",
    "sign",
]

BLOCK_SIZE = 32

VALIDATE_SIGNATURE_ERROR = -40001
PARSE_XML_ERROR = -40002
COMPUTE_SIGNATURE_ERROR = -40003
ILLEGAL_AES_KEY = -40004
VALIDATE_RECEIVE_ID_ERROR = -40005
ENCRYPT_AES_ERROR = -40006
DECRYPT_AES_ERROR = -40007
ILLEGAL_BUFFER = -40008
ENCODE_BASE64_ERROR = -40009
DECODE_BASE64_ERROR = -40010
GEN_RETURN_XML_ERROR = -40011


class CryptoError(ValueError):
    """A callback that fails verification or decryption; ``code`` is the -400xx code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.reason = message


def sign(*parts: str) -> str:
    """SHA-1 hex digest of the parts sorted and concatenated (``signature`` / ``msg_signature``)."""
    # surrogatepass: a query parameter can be any str, and hashing it must not raise.
    joined = "".join(sorted(parts)).encode("utf-8", "surrogatepass")
    return hashlib.sha1(joined, usedforsecurity=False).hexdigest()


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key from a 43-character EncodingAESKey.

    Raises:
        CryptoError: -40004 when the key is not 43 characters of base64 encoding 32 bytes.
    """
    if len(encoding_aes_key) != 43:
        raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise CryptoError(ILLEGAL_AES_KEY, "EncodingAESKey does not decode to 32 bytes")
    return key


def is_valid_aes_key(encoding_aes_key: str) -> bool:
    """Whether an admin-entered EncodingAESKey is usable (43 characters of base64)."""
    try:
        decode_aes_key(encoding_aes_key)
    except CryptoError:
        return False
    return True


class MsgCrypt:
    """Sign, verify, encrypt and decrypt callbacks for one (token, EncodingAESKey, receive-id).

    ``receive_id`` is the store's appid for Channels store pushes and the corpid for WeCom.
    Decryption with ``receive_id=None`` skips the receive-id check (the caller checks it).
    """

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str | None) -> None:
        self.token = token
        self.key = decode_aes_key(encoding_aes_key)
        self.receive_id = receive_id
        self._cipher = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    # -- signatures -------------------------------------------------------------------------

    def signature(self, timestamp: str, nonce: str, encrypt: str = "") -> str:
        """``msg_signature`` over an ``Encrypt`` value, or the plain ``signature`` without one."""
        return sign(self.token, timestamp, nonce, encrypt) if encrypt else sign(self.token, timestamp, nonce)

    def verify(self, signature: str, timestamp: str, nonce: str, encrypt: str = "") -> None:
        """Raise :class:`CryptoError` (-40001) unless ``signature`` matches; constant time."""
        expected = self.signature(timestamp, nonce, encrypt)
        # Compared as bytes: compare_digest refuses non-ASCII str, and a query string can hold any.
        if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "surrogatepass")):
            raise CryptoError(VALIDATE_SIGNATURE_ERROR, "signature mismatch")

    # -- payloads ---------------------------------------------------------------------------

    def encrypt(self, message: bytes | str, *, random16: bytes | None = None) -> str:
        """Base64 ciphertext of ``message`` addressed to this receive-id."""
        body = message.encode() if isinstance(message, str) else message
        receive_id = (self.receive_id or "").encode()
        nonce16 = os.urandom(16) if random16 is None else random16
        plain = nonce16 + struct.pack(">I", len(body)) + body + receive_id
        pad = BLOCK_SIZE - len(plain) % BLOCK_SIZE
        plain += bytes([pad]) * pad
        encryptor = self._cipher.encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def decrypt(self, encrypt: str) -> tuple[bytes, str]:
        """The message and the receive-id it was addressed to.

        Checks the receive-id against this instance's (when set). Never raises anything but
        :class:`CryptoError`, whatever the input: callers map that to a 4xx.
        """
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError(DECODE_BASE64_ERROR, "Encrypt is not base64") from None
        if not raw or len(raw) % 16:
            raise CryptoError(DECRYPT_AES_ERROR, "ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher.decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or len(plain) < pad + 20:
            raise CryptoError(ILLEGAL_BUFFER, "bad padding")
        content = plain[16 : len(plain) - pad]
        (length,) = struct.unpack(">I", content[:4])
        if length > len(content) - 4:
            raise CryptoError(ILLEGAL_BUFFER, "message length exceeds the buffer")
        message = content[4 : 4 + length]
        receive_id_bytes = content[4 + length :]
        try:
            receive_id = receive_id_bytes.decode()
        except UnicodeDecodeError:
            raise CryptoError(ILLEGAL_BUFFER, "receive-id is not text") from None
        if self.receive_id is not None and not hmac.compare_digest(
            receive_id_bytes, self.receive_id.encode()
        ):
            raise CryptoError(VALIDATE_RECEIVE_ID_ERROR, "receive-id mismatch")
        return message, receive_id

    def open(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        """Verify ``msg_signature`` over ``encrypt``, then decrypt it: the receiving side in one call."""
        self.verify(signature, timestamp, nonce, encrypt)
        message, _ = self.decrypt(encrypt)
        return message

    def seal(self, message: bytes | str, timestamp: str, nonce: str) -> tuple[str, str]:
        """Encrypt ``message`` and sign it: ``(encrypt, msg_signature)`` — the sending side."""
        encrypt = self.encrypt(message)
        return encrypt, self.signature(timestamp, nonce, encrypt)
