"""The remediation rules: one class per rule, each deciding on live state, never on the event alone.

An event only says where to look. Every rule reads the resource back
(GetRole, ListPoliciesForRole, ListTagResources, DescribeInstanceRamRole...)
and decides on what it finds, so a duplicated, reordered or stale delivery
finds the work done and answers ``already_compliant``.

Rules and what they do:

``root-access-key``
    Any call (even a failed one: it still proves the key exists and works)
    signed by the account's root identity with an AccessKey is reported at
    level ``critical``. Nothing is changed: the fix (delete the root key) is
    an owner's decision.
``high-risk-policy``
    A high-risk policy attached to a role, user or group
    (AttachPolicyTo{Role,User,Group}) is detached, unless the holder is
    exempt; one attached within a resource group (``ResourceGroupId``), which
    no listing shows, is detached in that scope, the detach itself telling
    whether it is still there. High-risk: a policy whose document (a system
    policy's published one, a custom policy's default version) the judgment of
    ``shared.policies.judgment`` rates critical, or a system policy on
    ``ROLEGATE_HIGH_RISK_POLICIES``. A custom policy made critical after it
    was attached (CreatePolicyVersion, SetDefaultPolicyVersion) is detached
    from every holder; a holder that has it within a resource group, which
    no event of this change names, is reported at level ``critical``. A user
    added to a group (AddUserToGroup) that holds a high-risk policy, as RAM
    lists the group's policies now, is taken out of the group again
    (RemoveUserFromGroup); the group keeps its policies. An exempt user or
    group keeps the membership.
``grant-tamper``
    A grant changed outside Rolegate (UpdateRole, Attach/DetachPolicyToRole,
    a new default version of one of its custom policies) is restored from its
    proven record; a policy attached to it within a resource group its record
    does not name is detached in that scope. Readable tags touched under
    ``rolegate:`` are rewritten from the proven record. A marked role (or any
    role in the ``rolegate-`` namespace) without a proven record -- forged,
    copied, removed, or an older record put back (one signed well before the
    event that wrote it; one signed after it belongs to a later write, and a
    late delivery of the earlier event is no put-back) --
    is reported at level ``critical`` naming who wrote it; inside the
    namespace it is disarmed (``GrantStore.disarm``), outside it nothing is
    changed. An expired grant is left to the revoke sweep.
``trust-widened``
    A role's trust policy (CreateRole/UpdateRole) naming a wildcard or an
    account outside the owner, the hub (whose functions a member's manager
    role trusts), ``ROLEGATE_ALLOWED_PARTNER_ACCOUNTS`` (and, for a grant,
    its own partner): a grant is restored; any other role is
    reported at level ``critical`` and, with
    ``ROLEGATE_QUARANTINE_ACTION=deny-trust``, quarantined (``quarantine``).
``instance-role``
    An ECS instance carrying (AttachInstanceRamRole) a role not on
    ``ROLEGATE_ALLOWED_INSTANCE_ROLES`` (when set), or one holding a
    high-risk policy, has the role detached. Instances launched with such a
    role (RunInstances, CreateInstance) lose it too: the instances the event
    names (``referencedResources``), whatever gave them the role (a launch
    template included), and with ``RamRoleName`` every instance of the region
    holding that role, as ECS lists them. The instances of one event are one
    unit of the action budget.
``self-guard``
    Rolegate's own functions, their roles and policies, its KMS secrets and the
    trail and EventBridge rules feeding remediation, changed by an identity
    that is not Rolegate's: reported at level ``critical``; a function role's
    own policy detached, its trust changed or another policy attached to it is
    put back (``shared.remediation.selfguard``).

Outcomes: ``remediated``, ``would_remediate`` (dry run), ``capped`` (the
invocation's action budget is spent), ``already_compliant``, ``exempt``,
``reported`` (nothing to change, or nothing this function may change),
``skipped`` (left to another part of Rolegate), ``error``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.ecs import InstanceRoles
from shared.events.actiontrail import ActionTrailEvent, UserIdentity
from shared.grants.lifecycle import GrantStore, RestoreResult
from shared.grants.model import Grant, parse_iso_z, to_iso_z
from shared.grants.naming import custom_policy_grant_id, is_grant_role_name
from shared.grants.proof import Keyring
from shared.grants.tags import (
    EXPIRES_KEY,
    PROOF_KEY,
    RECORD_KEY_PREFIX,
    TAG_PREFIX,
    TagDecodeError,
    is_managed,
    readable_tag_repair,
    record_stamp,
)
from shared.policies.document import PolicyDocumentError
from shared.policies.trust import trusted_principals
from shared.ram import RamGateway, RoleInfo, Tags
from shared.remediation.quarantine import NoRoom, quarantine, saved_trust_tags
from shared.remediation.settings import RemediationSettings

REMEDIATED, WOULD_REMEDIATE, CAPPED = "remediated", "would_remediate", "capped"
ALREADY_COMPLIANT, EXEMPT, REPORTED, SKIPPED, ERROR = "already_compliant", "exempt", "reported", "skipped", "error"
SYSTEM, CUSTOM = "System", "Custom"

_RAM_ARN = re.compile(r"^acs:ram::([^:]*):\S+\Z", re.IGNORECASE)
_SERVICE = re.compile(r"^(?:([0-9]+)@)?[a-z0-9][a-z0-9.-]*\.aliyuncs\.com\Z")
_RECORD_KEY = re.compile(rf"^{re.escape(RECORD_KEY_PREFIX)}[0-9]{{1,2}}\Z")
# A record signed this close to the event that wrote it was signed for that write, by a key holder
# (Rolegate's functions or an operator): ActionTrail's eventTime and the record's clock may differ a little.
FRESH_WRITE_SECONDS = 300


class Irrelevant(Exception):
    """The rule has nothing to judge in this event; the message says why (it becomes the ignore reason)."""


@dataclass
class Decision:
    """What one rule decided about one resource named by one event."""

    rule: str
    event_id: str | None
    event_name: str
    caller: str
    resource: str
    action: str | None
    outcome: str
    level: str = "info"
    reason: str = ""
    dry_run: bool = False
    details: dict[str, Any] = field(default_factory=dict)
    account_id: str | None = None  # where the resource is: the hub's own account or a member's

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "details"}
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class ActionBudget:
    """The changes one invocation may still make (``ROLEGATE_REMEDIATE_MAX_ACTIONS``), over every account it acts in."""

    left: int
    taken: int = 0
    capped: bool = False


@dataclass
class Batch:
    """Changes that together undo one call (the instances of one AttachInstanceRamRole or launch).

    One call reaches up to 100 instances; undoing it takes one unit of the
    invocation's action budget, so a break made in one call is never left
    half undone by the cap.
    """

    spent: bool = False


class Context:
    """What rules share within one invocation in one account: settings, RAM and ECS access, the budget, caches.

    ``owner_account_id`` is the account the events judged here belong to: the
    hub's own or a member's. ``hub_account_id`` is the hub's, which a member's
    roles may trust (its manager role does); records are proven with the hub's
    ``keyring`` in every account.
    """

    def __init__(self, settings: RemediationSettings, owner_account_id: str, ram_client: Any,
                 ecs_factory: Callable[[str], Any], now: Callable[[], datetime], keyring: Keyring, *,
                 budget: ActionBudget | None = None, hub_account_id: str | None = None) -> None:
        self.settings = settings
        self.owner_account_id = owner_account_id
        self.hub_account_id = hub_account_id or owner_account_id
        self.ram = RamGateway(ram_client)
        self.store = GrantStore(ram_client, owner_account_id, keyring, now=now)
        self._ecs_factory = ecs_factory
        self._now = now
        self._now_value: datetime | None = None
        self.budget = budget or ActionBudget(settings.max_actions)
        self._risk: dict[tuple[str, str], str | None] = {}
        self._roles: dict[str, tuple[RoleInfo, Tags] | None] = {}

    def now(self) -> datetime:
        """The cloud's time, read once per invocation."""
        if self._now_value is None:
            self._now_value = self._now()
        return self._now_value

    def next_event(self) -> None:
        """Forget what was read for the previous event: it may have changed a policy's document since."""
        self._risk.clear()
        self._roles.clear()

    def role(self, name: str) -> tuple[RoleInfo, Tags] | None:
        """A role and its tags (None: gone), read once for all the rules judging an event.

        An UpdateRole is judged by grant-tamper and by trust-widened; the second
        reuses what the first read, unless a change was made in between (any
        change forgets every role read).
        """
        if name not in self._roles:
            role = self.ram.get_role(name)
            self._roles[name] = None if role is None else (role, self.ram.role_tags(role.name))
        return self._roles[name]

    def instance_roles(self, region: str) -> InstanceRoles:
        return InstanceRoles(self._ecs_factory(region), region)

    # ----------------------------------------------------------------- risk
    def high_risk(self, kind: str, name: str) -> str | None:
        """Why a policy is high-risk, or None; a custom document is read (GetPolicy) once per event."""
        key = (kind, name.casefold())
        if key not in self._risk:
            self._risk[key] = self._judge_risk(kind, name)
        return self._risk[key]

    def _judge_risk(self, kind: str, name: str) -> str | None:
        from shared.policies.judgment import high_risk_reason  # the one judgment; custom documents need GetPolicy

        if kind == SYSTEM:
            return high_risk_reason(SYSTEM, name, extra_names=self.settings.high_risk_policies)
        policy = self.ram.get_policy(name, CUSTOM)
        if policy is None:
            return None
        return high_risk_reason(CUSTOM, name, policy.document)

    # -------------------------------------------------------------- acting
    def decision(self, rule: str, event: ActionTrailEvent, resource: str, outcome: str, *, action: str | None = None,
                 level: str = "info", reason: str = "", details: dict[str, Any] | None = None) -> Decision:
        self.budget.capped = self.budget.capped or outcome == CAPPED
        return Decision(rule, event.event_id, event.event_name, event.user_identity.describe(), resource, action,
                        outcome, level, reason, self.settings.dry_run_for(rule), dict(details or {}),
                        self.owner_account_id)

    def blocked(self, rule: str, batch: Batch | None = None) -> str | None:
        """``would_remediate`` in dry-run, ``capped`` once the budget is spent, None when the change may go ahead.

        A ``batch`` that has already spent its unit goes on whatever the budget says now.
        """
        if self.settings.dry_run_for(rule):
            return WOULD_REMEDIATE
        if batch is not None and batch.spent:
            return None
        return CAPPED if self.budget.left <= 0 else None

    def spend(self) -> None:
        self.budget.left -= 1
        self.budget.taken += 1

    def act(self, rule: str, event: ActionTrailEvent, resource: str, action: str, perform: Callable[[], bool], *,
            level: str = "warning", reason: str = "", details: dict[str, Any] | None = None,
            batch: Batch | None = None) -> Decision:
        """Make one change (or say it would be made); ``perform`` returns False when it found nothing to do.

        Changes sharing a ``batch`` undo one call together and take one unit of the budget between them.
        """
        blocked = self.blocked(rule, batch)
        if blocked is not None:
            return self.decision(rule, event, resource, blocked, action=action, level=level, reason=reason,
                                 details=details)
        try:
            changed = perform()
        finally:
            self._roles.clear()
        if not changed:
            return self.decision(rule, event, resource, ALREADY_COMPLIANT, action=action,
                                 reason="nothing left to change when the change was made", details=details)
        if batch is None or not batch.spent:
            self.spend()
        if batch is not None:
            batch.spent = True
        return self.decision(rule, event, resource, REMEDIATED, action=action, level=level, reason=reason,
                             details=details)

    def restore_grant(self, rule: str, event: ActionTrailEvent, role: RoleInfo, tags: Tags, grant: Grant,
                      reason: str, scoped: tuple[tuple[str, str, str], ...] = ()) -> Decision:
        """Put a grant back to its record (``GrantStore.restore``), or say what that would change.

        ``role`` and ``tags`` are the live state the rule just read; restore works from them.
        ``scoped``: resource-group attachments the event reports, which no listing shows.
        """
        role_name = role.name
        resource = f"role/{role_name}"
        if grant.expires_at <= self.now():
            return self.decision(rule, event, resource, SKIPPED, level="warning", details={"grant_id": grant.grant_id},
                                 reason=f"grant expired at {to_iso_z(grant.expires_at)}; the revoke sweep removes it")
        blocked = self.blocked(rule)
        try:
            result: RestoreResult = self.store.restore(role_name, dry_run=blocked is not None, read=(role, tags),
                                                       scoped=scoped)
        finally:
            self._roles.clear()
        details = {"grant_id": grant.grant_id, "drift": result.drift}
        if result.unrecoverable:
            details["unrecoverable"] = result.unrecoverable
        if result.clean:
            return self.decision(rule, event, resource, ALREADY_COMPLIANT, action="restore_grant",
                                 reason="the grant matches its record", details=details)
        level = "critical" if result.unrecoverable else "warning"
        if blocked is not None:
            details["planned"] = result.planned
            return self.decision(rule, event, resource, blocked, action="restore_grant", level=level, reason=reason,
                                 details=details)
        self.spend()
        details["actions"] = result.actions
        return self.decision(rule, event, resource, REMEDIATED, action="restore_grant", level=level, reason=reason,
                             details=details)


