"""Attachments scoped to a resource group, which RAM's ListPoliciesFor* never show, used to hide access.

An attacker with ``ram:AttachPolicyToRole`` (or the user and group variants)
passes ``ResourceGroupId``: the attachment is real (RAM-RG-AUTH) but no
listing names it (RAM-RG-LIST), so whatever decides from a listing alone
misses it. The event names the resource group; the detach is the check.
"""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from alibabacloud_ram20150501 import models as ram_models

from emulator.services.ram import ram_state
from tests.security.conftest import Arena, decisions, swept

RG = "rg-aek2mallory"
READ = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}
ADMIN = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def scoped(arena: Arena, kind: str, name: str) -> list[tuple[str, str, str | None]]:
    """Every attachment of a role or user, with its resource group (None: account-wide)."""
    ram = ram_state(arena.emulator.world.accounts[arena.owner.account_id])
    entity = next(e for e in {"role": ram.roles, "user": ram.users}[kind].values() if e.name == name)
    return sorted((a.policy_type, a.policy_name, a.resource_group_id) for a in entity.attached)


def attach_in_group(arena: Arena, role: str, policy: str, kind: str = "System") -> dict[str, Any]:
    request = ram_models.AttachPolicyToRoleRequest(role_name=role, policy_type=kind, policy_name=policy,
                                                   resource_group_id=RG)
    return arena.capture(lambda: arena.ram(arena.mallory).attach_policy_to_role(request), "AttachPolicyToRole")


def test_a_high_risk_policy_attached_to_a_role_within_a_resource_group_is_detached(arena: Arena) -> None:
    role = arena.plain_role("AppRole", ("AliyunOSSReadOnlyAccess",))
    event = attach_in_group(arena, role, "AdministratorAccess")
    assert event["data"]["requestParameters"]["ResourceGroupId"] == RG

    reply = arena.remediate(event)

    [decision] = decisions(reply, "high-risk-policy")
    assert decision["outcome"] == "remediated" and decision["details"]["resource_group_id"] == RG
    assert scoped(arena, "role", role) == [("System", "AliyunOSSReadOnlyAccess", None)]
    again = arena.remediate(event)
    assert [d["outcome"] for d in decisions(again, "high-risk-policy")] == ["already_compliant"]


def test_a_high_risk_policy_attached_to_a_user_within_a_resource_group_is_detached(arena: Arena) -> None:
    arena.ram().create_user(ram_models.CreateUserRequest(user_name="bob"))
    request = ram_models.AttachPolicyToUserRequest(user_name="bob", policy_type="System",
                                                   policy_name="AliyunRAMFullAccess", resource_group_id=RG)
    event = arena.capture(lambda: arena.ram(arena.mallory).attach_policy_to_user(request), "AttachPolicyToUser")

    reply = arena.remediate(event)

    assert [d["outcome"] for d in decisions(reply, "high-risk-policy")] == ["remediated"]
    assert scoped(arena, "user", "bob") == []


def test_a_forged_scoped_attach_event_detaches_nothing_held_account_wide(arena: Arena) -> None:
    """An event naming a resource group whose attachment does not exist leaves the account-wide one alone."""
    role = arena.plain_role("AppRole", ("AliyunOSSReadOnlyAccess",))
    event = attach_in_group(arena, role, "AliyunOSSReadOnlyAccess")
    request = ram_models.DetachPolicyFromRoleRequest(role_name=role, policy_type="System",
                                                     policy_name="AliyunOSSReadOnlyAccess", resource_group_id=RG)
    arena.ram().detach_policy_from_role(request)
    event["data"]["requestParameters"]["PolicyName"] = "AdministratorAccess"
    arena.ram().attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name=role, policy_type="System", policy_name="AdministratorAccess"))
    before = scoped(arena, "role", role)

    reply = arena.remediate(event)

    assert [d["outcome"] for d in decisions(reply, "high-risk-policy")] == ["already_compliant"]
    assert scoped(arena, "role", role) == before


def test_an_extra_policy_attached_to_a_grant_within_a_resource_group_is_detached(arena: Arena) -> None:
    grant = arena.grant()
    event = attach_in_group(arena, grant.role_name, "AliyunOSSFullAccess")

    reply = arena.remediate(event)

    [decision] = decisions(reply)
    assert decision["outcome"] == "remediated", reply
    assert scoped(arena, "role", grant.role_name) == [("System", "AliyunECSReadOnlyAccess", None)]


def test_an_expired_grant_holding_a_hidden_scoped_attachment_gives_no_access(arena: Arena) -> None:
    """The sweep cannot see the extra attachment, so DeleteRole fails: the role must still admit nobody."""
    grant = arena.grant(lifetime=timedelta(seconds=60))
    attach_in_group(arena, grant.role_name, "AliyunOSSFullAccess")
    assert arena.alice_assumes(grant.role_name)
    arena.emulator.advance_clock(600)

    summary = swept(arena.sweep())

    assert not arena.alice_assumes(grant.role_name)
    assert summary["revoked"] == 0 and len(summary["failed"]) == 1, summary
    [failure] = summary["failed"]
    assert failure["role"] == grant.role_name and failure["code"] == "HiddenAttachment"
    assert "admits nobody" in failure["message"]

    arena.ram().detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        role_name=grant.role_name, policy_type="System", policy_name="AliyunOSSFullAccess", resource_group_id=RG))
    again = swept(arena.sweep())
    assert again["revoked"] == 1 and again["failed"] == [] and grant.role_name not in arena.roles()


def test_a_policy_made_high_risk_while_attached_within_a_resource_group_is_not_passed_over(arena: Arena) -> None:
    """A custom policy attached to a role within a resource group gets an admin-equivalent default version.

    ListEntitiesForPolicy names the role, its account-wide listing does not:
    the attachment is within some resource group the event does not name.
    It cannot be detached without that id, so it is reported at level
    critical instead of being taken for "not attached"."""
    role = arena.plain_role("AppRole")
    ram = arena.ram(arena.mallory)
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name="app-read", policy_document=json.dumps(READ)))
    attach_in_group(arena, role, "app-read", "Custom")
    request = ram_models.CreatePolicyVersionRequest(policy_name="app-read", policy_document=json.dumps(ADMIN),
                                                    set_as_default=True)
    event = arena.capture(lambda: ram.create_policy_version(request), "CreatePolicyVersion")

    reply = arena.remediate(event)

    [decision] = decisions(reply, "high-risk-policy")
    assert decision["outcome"] == "reported" and decision["level"] == "critical", decision
    assert "resource group" in decision["reason"]
