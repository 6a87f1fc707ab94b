"""Signatures of webhook requests (under the shared secret or a named client's), and the replay cache of one instance.

The layers these fit into are in README.md ("Webhook authentication, layer by
layer"); why the signature covers what it does is in docs/design/webhook-auth.md.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import os
import threading
import time
from collections import OrderedDict
from typing import Callable, NamedTuple

from shared.errors import Unauthenticated
from shared.events.http import HttpRequest
from shared.onboarding.clients import NAME_RE, Client

TIMESTAMP_HEADER = "X-Rolegate-Timestamp"
SIGNATURE_HEADER = "X-Rolegate-Signature"
CLIENT_HEADER = "X-Rolegate-Client"
SIGNATURE_PREFIX = "sha256="
WINDOW_SECONDS = 300
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REPLAY_CACHE_SIZE = 10_000


def string_to_sign(timestamp: str, method: str, path: str, body: bytes, client: str | None = None) -> bytes:
    """The exact bytes the HMAC covers: timestamp, the client's name if the request names one, method, path, body."""
    named = "" if client is None else f"{client}."
    return f"{timestamp}.{named}{method.upper()}.{path}.".encode("utf-8") + body


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes, client: str | None = None) -> str:
    """The ``X-Rolegate-Signature`` value a client sends for this request."""
    digest = hmac.new(secret.encode("utf-8"), string_to_sign(timestamp, method, path, body, client), hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


class Verified(NamedTuple):
    signature: str  # hex digest: the replay-cache key
    timestamp: int


# Stands in for the secret of a client nobody configured, so that answer costs the same HMAC as a wrong signature.
_NOBODY = os.urandom(32).hex()


def verify(request: HttpRequest, *secrets: str, client: str | None = None,
           now: Callable[[], float] = time.time) -> Verified:
    """Check the request's signature under any of ``secrets``; return what the replay cache needs.

    Raises ``Unauthenticated`` (401) with a code saying which check failed,
    never which bytes differed. With no secret at all, a well-formed request
    gets the answer of a wrong signature, after as much work.
    """
    timestamp = (request.header(TIMESTAMP_HEADER) or "").strip()
    presented = (request.header(SIGNATURE_HEADER) or "").strip()
    if not timestamp or not presented:
        raise Unauthenticated(f"Requests must carry {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}.",
                              code="SignatureMissing")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} must be unix seconds.", code="TimestampMalformed",
                              field=TIMESTAMP_HEADER)
    if abs(now() - int(timestamp)) > WINDOW_SECONDS:
        raise Unauthenticated(f"{TIMESTAMP_HEADER} is more than {WINDOW_SECONDS} seconds from the server's time.",
                              code="SignatureExpired", field=TIMESTAMP_HEADER)
    if not presented.lower().startswith(SIGNATURE_PREFIX):
        raise Unauthenticated(f"{SIGNATURE_HEADER} must be {SIGNATURE_PREFIX}<hex>.", code="SignatureMalformed",
                              field=SIGNATURE_HEADER)
    given = presented[len(SIGNATURE_PREFIX):].lower().encode("ascii", "replace")
    matched = None
    for secret in secrets or (_NOBODY,):
        expected = sign(secret, timestamp, request.method, request.path, request.body, client)[len(SIGNATURE_PREFIX):]
        if hmac.compare_digest(given, expected.encode("ascii")):
            matched = expected
    if matched is None or not secrets:
        raise Unauthenticated("The request signature does not match.", code="SignatureMismatch",
                              field=SIGNATURE_HEADER)
    return Verified(matched, int(timestamp))


def authenticate(request: HttpRequest, client_named: Callable[[str | None], Client | None], *,
                 now: Callable[[], float] = time.time) -> tuple[Verified, Client]:
    """The request's verified signature and the client that made it.

    ``client_named`` finds a client by the ``X-Rolegate-Client`` header (None:
    the header is absent, the shared secret's client). A name nobody has is
    answered exactly as a wrong signature, so names cannot be probed.
    """
    name = request.header(CLIENT_HEADER)
    client = client_named(name) if name is None or NAME_RE.match(name) else None
    secrets = client.secrets(now()) if client is not None else ()
    verified = verify(request, *secrets, client=name if client is not None else None, now=now)
    assert client is not None  # with no secret, verify has refused the request
    return verified, client


class ReplayCache:
    """Signatures of mutating requests seen recently, bounded in size, safe across threads.

    An entry is kept until its signature could no longer pass the freshness
    check anyway (timestamp + window, on the function's real clock); beyond
    ``capacity`` live entries the oldest is dropped. Only the holder of the
    secret can add entries, so the bound is about memory, not about attackers.
    """

    def __init__(self, capacity: int = REPLAY_CACHE_SIZE, *, now: Callable[[], float] = time.time) -> None:
        self._capacity = capacity
        self._now = now
        self._seen: OrderedDict[str, float] = OrderedDict()
        # (until, signature) in expiry order: timestamps arrive out of order (clock skew), so insertion
        # order is not expiry order, and scanning every entry per request would grow with the traffic.
        self._expiries: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def reserve(self, signature: str, timestamp: int) -> bool:
        """Record ``signature``; False when it was already recorded (a replay)."""
        with self._lock:
            self._expire()
            if signature in self._seen:
                return False
            until = timestamp + WINDOW_SECONDS
            self._seen[signature] = until
            heapq.heappush(self._expiries, (until, signature))
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            if len(self._expiries) > 2 * self._capacity:  # entries dropped or released since they were pushed
                self._expiries = [(u, s) for s, u in self._seen.items()]
                heapq.heapify(self._expiries)
            return True

    def release(self, signature: str) -> None:
        """Forget ``signature`` so the same request may be sent again (after a retryable failure)."""
        with self._lock:
            self._seen.pop(signature, None)

    def _expire(self) -> None:
        now = self._now()
        while self._expiries and self._expiries[0][0] < now:
            until, signature = heapq.heappop(self._expiries)
            if self._seen.get(signature) == until:  # not released, dropped or reserved again since
                del self._seen[signature]

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._expiries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


__all__ = ["CLIENT_HEADER", "MUTATING_METHODS", "ReplayCache", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Verified",
           "WINDOW_SECONDS", "authenticate", "sign", "string_to_sign", "verify"]