# ========================================================================= rules
def service_family(event: ActionTrailEvent) -> str:
    """``ram`` for RAM's events (ActionTrail files many under ``Ims``), ``ecs``, or the service in lower case."""
    service = (event.service_name or "").lower()
    return "ram" if service in ("ram", "ims") else service


class Rule:
    name: ClassVar[str]
    watched: ClassVar[frozenset[tuple[str, str]]] = frozenset()
    sees_failed_calls: ClassVar[bool] = False

    def watches(self, event: ActionTrailEvent) -> bool:
        return (service_family(event), event.event_name) in self.watched

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        raise NotImplementedError


def _policy_type(value: str | None) -> str | None:
    return {"system": SYSTEM, "custom": CUSTOM}.get((value or "").lower())


def _required(event: ActionTrailEvent, name: str) -> str:
    value = event.param(name)
    if value is None:
        raise Irrelevant(f"{event.event_name} event names no {name}")
    return value


class RootAccessKeyRule(Rule):
    name = "root-access-key"
    sees_failed_calls = True

    def watches(self, event: ActionTrailEvent) -> bool:
        identity = event.user_identity
        return identity.type == UserIdentity.ROOT and bool(identity.access_key_id)

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        identity = event.user_identity
        account = identity.account_id or ctx.owner_account_id
        details = {"access_key_id": identity.access_key_id, "source_ip": event.data.get("sourceIpAddress"),
                   "service": event.service_name}
        if event.error_code:
            details["error_code"] = event.error_code
        return [ctx.decision(self.name, event, f"account/{account}", REPORTED, level="critical", details=details,
                             reason=f"the root identity signed {event.event_name} with AccessKey "
                                    f"{identity.access_key_id}; use RAM users or roles and disable root AccessKeys")]


