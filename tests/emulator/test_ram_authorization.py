"""Which resource each RAM-related action is authorized on, as the API reference documents it.

docs/cloud-fidelity.md (entries RAM-AUTH-*) lists the documented resource
of every action with its source. Each test gives a RAM user a policy naming
only some resources and checks, through the real SDKs, that the emulator asks
for exactly the documented ones: all of them where an action has several
required resource types, ``*`` where the action has no resource-level
permission.
"""
from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ram20150501 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator import EmulatorServer
from tests.emulator.helpers import (Creds, create_instance, create_user_with_policy, ecs_client, ram_client,
                                    service_trust)
from tests.emulator.ram_support import make_policy, make_role

REGION = "cn-hangzhou"
GRANT_ROLES = "acs:ram:*:*:role/rolegate-*"
GRANT_POLICIES = "acs:ram:*:*:policy/rolegate-*"
SYSTEM_POLICIES = "acs:ram:*:system:policy/*"
_SUBJECTS = itertools.count()


@pytest.fixture
def root(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("authz-owner")


def holding(emulator: EmulatorServer, root: Creds, *statements: dict[str, Any]) -> Any:
    """A RAM client signed by a new user whose only policy is ``statements``."""
    document = {"Version": "1", "Statement": list(statements)}
    name = f"subject-{next(_SUBJECTS)}"
    return ram_client(emulator, create_user_with_policy(emulator, root, name, document))


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def denied(call: Any) -> str:
    """The detail of the NoPermission the call gets (which action on which resource)."""
    with pytest.raises(ClientException) as info:
        call()
    assert (info.value.code, info.value.status_code) == ("NoPermission", 403), info.value.message
    return info.value.message


def test_tag_actions_have_no_resource_level_permission(emulator: EmulatorServer, root: Creds) -> None:
    """ram:TagResources, UntagResources and ListTagResources are authorized on "*" only: a role ARN in the
    policy grants nothing, even for the very role tagged."""
    owner = ram_client(emulator, root)
    make_role(owner, "rolegate-a")
    tag = m.TagResourcesRequest(resource_type="role", resource_names=["rolegate-a"],
                                tag=[m.TagResourcesRequestTag(key="k", value="v")])
    untag = m.UntagResourcesRequest(resource_type="role", resource_names=["rolegate-a"], tag_keys=["k"])
    listing = m.ListTagResourcesRequest(resource_type="role", resource_names=["rolegate-a"])
    actions = ["ram:TagResources", "ram:UntagResources", "ram:ListTagResources"]
    scoped = holding(emulator, root, allow(actions, [GRANT_ROLES, "acs:ram:*:*:role/rolegate-a"]))
    assert "Resource: *" in denied(lambda: scoped.tag_resources(tag))
    denied(lambda: scoped.untag_resources(untag))
    denied(lambda: scoped.list_tag_resources(listing))
    anywhere = holding(emulator, root, allow(actions, "*"))
    anywhere.tag_resources(tag)
    assert [r.tag_key for r in anywhere.list_tag_resources(listing).body.tag_resources] == ["k"]
    anywhere.untag_resources(untag)


@pytest.mark.parametrize("action", ["AttachPolicyToRole", "DetachPolicyFromRole"])
def test_attachments_are_authorized_on_the_role_and_on_the_policy(emulator: EmulatorServer, root: Creds,
                                                                  action: str) -> None:
    """Both the role and the policy (custom or system) must be allowed."""
    owner = ram_client(emulator, root)
    make_role(owner, "rolegate-a")
    make_policy(owner, "rolegate-g-p0")
    if action == "DetachPolicyFromRole":
        for name, kind in (("rolegate-g-p0", "Custom"), ("AliyunECSReadOnlyAccess", "System")):
            owner.attach_policy_to_role(m.AttachPolicyToRoleRequest(role_name="rolegate-a", policy_name=name,
                                                                    policy_type=kind))
    request_model = getattr(m, f"{action}Request")
    call = f"{action[0].lower()}{''.join('_' + c.lower() if c.isupper() else c for c in action[1:])}"

    def send(client: Any, name: str, kind: str) -> Any:
        return getattr(client, call)(request_model(role_name="rolegate-a", policy_name=name, policy_type=kind))

    role_only = holding(emulator, root, allow(f"ram:{action}", GRANT_ROLES))
    assert "policy/rolegate-g-p0" in denied(lambda: send(role_only, "rolegate-g-p0", "Custom"))
    policy_only = holding(emulator, root, allow(f"ram:{action}", [GRANT_POLICIES, SYSTEM_POLICIES]))
    assert "role/rolegate-a" in denied(lambda: send(policy_only, "rolegate-g-p0", "Custom"))
    both = holding(emulator, root, allow(f"ram:{action}", [GRANT_ROLES, GRANT_POLICIES]))
    assert "system:policy/AliyunECSReadOnlyAccess" in denied(lambda: send(both, "AliyunECSReadOnlyAccess",
                                                                          "System"))
    send(both, "rolegate-g-p0", "Custom")


def test_role_actions_are_authorized_on_the_role(emulator: EmulatorServer, root: Creds) -> None:
    """CreateRole, UpdateRole, DeleteRole, GetRole and ListPoliciesForRole name the role itself."""
    owner = ram_client(emulator, root)
    for name in ("rolegate-a", "victim"):
        make_role(owner, name)
    actions = ["ram:CreateRole", "ram:UpdateRole", "ram:DeleteRole", "ram:GetRole", "ram:ListPoliciesForRole"]
    client = holding(emulator, root, allow(actions, GRANT_ROLES))
    trust = service_trust()
    calls = {
        "CreateRole": lambda n: client.create_role(m.CreateRoleRequest(role_name=f"{n}-2",
                                                                       assume_role_policy_document=trust)),
        "UpdateRole": lambda n: client.update_role(m.UpdateRoleRequest(role_name=n, new_description="d")),
        "GetRole": lambda n: client.get_role(m.GetRoleRequest(role_name=n)),
        "ListPoliciesForRole": lambda n: client.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name=n)),
        "DeleteRole": lambda n: client.delete_role(m.DeleteRoleRequest(role_name=n)),
    }
    for action, call in calls.items():
        assert f"ram:{action}" in denied(lambda: call("victim"))
        call("rolegate-a")


