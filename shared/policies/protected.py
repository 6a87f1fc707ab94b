"""Rolegate's own resources, which no grant may reach.

The judgment takes them as data: a grant's policy that allows a change to
any of them (or, for the record key, reading it) earns RG150 and is refused.
The defaults follow the deployment with the namespace prefix ``rolegate``:

* the functions ``rolegate-*`` (``s.yaml``);
* the functions' roles and policies ``fc-rolegate-*`` and the sweeper role
  ``RolegateSweeper`` in member accounts (``deploy/roles.sh``);
* the grants' own roles and policies ``rolegate-*`` (``shared.grants.naming``),
  whose tags hold the grant records;
* the record key, a KMS secret ``rolegate-record-key`` (any ``rolegate-*``
  secret counts);
* the ActionTrail trail and the EventBridge rules on the default bus that feed
  remediation (ActionTrail authorizes per operation, so any trail write counts;
  the ARN form of EventBridge rules was not found documented, so everything of
  the default bus counts).

Deployments add ARN patterns of their own (``ROLEGATE_PROTECTED_RESOURCES``).
A change counts as any action of the resource's service whose name does not
start with a read verb (Get, List, Describe...; see ``paths.READ_VERBS``), plus
the named reads that expose the resource (``kms:GetSecretValue`` for secrets).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_PREFIX = "rolegate"
PREFIX_RE = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")
DEPLOYMENT = "s.yaml"
# Service-linked roles are always named AliyunServiceRoleFor..., never like a role of Rolegate's.
SERVICE_LINKED_ROLES = ("ram:CreateServiceLinkedRole", "ram:DeleteServiceLinkedRole")
ROLES_SCRIPT = "deploy/roles.sh"
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
            ProtectedResource("Rolegate's sweeper role", f"acs:ram:{{field}}:{{field}}:role/{p}sweeper",
                              ("ram", "ims", "sts"), source=ROLES_SCRIPT, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("Rolegate's function policies", f"acs:ram:{{field}}:{{field}}:policy/fc-{p}-{{name}}",
                              ("ram", "ims"), source=ROLES_SCRIPT, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("the grants' roles", f"acs:ram:{{field}}:{{field}}:role/{p}-{{name}}",
                              ("ram", "ims", "sts"), source=GRANT_NAMING, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("the grants' policies", f"acs:ram:{{field}}:{{field}}:policy/{p}-{{name}}",
                              ("ram", "ims"), source=GRANT_NAMING, ignored=SERVICE_LINKED_ROLES),
            ProtectedResource("Rolegate's record key", f"acs:kms:{{field}}:{{field}}:secret/{p}-{{name}}",
                              ("kms",), ("kms:GetSecretValue",), source=DEPLOYMENT),
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

__all__ = ["DEFAULT_PREFIX", "NOTHING_PROTECTED", "PREFIX_RE", "Protected", "ProtectedResource"]
