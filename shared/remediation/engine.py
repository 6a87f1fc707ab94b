"""One remediation invocation: route each ActionTrail event to the rules watching it, collect decisions.

Routing is on ``data.serviceName`` (``Ram`` and ``Ims`` alike, ``Ecs``) and
``data.eventName`` (see :mod:`shared.remediation.rules`). Before any rule
runs, an event is ignored, with the reason logged and counted, when:

* no enabled rule watches it;
* the call failed (``errorCode`` set): nothing changed, so only the
  root-access-key rule, which reports the use of a key, still looks at it;
* its record and its delivery name different accounts (``recipientAccountId``
  against EventBridge's ``aliyunoriginalaccountid``/``aliyunaccountid``);
* it belongs to an account that is neither the hub's own (where the function
  runs) nor a member's (:mod:`shared.members`, ``Members.require``): nothing
  is read or changed anywhere for it;
* it was made by this function's own identity -- ``ROLEGATE_SELF_PRINCIPALS``
  and the identity STS GetCallerIdentity reports for the function's
  credentials (asked once per credentials and kept while the instance is
  warm), matched by AccessKey id, RAM user name or role name, and in a member
  its sessions of the manager role (:data:`SESSION_NAME`) -- so the function
  never reacts to its own changes. A configured name without an account is
  the hub's: a member's role or user of the same name is the member's own.

A member's event (delivered to the hub's bus, see deploy/README.md) is judged
in that member: every rule reads the state back through the member's manager
role (``Members.factory_for``) and acts there, and records are proven with
the hub's record key, bound to the member. The action budget is the
invocation's, over all accounts.

Every decision is one ``remediation_decision`` log line and one entry of the
reply ``{"ok", "events", "ignored", "decisions", "ignored_events", "errors",
"actions", "capped", "dry_run"}``. An event that cannot be read is an
``errors`` entry; a payload that cannot be read at all, or a broken setting,
is the function's error reply ``{"ok": false, "error"}``; a cloud failure while
judging an event is an ``error`` decision and the next event is still judged. Decisions
worth an operator's attention are also sent to the notification webhook
(``shared.notify``), once per invocation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared import clock, config
from shared.clients import for_credentials, own_factory
from shared.errors import Refused, as_rolegate_error
from shared.events.actiontrail import ActionTrailEvent, BadEvent, UserIdentity, load_events
from shared.grants.proof import Keyring
from shared.logs import bind, log_event
from shared.members import Members, members_for
from shared.notify import Notifier
from shared.sts import caller_identity, owner_account_id, runtime_account_id
from shared.remediation.rules import (
    CAPPED,
    ERROR,
    REMEDIATED,
    REPORTED,
    RULES,
    WOULD_REMEDIATE,
    ActionBudget,
    Context,
    Decision,
    Irrelevant,
    Rule,
)
from shared.remediation.settings import PrincipalRef, RemediationSettings

LOG_LEVEL = {"info": "info", "warning": "warning", "critical": "error", "error": "error"}
NOTABLE_OUTCOMES = frozenset({REMEDIATED, WOULD_REMEDIATE, CAPPED, REPORTED, ERROR})
SESSION_NAME = "rolegate-remediate"  # how a member's ActionTrail names this function's manager-role sessions


# ------------------------------------------------------------------ own identity
def made_by(identity: UserIdentity, refs: tuple[PrincipalRef, ...], access_key_ids: frozenset[str], *,
            home_account: str | None = None, event_account: str | None = None) -> bool:
    """Whether the event's caller is one of ``refs`` (any session of a role) or used one of ``access_key_ids``.

    With ``home_account`` (the hub's), a ref naming no account names an
    identity of that account only: a role of the same name in a member is
    the member's, whoever made it. The caller's account is the record's
    ``userIdentity.accountId``, else ``event_account``, the account the event
    belongs to.
    """
    if identity.access_key_id and identity.access_key_id in access_key_ids:
        return True
    principal = identity.principal
    if principal is None:
        return False
    caller_account = identity.account_id or event_account
    if home_account is None:
        return any(ref.matches(*principal, caller_account) for ref in refs)
    return any(ref.names(*principal, caller_account, home_account) for ref in refs)


# ----------------------------------------------------------------------- summary
@dataclass
class Summary:
    dry_run: bool = False
    events: int = 0
    decisions: list[Decision] = field(default_factory=list)
    ignored_events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    actions: int = 0
    capped: bool = False

    def ignore(self, index: int, event: ActionTrailEvent, reason: str) -> None:
        entry = {"index": index, **event.summary(), "reason": reason}
        self.ignored_events.append(entry)
        log_event("remediation_ignored", **entry)

    def error(self, entry: dict[str, Any]) -> None:
        self.errors.append(entry)
        log_event("remediation_error", "error", **entry)

    def decide(self, decision: Decision) -> None:
        self.decisions.append(decision)
        fields = decision.to_dict()
        severity = fields.pop("level")
        log_event("remediation_decision", LOG_LEVEL.get(severity, "error"), severity=severity, **fields)

    def to_dict(self) -> dict[str, Any]:
        ok = not self.errors and all(d.outcome != ERROR for d in self.decisions)
        return {"ok": ok, "events": self.events, "ignored": len(self.ignored_events),
                "decisions": [d.to_dict() for d in self.decisions], "ignored_events": self.ignored_events,
                "errors": self.errors, "actions": self.actions, "capped": self.capped, "dry_run": self.dry_run}


# ------------------------------------------------------------------- invocation
@dataclass(frozen=True)
class Hub:
    """The account the function runs in, the record key that proves grants everywhere, and its members."""

    account_id: str
    keyring: Keyring
    members: Members  # whose factory_for gives the hub's own factory for the hub


def event_account(event: ActionTrailEvent) -> tuple[str | None, str | None]:
    """The account the event belongs to (None: not said, the hub's), or None and why it cannot be told."""
    record, origin = event.recipient_account_id, event.origin_account_id
    if record and origin and record != origin:
        return None, f"the record names account {record} but was delivered from {origin}"
    return record or origin, None


class Invocation:
    """The identity, hub and per-account rule contexts of one invocation, built when the first event needs them."""

    def __init__(self, settings: RemediationSettings, context: Any) -> None:
        self.settings = settings
        self._context = context
        self._hub: Hub | None = None
        self._contexts: dict[str, Context] = {}
        self.budget = ActionBudget(settings.max_actions)
        self._self_keys: frozenset[str] = frozenset()
        self._self_refs: tuple[PrincipalRef, ...] = settings.self_principals

    def hub(self) -> Hub:
        if self._hub is None:
            self._hub = self._build()
        return self._hub

    def _build(self) -> Hub:
        factory = own_factory(self._context)
        me = caller_identity(factory, remember=True) if self.settings.self_from_caller else None
        if me is not None:
            self._self_keys = frozenset({me.access_key_id})
            if me.principal is not None:
                self._self_refs = (*self._self_refs, PrincipalRef(*me.principal, me.account_id))
        # The hub: the function's own account, from STS only when it asked anyway.
        owner = owner_account_id(self.settings.owner_account_id, runtime_account_id(self._context),
                                 ask=(lambda: me.account_id) if me is not None else None)
        from shared.kms import keyring_for

        return Hub(owner, keyring_for(factory), members_for(owner, factory, session_name=SESSION_NAME))

    def ctx_for(self, account_id: str) -> Context:
        """The rules' context in ``account_id`` (the hub's or a member's, already required), built on first use."""
        if account_id not in self._contexts:
            hub = self.hub()
            factory = hub.members.factory_for(account_id)
            credentials = factory.credentials
            self._contexts[account_id] = Context(
                self.settings, account_id, factory.ram(),
                lambda region: for_credentials(credentials, region=region).ecs(), clock.now, hub.keyring,
                budget=self.budget, hub_account_id=hub.account_id)
        return self._contexts[account_id]

    def is_self(self, event: ActionTrailEvent, account_id: str) -> bool:
        identity = event.user_identity
        hub = self.hub()
        if made_by(identity, self._self_refs, self._self_keys, home_account=hub.account_id, event_account=account_id):
            return True
        manager = hub.members.settings.manager_role.casefold()
        return (account_id != hub.account_id and (identity.role_name or "").casefold() == manager
                and identity.session_name == SESSION_NAME)

    def account_for(self, summary: Summary) -> None:
        """Copy the action count and cap flag into the summary."""
        summary.actions = self.budget.taken
        summary.capped = self.budget.capped


def _watchers(event: ActionTrailEvent, settings: RemediationSettings) -> tuple[list[Rule], str | None]:
    """The enabled rules that judge ``event``, or none and the reason."""
    watching = [r for r in RULES if r.watches(event)]
    if not watching:
        return [], f"no rule watches {event.service_name or '(no service)'}:{event.event_name}"
    enabled = [r for r in watching if settings.enabled(r.name)]
    if not enabled:
        return [], f"rules disabled: {', '.join(r.name for r in watching)}"
    if event.error_code:
        enabled = [r for r in enabled if r.sees_failed_calls]
        if not enabled:
            return [], f"the call failed ({event.error_code}); nothing changed"
    return enabled, None


def _judge(index: int, event: ActionTrailEvent, invocation: Invocation, summary: Summary) -> None:
    rules, reason = _watchers(event, invocation.settings)
    if not rules:
        summary.ignore(index, event, reason or "")
        return
    account, unclear = event_account(event)
    if unclear is not None:
        summary.ignore(index, event, unclear)
        return
    hub = invocation.hub()
    account = account or hub.account_id
    try:
        hub.members.require(account)
    except Refused:
        summary.ignore(index, event, f"event of account {account}, which is neither this hub's ({hub.account_id}) "
                                     f"nor one of its members")
        return
    if invocation.is_self(event, account):
        summary.ignore(index, event, "made by this function's own identity")
        return
    ctx = invocation.ctx_for(account)
    ctx.next_event()
    reasons = []
    decided = False
    for rule in rules:
        try:
            decisions = rule.evaluate(event, ctx)
        except Irrelevant as exc:
            reasons.append(f"{rule.name}: {exc}")
            continue
        except Exception as exc:  # one event's failure must not stop the others
            error = as_rolegate_error(exc)
            decisions = [ctx.decision(rule.name, event, "unknown", ERROR, level="error", reason=error.message,
                                      details={"error": error.to_dict()})]
        for decision in decisions:
            summary.decide(decision)
        decided = decided or bool(decisions)
    if not decided:
        summary.ignore(index, event, "; ".join(reasons))


def _notify(summary: Summary) -> None:
    notable = [d.to_dict() for d in summary.decisions if d.outcome in NOTABLE_OUTCOMES or d.level != "info"]
    if notable:
        Notifier.from_env().send("remediation", {"events": summary.events, "decisions": notable})


_REGION_WARNED: set[tuple[str, str]] = set()


def warn_outside_ram_region() -> None:
    """Log once per instance when the function runs outside its site's RAM event region.

    RAM is deployed centrally: its events reach the default bus of cn-hangzhou (China site) or
    ap-southeast-1 (international site) only, so a remediation function anywhere else never sees a RAM
    change (deploy/README.md). Only the runtime's ``FC_REGION`` is checked; without it nothing is said.
    """
    region, site = config.env_str("FC_REGION"), config.site()
    if region is None or region == site.ram_event_region or (region, site.name) in _REGION_WARNED:
        return
    _REGION_WARNED.add((region, site.name))
    log_event("remediation_region_mismatch", "warning", region=region, site=site.name,
              ram_event_region=site.ram_event_region,
              message=f"RAM's events of the {site.name} site arrive in {site.ram_event_region} only; here in "
                      f"{region} this function sees regional services' events alone")


def handle_event(payload: Any, context: Any = None) -> dict[str, Any]:
    """Judge every event of one invocation payload; the reply described in the module docstring.

    A payload that cannot be read or a broken setting raises, and is answered
    ``{"ok": false, "error"}`` by :mod:`shared.handler`.
    """
    warn_outside_ram_region()
    settings = RemediationSettings.from_env()
    summary = Summary(dry_run=settings.dry_run)
    items = load_events(payload)
    summary.events = len(items)
    invocation = Invocation(settings, context)
    for index, item in enumerate(items):
        if isinstance(item, BadEvent):
            summary.error({"code": "MalformedEvent", "message": item.reason, "index": index})
            continue
        with bind(event_id=item.event_id):
            try:
                _judge(index, item, invocation, summary)
            except Exception as exc:  # the clients or the function's identity could not be set up
                error = as_rolegate_error(exc)
                summary.error({**error.to_dict(), "index": index, "event_id": item.event_id})
    invocation.account_for(summary)
    _notify(summary)
    reply = summary.to_dict()
    log_event("remediation_summary", "info" if reply["ok"] else "warning",
              **{k: reply[k] for k in ("ok", "events", "ignored", "actions", "capped", "dry_run")},
              decisions=len(reply["decisions"]), errors=len(reply["errors"]))
    return reply


__all__ = ["Summary", "handle_event", "made_by", "warn_outside_ram_region"]
