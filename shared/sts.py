"""The STS seam: role sessions, who a set of credentials is, and the owner account Rolegate acts for.

:func:`assume_role` is the one AssumeRole call (:class:`RoleAssumer` keeps the
sessions); :func:`caller_identity` names a caller as ActionTrail does;
:func:`owner_account_id` works the owner account out in one order for every
function and the CLI: configured, else the FC runtime's, else the credentials'.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, NamedTuple

from shared import clock as _clock
from shared import config
from shared.calls import call
from shared.clients import ClientFactory, for_credentials
from shared.credentials import Credentials, resolve_credentials
from shared.errors import CloudCallError, ConfigError
from shared.lazy import load
from shared.logs import log_event

MIN_DURATION_SECONDS = 900  # STS AssumeRole's minimum DurationSeconds
# STS AssumeRole's RoleSessionName: 2-64 letters, digits and . @ _ -
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]{2,64}\Z")
DEFAULT_MARGIN_SECONDS = 300
MAX_CACHED_SESSIONS = 1024  # beyond this, stale sessions are pruned on insert
OWNER_ENV = "ROLEGATE_OWNER_ACCOUNT_ID"


# ------------------------------------------------------------------ role sessions
def assume_role(factory: ClientFactory, role_arn: str, session_name: str, *, duration_seconds: int = 3600,
                external_id: str | None = None, policy: str | None = None, source_identity: str | None = None,
                safe_to_retry: bool = True, clock: Callable[[], datetime] = _clock.now) -> Credentials:
    """A session of ``role_arn`` signed by ``factory``'s credentials, uncached.

    AssumeRole changes nothing in the account, so repeating it only mints
    another session; ``safe_to_retry=False`` is for a caller that wants the
    first answer, refusal included.
    """
    AssumeRoleRequest = load("alibabacloud_sts20150401.models").AssumeRoleRequest
    request = AssumeRoleRequest(role_arn=role_arn, role_session_name=session_name,
                                duration_seconds=duration_seconds, external_id=external_id,
                                policy=policy, source_identity=source_identity)
    body = call(factory.sts().assume_role, request, action="AssumeRole", target=role_arn,
                safe_to_retry=safe_to_retry)
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

    def __init__(self, base: Credentials | Callable[[], Credentials], factory: ClientFactory | None = None,
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
                    fetched = assume_role(factory, role_arn, session_name, external_id=external_id,
                                          duration_seconds=duration_seconds, policy=policy,
                                          source_identity=source_identity, clock=clock)
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

    def _factory_for(self, base: Credentials) -> ClientFactory:
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


# ------------------------------------------------------------------------ who
# The caller ARNs STS answers: acs:ram::<account>:user/<name>, ...:assumed-role/<role>/<session>, ...:root.
_CALLER_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]+):(?:(?P<kind>user|assumed-role)/(?P<name>[^/]+)|root\Z)",
                         re.IGNORECASE)


@dataclass(frozen=True)
class CallerIdentity:
    """Who a set of credentials is, as STS GetCallerIdentity answered."""

    account_id: str
    arn: str
    identity_type: str  # "Account", "RAMUser" or "AssumedRoleUser"
    access_key_id: str  # of the credentials that asked

    @property
    def principal(self) -> tuple[str, str] | None:
        """``("user", name)``, ``("role", name)`` for any session of a role; None for the root or an unknown ARN.

        The same pair :class:`shared.events.actiontrail.UserIdentity` reads from an event's caller.
        """
        match = _CALLER_ARN.match(self.arn)
        if match is None or not match["kind"]:
            return None
        return ("user" if match["kind"].lower() == "user" else "role"), match["name"]

    @property
    def writer(self) -> str | None:
        """How a record names its signer: ``user/<name>``, ``role/<name>`` or ``root``; None for an unknown ARN."""
        principal = self.principal
        if principal is not None:
            return "/".join(principal)
        return "root" if _CALLER_ARN.match(self.arn) else None


_remembered: dict[tuple[str, str | None], CallerIdentity] = {}
_remembered_lock = threading.Lock()


def caller_identity(factory: ClientFactory, *, remember: bool = False) -> CallerIdentity:
    """GetCallerIdentity of ``factory``'s credentials.

    ``remember``: asked once per credentials and endpoint while the process
    lives, for a function that needs its own identity at every invocation.
    """
    key = (factory.credentials.fingerprint, factory.endpoint)
    if remember:
        with _remembered_lock:
            known = _remembered.get(key)
        if known is not None:
            return known
    body = call(factory.sts().get_caller_identity, action="GetCallerIdentity", safe_to_retry=True)
    identity = CallerIdentity(str(body.account_id or ""), str(body.arn or ""), str(body.identity_type or ""),
                              factory.credentials.access_key_id)
    if remember:
        with _remembered_lock:
            _remembered[key] = identity
    return identity


def forget_caller_identities() -> None:
    """Drop the remembered identities (tests and benchmarks that start a new instance)."""
    with _remembered_lock:
        _remembered.clear()


# ---------------------------------------------------------------- owner account
def runtime_account_id(context: Any) -> str | None:
    """The account a function runs in, as Function Compute says (``FC_ACCOUNT_ID``, the invocation context)."""
    found = config.env_str("FC_ACCOUNT_ID") or getattr(context, "account_id", None)
    return str(found) if found else None


def checked_account_id(value: Any, field: str) -> str:
    """``value`` when it is a 16-digit account id; else a ``ConfigError`` naming ``field``, the setting to fix."""
    from shared.policies.principals import ACCOUNT_ID_RE  # here: the query, which never asks, skips loading it

    if not isinstance(value, str) or not ACCOUNT_ID_RE.match(value):
        raise ConfigError(f"The owner account is unknown or not a 16-digit account id: set {field}.", field=field)
    return value


def owner_account_id(*known: str | None, ask: Callable[[], str] | None = None, field: str = OWNER_ENV) -> str:
    """The first of ``known`` that is set, else ``ask()`` (the credentials' account, from STS), checked.

    ``ask`` is None where asking STS is not wanted; then nothing known is a
    ``ConfigError`` naming ``field``.
    """
    owner = next((k for k in known if k), None)
    if owner is None and ask is not None:
        owner = ask()
    return checked_account_id(owner, field)


__all__ = ["CacheInfo", "CallerIdentity", "DEFAULT_MARGIN_SECONDS", "MIN_DURATION_SECONDS", "OWNER_ENV",
           "RoleAssumer", "SESSION_NAME_RE", "assume_role", "caller_identity", "checked_account_id",
           "default_assumer", "forget_caller_identities", "owner_account_id", "runtime_account_id"]
