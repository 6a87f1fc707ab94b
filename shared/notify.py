"""Outgoing notifications: one signed JSON POST to an operator's webhook, never raising.

Settings, headers and events: docs/configuration.md; why they are so:
docs/design/notifications.md.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from shared import config
from shared.errors import ConfigError
from shared.logs import log_event

SIGNATURE_HEADER = "X-Rolegate-Signature"
TIMESTAMP_HEADER = "X-Rolegate-Timestamp"
EVENT_HEADER = "X-Rolegate-Event"
DEFAULT_TIMEOUT_SECONDS = 3
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_seconds: int = 300,
           now: float | None = None) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    if abs(age) > max_age_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True, repr=False)
class NotifySettings:
    url: str | None = None
    secret: str | None = None  # the key itself, or None when it is read from KMS
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    secret_name: str | None = None  # the KMS secret holding the key (ROLEGATE_NOTIFY_SECRET=kms:<name>)

    def __repr__(self) -> str:  # the URL may itself carry a token (chat webhooks do): show the host only
        return f"NotifySettings(host={_host(self.url)!r}, timeout_seconds={self.timeout_seconds})"

    @classmethod
    def from_env(cls) -> "NotifySettings":
        """Read and check the variables in the module docstring; ``ConfigError`` names a bad one."""
        url = config.env_str("ROLEGATE_NOTIFY_URL")
        secret = config.env_str("ROLEGATE_NOTIFY_SECRET")
        secret_name = config.kms_secret_name(secret, "ROLEGATE_NOTIFY_SECRET")
        if secret_name is not None:
            secret = None
        timeout = config.env_int("ROLEGATE_NOTIFY_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, minimum=1, maximum=30)
        if url is not None:
            parsed = urllib.parse.urlsplit(url)
            secure = parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS)
            if not secure or not parsed.hostname:
                raise ConfigError("ROLEGATE_NOTIFY_URL must be an https:// URL (http:// only for loopback).",
                                  field="ROLEGATE_NOTIFY_URL")
            if secret is None and secret_name is None:
                raise ConfigError("ROLEGATE_NOTIFY_SECRET must be set when ROLEGATE_NOTIFY_URL is.",
                                  field="ROLEGATE_NOTIFY_SECRET")
            if secret is not None:
                config.refuse_inline_secret("ROLEGATE_NOTIFY_SECRET")
        return cls(url, secret, timeout, secret_name)


def _kms_text(name: str) -> str:
    """A KMS text secret read with the function's own credentials (cached per instance by :mod:`shared.kms`)."""
    from shared.clients import own_factory
    from shared.kms import text_secret

    return text_secret(own_factory(), name)


def _host(url: str | None) -> str | None:
    return urllib.parse.urlsplit(url).hostname if url else None


class Notifier:
    """Sends notifications per :class:`NotifySettings`; a no-op when no URL is configured."""

    def __init__(self, settings: NotifySettings | None = None,
                 secret_loader: Callable[[str], str] = _kms_text) -> None:
        self.settings = settings or NotifySettings()
        self._secret_loader = secret_loader

    @classmethod
    def from_env(cls) -> "Notifier":
        """The configured notifier, or a disabled one (logged as an error) when the settings are wrong."""
        try:
            return cls(NotifySettings.from_env())
        except ConfigError as exc:
            log_event("notify_misconfigured", "error", error=exc.to_dict())
            return cls()

    @property
    def enabled(self) -> bool:
        return self.settings.url is not None and (self.settings.secret or self.settings.secret_name) is not None

    def _secret(self) -> str | None:
        """The signing key; None (logged) when its KMS secret cannot be read or is empty."""
        if self.settings.secret is not None:
            return self.settings.secret
        assert self.settings.secret_name is not None
        try:
            value = self._secret_loader(self.settings.secret_name)
            problem = None if value else "EmptySecret"
        except Exception as exc:  # a notification is never worth failing the invocation
            value, problem = "", getattr(exc, "cloud_code", None) or type(exc).__name__
        if problem is not None:
            log_event("notify_failed", "warning", host=_host(self.settings.url), key_source="kms", error=problem)
            return None
        return value

    def send(self, event: str, data: dict[str, Any]) -> bool:
        """POST one notification; True when the receiver answered 2xx. Never raises."""
        if not self.enabled:
            return False
        assert self.settings.url is not None
        secret = self._secret()
        if secret is None:
            return False
        sent_at = datetime.now(timezone.utc)
        body = json.dumps({"event": event, "time": sent_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
                           "data": data}, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
        timestamp = str(int(sent_at.timestamp()))
        request = urllib.request.Request(self.settings.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: event,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        })
        started = time.perf_counter()
        outcome: dict[str, Any]
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as response:
                status = response.status
            outcome = {"status": status}
        except urllib.error.HTTPError as exc:
            status, outcome = exc.code, {"status": exc.code}
        except Exception as exc:  # any transport failure is only worth a log line
            status, outcome = 0, {"error": type(exc).__name__}
        ok = 200 <= status < 300
        log_event("notify_sent" if ok else "notify_failed", "info" if ok else "warning", notify_event=event,
                  host=_host(self.settings.url), duration_ms=round((time.perf_counter() - started) * 1000, 1),
                  **outcome)
        return ok


__all__ = ["EVENT_HEADER", "Notifier", "NotifySettings", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]