class HighRiskPolicyRule(Rule):
    name = "high-risk-policy"
    HOLDERS: ClassVar[dict[str, tuple[str, str]]] = {
        "AttachPolicyToRole": ("role", "RoleName"),
        "AttachPolicyToUser": ("user", "UserName"),
        "AttachPolicyToGroup": ("group", "GroupName"),
    }
    NEW_VERSION = ("CreatePolicyVersion", "SetDefaultPolicyVersion")
    JOIN = "AddUserToGroup"  # a user joining a group gains whatever the group holds
    watched = frozenset(("ram", n) for n in (*HOLDERS, *NEW_VERSION, JOIN))

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        if event.event_name == self.JOIN:
            return [self._joined(event, ctx)]
        policy = _required(event, "PolicyName")
        if event.event_name in self.NEW_VERSION:
            return self._new_version(event, ctx, policy)
        kind, parameter = self.HOLDERS[event.event_name]
        holder = _required(event, parameter)
        policy_type = _policy_type(event.param("PolicyType"))
        if policy_type is None:
            raise Irrelevant(f"{event.event_name} event has no PolicyType System or Custom")
        risk = ctx.high_risk(policy_type, policy)
        if risk is None:
            raise Irrelevant(f"{policy_type} policy {policy} is not high-risk")
        return [self._judge(event, ctx, kind, holder, policy_type, policy, risk, event.param("ResourceGroupId"))]

    def _joined(self, event: ActionTrailEvent, ctx: Context) -> Decision:
        """A user added to a group: taken out again while the group, as RAM lists it now, holds a high-risk policy.

        The group keeps its policies (its own attachment is judged by AttachPolicyToGroup's event). An exempt
        user or group is decided on configuration alone. Whether the user is still a member is told by the
        removal itself, which answers "not a member" (RAM-GROUP-MEMBERSHIP) when someone was quicker, so a
        dry run reports ``would_remediate`` for a user already out of the group.
        """
        group = _required(event, "GroupName")
        # The IMS API names the user by its logon name <user>@<account alias>.onaliyun.com (AT-GROUP-JOIN).
        user = event.param("UserName") or (event.param("UserPrincipalName") or "").split("@", 1)[0]
        if not user:
            raise Irrelevant("AddUserToGroup event names no UserName")
        resource = f"user/{user}"
        for kind, name in (("user", user), ("group", group)):
            if ctx.settings.is_exempt(kind, name, ctx.owner_account_id, ctx.hub_account_id):
                return ctx.decision(self.name, event, resource, EXEMPT, details={"group": group},
                                    reason=f"{kind}/{name} is on ROLEGATE_EXEMPT_PRINCIPALS")
        risky = [{"policy": name, "policy_type": kind, "risk": risk}
                 for kind, name in ctx.ram.policies_for_group(group)
                 if (risk := ctx.high_risk(kind, name)) is not None]
        if not risky:
            raise Irrelevant(f"group {group} holds no high-risk policy")
        names = ", ".join(p["policy"] for p in risky)
        return ctx.act(self.name, event, resource, "remove_from_group",
                       lambda: ctx.ram.remove_user_from_group(user, group),
                       details={"group": group, "high_risk": risky},
                       reason=f"{resource} joined group/{group}, which holds high-risk {names}")

    def _new_version(self, event: ActionTrailEvent, ctx: Context, policy: str) -> list[Decision]:
        risk = ctx.high_risk(CUSTOM, policy)
        if risk is None:
            raise Irrelevant(f"the default version of custom policy {policy} is not high-risk")
        holders = ctx.ram.entities_for_policy(policy, CUSTOM)
        decisions = [self._judge(event, ctx, kind, name, CUSTOM, policy, risk, None, named_as_holder=True)
                     for kind in ("role", "user", "group") for name in holders[kind]]
        return decisions or [ctx.decision(self.name, event, f"policy/{policy}", ALREADY_COMPLIANT,
                                          reason="the policy is attached to nobody", details={"risk": risk})]

    def _judge(self, event: ActionTrailEvent, ctx: Context, kind: str, holder: str, policy_type: str, policy: str,
               risk: str, resource_group_id: str | None, *, named_as_holder: bool = False) -> Decision:
        """``named_as_holder``: ListEntitiesForPolicy named ``holder`` just now, so a holder whose account-wide
        listing lacks the policy holds it within a resource group nobody named."""
        resource = f"{kind}/{holder}"
        details = {"policy": policy, "policy_type": policy_type, "risk": risk}
        if ctx.settings.is_exempt(kind, holder, ctx.owner_account_id, ctx.hub_account_id):
            return ctx.decision(self.name, event, resource, EXEMPT, details=details,
                                reason=f"{resource} is on ROLEGATE_EXEMPT_PRINCIPALS")
        detach = {"role": ctx.ram.detach, "user": ctx.ram.detach_from_user, "group": ctx.ram.detach_from_group}[kind]
        if resource_group_id is not None:
            # No listing shows an attachment scoped to a resource group (RAM-RG-LIST): the detach in that
            # scope is the check, answering "not attached" when there is nothing (left) to take back.
            details["resource_group_id"] = resource_group_id
            return ctx.act(self.name, event, resource, "detach_policy",
                           lambda: detach(holder, policy_type, policy, resource_group_id), details=details,
                           reason=f"high-risk policy {policy} attached to {resource} within resource group "
                                  f"{resource_group_id} ({risk})")
        listed = {"role": ctx.ram.policies_for_role, "user": ctx.ram.policies_for_user,
                  "group": ctx.ram.policies_for_group}[kind](holder)
        attached = next((n for k, n in listed if k == policy_type and n.casefold() == policy.casefold()), None)
        if attached is None and named_as_holder:
            return ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                reason=f"{resource} holds high-risk policy {policy} ({risk}) within a resource group "
                                       "no event named: it cannot be detached without the group's id (Resource "
                                       "Management's ListPolicyAttachments lists it); detach it by hand")
        if attached is None:
            return ctx.decision(self.name, event, resource, ALREADY_COMPLIANT, action="detach_policy",
                                details=details, reason=f"{policy} is not attached to {resource}")
        return ctx.act(self.name, event, resource, "detach_policy",
                       lambda: detach(holder, policy_type, attached),
                       details=details, reason=f"high-risk policy {attached} attached to {resource} ({risk})")


