"""Direct RAM calls a function's identity might try, on Rolegate's namespace and outside it.

Where :mod:`tests.deploy.behaviours` shows what each function is there to do,
these probes ask what it could do if its code went wrong or a forged record
steered it: each is one RAM call, made with the function's own key through the
SDK, on a target of a given name. :func:`set_up` makes the targets in the
function's home account with the root key:

- inside the namespace: the role ``rolegate-probe`` and the custom policy
  ``rolegate-g-aaaaaaaaaaaa-p0`` (names a grant would have);
- outside it: the role and custom policy ``OpsAdmin``/``ops-policy`` that an
  operator made, and ``fc-rolegate-<fn>``, the names of the function's own
  role and policy (``deploy/roles.sh``); the user ``ops-user`` and the group
  ``ops-group``.

Every role and holder has a system policy attached, every custom policy a
second, default version, so each call is one RAM would accept from the root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from alibabacloud_ram20150501 import models as m

from tests.emulator.helpers import account_trust

INSIDE_ROLE = "rolegate-probe"
INSIDE_POLICY = "rolegate-g-aaaaaaaaaaaa-p0"
HELD = "AliyunECSReadOnlyAccess"
OTHER = "AliyunOSSReadOnlyAccess"
READ = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}
LIST = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:ListObjects", "Resource": "*"}]}


def outside_roles(function: str) -> tuple[str, ...]:
    return ("OpsAdmin", f"fc-rolegate-{function}")


def outside_policies(function: str) -> tuple[str, ...]:
    return ("ops-policy", f"fc-rolegate-{function}")


@dataclass(frozen=True)
class Probe:
    """One RAM action, tried on a role, policy, user or group named at call time."""

    action: str
    target: str  # "role", "policy", "user" or "group"
    call: Callable[[Any, str], Any]

    def __str__(self) -> str:
        return self.action


def _trust() -> str:
    return account_trust("1111222233334444")


PROBES: tuple[Probe, ...] = (
    Probe("ram:CreateRole", "role", lambda ram, name: ram.create_role(m.CreateRoleRequest(
        role_name=f"{name}-new", assume_role_policy_document=_trust()))),
    Probe("ram:UpdateRole", "role", lambda ram, name: ram.update_role(m.UpdateRoleRequest(
        role_name=name, new_assume_role_policy_document=_trust()))),
    Probe("ram:AttachPolicyToRole", "role", lambda ram, name: ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(
        role_name=name, policy_type="System", policy_name=OTHER))),
    Probe("ram:DetachPolicyFromRole", "role", lambda ram, name: ram.detach_policy_from_role(
        m.DetachPolicyFromRoleRequest(role_name=name, policy_type="System", policy_name=HELD))),
    Probe("ram:DeleteRole", "role", lambda ram, name: ram.delete_role(m.DeleteRoleRequest(role_name=name))),
    Probe("ram:CreatePolicy", "policy", lambda ram, name: ram.create_policy(m.CreatePolicyRequest(
        policy_name=f"{name}-new", policy_document=json.dumps(READ)))),
    Probe("ram:CreatePolicyVersion", "policy", lambda ram, name: ram.create_policy_version(
        m.CreatePolicyVersionRequest(policy_name=name, policy_document=json.dumps(READ)))),
    Probe("ram:SetDefaultPolicyVersion", "policy", lambda ram, name: ram.set_default_policy_version(
        m.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v1"))),
    Probe("ram:DeletePolicyVersion", "policy", lambda ram, name: ram.delete_policy_version(
        m.DeletePolicyVersionRequest(policy_name=name, version_id="v1"))),
    Probe("ram:DeletePolicy", "policy", lambda ram, name: ram.delete_policy(m.DeletePolicyRequest(
        policy_name=name, cascading_delete=True))),
    Probe("ram:AttachPolicyToUser", "user", lambda ram, name: ram.attach_policy_to_user(m.AttachPolicyToUserRequest(
        user_name=name, policy_type="System", policy_name=OTHER))),
    Probe("ram:DeleteUser", "user", lambda ram, name: ram.delete_user(m.DeleteUserRequest(user_name=name))),
    Probe("ram:AttachPolicyToGroup", "group", lambda ram, name: ram.attach_policy_to_group(
        m.AttachPolicyToGroupRequest(group_name=name, policy_type="System", policy_name=OTHER))),
    Probe("ram:DeleteGroup", "group", lambda ram, name: ram.delete_group(m.DeleteGroupRequest(group_name=name))),
)


def set_up(root: Any, home_account: str, function: str) -> None:
    """The targets, made with the home account's root client ``root``."""
    for role in (INSIDE_ROLE, *outside_roles(function)):
        root.create_role(m.CreateRoleRequest(role_name=role, assume_role_policy_document=account_trust(home_account)))
        root.attach_policy_to_role(m.AttachPolicyToRoleRequest(role_name=role, policy_type="System", policy_name=HELD))
    for policy in (INSIDE_POLICY, *outside_policies(function)):
        root.create_policy(m.CreatePolicyRequest(policy_name=policy, policy_document=json.dumps(READ)))
        root.create_policy_version(m.CreatePolicyVersionRequest(policy_name=policy, policy_document=json.dumps(LIST),
                                                                set_as_default=True))
    root.create_user(m.CreateUserRequest(user_name="ops-user"))
    root.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="ops-user", policy_type="System",
                                                           policy_name=HELD))
    root.create_group(m.CreateGroupRequest(group_name="ops-group"))
    root.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name="ops-group", policy_type="System",
                                                             policy_name=HELD))


def outside(probe: Probe, function: str) -> tuple[str, ...]:
    """The names outside the namespace a probe is tried on."""
    return {"role": outside_roles(function), "policy": outside_policies(function), "user": ("ops-user",),
            "group": ("ops-group",)}[probe.target]


def inside(probe: Probe) -> str | None:
    """The name inside the namespace a probe is tried on (users and groups have no namespace)."""
    return {"role": INSIDE_ROLE, "policy": INSIDE_POLICY}.get(probe.target)


def attempt(probe: Probe, client: Any, name: str) -> str:
    """``ok``, or the error code the call got."""
    try:
        probe.call(client, name)
    except Exception as exc:  # the SDK's ClientException: the refusal is the result
        return str(getattr(exc, "code", type(exc).__name__))
    return "ok"
