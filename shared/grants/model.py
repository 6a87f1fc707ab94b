"""What a grant is, independent of where it is stored: a role one partner principal may assume until it expires.

The role's tags are its only record, so every value is validated on
construction and times are whole-second UTC (RAM's precision): a grant read
back from tags is exact and as trustworthy as one built from a request.
"""
from __future__ import annotations

import base64
import dataclasses
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar

from shared.policies.document import HASH_CHARS, PolicyDocumentError, policy_hash
from shared.policies.principals import (
    ACCOUNT_ID_RE,
    AccountPrincipal,
    OidcPrincipal,
    Principal,
    PrincipalError,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
    principal_from_dict,
    role_arn,
)

GRANT_ID_RE = re.compile(r"^g-[a-z2-7]{12}\Z")
# CreateRole: 1-64 letters, digits, '.' and '-'.
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9.-]{1,64}\Z")
# CreatePolicy: 1-128 letters, digits and '-'.
POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,128}\Z")
RESOURCE_GROUP_ID_RE = re.compile(r"^rg-[A-Za-z0-9]{1,61}\Z")
DOCUMENT_HASH_RE = re.compile(rf"^[0-9a-f]{{{HASH_CHARS}}}\Z")

MAX_SYSTEM_POLICIES = 20
MAX_CUSTOM_POLICIES = 10
MIN_SESSION_DURATION = 3600
MAX_SESSION_DURATION = 43200
MAX_DESCRIPTION = 1024
MAX_REQUESTER = 256
MAX_TICKET = 128

_PRINCIPAL_TYPES = (
    AccountPrincipal, UserPrincipal, RolePrincipal, SamlPrincipal, OidcPrincipal, ServicePrincipal
)
_ISO_Z = "%Y-%m-%dT%H:%M:%SZ"


class GrantError(ValueError):
    """A grant value that cannot be stored or trusted as given.

    ``field`` names the offending input (``role_name``, ``policies[3].name``)
    so the webhook can point at it in a 400 reply.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def new_grant_id() -> str:
    """A fresh grant id: ``g-`` and 12 lowercase base32 characters (60 random bits).

    Short enough to fit in a 64-char role name next to a partner account id,
    URL-safe, and valid in role and policy names, so one id names every
    resource the grant creates.
    """
    return "g-" + base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:12].lower()


def is_grant_id(value: Any) -> bool:
    """Whether ``value`` has the shape ``new_grant_id`` produces (used on URL paths and tags)."""
    return isinstance(value, str) and GRANT_ID_RE.match(value) is not None


def to_iso_z(moment: datetime) -> str:
    """RAM's own timestamp form ``YYYY-MM-DDThh:mm:ssZ``; naive datetimes are refused, not guessed at."""
    return _utc_seconds(moment, "time").replace(tzinfo=None).isoformat() + "Z"  # strftime(_ISO_Z), faster


def parse_iso_z(text: str) -> datetime:
    """Inverse of ``to_iso_z``; strict (ValueError), so a hand-edited tag is noticed rather than guessed at."""
    moment = datetime.strptime(text, _ISO_Z).replace(tzinfo=timezone.utc)
    if moment.strftime(_ISO_Z) != text:  # strptime also takes unpadded fields such as 2030-5-1
        raise ValueError(f"not in YYYY-MM-DDThh:mm:ssZ form: {text!r}")
    return moment


def _utc_seconds(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise GrantError(name, f"{name} must be a timezone-aware datetime")
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _optional_text(value: Any, name: str, limit: int) -> None:
    if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= limit):
        raise GrantError(name, f"{name} must be 1-{limit} characters when given")


@dataclass(frozen=True)
class PolicyRef:
    """One policy attached to the grant's role.

    A system policy is known by name. A custom policy is created for the grant,
    so at create time its ``document`` is known; afterwards the tags hold only
    its name and ``document_hash`` (``shared.policies.document.policy_hash``,
    the same digest drift detection compares). The document is excluded from
    equality so a reference read back from tags equals the one it was written
    from: the hash already stands for the content.
    """

    SYSTEM: ClassVar[str] = "System"
    CUSTOM: ClassVar[str] = "Custom"

    name: str
    kind: str
    resource_group_id: str | None = None
    document: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    document_hash: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not POLICY_NAME_RE.match(self.name):
            raise GrantError("name", "policy name must be 1-128 letters, digits or '-'")
        if self.kind not in (self.SYSTEM, self.CUSTOM):
            raise GrantError("kind", "policy kind must be System or Custom")
        if self.resource_group_id is not None and (
            not isinstance(self.resource_group_id, str)
            or not RESOURCE_GROUP_ID_RE.match(self.resource_group_id)
        ):
            raise GrantError("resource_group_id", "resource_group_id must look like rg-<id>")
        if self.kind == self.SYSTEM:
            if self.document is not None or self.document_hash is not None:
                raise GrantError("document", "a system policy has no document of ours")
            return
        if self.document is not None:
            if not isinstance(self.document, dict):
                raise GrantError("document", "a custom policy document must be a JSON object")
            try:
                actual = policy_hash(self.document)
            except PolicyDocumentError as exc:
                raise GrantError("document", exc.message) from None
            if self.document_hash is not None and self.document_hash != actual:
                raise GrantError("document_hash", "document_hash does not match the document")
            object.__setattr__(self, "document_hash", actual)
        elif not isinstance(self.document_hash, str) or not DOCUMENT_HASH_RE.match(self.document_hash):
            raise GrantError("document_hash", f"a custom policy needs its document or a {HASH_CHARS}-hex-digit hash")

    def to_dict(self) -> dict[str, Any]:
        """Public form for replies: the document itself stays in RAM, only its hash is shown."""
        return {
            "name": self.name,
            "type": self.kind,
            "resource_group_id": self.resource_group_id,
            "document_hash": self.document_hash,
        }


