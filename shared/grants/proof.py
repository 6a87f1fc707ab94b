"""Proof that a grant record was written by a holder of Rolegate's record key.

A record is authenticated by an HMAC-SHA256 over its content, bound to the
owner account and the role it is written on, so a record copied to another
role or account does not verify. The key itself lives in KMS (see
``shared.kms``); this module only computes and checks the code, and does no I/O
beyond asking its :class:`Keyring` for a key by id.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.jsontext import canonical

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
_MAC_RE = re.compile(r"^[A-Za-z0-9_-]{43}\Z")
_DOMAIN = b"rolegate-grant-record/1"


@dataclass(frozen=True)
class RecordKey:
    """One version of the record key: its id (the KMS secret version) and its bytes."""

    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not KEY_ID_RE.match(self.key_id):
            raise ValueError("a record key id is 1-64 letters, digits, '_' or '-'")
        if len(self.secret) < 32:
            raise ValueError("a record key has at least 32 bytes")


class Keyring(Protocol):
    """Where record keys come from: the one to sign with, and any version by id."""

    def signing_key(self) -> RecordKey:
        """The key new records are signed with; raises when it cannot be had (fail closed)."""

    def key(self, key_id: str) -> RecordKey | None:
        """The key with this id, or None when there is none (the record then does not verify)."""


class StaticKeyring:
    """Keys held in memory: for the pure core's tests and for a keyring already read from KMS."""

    def __init__(self, *keys: RecordKey) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self._current = keys[0]
        self._keys = {k.key_id: k for k in keys}

    def signing_key(self) -> RecordKey:
        return self._current

    def key(self, key_id: str) -> RecordKey | None:
        return self._keys.get(key_id)


def _mac(key: RecordKey, account_id: str, role_name: str, record: dict[str, Any]) -> str:
    body = canonical(record)
    message = b"\n".join([_DOMAIN, key.key_id.encode(), account_id.encode(), role_name.lower().encode(),
                          body.encode("utf-8")])
    digest = hmac.new(key.secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def seal(key: RecordKey, account_id: str, role_name: str, record: dict[str, Any]) -> str:
    """The proof tag's value for ``record`` on role ``role_name`` of ``account_id``: ``<key id>.<mac>``."""
    return f"{key.key_id}.{_mac(key, account_id, role_name, record)}"


def unseal(keyring: Keyring, proof: str | None, account_id: str, role_name: str,
           record: dict[str, Any]) -> str | None:
    """Why ``proof`` does not authenticate ``record`` on this role, or None when it does."""
    if not proof:
        return "the record carries no proof of who wrote it"
    key_id, _, mac = proof.partition(".")
    if not KEY_ID_RE.match(key_id) or not _MAC_RE.match(mac):
        return "the record's proof is malformed"
    key = keyring.key(key_id)
    if key is None:
        return f"the record's proof names key version {key_id!r}, which does not exist"
    if not hmac.compare_digest(mac, _mac(key, account_id, role_name, record)):
        return "the record's proof does not match its content, account and role"
    return None


__all__ = ["KEY_ID_RE", "Keyring", "RecordKey", "StaticKeyring", "seal", "unseal"]
