"""No function may change anything outside Rolegate's namespace but what a guardrail statement says it must.

The namespace is ``role/rolegate-*`` and ``policy/rolegate-*``: the grants'
roles and custom policies. The functions' own roles and policies
(``fc-rolegate-<fn>``, ``deploy/roles.sh``) and everything an operator made lie
outside it. Three proofs, each over every ``deploy/policies/<fn>.json``:

1. Reading the documents: every permission that changes something names a role
   or custom policy of the namespace, except in statements whose ``Sid`` reads
   ``Guardrail...Anywhere``; those hold no create or delete, and each of their
   actions has a behaviour that needs it outside the namespace. The tag actions
   are the exception RAM imposes: they have no resource-level permission
   (docs/fidelity.md), so they are on ``*`` in a statement that says so.
2. Through the emulator: the function's identity, holding its policy, calls
   RAM directly (:mod:`tests.deploy.probes`) and is refused every change of a
   role, policy, user or group outside the namespace, the guardrail actions
   excepted, while the changes it holds succeed inside the namespace, so the
   refusals come from the confinement and not from the probes.
3. Guardrails need their reach: narrowing a guardrail statement to the
   namespace breaks the behaviour that needs it, with ``NoPermission``.

Rolegate's own roles and policies (``fc-rolegate-*``) are the one other place
a change may reach, only in statements whose ``Sid`` starts with
``GuardRolegateOwnRoles`` (remediation's self-guard putting a function role's
own policy back): nothing else, no create, delete or policy-document change,
each action needed there (proof 3 again). Proof 2 expects such an action to
succeed on the function's own role: RAM authorizes the role and the policy of
an attach separately, so the probe's system policy, allowed for grants, may be
attached there too (``deploy/README.md``, known limits).
"""
from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from emulator import EmulatorServer
from tests.deploy.behaviours import GUARDRAILS, OWN_ROLES, Cell
from tests.deploy.probes import PROBES, attempt, inside, outside, set_up
from tests.functions.conftest import function_policy as policy

FUNCTIONS = ("onboard", "revoke", "query", "remediate")
NAMESPACE_ROLES = "acs:ram:*:*:role/rolegate-*"
NAMESPACE_POLICIES = "acs:ram:*:*:policy/rolegate-*"
OWN_ROLES_ARN = "acs:ram:*:*:role/fc-rolegate-*"
OWN_POLICIES_ARN = "acs:ram:*:*:policy/fc-rolegate-*"
OWN_SID = "GuardRolegateOwnRoles"
TAG_ACTIONS = frozenset({"ram:TagResources", "ram:UntagResources"})
TAG_SID = "TagsWithoutResourceLevelPermissionInRam"
POLICY_CHANGES = frozenset({"ram:CreatePolicy", "ram:DeletePolicy", "ram:CreatePolicyVersion",
                            "ram:DeletePolicyVersion", "ram:SetDefaultPolicyVersion"})
_CHANGES = re.compile(r"^(ram|ecs):(Create|Delete|Update|Attach|Detach|Set|Tag|Untag|Add|Remove|Change|Bind|Unbind"
                      r"|Put|Reset|Pass|Modify|Replace)")
_HOLDER = re.compile(r"^acs:ram:[^:]*:[^:]*:(role|user|group)/")
_POLICY = re.compile(r"^acs:ram:[^:]*:[^:]*:policy/")


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def is_guardrail(statement: dict[str, Any]) -> bool:
    sid = statement.get("Sid", "")
    return sid.startswith("Guardrail") and sid.endswith("Anywhere")


def guards_own_roles(statement: dict[str, Any]) -> bool:
    return statement.get("Sid", "").startswith(OWN_SID)


def own_role_actions(function: str) -> set[str]:
    return {a for _, s in allows(function) if guards_own_roles(s) for a in _as_list(s["Action"])}


def allows(function: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, s) for i, s in enumerate(policy(function)["Statement"]) if s["Effect"] == "Allow"]


def held(function: str) -> set[str]:
    return {a for _, s in allows(function) for a in _as_list(s["Action"])}


