"""Where Rolegate's own cloud credentials come from, and cached role sessions built on them.

Resolution order (:func:`resolve_credentials`), first match wins:

1. credentials passed explicitly (tests, the local host);
2. the Function Compute runtime's environment variables
   ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``_SECRET`` / ``_SECURITY_TOKEN`` (the
   function role's STS credentials), read at call time: the credentials
   library reads them once at its import, which misses values set later and
   keeps serving rotated-out ones in a warm instance;
3. ``context.credentials`` of the invocation, which older Python runtimes
   (3.6-3.10) provide and 3.12 removed;
4. the ``alibabacloud_credentials`` default chain: CLI profile, OIDC role,
   credentials file, and the ECS instance RAM role through the metadata
   service (100.100.100.200). The chain object is created once per process
   (it starts a refresh thread when the metadata service is enabled) and
   refreshes instance-role credentials itself. Set
   ``ALIBABA_CLOUD_IMDSV1_DISABLED=true`` on ECS so only the hardened
   (token-protected) metadata mode is used.

Nothing found raises :class:`CredentialsNotFound`.

:class:`RoleAssumer` turns base credentials into role sessions (STS
AssumeRole), cached and shared across threads and warm invocations.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from shared import clock as _clock
from shared.errors import CloudCallError, CredentialsNotFound
from shared.lazy import load
from shared.logs import log_event

if TYPE_CHECKING:
    from shared.clients import ClientFactory

__all__ = ["Credentials", "CredentialsNotFound", "resolve_credentials", "reset_default_chain",
           "RoleAssumer", "CacheInfo", "default_assumer", "MIN_DURATION_SECONDS", "DEFAULT_MARGIN_SECONDS"]

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_SECURITY_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"

MIN_DURATION_SECONDS = 900  # STS AssumeRole's minimum DurationSeconds
# STS AssumeRole's RoleSessionName: 2-64 letters, digits and . @ _ -
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]{2,64}\Z")
DEFAULT_MARGIN_SECONDS = 300
MAX_CACHED_SESSIONS = 1024  # beyond this, stale sessions are pruned on insert


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


# --------------------------------------------------------------- role sessions
class CacheInfo(NamedTuple):
    hits: int
    misses: int
    currsize: int


CacheKey = tuple[str | None, str, str, str, str | None, str | None, str | None]


class RoleAssumer:
    """STS AssumeRole with a per-session cache, safe to share between threads.

    Cache key: (endpoint, base access key id, role ARN, session name, external
    id, session policy, source identity) -- every input that changes who the
    session is or what it may do. The base key id is part of it because the
    role's trust policy is checked against the caller: credentials obtained by
    one principal must never be handed to another that might not pass that
    check. The session name is part of it because it is the identity recorded
    in ActionTrail; reusing another caller's session would misattribute its
    actions. The requested duration is not: a cached session with enough time
    left serves any duration.

    Margin: cached credentials are refreshed when less than ``margin_seconds``
    (default 300) remain. It must exceed the longest time a caller keeps using
    credentials after getting them -- one invocation, and Rolegate's functions
    run with timeouts well under five minutes -- and be well below STS's 900 s
    minimum duration, or a minimum-length session would be refreshed on nearly
    every use. 300 s leaves a 900 s session 600 s of reuse.

    Single flight: one lock per key, so when many threads miss at once one
    calls STS and the rest wait for and reuse its answer; different keys never
    wait for each other.
    """

    def __init__(self, base: Credentials | Callable[[], Credentials], factory: "ClientFactory | None" = None,
                 *, margin_seconds: int = DEFAULT_MARGIN_SECONDS,
                 clock: Callable[[], datetime] = _clock.now) -> None:
        if not 0 <= margin_seconds < MIN_DURATION_SECONDS:
            raise ValueError(f"margin_seconds must be in [0, {MIN_DURATION_SECONDS})")
        self._base = base
        self._factory = factory
        self._margin = timedelta(seconds=margin_seconds)
        self._clock = clock
        self._cache: dict[CacheKey, Credentials] = {}
        self._locks: dict[CacheKey, threading.Lock] = {}
        self._guard = threading.Lock()
        self._hits = 0
        self._misses = 0

    def assume(self, role_arn: str, session_name: str, *, external_id: str | None = None,
               duration_seconds: int = 3600, policy: str | None = None,
               source_identity: str | None = None, clock: Callable[[], datetime] | None = None) -> Credentials:
        """Credentials of ``role_arn`` for ``session_name``, from cache while fresh.

        ``clock`` replaces the assumer's own for this call: a caller assuming
        many roles at once passes one :class:`shared.clock.Anchored` so that
        judging freshness does not cost a read of the emulator's clock per role.
        """
        clock = clock or self._clock
        base = self._base if isinstance(self._base, Credentials) else self._base()
        factory = self._factory_for(base)
        key: CacheKey = (factory.endpoint, base.access_key_id, role_arn, session_name, external_id, policy,
                         source_identity)
        cached = self._fresh(key, clock)
        if cached is None:
            with self._lock_for(key):
                cached = self._fresh(key, clock)  # a concurrent caller may have fetched it meanwhile
                if cached is None:
                    fetched = self._call_sts(factory, role_arn, session_name, external_id, duration_seconds,
                                             policy, source_identity, clock)
                    with self._guard:
                        self._cache[key] = fetched
                        self._misses += 1
                        crowded = len(self._cache) > MAX_CACHED_SESSIONS
                    if crowded:
                        self._prune(clock)
                    return fetched
        with self._guard:
            self._hits += 1
        return cached

    @property
    def clock(self) -> Callable[[], datetime]:
        """The time source sessions are judged fresh by when a call brings none."""
        return self._clock

    def cache_info(self) -> CacheInfo:
        with self._guard:
            return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear(self) -> None:
        with self._guard:
            self._cache.clear()
            self._hits = self._misses = 0

    def _factory_for(self, base: Credentials) -> "ClientFactory":
        from shared.clients import for_credentials

        if self._factory is None:
            return for_credentials(base)
        if self._factory.credentials == base:
            return self._factory
        return self._factory.with_credentials(base)

    def _prune(self, clock: Callable[[], datetime]) -> None:
        """Drop sessions past their refresh point (and their locks) once the cache grows large."""
        limit = clock() + self._margin
        with self._guard:
            for key in [k for k, c in self._cache.items() if c.expiration is not None and c.expiration <= limit]:
                del self._cache[key]
                self._locks.pop(key, None)

    def _lock_for(self, key: CacheKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _fresh(self, key: CacheKey, clock: Callable[[], datetime]) -> Credentials | None:
        with self._guard:
            cached = self._cache.get(key)
        if cached is None:
            return None
        remaining = cached.remaining(clock())
        if remaining is not None and remaining <= self._margin:
            return None
        return cached

    def _call_sts(self, factory: "ClientFactory", role_arn: str, session_name: str, external_id: str | None,
                  duration_seconds: int, policy: str | None, source_identity: str | None,
                  clock: Callable[[], datetime]) -> Credentials:
        AssumeRoleRequest = load("alibabacloud_sts20150401.models").AssumeRoleRequest
        from shared.calls import call

        request = AssumeRoleRequest(role_arn=role_arn, role_session_name=session_name,
                                    duration_seconds=duration_seconds, external_id=external_id,
                                    policy=policy, source_identity=source_identity)
        # AssumeRole changes nothing in the account; repeating it only mints another session.
        body = call(factory.sts().assume_role, request, action="AssumeRole", target=role_arn, safe_to_retry=True)
        sts = getattr(body, "credentials", None)
        if sts is None or not sts.access_key_id or not sts.access_key_secret:
            raise CloudCallError("AssumeRole answered without credentials.", action="AssumeRole",
                                 request_id=getattr(body, "request_id", None), details={"target": role_arn})
        # An unreadable expiry is taken as the requested duration, never as "does not expire".
        expiration = _parse_expiration(sts.expiration) or clock() + timedelta(seconds=duration_seconds)
        user = getattr(body, "assumed_role_user", None)
        creds = Credentials(sts.access_key_id, sts.access_key_secret, sts.security_token or None, expiration,
                            assumed_role_arn=getattr(user, "arn", None) or None)
        log_event("role_assumed", role_arn=role_arn, session_name=session_name,
                  assumed_role_arn=creds.assumed_role_arn, access_key_id=creds.access_key_id,
                  expiration=creds.expiration,
                  external_id_set=external_id is not None, session_policy_set=policy is not None)
        return creds


def _parse_expiration(value: str | None) -> datetime | None:
    """STS writes ``YYYY-MM-DDThh:mm:ssZ``; tolerate fractions and offsets too."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_default_assumer: RoleAssumer | None = None
_default_lock = threading.Lock()


def default_assumer() -> RoleAssumer:
    """The process-wide assumer over :func:`resolve_credentials`, kept across warm invocations."""
    global _default_assumer
    with _default_lock:
        if _default_assumer is None:
            _default_assumer = RoleAssumer(resolve_credentials)
        return _default_assumer
