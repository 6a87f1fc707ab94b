"""Rule ``self-guard``: Rolegate's own resources, changed by an identity that is not Rolegate's.

The engine never shows a rule what Rolegate's own identities did
(``ROLEGATE_SELF_PRINCIPALS`` and the function's caller identity), so every
event judged here is somebody else's change to Rolegate itself. Each is
reported at level ``critical``, naming the caller and the event, and the
change is reverted only where the right state is beyond doubt.

What is guarded, with ``p`` the namespace prefix (``ROLEGATE_PROTECTED_PREFIX``,
default ``rolegate``, the same setting onboarding's RG150 refusal reads):

=========================================  ======================================  ==========================
resource                                   named after                             on a change
=========================================  ======================================  ==========================
function roles ``fc-<p>-<fn>``, ``fn`` in  ``deploy/roles.sh``, ``s.yaml``         reverted, see below
``FUNCTIONS``
their custom policies ``fc-<p>-<fn>``      ``deploy/roles.sh``                     reported (a new version or
                                                                                   a delete has no known
                                                                                   right answer)
other ``fc-<p>-*`` roles and policies,     ``deploy/roles.sh``, ``rolegate          reported
the manager role ``<p>manager`` of a      members enroll``
hub's members
the functions ``<p>-*``                    ``s.yaml``                              reported
KMS secrets ``<p>-*`` (the record key      ``rolegate keys init``                  reported
``<p>-record-key``, the webhook key
``<p>-webhook-secret``) and the secret
``ROLEGATE_RECORD_KEY_SECRET`` names
ActionTrail trails                         none in the deployment: every trail     reported
EventBridge rules of the default bus       none in the deployment (fc3 names the   reported
                                           triggers' rules): every rule there
=========================================  ======================================  ==========================

Reverts, each after reading the live state (a second delivery finds nothing to do):

* ``DetachPolicyFromRole`` of a function role's own policy: attached again;
* ``UpdateRole`` of a function role leaving a trust policy other than
  ``FC_TRUST`` (the one ``deploy/roles.sh`` writes): set back to it;
* ``AttachPolicyToRole`` of any other policy to a function role: detached
  (each function role holds exactly its own policy; anything more is
  escalation of Rolegate itself, and a policy a function needs belongs in
  ``deploy/policies/<fn>.json``).

Only the function roles of ``FUNCTIONS`` are reverted, never any role that
merely matches ``fc-<p>-*``: a role made under that name by someone else must
not get a policy attached because an event said one was detached.

Events watched and how sure their names are (Alibaba Cloud documentation,
read for this rule; ``serviceName`` decides the routing, see
``rules.service_family``):

* RAM (``Ram``): the attach, detach, role and policy-version calls the
  other rules already watch, plus ``DeleteRole``, ``DeletePolicy`` and
  ``DeletePolicyVersion``. Attach, detach and ``DeleteRole`` are listed as
  auditable RAM events
  (https://www.alibabacloud.com/help/en/actiontrail/product-overview/auditable-events-of-ram);
  the policy calls are RAM API names not checked against that list.
* Function Compute: ``UpdateFunction``, ``DeleteFunction``,
  ``CreateTrigger``, ``DeleteTrigger`` are in its list of ActionTrail events
  (https://www.alibabacloud.com/help/en/functioncompute/audit-events-of-function-compute);
  ``UpdateTrigger`` is an FC 3.0 API name, not seen in that list. Unverified:
  that FC 3.0 calls are recorded under these names (the list still has FC 2.0
  services), the ``serviceName`` (``Fc``, as the emulator writes it) and that
  ``requestParameters`` carry ``functionName``.
* KMS: its ActionTrail events reach EventBridge as ``kms:ActionTrail:ApiCall``
  (https://www.alibabacloud.com/help/en/eventbridge/user-guide/kms-events);
  ``PutSecretValue`` and ``DeleteSecret`` are KMS API names. Unverified: the
  ``serviceName`` (``Kms``) and both names in KMS's audit-event list.
* ActionTrail: ``actiontrail:ActionTrail:ApiCall`` is published
  (https://www.alibabacloud.com/help/en/eventbridge/user-guide/actiontrail-events);
  ``StopLogging``, ``UpdateTrail`` and ``DeleteTrail`` are its API names
  (https://www.alibabacloud.com/help/doc-detail/28833.html) and
  ``serviceName`` ``Actiontrail`` is in a documented record
  (https://www.alibabacloud.com/help/en/actiontrail/user-guide/query-actiontrail-events-by-assuming-a-ram-role).
* EventBridge: ``DeleteRule``, ``DisableRule``, ``DeleteTargets`` are
  auditable events
  (https://www.alibabacloud.com/help/en/actiontrail/product-overview/auditable-events-of-eventbridge),
  ``UpdateRule`` an API name. Unverified: ``PutTargets`` as an event name, the
  ``serviceName`` (taken as ``EventBridge``), and above all delivery: EventBridge
  is not among the services whose ActionTrail events EventBridge publishes
  (the actiontrail-events page above), so these may never arrive. ActionTrail's
  own alerting is the dependable watch on the rules.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from shared.calls import is_code
from shared.events.actiontrail import ActionTrailEvent
from shared.remediation.rules import (
    ALREADY_COMPLIANT,
    CUSTOM,
    REPORTED,
    SYSTEM,
    Context,
    Decision,
    Irrelevant,
    Rule,
)

# The functions of s.yaml: their roles are the ones whose state is known well enough to put back.
FUNCTIONS: tuple[str, ...] = ("onboard", "revoke", "query", "remediate")
# The trust policy deploy/roles.sh gives every function role.
FC_TRUST: dict[str, Any] = {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                           "Principal": {"Service": ["fc.aliyuncs.com"]}}], "Version": "1"}
FC_TRUST_TEXT = json.dumps(FC_TRUST, separators=(",", ":"))
CRITICAL = "critical"


@dataclass(frozen=True)
class OwnNames:
    """Which names are Rolegate's, under one namespace prefix."""

    prefix: str
    record_key: str

    @property
    def function_roles(self) -> dict[str, str]:
        """Role name (case-folded) -> its own policy's name, for the functions of the deployment."""
        return {f"fc-{self.prefix}-{fn}": f"fc-{self.prefix}-{fn}" for fn in FUNCTIONS}

    def own_policy(self, role: str) -> str | None:
        """The policy a function role holds, or None when ``role`` is not a function role."""
        return self.function_roles.get(role.casefold())

    def role(self, name: str) -> bool:
        folded = name.casefold()
        return folded.startswith(f"fc-{self.prefix}-") or folded == f"{self.prefix}manager"

    def policy(self, name: str) -> bool:
        return name.casefold().startswith(f"fc-{self.prefix}-")

    def function(self, name: str) -> bool:
        return name.casefold().startswith(f"{self.prefix}-")

    def secret(self, name: str) -> bool:
        folded = name.casefold()
        return folded.startswith(f"{self.prefix}-") or folded == self.record_key.casefold()