def _judge(function: str, statement: dict[str, Any]) -> list[str]:
    """What is wrong with one Allow statement, by the rules of proof 1."""
    sid = statement.get("Sid", "(no Sid)")
    changes = [a for a in _as_list(statement["Action"]) if _CHANGES.match(a)]
    resources = _as_list(statement["Resource"])
    if not changes:
        return []
    where = f"{function} {sid}"
    if set(changes) & TAG_ACTIONS:
        ok = set(changes) <= TAG_ACTIONS and resources == ["*"] and sid == TAG_SID
        return [] if ok else [f"{where}: tag actions belong alone, on *, in a statement named {TAG_SID}"]
    if guards_own_roles(statement):
        problems = [f"{where}: {r} is not Rolegate's own roles or policies" for r in resources
                    if r not in (OWN_ROLES_ARN, OWN_POLICIES_ARN)]
        problems += [f"{where}: {a} on Rolegate's own roles or policies" for a in changes
                     if a.split(":", 1)[1].startswith(("Create", "Delete")) or a in POLICY_CHANGES]
        problems += [f"{where}: {a} has no behaviour in OWN_ROLES needing it there" for a in changes
                     if a not in OWN_ROLES.get(function, {})]
        return problems
    problems = [f"{where}: {', '.join(changes)} on *"] if "*" in resources else []
    reach = [r for r in resources if _HOLDER.match(r) and r != NAMESPACE_ROLES]
    if reach and not is_guardrail(statement):
        problems.append(f"{where}: {', '.join(reach)} lies outside the namespace, and the Sid does not say so")
    if set(changes) & POLICY_CHANGES:
        problems += [f"{where}: {r} lies outside the namespace" for r in resources
                     if _POLICY.match(r) and r != NAMESPACE_POLICIES]
    if is_guardrail(statement):
        if not reach:
            problems.append(f"{where}: named a guardrail, but reaches nothing outside the namespace")
        problems += [f"{where}: {a} outside the namespace" for a in changes
                     if a.split(":", 1)[1].startswith(("Create", "Delete"))]
        problems += [f"{where}: {a} has no behaviour in GUARDRAILS needing it outside the namespace"
                     for a in changes if a not in GUARDRAILS.get(function, {})]
    return problems


def test_changes_are_confined_to_the_namespace_in_every_policy_document() -> None:
    """Proof 1: every permission that changes something stays in the namespace, or its Sid says why not."""
    problems = [p for f in FUNCTIONS for _, s in allows(f) for p in _judge(f, s)]
    assert problems == []
    assert {f for f in FUNCTIONS for _, s in allows(f) if is_guardrail(s)} == set(GUARDRAILS) == {"remediate"}


