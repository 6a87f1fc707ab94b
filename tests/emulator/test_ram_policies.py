"""Emulated RAM policies through the real SDK: custom policies, versions, system catalogue, attachments."""
from __future__ import annotations

import json

from alibabacloud_ram20150501 import models as m

from emulator import EmulatorServer
from emulator.catalogue import SYSTEM_POLICIES
from emulator.services import ram_models
from tests.emulator.helpers import set_quotas
from tests.emulator.ram_support import (DATE, account, allow_doc, assert_fully_read, attach_to_role,  # noqa: F401
                                        cloud_error, make_policy, make_role, pages, ram)


def get_policy(ram, name: str, policy_type: str = "Custom"):
    return ram.get_policy(m.GetPolicyRequest(policy_name=name, policy_type=policy_type)).body


def new_version(ram, name: str, action: str, **fields):
    return ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name=name, policy_document=allow_doc(action),
                                                                  **fields)).body.policy_version


def test_create_and_get_custom_policy(ram) -> None:
    """CreatePolicy returns the `Policy` wrapper; GetPolicy adds the default version's document."""
    created = make_policy(ram, "Ops-Read", allow_doc("ecs:Describe*"), description="ops")
    assert_fully_read(created)
    assert (created.policy.policy_type, created.policy.default_version) == ("Custom", "v1")
    body = get_policy(ram, "ops-read")
    assert_fully_read(body)
    assert body.policy.policy_name == "Ops-Read" and body.policy.attachment_count == 0
    version = body.default_policy_version
    assert (version.version_id, version.is_default_version) == ("v1", True)
    assert json.loads(version.policy_document) == json.loads(allow_doc("ecs:Describe*"))
    assert DATE.match(version.create_date)


def test_custom_policy_rules(ram) -> None:
    """Name format and length, document size and grammar, and uniqueness (also against system names)."""
    with cloud_error("InvalidParameter.PolicyName.Length", 400):
        make_policy(ram, "p" * 129)
    with cloud_error("InvalidParameter.PolicyName.InvalidChars", 400):
        make_policy(ram, "bad.name")
    with cloud_error("InvalidParameter.PolicyDocument.Length", 400):
        make_policy(ram, "big", allow_doc([f"ecs:Action{i:05d}" for i in range(600)]))
    with cloud_error("MalformedPolicyDocument", 400) as info:
        make_policy(ram, "nores", json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:*"}]}))
    assert "Resource" in info.value.message
    with cloud_error("MalformedPolicyDocument", 400):
        make_policy(ram, "princ", json.dumps({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Principal": {"RAM": ["1"]}}]}))
    make_policy(ram, "dup")
    with cloud_error("EntityAlreadyExists.Policy", 409):
        make_policy(ram, "DUP")
    with cloud_error("EntityAlreadyExists.Policy", 409):
        make_policy(ram, "AdministratorAccess")


def test_custom_policy_quota(ram, emulator: EmulatorServer) -> None:
    """Custom policies per account are capped (1500 by default, lowered here)."""
    assert ram_models.DEFAULT_QUOTAS["custom_policies_per_account"] == 1500
    set_quotas(emulator, custom_policies_per_account=1)
    make_policy(ram, "only")
    with cloud_error("LimitExceeded.Policy", 409):
        make_policy(ram, "second")


def test_system_policy_comes_from_the_catalogue(ram) -> None:
    """GetPolicy on a system policy returns the catalogue's document, version and description."""
    body = get_policy(ram, "AliyunFCFullAccess", "System")
    assert_fully_read(body)
    catalogued = SYSTEM_POLICIES["AliyunFCFullAccess"]
    assert body.policy.policy_type == "System" and body.policy.default_version == catalogued.version
    assert json.loads(body.default_policy_version.policy_document) == catalogued.document
    assert body.policy.description == catalogued.description
    with cloud_error("EntityNotExist.Policy", 404):
        get_policy(ram, "AliyunNoSuchAccess", "System")
    with cloud_error("InvalidParameter.PolicyType", 400):
        get_policy(ram, "AliyunFCFullAccess", "Builtin")
    with cloud_error("EntityNotExist.Policy", 404):
        get_policy(ram, "AliyunFCFullAccess", "Custom")


def test_policy_versions_lifecycle(ram) -> None:
    """Versions are numbered on, one is default, and the default cannot be deleted."""
    make_policy(ram, "ver", allow_doc("ecs:DescribeInstances"))
    v2 = new_version(ram, "ver", "ecs:DescribeDisks")
    assert_fully_read(v2)
    assert (v2.version_id, v2.is_default_version) == ("v2", False)
    v3 = new_version(ram, "ver", "ecs:DescribeImages", set_as_default=True)
    assert (v3.version_id, v3.is_default_version) == ("v3", True)
    assert get_policy(ram, "ver").policy.default_version == "v3"
    listed = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_name="ver", policy_type="Custom")).body
    assert_fully_read(listed)
    assert [(v.version_id, v.is_default_version) for v in listed.policy_versions.policy_version] == [
        ("v1", False), ("v2", False), ("v3", True)]
    got = ram.get_policy_version(m.GetPolicyVersionRequest(policy_name="ver", policy_type="Custom",
                                                           version_id="v2")).body
    assert_fully_read(got)
    assert "ecs:DescribeDisks" in got.policy_version.policy_document
    ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name="ver", version_id="v1"))
    assert get_policy(ram, "ver").default_policy_version.version_id == "v1"
    with cloud_error("DeleteConflict.Policy.Version.Default", 409):
        ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="ver", version_id="v1"))
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="ver", version_id="v2"))
    with cloud_error("EntityNotExist.Policy.Version", 404):
        ram.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name="ver", version_id="v2"))
    with cloud_error("InvalidParameter.VersionId.Format", 400):
        ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="ver", version_id="2"))
    assert new_version(ram, "ver", "ecs:DescribeRegions").version_id == "v4"
    with cloud_error("MalformedPolicyDocument", 400):
        ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name="ver", policy_document="{}"))


