"""Rolegate's own resources, which no grant may reach (RG150).

The defaults follow the namespace prefix ``rolegate``; deployments add ARN
patterns (``ROLEGATE_PROTECTED_RESOURCES``). What is protected and what counts
as a change: docs/design/policy-judgment.md.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from shared import config
from shared.errors import ConfigError

DEFAULT_PREFIX = "rolegate"
PREFIX_RE = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")
DEPLOYMENT = "s.yaml"
# Service-linked roles are always named AliyunServiceRoleFor..., never like a role of Rolegate's.
SERVICE_LINKED_ROLES = ("ram:CreateServiceLinkedRole", "ram:DeleteServiceLinkedRole")
ROLES_SCRIPT = "deploy/roles.sh"
MEMBERS_ENROL = "rolegate members enroll"  # the manager role a hub's functions act as in each member
GRANT_NAMING = "shared/grants/naming.py"


@dataclass(frozen=True)
class ProtectedResource:
    """Resources matching ``arn`` (target syntax, see ``shared.policies.glob.target``)."""

    label: str
    arn: str
    services: tuple[str, ...]  # whose changes count; empty: every service's
    reads: tuple[str, ...] = ()  # reads that count too
    source: str = ""
    ignored: tuple[str, ...] = ()  # changes known to act on other resources only (named exactly, not by pattern)

    @property
    def targets(self) -> tuple[str, str]:
        """The resource and whatever lies under its ARN (a function's triggers and aliases, say)."""
        return self.arn, f"{self.arn}/{{field}}"

    @property
    def shown(self) -> str:
        """The ARN pattern as a policy would write it."""
        return self.arn.replace("{field}", "*").replace("{name}", "*")


@dataclass(frozen=True)
class Protected:
    """The set of protected resources one judgment uses (``Protected()`` protects nothing)."""

    resources: tuple[ProtectedResource, ...] = field(default_factory=tuple)

    @classmethod
    def rolegate(cls, prefix: str = DEFAULT_PREFIX, extra: Iterable[str] = ()) -> Protected:
        """Rolegate's resources under ``prefix``, plus ``extra`` ARN patterns (``*`` and ``?`` wildcards)."""
        p = prefix.casefold()
        resources = [
            ProtectedResource("Rolegate's functions", f"acs:fc:{{field}}:{{field}}:functions/{p}-{{name}}",
                              ("fc",), source=DEPLOYMENT),
            ProtectedResource("Rolegate's function roles", f"acs:ram:{{field}}:{{field}}:role/fc-{p}-{{name}}",
                              ("ram", "ims", "sts"), source=ROLES_SCRIPT, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("Rolegate's manager role", f"acs:ram:{{field}}:{{field}}:role/{p}manager",
                              ("ram", "ims", "sts"), source=MEMBERS_ENROL, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("Rolegate's function policies", f"acs:ram:{{field}}:{{field}}:policy/fc-{p}-{{name}}",
                              ("ram", "ims"), source=ROLES_SCRIPT, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("the grants' roles", f"acs:ram:{{field}}:{{field}}:role/{p}-{{name}}",
                              ("ram", "ims", "sts"), source=GRANT_NAMING, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("the grants' policies", f"acs:ram:{{field}}:{{field}}:policy/{p}-{{name}}",
                              ("ram", "ims"), source=GRANT_NAMING, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("Rolegate's record key", f"acs:kms:{{field}}:{{field}}:secret/{p}-{{name}}",
                              ("kms",), ("kms:GetSecretValue",), source=DEPLOYMENT),
            ProtectedResource("Rolegate's log project", f"acs:log:{{field}}:{{field}}:project/{p}-{{name}}", ("log",),
                              source=DEPLOYMENT),
            ProtectedResource("the ActionTrail trail feeding remediation", "acs:actiontrail:{field}:{field}:*",
                              ("actiontrail",), source=DEPLOYMENT),
            ProtectedResource("the EventBridge rules feeding remediation",
                              "acs:eventbridge:{field}:{field}:eventbus/default*", ("eventbridge",),
                              source=DEPLOYMENT),
        ]
        for arn in extra:
            service = arn.split(":")[1] if arn.count(":") >= 4 else ""
            services = (service.casefold(),) if service and "*" not in service and "?" not in service else ()
            resources.append(ProtectedResource(f"configured {arn}", _as_target(arn), services,
                                               source="ROLEGATE_PROTECTED_RESOURCES"))
        return cls(tuple(resources))


def _as_target(arn: str) -> str:
    """A configured ARN pattern in target syntax: braces are not wildcards, so they cannot appear."""
    return arn.replace("{", "?").replace("}", "?")


NOTHING_PROTECTED = Protected()

def prefix_from_env() -> str:
    """``ROLEGATE_PROTECTED_PREFIX``, checked: onboarding and remediation must guard the same namespace."""
    prefix = (config.env_str("ROLEGATE_PROTECTED_PREFIX") or DEFAULT_PREFIX).lower()
    if not PREFIX_RE.match(prefix):
        raise ConfigError("ROLEGATE_PROTECTED_PREFIX must be 1-32 lowercase letters, digits or '-', starting "
                          "with a letter.", field="ROLEGATE_PROTECTED_PREFIX")
    return prefix


__all__ = ["DEFAULT_PREFIX", "NOTHING_PROTECTED", "PREFIX_RE", "Protected", "ProtectedResource", "prefix_from_env"]
