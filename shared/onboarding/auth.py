"""Request signatures for the onboarding webhook, and how they stack with the trigger's own auth.

What is signed
--------------
Every request (reads too) carries two headers::

    X-Rolegate-Timestamp: <unix seconds, decimal digits>
    X-Rolegate-Signature: sha256=<hex HMAC-SHA256(secret, string_to_sign)>

    string_to_sign = <timestamp> "." <METHOD> "." <path> "." <body bytes, exactly as sent>

``METHOD`` is upper case; ``path`` is the decoded request path without the
query string (``/grants/g-abcdefghijkl``); the body is the raw bytes the
trigger delivered (after base64 decoding), so a client signs exactly what it
sends and nothing is re-serialised. The secret is ``ROLEGATE_WEBHOOK_SECRET``; a named
client (``X-Rolegate-Client: <name>``, :mod:`shared.onboarding.clients`) signs
``<timestamp> "." <name> "." <METHOD> ...`` with its own secret instead.
Binding method and path means a signature for ``GET /grants/x`` cannot be
replayed as ``DELETE /grants/x``. The query string is not signed: only reads
take query parameters (a mutating request with one is refused), so an altered
query can at most narrow or widen a listing the signer may read anyway.

Freshness
---------
The timestamp must lie within ``WINDOW_SECONDS`` (300 s) of the function's
wall clock, in either direction. Real time is used, never the emulator's clock
(``shared.clock``): the sender stamps requests with its own real clock, while
the emulator's clock is moved days ahead by expiry tests; judging freshness on
it would refuse every honest request in such a test and would not model the
deployed system, where both clocks are real.

Layers
------
1. The HTTP trigger's ``authType``, checked by Function Compute before the
   function runs. ``function``: the caller signs with an Alibaba Cloud
   AccessKey (ACS3-HMAC-SHA256) of an identity allowed ``fc:InvokeFunction``;
   ``jwt``: the gateway verifies a token against the configured JWKS. Either
   decides *who may reach* the function; failures are 403s that never invoke
   it. ``anonymous`` leaves this layer out.
2. This module's HMAC, always required whatever the trigger's authType, so a
   trigger deployed ``anonymous`` by mistake still admits no one without the
   secret. It proves *this exact request* (time, method, path, body) came from
   the holder of the webhook secret, unaltered. Missing, stale or wrong
   signatures are 401s; the comparison is constant-time.
3. A replay cache (:class:`ReplayCache`, in-process, per function instance):
   a signature already seen on a mutating request (POST, PATCH, DELETE) is
   refused with 409 ``Replayed`` while it is still fresh. A request that failed
   with a retryable error (5xx) releases its signature, so resending the very
   same request is a retry, not a replay. Reads are not tracked.
4. Convergence, for what layer 3 cannot see (another instance, a restart):
   a create's grant id is derived from the idempotency key or the request's
   content, so a replayed create lands on the grant the first made (200, no new
   role); a replayed DELETE finds nothing (404); a replayed PATCH sets the same
   absolute ``expires_at`` again (with ``duration_seconds`` it can add at most
   the window's 300 s).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections import OrderedDict
from typing import Callable, NamedTuple

from shared.errors import Unauthenticated
from shared.http import HttpRequest
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
        self._lock = threading.Lock()

    def reserve(self, signature: str, timestamp: int) -> bool:
        """Record ``signature``; False when it was already recorded (a replay)."""
        with self._lock:
            self._expire()
            if signature in self._seen:
                return False
            self._seen[signature] = timestamp + WINDOW_SECONDS
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True

    def release(self, signature: str) -> None:
        """Forget ``signature`` so the same request may be sent again (after a retryable failure)."""
        with self._lock:
            self._seen.pop(signature, None)

    def _expire(self) -> None:
        now = self._now()
        for signature in [s for s, until in self._seen.items() if until < now]:
            del self._seen[signature]

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


__all__ = ["CLIENT_HEADER", "MUTATING_METHODS", "ReplayCache", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Verified",
           "WINDOW_SECONDS", "authenticate", "sign", "string_to_sign", "verify"]
