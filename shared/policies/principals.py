"""Who a grant trusts.

A grant names exactly one principal. Keeping the principal as a small typed
value (instead of a raw trust-policy dict) lets the trust policy, the role tags
and the webhook reply all be derived from one source, so they cannot disagree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

# Patterns end in \Z, not $: '$' also matches before a trailing newline, which
# would let "Alice\n" through and into an ARN.
ACCOUNT_ID_RE = re.compile(r"^[0-9]{16}\Z")
# RAM user and role names: letters, digits, '.', '-', '_' and '@' (users); 1-64 chars.
NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]{1,64}\Z")
PROVIDER_RE = re.compile(r"^[A-Za-z0-9.-]{1,128}\Z")
SERVICE_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.aliyuncs\.com\Z")
# STS's ExternalId alphabet; ASCII so \w does not admit letters STS rejects.
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}\Z", re.ASCII)
MAX_OIDC_VALUES = 10


def role_arn(account_id: str, role_name: str) -> str:
    """How RAM names a role: ``acs:ram::<account>:role/<name>`` (matched case-insensitively)."""
    return f"acs:ram::{account_id}:role/{role_name}"


class PrincipalError(ValueError):
    """A principal description that cannot be trusted as given.

    ``field`` is the dotted path of the offending input, so the webhook can
    name it in its 400 reply.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AccountPrincipal:
    """Another account's root: any identity that account lets through, so an ExternalId guards it."""

    kind: ClassVar[str] = "account"
    account_id: str
    external_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.external_id is not None:
            out["external_id"] = self.external_id
        return out


@dataclass(frozen=True)
class UserPrincipal:
    """Exactly one RAM user of the partner account (seed 000's Alice)."""

    kind: ClassVar[str] = "user"
    account_id: str
    user_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.user_name}


@dataclass(frozen=True)
class RolePrincipal:
    """Exactly one RAM role of the partner account (role chaining)."""

    kind: ClassVar[str] = "role"
    account_id: str
    role_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.role_name}


@dataclass(frozen=True)
class SamlPrincipal:
    """A SAML identity provider, registered in the account that owns the role (``account_id``).

    An identity provider is an entity of the account whose roles trust it: a
    trust policy's Federated principal names an IdP of the current account
    (RAM's trust-policy examples), and CreateSAMLProvider/CreateOIDCProvider
    create it in the caller's account. So a grant's federated principal is an
    IdP of the owner account, which the partner's users sign in through.
    """

    kind: ClassVar[str] = "saml"
    account_id: str
    provider_name: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "provider": self.provider_name}


@dataclass(frozen=True)
class OidcPrincipal:
    """An OIDC provider of the owner account (see :class:`SamlPrincipal`); issuer and audiences are
    required so no other client's token fits."""

    kind: ClassVar[str] = "oidc"
    account_id: str
    provider_name: str
    issuer: str
    audiences: tuple[str, ...]
    subjects: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.kind,
            "provider": self.provider_name,
            "issuer": self.issuer,
            "audiences": list(self.audiences),
        }
        if self.subjects:
            out["subjects"] = list(self.subjects)
        return out


@dataclass(frozen=True)
class ServicePrincipal:
    """A cloud service such as ``ecs.aliyuncs.com`` acting in the owner's account."""

    kind: ClassVar[str] = "service"
    service: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "service": self.service}


Principal = Union[
    AccountPrincipal, UserPrincipal, RolePrincipal, SamlPrincipal, OidcPrincipal, ServicePrincipal
]
PRINCIPAL_KINDS: tuple[str, ...] = ("account", "user", "role", "saml", "oidc", "service")


def _text(d: dict[str, Any], key: str, pattern: re.Pattern[str], path: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise PrincipalError(f"{path}.{key}", f"{key} is missing or malformed")
    return value


def _values(d: dict[str, Any], key: str, path: str, required: bool) -> tuple[str, ...]:
    raw = d.get(key, [] if not required else None)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        raise PrincipalError(f"{path}.{key}", f"{key} must be a list of non-empty strings")
    if required and not raw:
        raise PrincipalError(f"{path}.{key}", f"{key} needs at least one value")
    if len(raw) > MAX_OIDC_VALUES:
        raise PrincipalError(f"{path}.{key}", f"{key} allows at most {MAX_OIDC_VALUES} values")
    if any("*" in v for v in raw):
        raise PrincipalError(f"{path}.{key}", f"{key} must not contain wildcards")
    return tuple(dict.fromkeys(raw))


def _owner(owner_account_id: str | None, kind: str) -> str:
    if owner_account_id is None:
        raise TypeError(f"a {kind} principal names an identity provider of the owner account: "
                        "owner_account_id is required")
    return owner_account_id


def principal_from_dict(d: Any, account_id: str, path: str = "principal", *,
                        owner_account_id: str | None = None) -> Principal:
    """Parse the webhook's principal object; ``account_id`` is the partner account.

    A ``saml`` or ``oidc`` principal names an identity provider of the owner
    account, ``owner_account_id``, which these kinds require. Wildcards and
    unknown kinds are refused here, so no later step ever sees a principal
    wider than one identity.
    """
    if not isinstance(d, dict):
        raise PrincipalError(path, "principal must be an object")
    kind = d.get("type")
    if kind not in PRINCIPAL_KINDS:
        raise PrincipalError(f"{path}.type", f"type must be one of {', '.join(PRINCIPAL_KINDS)}")
    if kind != "service" and not ACCOUNT_ID_RE.match(account_id or ""):
        raise PrincipalError("partner_account_id", "partner_account_id must be a 16-digit account id")
    if kind == "account":
        ext = d.get("external_id")
        if ext is not None and (not isinstance(ext, str) or not EXTERNAL_ID_RE.match(ext)):
            raise PrincipalError(f"{path}.external_id", "external_id must be 2-1224 chars of [\\w+=,.@:/-]")
        return AccountPrincipal(account_id, ext)
    if kind == "user":
        return UserPrincipal(account_id, _text(d, "name", NAME_RE, path))
    if kind == "role":
        return RolePrincipal(account_id, _text(d, "name", NAME_RE, path))
    if kind == "saml":
        provider = _text(d, "provider", PROVIDER_RE, path)
        return SamlPrincipal(_owner(owner_account_id, kind), provider)
    if kind == "oidc":
        issuer = d.get("issuer")
        if not isinstance(issuer, str) or not issuer.startswith("https://") or "*" in issuer:
            raise PrincipalError(f"{path}.issuer", "issuer must be an https URL without wildcards")
        provider = _text(d, "provider", PROVIDER_RE, path)
        audiences = _values(d, "audiences", path, required=True)
        subjects = _values(d, "subjects", path, required=False)
        return OidcPrincipal(_owner(owner_account_id, kind), provider, issuer, audiences, subjects)
    return ServicePrincipal(_text(d, "service", SERVICE_RE, path))