def _role(ctx: Context, name: str) -> tuple[RoleInfo, Tags]:
    found = ctx.role(name)
    if found is None:
        raise Irrelevant(f"role {name} no longer exists")
    return found


def _decode(ctx: Context, role: RoleInfo, tags: Tags) -> Grant:
    return ctx.store.decode(role, tags)


FRESH, LATER, OLDER = "fresh", "later", "older"


def _record_against_write(event: ActionTrailEvent, ctx: Context, role: RoleInfo, tags: Tags) -> str:
    """How the live proven record relates to the write this event reports.

    ``fresh``: signed for that write -- it names as its signer the identity
    the event names (records Rolegate's functions sign name nobody, so they
    can only come back through Rolegate) and was signed around the event's
    time. ``later``: signed after the event, by a later write, which its own
    event reports (a late or repeated delivery of this one). ``older``: an
    old record put back, or a time that cannot be read.
    """
    try:
        event_time = parse_iso_z(event.event_time or "")
    except ValueError:
        return OLDER
    written, writer = record_stamp(tags, role.name, ctx.owner_account_id, ctx.store.keyring)
    drift = (written - event_time).total_seconds()
    if drift > FRESH_WRITE_SECONDS:
        return LATER
    return FRESH if writer == _writer(event) and abs(drift) <= FRESH_WRITE_SECONDS else OLDER


