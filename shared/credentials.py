"""Where Rolegate's own cloud credentials come from: explicit ones, the runtime's environment, the
invocation context, else the SDK's default chain (first match wins; docs/design/credentials.md).
"""
from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.errors import CredentialsNotFound
from shared.lazy import load
from shared.logs import log_event

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"


@dataclass(frozen=True, repr=False)
class Credentials:
    """An AccessKey pair, with the STS token and expiry when they are temporary.

    ``repr``/``str`` show only the key id and expiry, so a credential passed to
    a log line, an assertion message or a traceback never reveals a secret.

    ``assumed_role_arn`` is the session's ARN as STS AssumeRole answered it
    (``AssumedRoleUser.Arn``), kept so that whoever uses the session can say
    which identity acted without rebuilding that name from its own inputs. It
    is metadata, not key material: it takes no part in equality or the
    fingerprint, so the same key pair is the same credential with or without it.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None
    assumed_role_arn: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.access_key_secret:
            raise ValueError("Credentials need both an access key id and a secret")

    def __repr__(self) -> str:
        expiry = self.expiration.isoformat() if self.expiration else None
        return f"Credentials(access_key_id={self.access_key_id!r}, sts={self.is_sts}, expiration={expiry!r})"

    __str__ = __repr__

    @property
    def is_sts(self) -> bool:
        return bool(self.security_token)

    @property
    def fingerprint(self) -> str:
        """A short digest identifying the whole credential (id, secret, token) without revealing it.

        Used as a cache key: a rotated secret or token under the same key id
        must not reuse clients signed with the old one.
        """
        material = "\0".join((self.access_key_id, self.access_key_secret, self.security_token or ""))
        return hashlib.sha256(material.encode()).hexdigest()[:24]

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left before expiry at ``now``; None for long-term keys."""
        return None if self.expiration is None else self.expiration - now


# ------------------------------------------------------------------ resolution
def _from_env() -> Credentials | None:
    key_id = os.environ.get(ENV_ACCESS_KEY_ID, "").strip()
    secret = os.environ.get(ENV_ACCESS_KEY_SECRET, "").strip()
    if not key_id or not secret:
        return None
    return Credentials(key_id, secret, os.environ.get(ENV_SECURITY_TOKEN, "").strip() or None)


def _from_context(context: Any) -> Credentials | None:
    creds = getattr(context, "credentials", None) if context is not None else None
    key_id = getattr(creds, "access_key_id", None)
    secret = getattr(creds, "access_key_secret", None)
    if not key_id or not secret:
        return None
    token = getattr(creds, "security_token", None)
    return Credentials(str(key_id), str(secret), str(token) if token else None)


_chain: Any = None
_chain_lock = threading.Lock()


def _chain_client() -> Any:
    global _chain
    with _chain_lock:
        if _chain is None:
            _chain = load("alibabacloud_credentials.client").Client()
        return _chain


def reset_default_chain() -> None:
    """Forget the process's default-chain object, so the next resolution builds a new one.

    The chain remembers which provider answered and reads its settings at
    creation; tests that change those settings reset it.
    """
    global _chain
    with _chain_lock:
        _chain = None


def _from_default_chain() -> tuple[Credentials | None, str]:
    try:
        model = _chain_client().get_credential()
    except Exception as exc:  # the chain reports "nothing found" and I/O failures alike
        return None, type(exc).__name__
    if not model.access_key_id or not model.access_key_secret:
        return None, "empty"
    return Credentials(model.access_key_id, model.access_key_secret, model.security_token or None), \
        str(model.provider_name or "default")


def resolve_credentials(explicit: Credentials | None = None, context: Any = None) -> Credentials:
    """The credentials Rolegate acts with, in the order documented in this module."""
    if explicit is not None:
        return explicit
    found = _from_env()
    if found is not None:
        return found
    found = _from_context(context)
    if found is not None:
        return found
    found, source = _from_default_chain()
    if found is not None:
        log_event("credentials_resolved", "debug", source=source, access_key_id=found.access_key_id)
        return found
    raise CredentialsNotFound(
        "No cloud credentials found: none passed, ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET unset, no "
        "credentials on the invocation context, and the default chain (CLI profile, OIDC, "
        "credentials file, ECS instance role) found none.",
        details={"default_chain": source},
    )


__all__ = ["Credentials", "CredentialsNotFound", "resolve_credentials", "reset_default_chain"]