def test_system_policy_versions_are_read_only_views(ram) -> None:
    """A system policy lists its single current version and GetPolicyVersion returns it."""
    listed = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_name="AliyunRAMReadOnlyAccess",
                                                                  policy_type="System")).body
    assert [v.version_id for v in listed.policy_versions.policy_version] == ["v3"]
    got = ram.get_policy_version(m.GetPolicyVersionRequest(policy_name="AliyunRAMReadOnlyAccess",
                                                           policy_type="System", version_id="v3")).body
    assert json.loads(got.policy_version.policy_document) == SYSTEM_POLICIES["AliyunRAMReadOnlyAccess"].document
    with cloud_error("EntityNotExist.Policy.Version", 404):
        ram.get_policy_version(m.GetPolicyVersionRequest(policy_name="AliyunRAMReadOnlyAccess",
                                                         policy_type="System", version_id="v1"))


def test_version_limit_and_rotation(ram) -> None:
    """Five versions at most: a sixth fails unless rotation drops the oldest non-default version."""
    make_policy(ram, "rot", allow_doc("ecs:A1"))
    for i in range(2, 6):
        new_version(ram, "rot", f"ecs:A{i}")
    with cloud_error("LimitExceeded.Policy.Version", 409):
        new_version(ram, "rot", "ecs:A6")
    with cloud_error("InvalidParameter.RotateStrategy", 400):
        new_version(ram, "rot", "ecs:A6", rotate_strategy="Sometimes")
    rotated = new_version(ram, "rot", "ecs:A6", rotate_strategy="DeleteOldestNonDefaultVersionWhenLimitExceeded")
    assert rotated.version_id == "v6"
    listed = ram.list_policy_versions(m.ListPolicyVersionsRequest(policy_name="rot", policy_type="Custom")).body
    assert [v.version_id for v in listed.policy_versions.policy_version] == ["v1", "v3", "v4", "v5", "v6"]


def test_delete_policy_conflicts_and_cascade(ram) -> None:
    """A policy attached anywhere or with extra versions cannot be deleted, unless CascadingDelete is set."""
    make_policy(ram, "del")
    make_role(ram, "holder")
    attach_to_role(ram, "holder", "del", "Custom")
    with cloud_error("DeleteConflict.Policy.Role", 409):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="del"))
    ram.create_user(m.CreateUserRequest(user_name="alice"))
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="alice", policy_name="del", policy_type="Custom"))
    with cloud_error("DeleteConflict.Policy.User", 409):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="del"))
    ram.delete_policy(m.DeletePolicyRequest(policy_name="del", cascading_delete=True))
    assert ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="holder")).body.policies.policy == []
    with cloud_error("EntityNotExist.Policy", 404):
        get_policy(ram, "del")

    make_policy(ram, "versions")
    new_version(ram, "versions", "ecs:B")
    with cloud_error("DeleteConflict.Policy.Version", 409):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="versions"))
    ram.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="versions", version_id="v2"))
    ram.delete_policy(m.DeletePolicyRequest(policy_name="versions"))
    with cloud_error("EntityNotExist.Policy", 404):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="versions"))