def _scoped_attachment(event: ActionTrailEvent) -> tuple[tuple[str, str, str], ...]:
    """The (kind, policy, resource group) an AttachPolicyToRole within a resource group made, which no listing
    shows (RAM-RG-LIST); empty for any other event."""
    group, policy = event.param("ResourceGroupId"), event.param("PolicyName")
    kind = _policy_type(event.param("PolicyType"))
    if event.event_name != "AttachPolicyToRole" or group is None or kind is None or policy is None:
        return ()
    return ((kind, policy, group),)


def _writer(event: ActionTrailEvent) -> str | None:
    """The event's caller as records name their signer: ``user/<name>``, ``role/<name>``, ``root``."""
    identity = event.user_identity
    if identity.principal is not None:
        return "/".join(identity.principal)
    return "root" if identity.type == UserIdentity.ROOT else None


class GrantTamperRule(Rule):
    name = "grant-tamper"
    ROLE_EVENTS = ("UpdateRole", "AttachPolicyToRole", "DetachPolicyFromRole")
    TAG_EVENTS = ("TagResources", "UntagResources")
    POLICY_EVENTS = ("CreatePolicyVersion", "SetDefaultPolicyVersion")
    watched = frozenset(("ram", n) for n in (*ROLE_EVENTS, *TAG_EVENTS, *POLICY_EVENTS))

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        if event.event_name in self.TAG_EVENTS:
            return self._tags_touched(event, ctx)
        if event.event_name in self.POLICY_EVENTS:
            return self._policy_changed(event, ctx)
        return [self._restore(event, ctx, _required(event, "RoleName"), _scoped_attachment(event))]

    def _policy_changed(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        """A new default version of a grant's own custom policy: every grant holding it is restored."""
        policy = _required(event, "PolicyName")
        if custom_policy_grant_id(policy) is None:
            raise Irrelevant(f"custom policy {policy} is not a grant's")
        holders = ctx.ram.entities_for_policy(policy, CUSTOM)["role"]
        if not holders:
            raise Irrelevant(f"grant policy {policy} is attached to no role")
        decisions, reasons = [], []
        for role_name in holders:
            try:
                decisions.append(self._restore(event, ctx, role_name))
            except Irrelevant as exc:
                reasons.append(str(exc))
        if not decisions:
            raise Irrelevant("; ".join(reasons))
        return decisions

    def _restore(self, event: ActionTrailEvent, ctx: Context, role_name: str,
                 scoped: tuple[tuple[str, str, str], ...] = ()) -> Decision:
        role, tags = _role(ctx, role_name)
        if not is_managed(tags) and not is_grant_role_name(role.name):
            raise Irrelevant(f"role {role.name} is not a Rolegate grant")
        try:
            grant = _decode(ctx, role, tags)
        except TagDecodeError as exc:
            return self._unproven(event, ctx, role.name, exc.reason)
        return ctx.restore_grant(self.name, event, role, tags, grant, scoped=scoped,
                                 reason=f"{event.event_name} changed grant {grant.grant_id} outside Rolegate")

    # ------------------------------------------------------------------ tags
    def _tags_touched(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        resource_type = (event.param("ResourceType") or "").lower()
        if resource_type != "role":
            raise Irrelevant(f"tags of a {resource_type or 'unnamed'} resource, not of a role")
        if event.event_name == "TagResources":
            keys = [k for k, _ in event.param_tags("Tag")]
        else:
            keys = event.param_list("TagKeys")
        every_tag = event.event_name == "UntagResources" and event.param_bool("All")
        if not every_tag and not any(k.startswith(TAG_PREFIX) for k in keys):
            raise Irrelevant(f"no {TAG_PREFIX} tag was touched")
        names = event.param_list("ResourceNames")
        if not names:
            raise Irrelevant(f"{event.event_name} event names no role")
        decisions, reasons = [], []
        for name in dict.fromkeys(names):
            try:
                decisions.append(self._check_tags(event, ctx, name, keys))
            except Irrelevant as exc:
                reasons.append(str(exc))
        if not decisions:
            raise Irrelevant("; ".join(reasons))
        return decisions

    def _check_tags(self, event: ActionTrailEvent, ctx: Context, name: str, keys: list[str]) -> Decision:
        role, tags = _role(ctx, name)
        resource = f"role/{role.name}"
        try:
            grant = _decode(ctx, role, tags)
        except TagDecodeError as exc:
            if not is_managed(tags) and not is_grant_role_name(role.name):
                raise Irrelevant(f"role {role.name} carries no Rolegate marker any more") from None
            return self._unproven(event, ctx, role.name, exc.reason)
        rewrote = event.event_name == "TagResources" and any(k == PROOF_KEY or _RECORD_KEY.match(k) for k in keys)
        against = _record_against_write(event, ctx, role, tags) if rewrote else None
        if against == OLDER:
            return self._unproven(event, ctx, role.name,
                                  f"grant {grant.grant_id}'s record was replaced with one signed earlier "
                                  "(an old record put back)")
        details: dict[str, Any] = {"grant_id": grant.grant_id, "expires_at": to_iso_z(grant.expires_at)}
        if against == FRESH:
            details["note"] = "the record was signed for this write by a holder of the record key (an operator?)"
        elif against == LATER:
            details["note"] = ("the record was signed again after this write (a late or repeated delivery): the "
                               "later write's own event judges it")
        to_set, to_remove = readable_tag_repair(tags, role.name, ctx.owner_account_id, ctx.store.keyring)
        if not to_set and not to_remove:
            return ctx.decision(self.name, event, resource, ALREADY_COMPLIANT, action="rewrite_tags",
                                details=details, reason="the readable tags agree with the proven record")

        def rewrite() -> bool:
            if to_set:
                ctx.ram.tag_role(role.name, to_set)
            if to_remove:
                ctx.ram.untag_role(role.name, to_remove)
            return True

        details.update({"set": [t["Key"] for t in to_set], "remove": to_remove})
        return ctx.act(self.name, event, resource, "rewrite_tags", rewrite,
                       reason=f"{event.event_name} changed grant {grant.grant_id}'s readable tags; rewritten from "
                              "the proven record", details=details)

    def _unproven(self, event: ActionTrailEvent, ctx: Context, role_name: str, why: str) -> Decision:
        """A marked role without a proven record: reported at level critical, with who did it.

        Inside Rolegate's namespace, where every role is a grant's, the role is
        disarmed (fail closed: no policy, a trust nobody satisfies, nothing
        deleted). Outside it nothing is changed: a tag alone never drives an action.
        """
        resource = f"role/{role_name}"
        details = {"record_error": why, "written_by": event.user_identity.describe()}
        reason = f"{resource} carries a Rolegate record that Rolegate cannot prove it wrote ({why})"
        if not is_grant_role_name(role_name):
            return ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                reason=reason + "; the role is outside Rolegate's namespace, so nothing is changed")
        if not ctx.settings.detach_unrecorded:
            return ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                reason=reason + "; ROLEGATE_REMEDIATE_DETACH_UNRECORDED is off")
        plan = ctx.store.disarm(role_name, dry_run=True)
        details["actions"] = plan
        if not plan:
            return ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                reason=reason + "; it is already disarmed")
        return ctx.act(self.name, event, resource, "disarm_grant", lambda: bool(ctx.store.disarm(role_name)),
                       level="critical", details=details,
                       reason=reason + "; a grant nobody can vouch for must give no access")


