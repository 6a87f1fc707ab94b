"""Settings of the remediation function and the names of its rules, read from the environment at each invocation.

Every variable is described in docs/configuration.md; a malformed value is a
:class:`~shared.errors.ConfigError` naming it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from shared import config
from shared.errors import ConfigError
from shared.policies.principals import ACCOUNT_ID_RE
from shared.policies.protected import DEFAULT_PREFIX, prefix_from_env

RULE_NAMES: tuple[str, ...] = ("root-access-key", "self-guard", "high-risk-policy", "grant-tamper",
                               "trust-widened", "instance-role")
QUARANTINE_ACTIONS: tuple[str, ...] = ("none", "deny-trust")
PRINCIPAL_KINDS: tuple[str, ...] = ("role", "user", "group")
DEFAULT_MAX_ACTIONS = 10
_PRINCIPAL = re.compile(r"^(?:acs:ram::(?P<account>[0-9]+):)?(?P<kind>role|user|group)/(?P<name>[^/\s]+)\Z",
                        re.IGNORECASE)
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]{1,64}\Z")


@dataclass(frozen=True)
class PrincipalRef:
    """A RAM role, user or group named in configuration; names compare without regard to case, as RAM's do."""

    kind: str
    name: str
    account_id: str | None = None

    def matches(self, kind: str, name: str, account_id: str | None = None) -> bool:
        if self.kind != kind or self.name.casefold() != name.casefold():
            return False
        return self.account_id is None or account_id is None or self.account_id == account_id

    def names(self, kind: str, name: str, account_id: str | None, home_account_id: str) -> bool:
        """Whether this entry names that principal of ``account_id``; an entry naming no account names one of
        ``home_account_id`` (the hub's), so a member cannot match it by giving a principal the same name."""
        return self.matches(kind, name) and (self.account_id or home_account_id) == account_id

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def parse_principals(variable: str, kinds: tuple[str, ...] = PRINCIPAL_KINDS) -> tuple[PrincipalRef, ...]:
    refs = []
    for item in config.env_list(variable):
        match = _PRINCIPAL.match(item)
        if match is None or match["kind"].lower() not in kinds:
            raise ConfigError(f"{variable} entries must look like {' or '.join(k + '/<name>' for k in kinds)}.",
                              field=variable)
        refs.append(PrincipalRef(match["kind"].lower(), match["name"], match["account"]))
    return tuple(refs)


def _rules(variable: str) -> frozenset[str]:
    names = frozenset(n.lower() for n in config.env_list(variable))
    unknown = sorted(names - set(RULE_NAMES))
    if unknown:  # a typo must not leave a rule running that the operator meant to switch
        raise ConfigError(f"{variable} names unknown rules {unknown}; known: {', '.join(RULE_NAMES)}.",
                          field=variable)
    return names


@dataclass(frozen=True)
class RemediationSettings:
    dry_run: bool = False
    dry_run_rules: frozenset[str] = frozenset()
    disabled_rules: frozenset[str] = frozenset()
    max_actions: int = DEFAULT_MAX_ACTIONS
    high_risk_policies: tuple[str, ...] = ()
    exempt: tuple[PrincipalRef, ...] = ()
    allowed_partner_accounts: frozenset[str] = frozenset()
    quarantine_action: str = "none"
    allowed_instance_roles: tuple[str, ...] = ()
    detach_unrecorded: bool = True
    self_principals: tuple[PrincipalRef, ...] = ()
    self_from_caller: bool = True
    owner_account_id: str | None = None
    protected_prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_env(cls) -> RemediationSettings:
        """The settings docs/configuration.md describes; ``ConfigError`` names a malformed variable."""
        partners = frozenset(config.env_list("ROLEGATE_ALLOWED_PARTNER_ACCOUNTS"))
        if not all(ACCOUNT_ID_RE.match(a) for a in partners):
            raise ConfigError("ROLEGATE_ALLOWED_PARTNER_ACCOUNTS must list 16-digit account ids.",
                              field="ROLEGATE_ALLOWED_PARTNER_ACCOUNTS")
        quarantine = (config.env_str("ROLEGATE_QUARANTINE_ACTION", "none") or "none").lower()
        if quarantine not in QUARANTINE_ACTIONS:
            raise ConfigError(f"ROLEGATE_QUARANTINE_ACTION must be one of {', '.join(QUARANTINE_ACTIONS)}.",
                              field="ROLEGATE_QUARANTINE_ACTION")
        instance_roles = tuple(config.env_list("ROLEGATE_ALLOWED_INSTANCE_ROLES"))
        if not all(_ROLE_NAME.match(r) for r in instance_roles):
            raise ConfigError("ROLEGATE_ALLOWED_INSTANCE_ROLES must list RAM role names.",
                              field="ROLEGATE_ALLOWED_INSTANCE_ROLES")
        owner = config.env_str("ROLEGATE_OWNER_ACCOUNT_ID")
        if owner is not None and not ACCOUNT_ID_RE.match(owner):
            raise ConfigError("ROLEGATE_OWNER_ACCOUNT_ID must be a 16-digit account id.",
                              field="ROLEGATE_OWNER_ACCOUNT_ID")
        prefix = prefix_from_env()
        return cls(
            dry_run=config.env_bool("ROLEGATE_REMEDIATE_DRY_RUN", False),
            dry_run_rules=_rules("ROLEGATE_REMEDIATE_DRY_RUN_RULES"),
            disabled_rules=_rules("ROLEGATE_REMEDIATE_DISABLED_RULES"),
            max_actions=config.env_int("ROLEGATE_REMEDIATE_MAX_ACTIONS", DEFAULT_MAX_ACTIONS, minimum=0),
            high_risk_policies=tuple(config.env_list("ROLEGATE_HIGH_RISK_POLICIES")),
            exempt=parse_principals("ROLEGATE_EXEMPT_PRINCIPALS"),
            allowed_partner_accounts=partners,
            quarantine_action=quarantine,
            allowed_instance_roles=instance_roles,
            detach_unrecorded=config.env_bool("ROLEGATE_REMEDIATE_DETACH_UNRECORDED", True),
            self_principals=parse_principals("ROLEGATE_SELF_PRINCIPALS", ("role", "user")),
            self_from_caller=config.env_bool("ROLEGATE_REMEDIATE_SELF_FROM_CALLER", True),
            owner_account_id=owner,
            protected_prefix=prefix,
        )

    def enabled(self, rule: str) -> bool:
        return rule not in self.disabled_rules

    def dry_run_for(self, rule: str) -> bool:
        return self.dry_run or rule in self.dry_run_rules

    def is_exempt(self, kind: str, name: str, account_id: str, home_account_id: str) -> bool:
        """Whether a principal of ``account_id`` is left alone (:meth:`PrincipalRef.names`)."""
        return any(ref.names(kind, name, account_id, home_account_id) for ref in self.exempt)


__all__ = ["QUARANTINE_ACTIONS", "RULE_NAMES", "PrincipalRef", "RemediationSettings", "parse_principals"]
