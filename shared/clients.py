"""Official SDK clients, built lazily, once per (credentials, region, endpoint), reused while warm.

Each product's SDK is imported inside its method, so a function imports only
the SDKs it calls (cold start). Clients keep a pooled keep-alive connection, so
:func:`for_credentials` caches whole factories process-wide: a warm Function
Compute instance reuses its connections across invocations.

Endpoints. With ``endpoint`` (default: ``ROLEGATE_ENDPOINT``) every product is
sent to that ``host:port`` over plain HTTP (the emulator). Otherwise each SDK's
own endpoint rules for ``region`` apply -- ``sts.<region>.aliyuncs.com``,
``ecs.<region>.aliyuncs.com`` (``ecs-cn-hangzhou`` in Hangzhou), ``kms.<region>.aliyuncs.com``,
``fcv3.<region>.aliyuncs.com`` for FC 3.0 -- except that RAM, a global
service, is pinned to ``ram.aliyuncs.com`` (the SDK would invent
``ram.<region>.aliyuncs.com`` for regions missing from its table), its
identity-provider API to ``ims.aliyuncs.com``, and FC
addresses that name an account use ``<account>.<region>.fc.aliyuncs.com``
(required for FC 2.0, whose SDK table holds a literal ``account-id``).
FC serves the region its host names; under an override the host is the
override's, so FC and KMS clients name the region in an ``x-acs-region-id`` header.

Timeouts (ms; ``ROLEGATE_CONNECT_TIMEOUT_MS`` / ``ROLEGATE_READ_TIMEOUT_MS``):
connect 3000 -- an in-region TCP handshake takes milliseconds, and 3 s still
covers one lost SYN (retransmitted after 1 s); read 10000 -- control-plane
calls answer in well under a second, and ten seconds bounds a hung call so
that ``shared.calls``' four attempts still fit in a function's timeout. The
SDK defaults (5 s / 10 s) would be similar; setting them keeps the budget
explicit and tunable.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from shared import config
from shared.credentials import Credentials
from shared.errors import ConfigError
from shared.lazy import load

__all__ = ["ClientFactory", "for_credentials", "clear_cache", "connect_timeout_ms", "ecs_endpoint", "kms_endpoint",
           "own_factory", "read_timeout_ms", "sdk_config"]

DEFAULT_CONNECT_TIMEOUT_MS = 3_000
DEFAULT_READ_TIMEOUT_MS = 10_000
RAM_ENDPOINT = "ram.aliyuncs.com"
IMS_ENDPOINT = "ims.aliyuncs.com"  # RAM's identity management API (2019-08-15), also central
RESOURCEMANAGER_ENDPOINT = "resourcemanager.aliyuncs.com"  # the SDK's 'central' rule: one address for every region
# The public regions where the ECS SDK's endpoint table departs from its rule ecs.<region>.aliyuncs.com
# (the rest of that table names regions no customer runs in); a test compares this with the SDK's table.
ECS_ENDPOINTS = {"cn-hangzhou": "ecs-cn-hangzhou.aliyuncs.com", "cn-shanghai-finance-1": "ecs-cn-hangzhou.aliyuncs.com",
                 "cn-shenzhen-finance-1": "ecs-cn-hangzhou.aliyuncs.com", "cn-north-2-gov-1": "ecs.aliyuncs.com"}
USER_AGENT = "Rolegate"
MAX_CACHED_FACTORIES = 32  # STS credentials rotate; old factories must not pile up


def connect_timeout_ms() -> int:
    return config.env_int("ROLEGATE_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT_MS, minimum=1)


def read_timeout_ms() -> int:
    return config.env_int("ROLEGATE_READ_TIMEOUT_MS", DEFAULT_READ_TIMEOUT_MS, minimum=1)


def _resolve_endpoint(endpoint: str | None) -> str | None:
    """None reads ROLEGATE_ENDPOINT; ``""`` means the real cloud even when that is set."""
    if endpoint is None:
        return config.endpoint()
    return endpoint or None


def sdk_config(credentials: Credentials | None, region: str, override: str | None,
               address: str | None = None) -> Any:
    """The SDK ``Config`` every client is built on; tests, the demo and benchmarks use it too.

    ``override``: the ``host:port`` every product is sent to over plain HTTP
    (the emulator); without one, ``address`` is the real-cloud host, else the
    SDK's own rule for ``region`` applies. Without ``credentials`` the client
    signs nothing, as STS's federation calls (AssumeRoleWithSAML/OIDC) expect.
    """
    keys = {} if credentials is None else {"access_key_id": credentials.access_key_id,
                                           "access_key_secret": credentials.access_key_secret,
                                           "security_token": credentials.security_token}
    cfg = load("alibabacloud_tea_openapi.models").Config(**keys, region_id=region,
                                                         connect_timeout=connect_timeout_ms(),
                                                         read_timeout=read_timeout_ms(), user_agent=USER_AGENT)
    if override:
        cfg.endpoint = override
        cfg.protocol = "http"
    elif address:
        cfg.endpoint = address
    return cfg


def ecs_endpoint(region: str) -> str:
    """The address the ECS SDK (``alibabacloud_ecs20140526``) would use for ``region``."""
    return ECS_ENDPOINTS.get(region) or f"ecs.{region}.aliyuncs.com"


def kms_endpoint(region: str) -> str:
    """The address the KMS SDK (``alibabacloud_kms20160120``, rule 'regional') would use for ``region``."""
    return f"kms.{region}.aliyuncs.com"


def fc_account_endpoint(account_id: str, region: str) -> str:
    return f"{account_id}.{region}.fc.aliyuncs.com"


class ClientFactory:
    """Builds each product's SDK client on first use and keeps it."""

    def __init__(self, credentials: Credentials, region: str | None = None, endpoint: str | None = None) -> None:
        """``region``/``endpoint`` default to config; ``endpoint=""`` forces the real cloud."""
        self.credentials = credentials
        self.region = region or config.region()
        self.endpoint = _resolve_endpoint(endpoint)  # None: the real cloud
        self._clients: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ClientFactory({self.credentials!r}, region={self.region!r}, endpoint={self.endpoint!r})"

    def with_credentials(self, credentials: Credentials) -> "ClientFactory":
        """The (cached) factory for other credentials with this one's region and endpoint."""
        return for_credentials(credentials, region=self.region, endpoint=self.endpoint or "")

    def sdk_config(self, endpoint: str | None = None) -> Any:
        """The SDK ``Config``: ``endpoint`` is the real-cloud address, ignored under an override."""
        return sdk_config(self.credentials, self.region, self.endpoint, endpoint)

    def _get(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = build()
            return client

    def ram(self) -> Any:
        """RAM, through the SDK core's generic client on the RAM SDK's endpoint (see :mod:`shared.ram`)."""
        return self._generic("ram", RAM_ENDPOINT)

    def ims(self) -> Any:
        """RAM's identity management API (identity providers): the SDK core's generic client on its endpoint."""
        return self._generic("ims", IMS_ENDPOINT)

    def resourcemanager(self) -> Any:
        """ResourceManager (2020-03-31): the Resource Directory's members, a global service like RAM."""
        def build() -> Any:
            return load("alibabacloud_resourcemanager20200331.client").Client(
                self.sdk_config(RESOURCEMANAGER_ENDPOINT))
        return self._get("resourcemanager", build)

    def sts(self) -> Any:
        def build() -> Any:
            return load("alibabacloud_sts20150401.client").Client(self.sdk_config())
        return self._get("sts", build)

    def ecs(self) -> Any:
        """ECS, through the SDK core's generic client on the ECS SDK's endpoint (see :mod:`shared.ecs`)."""
        return self._generic("ecs", ecs_endpoint(self.region))

    def _generic(self, key: str, address: str) -> Any:
        """The SDK core's generic client (``call_api``, :mod:`shared.rpc`) on ``address``."""
        return self._get(key, lambda: load("alibabacloud_tea_openapi.client").Client(self.sdk_config(address)))

    def kms(self) -> Any:
        """KMS, through the SDK core's generic client on the KMS SDK's regional endpoint (see :mod:`shared.kms`)."""
        def build() -> Any:
            config = self._region_header(self.sdk_config(kms_endpoint(self.region)))
            return load("alibabacloud_tea_openapi.client").Client(config)
        return self._get("kms", build)

    def fc3(self, account_id: str) -> Any:
        """FC 3.0 in ``account_id``: the SDK core's generic client on the account's address (see :mod:`shared.fc`)."""
        return self._get(("fc3", account_id),
                         lambda: load("alibabacloud_tea_openapi.client").Client(self.fc_config(account_id)))

    def fc2(self, account_id: str | None = None) -> Any:
        """FC 2.0, through the SDK core's generic client (see :mod:`shared.fc`); its endpoint names the account
        (``account_id``, else ``FC_ACCOUNT_ID``)."""
        account = account_id or config.env_str("FC_ACCOUNT_ID")
        if account is None and not self.endpoint:
            raise ConfigError("FC 2.0 needs the account id: pass account_id or set FC_ACCOUNT_ID.",
                              field="FC_ACCOUNT_ID")

        def build() -> Any:
            return load("alibabacloud_tea_openapi.client").Client(self.fc_config(account))
        return self._get(("fc2", account), build)

    def fc_config(self, account_id: str | None) -> Any:
        """FC's ``Config``: the account's regional address (without one, the FC SDKs' own rule), or under an
        override the region as a header."""
        address = fc_account_endpoint(account_id, self.region) if account_id else None
        return self._region_header(self.sdk_config(address))

    def _region_header(self, cfg: Any) -> Any:
        """Under an override the host names no region, so regional products are told it in a header."""
        if self.endpoint:
            parameters = load("alibabacloud_tea_openapi.models").GlobalParameters
            cfg.global_parameters = parameters(headers={"x-acs-region-id": self.region})
        return cfg


_factories: "OrderedDict[tuple[str, str, str | None], ClientFactory]" = OrderedDict()
_factories_lock = threading.Lock()


def for_credentials(credentials: Credentials, region: str | None = None,
                    endpoint: str | None = None) -> ClientFactory:
    """The process-wide factory for these credentials, region and endpoint (defaults from config)."""
    resolved_region = region or config.region()
    resolved_endpoint = _resolve_endpoint(endpoint)
    key = (credentials.fingerprint, resolved_region, resolved_endpoint)
    with _factories_lock:
        factory = _factories.get(key)
        if factory is None:
            factory = _factories[key] = ClientFactory(credentials, resolved_region, resolved_endpoint or "")
            while len(_factories) > MAX_CACHED_FACTORIES:
                _factories.popitem(last=False)
        else:
            _factories.move_to_end(key)
        return factory


def own_factory(context: Any = None, credentials: Credentials | None = None) -> ClientFactory:
    """The process-wide factory on a function's own credentials: ``credentials`` when given, else FC's role as
    the environment (or the invocation ``context``) carries it (:func:`shared.credentials.resolve_credentials`)."""
    from shared.credentials import resolve_credentials

    return for_credentials(resolve_credentials(credentials, context))


def clear_cache() -> None:
    """Drop every cached factory (and so every pooled connection reference)."""
    with _factories_lock:
        _factories.clear()