def test_list_policies_pages_and_filters(ram) -> None:
    """ListPolicies covers system and custom policies across pages, filters on type and tags."""
    for name in ("c-one", "c-two", "c-three"):
        make_policy(ram, name, tag=[m.CreatePolicyRequestTag(key="owner", value=name)])
    bodies = pages(lambda marker: ram.list_policies(m.ListPoliciesRequest(max_items=7, marker=marker)).body)
    rows = [row for body in bodies for row in body.policies.policy]
    for row in rows:
        assert_fully_read(row)
    seen = [(p.policy_type, p.policy_name) for p in rows]
    assert len(seen) == len(set(seen)) == len(SYSTEM_POLICIES) + 3
    custom = ram.list_policies(m.ListPoliciesRequest(policy_type="Custom")).body.policies.policy
    assert sorted(p.policy_name for p in custom) == ["c-one", "c-three", "c-two"]
    assert custom[0].tags.tag[0].tag_key == "owner"
    system = ram.list_policies(m.ListPoliciesRequest(policy_type="System", max_items=1000)).body
    assert {p.policy_name for p in system.policies.policy} == set(SYSTEM_POLICIES) and not system.is_truncated
    tagged = ram.list_policies(m.ListPoliciesRequest(tag=[m.ListPoliciesRequestTag(key="owner", value="c-two")]))
    assert [p.policy_name for p in tagged.body.policies.policy] == ["c-two"]
    with cloud_error("InvalidParameter.PolicyType", 400):
        ram.list_policies(m.ListPoliciesRequest(policy_type="Other"))


def test_attach_policy_to_role_errors(ram) -> None:
    """Attach checks the type, the role, the policy and duplicates; detach of a missing attachment is 404."""
    make_role(ram, "r")
    make_policy(ram, "mine")
    attach_to_role(ram, "r", "AliyunECSFullAccess")
    attach_to_role(ram, "r", "mine", "Custom")
    with cloud_error("InvalidParameter.PolicyType", 400):
        attach_to_role(ram, "r", "mine", "custom")
    with cloud_error("EntityNotExist.Role", 404):
        attach_to_role(ram, "ghost", "AliyunECSFullAccess")
    with cloud_error("EntityNotExist.Policy", 404):
        attach_to_role(ram, "r", "AliyunNothing")
    with cloud_error("EntityNotExist.Policy", 404):
        attach_to_role(ram, "r", "AliyunECSFullAccess", "Custom")
    with cloud_error("EntityAlreadyExists.Role.Policy", 409):
        attach_to_role(ram, "r", "aliyunecsfullaccess")
    attach_to_role(ram, "r", "AliyunECSFullAccess", resource_group_id="rg-123")
    detach = m.DetachPolicyFromRoleRequest(role_name="r", policy_name="AliyunVPCFullAccess", policy_type="System")
    with cloud_error("EntityNotExist.Role.Policy", 404):
        ram.detach_policy_from_role(detach)
    rows = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="r")).body.policies.policy
    assert [(p.policy_type, p.policy_name) for p in rows] == [("System", "AliyunECSFullAccess"), ("Custom", "mine")]


def test_per_role_policy_limits(ram, emulator: EmulatorServer) -> None:
    """A role holds at most 20 system and 10 custom policies (lowered here), counted separately."""
    assert (ram_models.SYSTEM_POLICIES_PER_ENTITY, ram_models.CUSTOM_POLICIES_PER_ENTITY) == (20, 10)
    set_quotas(emulator, system_policies_per_entity=2, custom_policies_per_entity=1)
    make_role(ram, "full")
    make_policy(ram, "c1")
    make_policy(ram, "c2")
    attach_to_role(ram, "full", "AliyunECSFullAccess")
    attach_to_role(ram, "full", "AliyunVPCFullAccess")
    with cloud_error("LimitExceeded.Role.Policy", 409):
        attach_to_role(ram, "full", "AliyunEIPFullAccess")
    attach_to_role(ram, "full", "c1", "Custom")
    with cloud_error("LimitExceeded.Role.Policy", 409):
        attach_to_role(ram, "full", "c2", "Custom")


def test_list_entities_for_policy(ram) -> None:
    """ListEntitiesForPolicy names every user and role holding the policy, with attach dates."""
    make_role(ram, "ops-role", description="ops")
    ram.create_user(m.CreateUserRequest(user_name="bob", display_name="Bob"))
    attach_to_role(ram, "ops-role", "AliyunOSSReadOnlyAccess")
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="bob", policy_name="AliyunOSSReadOnlyAccess",
                                                          policy_type="System"))
    body = ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name="AliyunOSSReadOnlyAccess",
                                                                       policy_type="System")).body
    assert_fully_read(body)
    assert [u.user_name for u in body.users.user] == ["bob"]
    assert [(r.role_name, r.description) for r in body.roles.role] == [("ops-role", "ops")]
    assert body.groups.group == []
    assert get_policy(ram, "AliyunOSSReadOnlyAccess", "System").policy.attachment_count == 2
    with cloud_error("EntityNotExist.Policy", 404):
        ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name="nope", policy_type="Custom"))