def is_fc_only_trust(text: str) -> bool:
    """Whether a trust policy admits Function Compute and nothing else, in any of the forms RAM accepts."""
    try:
        document = json.loads(text)
    except ValueError:
        return False
    if not isinstance(document, dict) or str(document.get("Version")) != "1":
        return False
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or len(statements) != 1 or not isinstance(statements[0], dict):
        return False
    statement = statements[0]
    if set(statement) - {"Sid", "Effect", "Action", "Principal"}:
        return False  # a Condition, NotAction, NotPrincipal... is not what roles.sh wrote
    actions = statement.get("Action")
    actions = [actions] if isinstance(actions, str) else actions
    principal = statement.get("Principal")
    if not isinstance(principal, dict) or set(principal) != {"Service"}:
        return False
    services = principal["Service"]
    services = [services] if isinstance(services, str) else services
    return str(statement.get("Effect", "")).lower() == "allow" and isinstance(actions, list) \
        and [str(a).lower() for a in actions] == ["sts:assumerole"] \
        and isinstance(services, list) and [str(s).lower() for s in services] == ["fc.aliyuncs.com"]


def _secret_name(value: str) -> str:
    """A secret named by name or by ARN (``acs:kms:<region>:<account>:secret/<name>``)."""
    return value.split(":secret/", 1)[1] if ":secret/" in value else value