def offending_principals(trust_text: str, allowed_accounts: frozenset[str]) -> list[str]:
    """Principals of a trust policy that are wildcards, unrecognised, or in an account not allowed."""
    try:
        values = trusted_principals(trust_text)
    except PolicyDocumentError:
        return ["(unreadable trust policy)"]
    offending = []
    for value in values:
        if "*" in value or "?" in value:
            offending.append(value)
            continue
        arn = _RAM_ARN.match(value)
        service = _SERVICE.match(value)
        if arn is not None:
            account: str | None = arn.group(1)
        elif value.isdigit():
            account = value
        elif service is not None:
            account = service.group(1)  # a cloud service acts in the owner's account unless one is named
        else:
            offending.append(value)
            continue
        if account is not None and account not in allowed_accounts:
            offending.append(value)
    return offending


class TrustWidenedRule(Rule):
    name = "trust-widened"
    watched = frozenset({("ram", "CreateRole"), ("ram", "UpdateRole")})

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        role, tags = _role(ctx, _required(event, "RoleName"))
        grant: Grant | None = None
        if is_managed(tags):
            try:
                grant = _decode(ctx, role, tags)
            except TagDecodeError:
                grant = None  # judged like any other role; grant-tamper reports the record
        allowed = ctx.settings.allowed_partner_accounts | {ctx.owner_account_id, ctx.hub_account_id}
        if grant is not None:
            allowed |= {grant.partner_account_id}
        offending = offending_principals(role.trust_policy, frozenset(allowed))
        resource = f"role/{role.name}"
        details: dict[str, Any] = {"principals": offending}
        if not offending:
            return [ctx.decision(self.name, event, resource, ALREADY_COMPLIANT,
                                 reason="the trust policy names only allowed accounts")]
        reason = f"the trust policy of {resource} admits {', '.join(offending)}"
        if grant is not None:
            return [ctx.restore_grant(self.name, event, role, tags, grant, reason=reason)]
        if ctx.settings.is_exempt("role", role.name, ctx.owner_account_id, ctx.hub_account_id):
            return [ctx.decision(self.name, event, resource, EXEMPT, details=details,
                                 reason=f"{resource} is on ROLEGATE_EXEMPT_PRINCIPALS")]
        if ctx.settings.quarantine_action == "none":
            return [ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                 reason=reason + "; ROLEGATE_QUARANTINE_ACTION is none")]
        try:
            saved_trust_tags(role.trust_policy, ctx.now(), tags)
        except NoRoom as exc:
            return [ctx.decision(self.name, event, resource, REPORTED, level="critical", details=details,
                                 reason=reason + f"; not quarantined, the original trust policy would not fit in "
                                                 f"its tags ({exc})")]

        def swap() -> bool:
            quarantine(ctx.ram, role.name, role.trust_policy, tags, ctx.now(), ctx.owner_account_id)
            return True

        return [ctx.act(self.name, event, resource, "quarantine_trust", swap, level="critical", details=details,
                        reason=reason + "; the trust policy is replaced by one admitting nobody, the original kept "
                                        "in the role's tags")]


