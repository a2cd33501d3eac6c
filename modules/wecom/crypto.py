"""WeCom callback crypto (加解密方案): signatures, AES-256-CBC, strict PKCS#7, receive-id.

Written on ``cryptography`` because wechatpy's ``WeChatCrypto`` (used in the tests as an
interoperability check for XML) compares signatures with ``!=``, does not validate padding
and has no JSON variant (智能机器人). Known-answer tests use Tencent's published vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import struct
import time
from dataclasses import dataclass
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

BLOCK = 32  # WeCom pads to a multiple of 32 bytes, not AES's 16


class CryptoError(Exception):
    """A callback that must be refused; ``code`` follows Tencent's samples (-40001 …)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """``sha1`` over the sorted concatenation of the four strings, lowercase hex."""
    parts = sorted([token, str(timestamp), str(nonce), encrypted])
    # WeCom's protocol defines the signature as SHA-1: not ours to choose (see pyproject.toml).
    return hashlib.sha1("".join(parts).encode()).hexdigest()  # nosec B324


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError(-40007, "empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or len(data) < n or data[-n:] != bytes([n]) * n:
        raise CryptoError(-40007, "bad padding")
    return data[:-n]


@dataclass(frozen=True)
class WeComCrypto:
    """One callback configuration: Token, EncodingAESKey and the expected receive id
    (corp id for a self-built app, ``""`` for the intelligent robot)."""

    token: str
    encoding_aes_key: str
    receive_id: str

    @property
    def key(self) -> bytes:
        if len(self.encoding_aes_key) != 43:
            raise CryptoError(-40004, "EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(self.encoding_aes_key + "=")
        except ValueError as exc:
            raise CryptoError(-40004, "EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise CryptoError(-40004, "EncodingAESKey must decode to 32 bytes")
        return key

    def _cipher(self) -> Cipher:
        key = self.key
        return Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def check_signature(
        self, msg_signature: str, timestamp: str, nonce: str, encrypted: str
    ) -> None:
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise CryptoError(-40001, "signature mismatch")

    def decrypt(self, encrypted: str) -> str:
        """Decrypt one ``Encrypt``/``encrypt``/``echostr`` value and check the receive id."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except ValueError as exc:
            raise CryptoError(-40010, "ciphertext is not base64") from exc
        if not raw or len(raw) % 16:
            raise CryptoError(-40007, "ciphertext length is not a multiple of the block size")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError(-40008, "plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError(-40008, "message length out of range")
        message = plain[20 : 20 + length]
        receive_id = plain[20 + length :]  # compared as bytes: it may not even be UTF-8
        if not hmac.compare_digest(receive_id, self.receive_id.encode()):
            raise CryptoError(-40005, "receive id mismatch")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError(-40008, "message is not UTF-8") from exc

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = message.encode()
        plain = (random16 or secrets.token_bytes(16)) + struct.pack(">I", len(body)) + body
        plain += self.receive_id.encode()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()

    # ------------------------------------------------------------------ URL check
    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET URL verification: return the bare plaintext to answer with."""
        self.check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    # ----------------------------------------------------------------------- XML
    def decrypt_xml(self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Decrypt a POSTed XML envelope ``<xml><Encrypt>…</Encrypt></xml>``; returns XML."""
        encrypted = _xml_field(body, "Encrypt")
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt_xml(self, message: str, nonce: str, timestamp: str | None = None) -> str:
        timestamp = timestamp or str(int(time.time()))
        encrypted = self.encrypt(message)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    # ---------------------------------------------------------------------- JSON
    def decrypt_json(
        self, body: bytes | str, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Decrypt a POSTed JSON envelope ``{"encrypt": …}``; returns the inner JSON text."""
        from core.inputs import load_json

        try:
            data = load_json(body)  # nested too deeply is a ValueError too
        except ValueError as exc:
            raise CryptoError(-40002, "body is not JSON") from exc
        encrypted = data.get("encrypt") if isinstance(data, dict) else None
        if not isinstance(encrypted, str) or not encrypted:
            raise CryptoError(-40002, "no encrypt field")
        self.check_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt_json(self, message: str, nonce: str, timestamp: str | None = None) -> str:
        timestamp = timestamp or str(int(time.time()))
        encrypted = self.encrypt(message)
        return json.dumps(
            {
                "encrypt": encrypted,
                "msgsignature": signature(self.token, timestamp, nonce, encrypted),
                "timestamp": int(timestamp),
                "nonce": nonce,
            }
        )


def _xml_field(body: bytes | str, name: str) -> str:
    try:
        root = SafeElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise CryptoError(-40002, "body is not XML") from exc
    node = root.find(name)
    if node is None or not (node.text or "").strip():
        raise CryptoError(-40002, f"no {name} field")
    return node.text.strip()


def parse_xml(text: str) -> dict[str, str]:
    """Flatten a decrypted WeCom XML message into a dict of its direct children's text
    (nested elements such as ``SelectedItems`` are kept as their raw XML)."""
    try:
        root = SafeElementTree.fromstring(text)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise CryptoError(-40002, "message is not XML") from exc
    out: dict[str, str] = {}
    for child in root:
        if len(child):
            out[child.tag] = ElementTree.tostring(child, encoding="unicode")
        else:
            out[child.tag] = (child.text or "").strip()
    return out