class SelfGuardRule(Rule):
    name = "self-guard"
    ROLE_EVENTS = ("AttachPolicyToRole", "DetachPolicyFromRole", "UpdateRole", "DeleteRole")
    POLICY_EVENTS = ("DeletePolicy", "CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion")
    HOLDER_EVENTS = ("AttachPolicyToUser", "AttachPolicyToGroup")
    FC_EVENTS = ("UpdateFunction", "DeleteFunction", "CreateTrigger", "UpdateTrigger", "DeleteTrigger")
    KMS_EVENTS = ("PutSecretValue", "DeleteSecret")
    TRAIL_EVENTS = ("StopLogging", "UpdateTrail", "DeleteTrail")
    RULE_EVENTS = ("DeleteRule", "UpdateRule", "DisableRule", "DeleteTargets", "PutTargets")
    watched: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {("ram", n) for n in (*ROLE_EVENTS, *POLICY_EVENTS, *HOLDER_EVENTS)}
        | {("fc", n) for n in FC_EVENTS} | {("kms", n) for n in KMS_EVENTS}
        | {("actiontrail", n) for n in TRAIL_EVENTS} | {("eventbridge", n) for n in RULE_EVENTS})

    def evaluate(self, event: ActionTrailEvent, ctx: Context) -> list[Decision]:
        from shared.kms import secret_name  # the record key's configured name

        own = OwnNames(ctx.settings.protected_prefix, secret_name())
        name = event.event_name
        if name in self.ROLE_EVENTS:
            return [self._role_event(event, ctx, own)]
        if name in self.POLICY_EVENTS or name in self.HOLDER_EVENTS:
            return [self._policy_event(event, ctx, own)]
        if name in self.FC_EVENTS:
            return [self._function_event(event, ctx, own)]
        if name in self.KMS_EVENTS:
            secret = _secret_name(_param(event, "SecretName"))
            if not own.secret(secret):
                raise Irrelevant(f"secret {secret} is not Rolegate's")
            return [self._report(event, ctx, f"secret/{secret}", "Rolegate's record or webhook key")]
        if name in self.TRAIL_EVENTS:
            trail = event.param("Name") or "(unnamed)"
            return [self._report(event, ctx, f"trail/{trail}",
                                 "an ActionTrail trail (the deployment names none, so every trail counts)")]
        bus = event.param("EventBusName") or "default"
        if bus != "default":
            raise Irrelevant(f"EventBridge bus {bus} does not feed remediation")
        rule = event.param("RuleName") or "(unnamed)"
        return [self._report(event, ctx, f"eventbus/default/rule/{rule}",
                             "an EventBridge rule of the default bus, which feeds remediation")]

    # ----------------------------------------------------------------- RAM
    def _role_event(self, event: ActionTrailEvent, ctx: Context, own: OwnNames) -> Decision:
        role = _param(event, "RoleName")
        policy = event.param("PolicyName")
        if not own.role(role):
            if event.event_name == "AttachPolicyToRole" and policy and own.policy(policy):
                return self._report(event, ctx, f"role/{role}", f"Rolegate's function policy {policy}, given to a "
                                                                "role that is not its function's")
            raise Irrelevant(f"role {role} is not Rolegate's")
        own_policy = own.own_policy(role)
        if own_policy is None or event.event_name == "DeleteRole":
            return self._report(event, ctx, f"role/{role}", "one of Rolegate's roles")
        if event.event_name == "UpdateRole":
            return self._trust(event, ctx, role)
        kind = {"system": SYSTEM, "custom": CUSTOM}.get((event.param("PolicyType") or "").lower())
        if policy is None or kind is None:
            return self._report(event, ctx, f"role/{role}", "a function role (the event names no policy and type)")
        mine = kind == CUSTOM and policy.casefold() == own_policy
        if event.event_name == "DetachPolicyFromRole":
            if not mine:
                return self._report(event, ctx, f"role/{role}", f"a function role; {policy} is not its own "
                                                                "policy, so nothing is put back")
            return self._reattach(event, ctx, role, own_policy)
        if mine:
            return self._report(event, ctx, f"role/{role}", "a function role, given its own policy again")
        return self._detach(event, ctx, role, kind, policy)

    def _reattach(self, event: ActionTrailEvent, ctx: Context, role: str, policy: str) -> Decision:
        resource = f"role/{role}"
        details = self._details(event, policy=policy, policy_type=CUSTOM)
        held = {(k, n.casefold()) for k, n in ctx.ram.policies_for_role(role)}  # empty when the role is gone
        if (CUSTOM, policy) in held:
            return ctx.decision(self.name, event, resource, ALREADY_COMPLIANT, action="reattach_own_policy",
                                level=CRITICAL, details=details, reason=self._who(event, resource) +
                                f"; {policy} is attached again already")
        reason = self._who(event, resource) + f" took its own policy {policy}; attached again"
        try:
            return ctx.act(self.name, event, resource, "reattach_own_policy",
                           lambda: ctx.ram.attach(role, CUSTOM, policy), level=CRITICAL, reason=reason,
                           details=details)
        except Exception as exc:
            if is_code(exc, "EntityNotExist.Role"):
                return self._report(event, ctx, resource, "a function role, which no longer exists", details)
            if is_code(exc, "EntityNotExist.Policy"):
                return self._report(event, ctx, resource, f"a function role, whose own policy {policy} no longer "
                                                          "exists (deploy/roles.sh makes it)", details)
            raise

    def _detach(self, event: ActionTrailEvent, ctx: Context, role: str, kind: str, policy: str) -> Decision:
        resource = f"role/{role}"
        details = self._details(event, policy=policy, policy_type=kind)
        attached = next((n for k, n in ctx.ram.policies_for_role(role)
                         if k == kind and n.casefold() == policy.casefold()), None)
        if attached is None:
            return ctx.decision(self.name, event, resource, ALREADY_COMPLIANT, action="detach_policy",
                                level=CRITICAL, details=details, reason=self._who(event, resource) +
                                f"; {policy} is no longer attached")
        group = event.param("ResourceGroupId")
        return ctx.act(self.name, event, resource, "detach_policy",
                       lambda: ctx.ram.detach(role, kind, attached, group), level=CRITICAL, details=details,
                       reason=self._who(event, resource) + f" gave it {kind} policy {attached}, which would "
                                                           "widen what Rolegate itself can do; detached")

    def _trust(self, event: ActionTrailEvent, ctx: Context, role: str) -> Decision:
        resource = f"role/{role}"
        found = ctx.role(role)
        if found is None:
            return self._report(event, ctx, resource, "a function role, which no longer exists")
        info, _ = found
        if is_fc_only_trust(info.trust_policy):
            return self._report(event, ctx, resource, "a function role; its trust still admits Function Compute "
                                                      "only")
        details = self._details(event, trust_policy=info.trust_policy)

        def restore() -> bool:
            ctx.ram.update_role(role, FC_TRUST_TEXT)
            return True

        return ctx.act(self.name, event, resource, "restore_trust", restore, level=CRITICAL, details=details,
                       reason=self._who(event, resource) + " changed its trust policy; set back to Function "
                                                           "Compute only, as deploy/roles.sh writes it")

    def _policy_event(self, event: ActionTrailEvent, ctx: Context, own: OwnNames) -> Decision:
        policy = _param(event, "PolicyName")
        if not own.policy(policy):
            raise Irrelevant(f"policy {policy} is not Rolegate's")
        if event.event_name in self.HOLDER_EVENTS:
            holder = event.param("UserName") or event.param("GroupName") or "(unnamed)"
            kind = "user" if event.event_name == "AttachPolicyToUser" else "group"
            return self._report(event, ctx, f"{kind}/{holder}", f"Rolegate's function policy {policy}, given to "
                                                                f"a {kind}")
        return self._report(event, ctx, f"policy/{policy}", "a function's own policy")

    # ------------------------------------------------------------------ FC
    def _function_event(self, event: ActionTrailEvent, ctx: Context, own: OwnNames) -> Decision:
        function = event.param("functionName") or event.param("FunctionName")
        if function is None:
            raise Irrelevant(f"{event.event_name} event names no function")
        if not own.function(function):
            raise Irrelevant(f"function {function} is not Rolegate's")
        trigger = event.param("triggerName") or event.param("TriggerName")
        resource = f"function/{function}" + (f"/trigger/{trigger}" if trigger else "")
        return self._report(event, ctx, resource, "one of Rolegate's functions (its code and settings decide "
                                                  "what its role is used for)")

    # ------------------------------------------------------------- reports
    def _report(self, event: ActionTrailEvent, ctx: Context, resource: str, what: str,
                details: dict[str, Any] | None = None) -> Decision:
        return ctx.decision(self.name, event, resource, REPORTED, level=CRITICAL,
                            details=details or self._details(event),
                            reason=f"{self._who(event, resource)}: {what}; reported, nothing changed")

    @staticmethod
    def _who(event: ActionTrailEvent, resource: str) -> str:
        return f"{event.event_name} on {resource} by {event.user_identity.describe()} (event {event.event_id})"

    @staticmethod
    def _details(event: ActionTrailEvent, **extra: Any) -> dict[str, Any]:
        identity = event.user_identity
        details = {"changed_by": identity.describe(), "access_key_id": identity.access_key_id,
                   "source_ip": event.data.get("sourceIpAddress"), "service": event.service_name}
        return {**{k: v for k, v in details.items() if v is not None}, **extra}


def _param(event: ActionTrailEvent, name: str) -> str:
    value = event.param(name)
    if value is None:
        raise Irrelevant(f"{event.event_name} event names no {name}")
    return value


__all__ = ["FC_TRUST", "FUNCTIONS", "OwnNames", "SelfGuardRule", "is_fc_only_trust"]
