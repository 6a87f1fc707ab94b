"""Settings of the onboarding webhook, read from the environment at each invocation.

Every variable is described in docs/configuration.md. A bad value is a
:class:`~shared.errors.ConfigError` (HTTP 500 naming the variable): the
deployment is wrong, not the request.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from shared import config
from shared.errors import ConfigError
from shared.policies.principals import ACCOUNT_ID_RE, PRINCIPAL_KINDS
from shared.policies.protected import DEFAULT_PREFIX, Protected, prefix_from_env

DEFAULT_MIN_GRANT_SECONDS = 900
DEFAULT_MAX_GRANT_SECONDS = 90 * 24 * 3600
DEFAULT_MAX_BODY_BYTES = 64 * 1024
MIN_SECRET_CHARS = 16  # a shorter HMAC key is guessable offline from one captured request


@dataclass(frozen=True)
class OnboardSettings:
    owner_account_id: str
    webhook_secret: str = field(repr=False)  # the key itself, or "" when it is read from KMS
    allowed_policies: tuple[str, ...] = ()
    denied_policies: tuple[str, ...] = ()
    min_grant_seconds: int = DEFAULT_MIN_GRANT_SECONDS
    max_grant_seconds: int = DEFAULT_MAX_GRANT_SECONDS
    require_external_id: bool = True
    allowed_principal_kinds: tuple[str, ...] = PRINCIPAL_KINDS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    protected_prefix: str = DEFAULT_PREFIX
    webhook_secret_name: str | None = None  # the KMS secret holding the key, when not given inline
    webhook_clients_name: str | None = None  # the KMS secret holding the named clients, when there are any
    protected_resources: tuple[str, ...] = ()

    @functools.cached_property
    def protected(self) -> Protected:
        """Rolegate's own resources, which no grant's policy may reach (worked out once per settings)."""
        return Protected.rolegate(self.protected_prefix, self.protected_resources)

    @classmethod
    def from_env(cls, context: Any = None) -> OnboardSettings:
        """Settings from the environment; ``context`` (FC's) supplies the owner account as a last resort."""
        owner = (config.env_str("ROLEGATE_OWNER_ACCOUNT_ID") or config.env_str("FC_ACCOUNT_ID")
                 or getattr(context, "account_id", None))
        if not isinstance(owner, str) or not ACCOUNT_ID_RE.match(owner):
            raise ConfigError("The owner account is unknown or malformed: set ROLEGATE_OWNER_ACCOUNT_ID "
                              "to a 16-digit account id.", field="ROLEGATE_OWNER_ACCOUNT_ID")
        clients = config.env_str("ROLEGATE_WEBHOOK_CLIENTS")
        clients_name = config.kms_secret_name(clients, "ROLEGATE_WEBHOOK_CLIENTS")
        if clients is not None and clients_name is None:
            raise ConfigError("ROLEGATE_WEBHOOK_CLIENTS must be kms:<secret name>: the clients' secrets are never "
                              "kept in the function's settings.", field="ROLEGATE_WEBHOOK_CLIENTS")
        secret = config.env_str("ROLEGATE_WEBHOOK_SECRET")
        secret_name = config.kms_secret_name(secret, "ROLEGATE_WEBHOOK_SECRET")
        if secret_name is not None:
            secret = ""
        elif secret is None and clients_name is not None:
            secret = ""  # only named clients may call
        elif secret is None or len(secret) < MIN_SECRET_CHARS:
            raise ConfigError(f"ROLEGATE_WEBHOOK_SECRET must be set to kms:<secret name> or to at least "
                              f"{MIN_SECRET_CHARS} characters (or left empty when ROLEGATE_WEBHOOK_CLIENTS is "
                              "set).", field="ROLEGATE_WEBHOOK_SECRET")
        else:
            config.refuse_inline_secret("ROLEGATE_WEBHOOK_SECRET")
        kinds = tuple(config.env_list("ROLEGATE_ALLOWED_PRINCIPAL_KINDS", list(PRINCIPAL_KINDS)))
        unknown = sorted(set(kinds) - set(PRINCIPAL_KINDS))
        if unknown:
            raise ConfigError(f"ROLEGATE_ALLOWED_PRINCIPAL_KINDS has unknown kinds {unknown}; "
                              f"known: {', '.join(PRINCIPAL_KINDS)}.", field="ROLEGATE_ALLOWED_PRINCIPAL_KINDS")
        min_seconds = config.env_int("ROLEGATE_MIN_GRANT_SECONDS", DEFAULT_MIN_GRANT_SECONDS, minimum=60)
        max_seconds = config.env_int("ROLEGATE_MAX_GRANT_SECONDS", DEFAULT_MAX_GRANT_SECONDS, minimum=60)
        if max_seconds < min_seconds:
            raise ConfigError("ROLEGATE_MAX_GRANT_SECONDS is below ROLEGATE_MIN_GRANT_SECONDS.",
                              field="ROLEGATE_MAX_GRANT_SECONDS")
        prefix = prefix_from_env()
        protected = tuple(config.env_list("ROLEGATE_PROTECTED_RESOURCES"))
        if not all(arn.startswith("acs:") and arn.count(":") >= 4 for arn in protected):
            raise ConfigError("ROLEGATE_PROTECTED_RESOURCES must list ARN patterns acs:<service>:<region>:"
                              "<account>:<resource>.", field="ROLEGATE_PROTECTED_RESOURCES")
        return cls(
            owner_account_id=owner,
            webhook_secret=secret,
            webhook_secret_name=secret_name,
            webhook_clients_name=clients_name,
            allowed_policies=tuple(config.env_list("ROLEGATE_ALLOWED_POLICIES")),
            denied_policies=tuple(config.env_list("ROLEGATE_DENIED_POLICIES")),
            min_grant_seconds=min_seconds,
            max_grant_seconds=max_seconds,
            require_external_id=config.env_bool("ROLEGATE_REQUIRE_EXTERNAL_ID", True),
            allowed_principal_kinds=kinds,
            max_body_bytes=config.env_int("ROLEGATE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1024),
            protected_prefix=prefix,
            protected_resources=protected,
        )


__all__ = ["OnboardSettings"]
