"""Authorizing a caller: its identity policies (and a session's policy) against the request.

A user is judged with its groups' policies, a role session with its session
policy too (both must allow); an explicit Deny wins. The condition keys every
request carries, and resource-group scopes: docs/design/emulator.md.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from ..clock import iso
from ..errors import no_permission
from .engine import Decision, evaluate

if TYPE_CHECKING:
    from ..identity import Identity
    from ..world import World

PolicySets = list[tuple[str, list[dict[str, Any]]]]


def add_context(req: Any, values: Mapping[str, Any]) -> None:
    """Contribute condition keys for the authorization of ``req``."""
    req.policy_context = {**(getattr(req, "policy_context", None) or {}), **values}


def request_context(world: "World", req: Any = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The condition keys of one request."""
    context: dict[str, Any] = {"acs:CurrentTime": iso(world.clock.now()), "acs:SecureTransport": "false"}
    if req is not None:
        context["acs:SourceIp"] = getattr(req, "source_ip", "") or "127.0.0.1"
        context.update(getattr(req, "policy_context", None) or {})
    context.update(extra or {})
    return context


def _documents(account: Any, attached: list[Any], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    from ..services.ram import policy_document  # late: the RAM service imports this package
    group = context.get("acs:ResourceGroupId")
    documents = []
    for policy in attached:
        if policy.resource_group_id and policy.resource_group_id != group:
            continue
        document = policy_document(account, policy.policy_type, policy.policy_name)
        if document is not None:
            documents.append(document)
    return documents


def policy_sets(world: "World", identity: "Identity", context: Mapping[str, Any]) -> PolicySets:
    """The policy sets that must each allow a request of ``identity``, labelled for denial reasons.

    A user or role that no longer exists (or a role deleted and re-created under
    the same name since the session was issued) has no policies.
    """
    from ..services.ram import ram_state
    account = world.find_account(identity.account_id)
    if account is None or identity.kind not in ("user", "assumed-role"):
        return [("identity policies", [])]
    state = ram_state(account)
    if identity.kind == "user":
        user = state.find_user(identity.name)
        if user is None:
            return [("user policies", [])]
        attached = [*user.attached, *(a for group in state.groups_of(user.name) for a in group.attached)]
        return [("user policies", _documents(account, attached, context))]
    role = state.find_role(identity.name)
    if role is None or (identity.role_id and role.role_id != identity.role_id):
        return [("role policies", [])]
    sets: PolicySets = [("role policies", _documents(account, role.attached, context))]
    if identity.session_policy is not None:
        sets.append(("session policy", [identity.session_policy]))
    return sets


def _combine(sets: PolicySets, action: str, resource: str, context: Mapping[str, Any]) -> tuple[Decision, str]:
    verdicts = [(label, evaluate(documents, action, resource, context)) for label, documents in sets]
    for label, verdict in verdicts:
        if verdict == "Deny":
            return "Deny", f"ExplicitDeny by {label}"
    for label, verdict in verdicts:
        if verdict != "Allow":
            return "ImplicitDeny", f"ImplicitDeny: no {label} allow"
    return "Allow", ""


def decide(world: "World", identity: "Identity", action: str, resource: str, req: Any = None,
           extra_context: Mapping[str, Any] | None = None) -> Decision:
    """The decision for one resource, without raising (root is always allowed)."""
    if identity.kind == "root":
        return "Allow"
    context = request_context(world, req, extra_context)
    return _combine(policy_sets(world, identity, context), action, resource, context)[0]


def authorize(world: "World", identity: "Identity", action: str, resources: list[str], req: Any = None,
              extra_context: Mapping[str, Any] | None = None) -> None:
    """Raise ``NoPermission`` unless ``identity`` may perform ``action`` on every resource."""
    if identity.kind == "root":
        return
    context = request_context(world, req, extra_context)
    sets = policy_sets(world, identity, context)
    for resource in resources or ["*"]:
        verdict, reason = _combine(sets, action, resource, context)
        if verdict != "Allow":
            raise no_permission(action, resource, reason)