@dataclass(frozen=True)
class Grant:
    """A partner's time-limited access: one role, one trusted principal, a set of policies."""

    grant_id: str
    owner_account_id: str
    partner_account_id: str
    principal: Principal
    policies: tuple[PolicyRef, ...]
    role_name: str
    max_session_duration: int
    created_at: datetime
    expires_at: datetime
    requester: str | None = None
    ticket: str | None = None
    description: str | None = None
    revoked_at: datetime | None = None  # set on a tombstone: revoked early, kept until replays are stale

    def __post_init__(self) -> None:
        if not is_grant_id(self.grant_id):
            raise GrantError("grant_id", "grant_id must be g- and 12 lowercase base32 characters")
        for name in ("owner_account_id", "partner_account_id"):
            if not isinstance(getattr(self, name), str) or not ACCOUNT_ID_RE.match(getattr(self, name)):
                raise GrantError(name, f"{name} must be a 16-digit account id")
        self._check_principal()
        self._check_policies()
        if not isinstance(self.role_name, str) or not ROLE_NAME_RE.match(self.role_name):
            raise GrantError("role_name", "role_name must be 1-64 letters, digits, '.' or '-'")
        duration = self.max_session_duration
        if type(duration) is not int or not MIN_SESSION_DURATION <= duration <= MAX_SESSION_DURATION:
            raise GrantError(
                "max_session_duration",
                f"max_session_duration must be {MIN_SESSION_DURATION}-{MAX_SESSION_DURATION} seconds",
            )
        created = _utc_seconds(self.created_at, "created_at")
        expires = _utc_seconds(self.expires_at, "expires_at")
        if expires <= created:
            raise GrantError("expires_at", "expires_at must be after created_at")
        object.__setattr__(self, "created_at", created)
        object.__setattr__(self, "expires_at", expires)
        if self.revoked_at is not None:
            object.__setattr__(self, "revoked_at", _utc_seconds(self.revoked_at, "revoked_at"))
        _optional_text(self.requester, "requester", MAX_REQUESTER)
        _optional_text(self.ticket, "ticket", MAX_TICKET)
        _optional_text(self.description, "description", MAX_DESCRIPTION)

    def _check_principal(self) -> None:
        # The principal must survive its own API form unchanged, otherwise the
        # record in the tags would decode to a different (or no) principal.
        principal = self.principal
        if not isinstance(principal, _PRINCIPAL_TYPES):
            raise GrantError("principal", "principal must be a Principal value")
        if isinstance(principal, (SamlPrincipal, OidcPrincipal)):
            if principal.account_id != self.owner_account_id:
                raise GrantError("principal", "a federated principal names an identity provider of the owner account")
        elif not isinstance(principal, ServicePrincipal) and principal.account_id != self.partner_account_id:
            raise GrantError("principal", "the principal must belong to the partner account")
        try:
            parsed = principal_from_dict(principal.to_dict(), self.partner_account_id,
                                         owner_account_id=self.owner_account_id)
        except PrincipalError as exc:
            raise GrantError(exc.field, exc.message) from exc
        if parsed != principal:
            raise GrantError("principal", "principal is not in canonical form (duplicate values?)")

    def _check_policies(self) -> None:
        policies = tuple(self.policies) if isinstance(self.policies, (list, tuple)) else None
        if policies is None or not all(isinstance(p, PolicyRef) for p in policies):
            raise GrantError("policies", "policies must be a sequence of PolicyRef")
        object.__setattr__(self, "policies", policies)
        seen: set[tuple[str, str]] = set()
        for index, policy in enumerate(policies):
            if (policy.kind, policy.name) in seen:
                raise GrantError(f"policies[{index}].name", f"policy {policy.name} is listed twice")
            seen.add((policy.kind, policy.name))
        for kind, limit in ((PolicyRef.SYSTEM, MAX_SYSTEM_POLICIES), (PolicyRef.CUSTOM, MAX_CUSTOM_POLICIES)):
            if sum(1 for p in policies if p.kind == kind) > limit:
                raise GrantError("policies", f"a role holds at most {limit} {kind.lower()} policies")

    @property
    def role_arn(self) -> str:
        """The role's ARN with the name's case as given (RAM matches role ARNs case-insensitively)."""
        return role_arn(self.owner_account_id, self.role_name)

    def is_expired(self, now: datetime) -> bool:
        """Whether the grant has run out at ``now`` (an aware datetime); expiry is inclusive."""
        return _utc_seconds(now, "now") >= self.expires_at

    @property
    def is_tombstone(self) -> bool:
        """A grant revoked early whose role is kept, powerless, so a replayed create cannot bring it back."""
        return self.revoked_at is not None

    def with_expiry(self, expires_at: datetime) -> Grant:
        """The same grant with a new expiry (extension or early end); validated like any grant."""
        return dataclasses.replace(self, expires_at=expires_at)

    def to_public_dict(self) -> dict[str, Any]:
        """JSON-ready form for webhook replies and logs; never contains policy documents."""
        return {
            "grant_id": self.grant_id,
            "owner_account_id": self.owner_account_id,
            "partner_account_id": self.partner_account_id,
            "role_name": self.role_name,
            "role_arn": self.role_arn,
            "principal": self.principal.to_dict(),
            "policies": [p.to_dict() for p in self.policies],
            "max_session_duration": self.max_session_duration,
            "created_at": to_iso_z(self.created_at),
            "expires_at": to_iso_z(self.expires_at),
            "requester": self.requester,
            "ticket": self.ticket,
            "description": self.description,
        } | ({"revoked_at": to_iso_z(self.revoked_at)} if self.revoked_at is not None else {})
