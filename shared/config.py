"""Deployment settings read from environment variables, at call time.

Nothing here is read at import: a warm Function Compute instance, a test using
``monkeypatch.setenv`` and the local host all see the environment as it is
when the setting is needed. A malformed value raises :class:`ConfigError`
naming the variable but never echoing its value (it may be a secret).
"""
from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.site import Site

DEFAULT_REGION = "cn-hangzhou"
KMS_REFERENCE = "kms:"  # a secret's setting naming the KMS generic secret that holds it
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9_/+=.@-]{1,192}\Z")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The stripped value of ``name``; unset and blank are the same (FC cannot unset a variable)."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"Environment variable {name} must be an integer.", field=name) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = f"between {minimum if minimum is not None else '-inf'} and {maximum if maximum is not None else 'inf'}"
        raise ConfigError(f"Environment variable {name} must be {bounds}.", field=name)
    return number


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigError(f"Environment variable {name} must be true or false.", field=name)


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blanks between commas are dropped."""
    value = _raw(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def kms_secret_name(value: str | None, variable: str) -> str | None:
    """The secret a ``kms:<name>`` setting names; None when ``value`` is not such a reference.

    Secrets kept in KMS stay out of the function's settings, which anyone
    allowed ``fc:GetFunction`` on the function can read.
    """
    if value is None or not value.startswith(KMS_REFERENCE):
        return None
    name = value[len(KMS_REFERENCE):]
    if not SECRET_NAME_RE.match(name):
        raise ConfigError(f"{variable}=kms:<name> needs a KMS secret name (letters, digits, '_', '/', '+', '=', "
                          "'.', '@', '-').", field=variable)
    return name


def refuse_inline_secret(variable: str) -> None:
    """Refuse a key written into a function's settings, unless the functions run against the emulator.

    Anyone allowed ``fc:GetFunction`` on a function reads its settings, and
    Function Compute's read-only system policy, which partners are granted,
    allows it on every function: a key there is a key handed to them.
    """
    if endpoint() is None:
        raise ConfigError(f"{variable} must be kms:<secret name> (`rolegate keys init` makes it): a key written into "
                          "the function's settings is readable by anyone allowed fc:GetFunction on it.",
                          field=variable)


def endpoint() -> str | None:
    """``ROLEGATE_ENDPOINT``: one ``host:port`` serving every product (the emulator), or None for the cloud.

    A scheme or trailing slash is dropped: the SDKs sign the endpoint literally
    as the ``host`` header, so ``http://127.0.0.1:8080`` would be signed wrong.
    """
    value = env_str("ROLEGATE_ENDPOINT")
    if value is None:
        return None
    for scheme in ("http://", "https://"):
        if value.lower().startswith(scheme):
            value = value[len(scheme):]
    return value.rstrip("/") or None


def region() -> str:
    """``ROLEGATE_REGION``, else the function's own region (``FC_REGION``), else cn-hangzhou."""
    return env_str("ROLEGATE_REGION") or env_str("FC_REGION") or DEFAULT_REGION


def site() -> "Site":
    """``ROLEGATE_SITE``: ``china`` (the default) or ``international``, the Alibaba Cloud site deployed on.

    It decides the SAML recipient of federated trust policies, the console
    sign-in page shown to partners and the region RAM's events arrive in
    (:mod:`shared.site`).
    """
    from shared.site import DEFAULT_SITE, site_named

    name = env_str("ROLEGATE_SITE")
    if name is None:
        return DEFAULT_SITE
    try:
        return site_named(name)
    except ValueError:
        raise ConfigError("Environment variable ROLEGATE_SITE must be china or international.",
                          field="ROLEGATE_SITE") from None