def test_the_rules_of_confinement_catch_what_they_should() -> None:
    """The judge of proof 1 refuses the shapes it is there to refuse."""
    def statement(sid: str, action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}

    assert _judge("revoke", statement("Wide", "ram:DeleteRole", "acs:ram:*:*:role/*"))
    assert _judge("revoke", statement("Star", "ram:DetachPolicyFromRole", "*"))
    assert _judge("revoke", statement("Wide", "ram:DeletePolicy", "acs:ram:*:*:policy/*"))
    assert _judge("onboard", statement(TAG_SID, ["ram:TagResources", "ram:DeleteRole"], "*"))
    assert _judge("onboard", statement("Tags", "ram:TagResources", "*"))
    assert _judge("remediate", statement("GuardrailDeleteAnywhere", "ram:DeleteRole", "acs:ram:*:*:role/*"))
    assert _judge("remediate", statement("GuardrailAttachAnywhere", "ram:AttachPolicyToRole", "acs:ram:*:*:role/*"))
    assert _judge("remediate", statement("GuardrailUpdateAnywhere", "ram:UpdateRole", NAMESPACE_ROLES))
    assert _judge("remediate", statement(f"{OWN_SID}Wide", "ram:AttachPolicyToRole", "acs:ram:*:*:role/*"))
    assert _judge("remediate", statement(f"{OWN_SID}Delete", "ram:DeleteRole", OWN_ROLES_ARN))
    assert _judge("remediate", statement(f"{OWN_SID}Rewrite", "ram:CreatePolicyVersion", OWN_POLICIES_ARN))
    assert _judge("remediate", statement(f"{OWN_SID}Unneeded", "ram:UpdateRole", OWN_ROLES_ARN))
    assert _judge("remediate", statement("Unnamed", "ram:AttachPolicyToRole", OWN_ROLES_ARN))
    assert not _judge("remediate", statement(f"{OWN_SID}Reattach", "ram:AttachPolicyToRole",
                                             [OWN_ROLES_ARN, OWN_POLICIES_ARN]))
    assert not _judge("revoke", statement("Mine", ["ram:DeleteRole", "ram:GetRole"], NAMESPACE_ROLES))
    assert not _judge("remediate", statement("GuardrailQuarantineAnywhere", "ram:UpdateRole", "acs:ram:*:*:role/*"))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_identity_of_a_function_is_refused_outside_the_namespace(function: str, emulator: EmulatorServer,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof 2: with its deployed policy the function changes nothing outside the namespace (no delete at all,
    not its own role or policy), guardrail actions excepted; what it holds works inside the namespace."""
    cell = Cell(emulator, monkeypatch, function).deploy(policy(function))
    set_up(cell.ram(cell.home), cell.home["account_id"], function)
    client = cell.ram(cell.identity)
    reach, holds, own = set(GUARDRAILS.get(function, {})), held(function), own_role_actions(function)
    assert not {a for a in reach if a.split(":", 1)[1].startswith(("Create", "Delete"))}
    wrong = []
    for probe in PROBES:
        for name in outside(probe, function):
            got = attempt(probe, client, name)
            expected = probe.action in reach or (probe.action in own and name.startswith("fc-rolegate-"))
            if (got == "NoPermission") == expected:
                wrong.append(f"{probe} on {name} (outside): {got}")
        name = inside(probe)
        if name is not None:
            got = attempt(probe, client, name)
            if (got == "NoPermission") == (probe.action in holds):
                wrong.append(f"{probe} on {name} (inside): {got}")
    assert wrong == []


def _narrowed(resources: list[str]) -> list[str]:
    """A guardrail's resources cut back to the namespace: roles to rolegate-*, no user or group at all (a statement
    left naming nothing names the namespace's roles: RAM refuses an empty Resource)."""
    out = []
    for resource in resources:
        match = _HOLDER.match(resource)
        if match is None:
            out.append(resource)
        elif match.group(1) == "role":
            out.append(NAMESPACE_ROLES)
    return out or [NAMESPACE_ROLES]


def guardrail_cases() -> list[tuple[str, int, str]]:
    return [(f, i, a) for f in FUNCTIONS for i, s in allows(f) if is_guardrail(s) for a in _as_list(s["Action"])]


@pytest.mark.parametrize("function,statement,action", guardrail_cases(),
                         ids=[f"{f}-{policy(f)['Statement'][i]['Sid']}-{a}" for f, i, a in guardrail_cases()])
def test_every_guardrail_needs_to_reach_outside_the_namespace(function: str, statement: int, action: str,
                                                              emulator: EmulatorServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof 3: the guardrail behaviour works with the policy as deployed and fails with NoPermission once the
    statement is narrowed to the namespace."""
    behaviour = GUARDRAILS[function][action]
    full = behaviour(Cell(emulator, monkeypatch, function).deploy(policy(function)))
    assert full.ok and not full.denied, f"{behaviour.__name__} should succeed ({full.what}): {full.text}"
    document = copy.deepcopy(policy(function))
    document["Statement"][statement]["Resource"] = _narrowed(_as_list(document["Statement"][statement]["Resource"]))
    narrowed = behaviour(Cell(emulator, monkeypatch, function).deploy(document))
    assert not narrowed.ok and narrowed.denied, f"narrowed to the namespace, {behaviour.__name__}: {narrowed.text}"


def own_role_cases() -> list[tuple[str, int, str]]:
    return [(f, i, a) for f in FUNCTIONS for i, s in allows(f) if guards_own_roles(s) for a in _as_list(s["Action"])]


@pytest.mark.parametrize("function,statement,action", own_role_cases(),
                         ids=[f"{f}-{policy(f)['Statement'][i]['Sid']}-{a}" for f, i, a in own_role_cases()])
def test_every_own_role_statement_needs_rolegates_own_roles(function: str, statement: int, action: str,
                                                            emulator: EmulatorServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Proof 3 for Rolegate's own roles: the behaviour works as deployed and fails with NoPermission once the
    statement is moved onto the grants' namespace."""
    behaviour = OWN_ROLES[function][action]
    full = behaviour(Cell(emulator, monkeypatch, function).deploy(policy(function)))
    assert full.ok and not full.denied, f"{behaviour.__name__} should succeed ({full.what}): {full.text}"
    document = copy.deepcopy(policy(function))
    document["Statement"][statement]["Resource"] = [NAMESPACE_ROLES, NAMESPACE_POLICIES]
    narrowed = behaviour(Cell(emulator, monkeypatch, function).deploy(document))
    assert not narrowed.ok and narrowed.denied, f"moved to the namespace, {behaviour.__name__}: {narrowed.text}"