class InstanceRoleRule(Rule):
    name = "instance-role"
    # RunInstances and CreateInstance hand a role to the instances they make: through RamRoleName, or through
    # a launch template that names one (the event then names no role, only the instances it made).
    LAUNCHES = ("RunInstances", "CreateInstance")
    LAUNCHED = "ACS::ECS::Instance"  # the referencedResources key naming the instances (AT-REFERENCED-RESOURCES)
    watched = frozenset({("ecs", "AttachInstanceRamRole"), *(("ecs", n) for n in LAUNCHES)})

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        region = event.param("RegionId") or event.acs_region
        if region is None:
            raise Irrelevant(f"{event.event_name} event names no region")
        if event.event_name in self.LAUNCHES:
            return self._launched(event, ctx, region)
        instance_ids = list(dict.fromkeys(event.param_list("InstanceIds")))
        if not instance_ids:
            raise Irrelevant("AttachInstanceRamRole event names no instance")
        return self._judge_instances(event, ctx, region, instance_ids, Batch())

    def _judge_instances(self, event: ActionTrailEvent, ctx: Context, region: str, instance_ids: list[str],
                         batch: Batch) -> list[Decision]:
        """Each instance's role as ECS reports it now, taken back when it is not allowed."""
        instances = ctx.instance_roles(region)
        attached = instances.attached(instance_ids)
        problems_of: dict[str, list[str]] = {}
        decisions = []
        for instance_id in instance_ids:
            resource = f"instance/{region}/{instance_id}"
            role = attached.get(instance_id)
            if role is None:
                decisions.append(ctx.decision(self.name, event, resource, ALREADY_COMPLIANT,
                                              reason="no role is attached to the instance"))
                continue
            if role.casefold() not in problems_of:
                problems_of[role.casefold()] = self._problems(ctx, role)
            problems = problems_of[role.casefold()]
            details = {"role": role, "problems": problems}
            if not problems:
                decisions.append(ctx.decision(self.name, event, resource, ALREADY_COMPLIANT, details=details,
                                              reason=f"instance role {role} is allowed"))
                continue
            decisions.append(ctx.act(self.name, event, resource, "detach_instance_role",
                                     lambda i=instance_id, r=role: instances.detach(i, r), details=details,
                                     reason=f"instance role {role}: {'; '.join(problems)}", batch=batch))
        return decisions

    def _launched(self, event: ActionTrailEvent, ctx: Context, region: str) -> list[Decision]:
        """Instances launched with a role, read back from ECS.

        The instances the event names are judged by the role each holds now,
        whatever gave it (``RamRoleName``, a launch template). When the event
        names a role, every other instance of the region holding it now is
        judged too: the instance ids are not needed to find them.
        """
        role = event.param("RamRoleName")
        launched = list(dict.fromkeys(event.referenced(self.LAUNCHED)))
        if role is None and not launched:
            raise Irrelevant(f"{event.event_name} event names neither a role nor an instance it made")
        batch = Batch()
        decisions = self._judge_instances(event, ctx, region, launched, batch) if launched else []
        if role is None:
            return decisions
        problems = self._problems(ctx, role)
        details = {"role": role, "problems": problems}
        if not problems:
            return decisions or [ctx.decision(self.name, event, f"role/{role}", ALREADY_COMPLIANT, details=details,
                                              reason=f"instance role {role} is allowed")]
        instances = ctx.instance_roles(region)
        judged = {i.casefold() for i in launched}
        holders = [i for i in instances.holders(role) if i.casefold() not in judged]
        decisions += [ctx.act(self.name, event, f"instance/{region}/{instance_id}", "detach_instance_role",
                              lambda i=instance_id: instances.detach(i, role), details=details,
                              reason=f"instance role {role}: {'; '.join(problems)}", batch=batch)
                      for instance_id in holders]
        return decisions or [ctx.decision(self.name, event, f"role/{role}", ALREADY_COMPLIANT, details=details,
                                          reason=f"no instance in {region} holds role {role}")]

    @staticmethod
    def _problems(ctx: Context, role: str) -> list[str]:
        problems = []
        allowed = ctx.settings.allowed_instance_roles
        if allowed and role.casefold() not in {r.casefold() for r in allowed}:
            problems.append("not on ROLEGATE_ALLOWED_INSTANCE_ROLES")
        for kind, name in ctx.ram.policies_for_role(role):
            risk = ctx.high_risk(kind, name)
            if risk is not None:
                problems.append(f"holds high-risk policy {name} ({risk})")
        return problems


RULES: tuple[Rule, ...]


def __getattr__(name: str) -> Any:
    """``RULES``, built at first use: ``selfguard`` builds on the classes above, so it cannot be imported
    while this module is still being read (nor this one from it, were it imported first)."""
    if name != "RULES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from shared.remediation.selfguard import SelfGuardRule

    # Order within one event: Rolegate's own roles are put back first, so the rules after it find them as
    # deployed; a grant is put back to its record before the high-risk rule looks at it, so a grant's own
    # custom policy turned admin-equivalent is rolled back to its recorded version, not detached.
    rules = (RootAccessKeyRule(), SelfGuardRule(), GrantTamperRule(), HighRiskPolicyRule(), TrustWidenedRule(),
             InstanceRoleRule())
    globals()["RULES"] = rules
    return rules

__all__ = [
    "ALREADY_COMPLIANT",
    "CAPPED",
    "ERROR",
    "EXEMPT",
    "REMEDIATED",
    "REPORTED",
    "RULES",
    "SKIPPED",
    "WOULD_REMEDIATE",
    "Batch",
    "Context",
    "Decision",
    "Irrelevant",
    "Rule",
    "offending_principals",
    "service_family",
]