def test_listing_needs_every_role_or_every_policy(emulator: EmulatorServer, root: Creds) -> None:
    """ListRoles is authorized on role/*, ListPolicies on policy/*: a narrower pattern does not list."""
    narrow = holding(emulator, root, allow(["ram:ListRoles", "ram:ListPolicies"], [GRANT_ROLES, GRANT_POLICIES]))
    assert "role/*" in denied(lambda: narrow.list_roles(m.ListRolesRequest()))
    assert "policy/*" in denied(lambda: narrow.list_policies(m.ListPoliciesRequest()))
    wide = holding(emulator, root, allow(["ram:ListRoles", "ram:ListPolicies"],
                                         ["acs:ram:*:*:role/*", "acs:ram:*:*:policy/*"]))
    wide.list_roles(m.ListRolesRequest())
    wide.list_policies(m.ListPoliciesRequest())


def test_policy_actions_are_authorized_on_the_policy(emulator: EmulatorServer, root: Creds) -> None:
    """CreatePolicy, DeletePolicy, DeletePolicyVersion and SetDefaultPolicyVersion name the policy."""
    owner = ram_client(emulator, root)
    for name in ("rolegate-g-p0", "victim-policy"):
        make_policy(owner, name)
        owner.create_policy_version(m.CreatePolicyVersionRequest(policy_name=name, policy_document=json.dumps(
            {"Version": "1", "Statement": [allow("oss:GetObject", "*")]})))
    actions = ["ram:CreatePolicy", "ram:SetDefaultPolicyVersion", "ram:DeletePolicyVersion", "ram:DeletePolicy"]
    client = holding(emulator, root, allow(actions, GRANT_POLICIES))
    document = json.dumps({"Version": "1", "Statement": [allow("oss:GetObject", "*")]})
    calls = {
        "CreatePolicy": lambda n: client.create_policy(m.CreatePolicyRequest(policy_name=f"{n}-2",
                                                                             policy_document=document)),
        "SetDefaultPolicyVersion": lambda n: client.set_default_policy_version(
            m.SetDefaultPolicyVersionRequest(policy_name=n, version_id="v2")),
        "DeletePolicyVersion": lambda n: client.delete_policy_version(
            m.DeletePolicyVersionRequest(policy_name=n, version_id="v1")),
        "DeletePolicy": lambda n: client.delete_policy(m.DeletePolicyRequest(policy_name=n)),
    }
    for action, call in calls.items():
        assert f"ram:{action}" in denied(lambda: call("victim-policy"))
        call("rolegate-g-p0")


def test_instance_role_actions_are_authorized_on_the_instance_and_the_role(emulator: EmulatorServer,
                                                                          root: Creds) -> None:
    """ecs:AttachInstanceRamRole and ecs:DetachInstanceRamRole need the instance and the RAM role
    (acs:ram:<region>:<account>:role/<name>); a detach naming no role needs the role the instance holds."""
    owner = ram_client(emulator, root)
    make_role(owner, "EcsWorker", assume_role_policy_document=service_trust())
    instance = create_instance(emulator, root["account_id"])
    ids = json.dumps([instance])
    instances = f"acs:ecs:*:{root['account_id']}:instance/*"
    role = f"acs:ram:{REGION}:{root['account_id']}:role/ecsworker"
    actions = ["ecs:AttachInstanceRamRole", "ecs:DetachInstanceRamRole"]
    pass_role = {**allow("ram:PassRole", "*"), "Condition": {"StringEquals": {"acs:Service": "ecs.aliyuncs.com"}}}
    instance_only = create_user_with_policy(emulator, root, "instance-only", {"Version": "1", "Statement": [
        allow(actions, instances), pass_role]})
    both = create_user_with_policy(emulator, root, "both", {"Version": "1", "Statement": [
        allow(actions, [instances, role]), pass_role]})
    attach = ecs.AttachInstanceRamRoleRequest(region_id=REGION, ram_role_name="EcsWorker", instance_ids=ids)
    assert "role/ecsworker" in denied(lambda: ecs_client(emulator, instance_only).attach_instance_ram_role(attach))
    ecs_client(emulator, both).attach_instance_ram_role(attach)
    unnamed = ecs.DetachInstanceRamRoleRequest(region_id=REGION, instance_ids=ids)
    assert "role/ecsworker" in denied(lambda: ecs_client(emulator, instance_only).detach_instance_ram_role(unnamed))
    named = ecs.DetachInstanceRamRoleRequest(region_id=REGION, instance_ids=ids, ram_role_name="EcsWorker")
    denied(lambda: ecs_client(emulator, instance_only).detach_instance_ram_role(named))
    assert ecs_client(emulator, both).detach_instance_ram_role(unnamed).body.fail_count == 0
