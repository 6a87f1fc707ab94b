"""The RAM emulator's grammar, system catalogue, quotas setting and the state interface other services use."""
from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as m

from emulator import EmulatorServer
from emulator.catalogue import SYSTEM_POLICIES, system_policy
from emulator.errors import CloudError
from emulator.policy_grammar import validate_permission_policy, validate_trust_policy
from emulator.services.ram import AttachedPolicy, policy_document, ram_state
from tests.emulator.helpers import ram_client
from tests.emulator.ram_support import (PARTNER, account, allow_doc, attach_to_role, cloud_error,  # noqa: F401
                                        make_policy, make_role, ram, trust_doc)

REQUIRED_SYSTEM_POLICIES = (
    "AliyunFCReadOnlyAccess", "AliyunFCFullAccess", "AliyunFCInvocationAccess", "AliyunARMSReadOnlyAccess",
    "AliyunARMSFullAccess", "AliyunSTSAssumeRoleAccess", "AliyunECSFullAccess", "AliyunECSReadOnlyAccess",
    "AliyunVPCFullAccess", "AliyunEIPFullAccess", "AliyunOSSReadOnlyAccess", "AliyunOSSFullAccess",
    "AliyunRAMFullAccess", "AliyunRAMReadOnlyAccess", "AdministratorAccess", "ReadOnlyAccess",
    "AliyunLogFullAccess", "AliyunActionTrailFullAccess",
)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def malformed_because(check: Any, text: str) -> str:
    with pytest.raises(CloudError) as info:
        check(text)
    assert (info.value.code, info.value.status) == ("MalformedPolicyDocument", 400)
    return info.value.message


# ---------------------------------------------------------------- grammar
def test_permission_policy_grammar_accepts_the_documented_forms() -> None:
    """Strings or lists for Action/Resource, Not* forms, conditions with set/IfExists operators, one Statement."""
    text = doc({"Effect": "Deny", "NotAction": ["ram:*", "sts:Get*"], "NotResource": "acs:ram:*:*:role/x"},
               {"Effect": "Allow", "Action": "*", "Resource": ["*"],
                "Condition": {"ForAnyValue:StringLike": {"acs:SourceIp": ["10.*"]},
                              "BoolIfExists": {"acs:MFAPresent": True}}})
    assert validate_permission_policy(text)["Statement"][0]["Effect"] == "Deny"
    single = json.dumps({"Version": "1", "Statement": {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}})
    assert validate_permission_policy(single)["Statement"]["Action"] == "ecs:*"


@pytest.mark.parametrize(("text", "named"), [
    ("[1]", "JSON object"),
    (json.dumps({"Version": 1, "Statement": []}), "Version"),
    (json.dumps({"Version": "1", "Statement": []}), "Statement"),
    (json.dumps({"Version": "1", "Statement": [], "Id": "x"}), "Id"),
    (doc({"Effect": "Maybe", "Action": "ecs:*", "Resource": "*"}), "Effect"),
    (doc({"Effect": "Allow", "Action": "ecs:*", "NotAction": "x:y", "Resource": "*"}), "Action or NotAction"),
    (doc({"Effect": "Allow", "Action": "DescribeInstances", "Resource": "*"}), "service:Action"),
    (doc({"Effect": "Allow", "Action": [], "Resource": "*"}), "Action"),
    (doc({"Effect": "Allow", "Action": "ecs:*", "Resource": "arn:aws:s3:::x"}), "resource"),
    (doc({"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"Wat": {"k": "v"}}}), "Wat"),
    (doc({"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Condition": {"StringEquals": {"k": {}}}}), "k"),
    (doc({"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Effects": "x"}), "Effects"),
])
def test_permission_policy_grammar_names_each_problem(text: str, named: str) -> None:
    """Each malformation is refused with a message naming the offending element."""
    assert named in malformed_because(validate_permission_policy, text)


def test_trust_policy_grammar() -> None:
    """Trust policies need sts:AssumeRole and RAM/Service/Federated principals in their documented forms."""
    principals = {"RAM": [f"acs:ram::{PARTNER}:root", f"acs:ram::{PARTNER}:user/a@b", f"acs:ram::{PARTNER}:role/r",
                          PARTNER],
                  "Service": ["ecs.aliyuncs.com", f"{PARTNER}@fc.aliyuncs.com"],
                  "Federated": [f"acs:ram::{PARTNER}:saml-provider/idp", f"acs:ram::{PARTNER}:oidc-provider/gh"]}
    ok = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principals,
              "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}})
    assert validate_trust_policy(ok)["Statement"][0]["Principal"] == principals
    for principal, named in [({"AWS": ["x"]}, "AWS"), ({"RAM": ["acs:ram::abc:root"]}, "acs:ram::abc:root"),
                             ({"Service": ["ecs.amazonaws.com"]}, "ecs.amazonaws.com"), ({}, "Principal"),
                             ({"Federated": "acs:ram::1:idp/x"}, "acs:ram::1:idp/x")]:
        text = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal})
        assert named in malformed_because(validate_trust_policy, text)
    assert "sts:AssumeRole" in malformed_because(validate_trust_policy, doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:GetCallerIdentity"], "Principal": {"RAM": PARTNER}}))


# -------------------------------------------------------------- catalogue
def test_catalogue_holds_the_required_system_policies_with_valid_documents() -> None:
    """Every policy the project names exists, its document passes the grammar, and key grants are as documented."""
    assert set(REQUIRED_SYSTEM_POLICIES) <= set(SYSTEM_POLICIES)
    for policy in SYSTEM_POLICIES.values():
        assert validate_permission_policy(policy.document_text) == policy.document
        assert policy.description and policy.version.startswith("v")
    assert SYSTEM_POLICIES["AdministratorAccess"].document["Statement"] == [
        {"Action": "*", "Resource": "*", "Effect": "Allow"}]
    assert SYSTEM_POLICIES["AliyunRAMFullAccess"].document["Statement"][0]["Action"] == "ram:*"
    assert system_policy("aliyunstsassumeroleaccess") is SYSTEM_POLICIES["AliyunSTSAssumeRoleAccess"]


# -------------------------------------------------------- state interface
def test_state_interface_reflects_api_changes(ram, emulator: EmulatorServer, account) -> None:
    """ram_state/find_role/find_user/policy_document expose what the API stored, for STS, ECS and the engine."""
    make_role(ram, "Shared-Role", max_session_duration=7200, tag=[m.CreateRoleRequestTag(key="env", value="dev")])
    make_policy(ram, "custom-read", allow_doc("oss:Get*"))
    attach_to_role(ram, "Shared-Role", "custom-read", "Custom", resource_group_id="rg-1")
    attach_to_role(ram, "Shared-Role", "AliyunFCFullAccess")
    ram.create_user(m.CreateUserRequest(user_name="Carol"))
    ram.create_policy_version(m.CreatePolicyVersionRequest(policy_name="custom-read", set_as_default=True,
                                                           policy_document=allow_doc("oss:List*")))

    acct = emulator.world.account(account["account_id"])
    state = ram_state(acct)
    role = state.find_role("shared-role")
    assert role is not None and state.roles["shared-role"] is role
    assert role.arn == f"acs:ram::{account['account_id']}:role/shared-role"
    assert role.trust_policy == json.loads(trust_doc()) and role.max_session_duration == 7200
    assert role.tags == {"env": "dev"}
    assert [(a.policy_type, a.policy_name, a.resource_group_id) for a in role.attached] == [
        ("Custom", "custom-read", "rg-1"), ("System", "AliyunFCFullAccess", None)]
    assert all(isinstance(a, AttachedPolicy) for a in role.attached)
    assert state.find_user("carol").name == "Carol" and state.find_user("dave") is None
    assert state.find_role("nope") is None
    assert policy_document(acct, "Custom", "Custom-Read")["Statement"][0]["Action"] == "oss:List*"
    assert policy_document(acct, "System", "AliyunFCFullAccess") == SYSTEM_POLICIES["AliyunFCFullAccess"].document
    assert policy_document(acct, "System", "custom-read") is None
    assert policy_document(acct, "Custom", "missing") is None


def test_quota_setting_is_validated_and_reset(emulator: EmulatorServer) -> None:
    """The admin quotas setting accepts name→non-negative int only, and a world reset restores defaults."""
    assert emulator.admin("POST", "/_emulator/settings", {"quotas": {"roles_per_account": 3}})["quotas"] == {
        "roles_per_account": 3}
    for bad in ({"roles_per_account": -1}, {"roles_per_account": "3"}, ["x"]):
        with pytest.raises(urllib.error.HTTPError) as info:
            emulator.admin("POST", "/_emulator/settings", {"quotas": bad})
        assert info.value.code == 400
    emulator.world.reset()
    assert emulator.admin("POST", "/_emulator/settings", {})["quotas"] == {}


def test_actions_are_authorized_on_the_resources_they_name(ram, emulator: EmulatorServer) -> None:
    """A RAM user's policy scoped to role ARNs admits GetRole/AttachPolicyToRole on those roles only."""
    make_role(ram, "partner-a")
    make_role(ram, "other")
    make_policy(ram, "scoped", json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:GetRole", "ram:AttachPolicyToRole"],
         "Resource": ["acs:ram:*:*:role/partner-*", "acs:ram:*:system:policy/AliyunOSSReadOnlyAccess"]}]}))
    ram.create_user(m.CreateUserRequest(user_name="ops"))
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="ops", policy_name="scoped", policy_type="Custom"))
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name="ops")).body.access_key
    ops = ram_client(emulator, {"access_key_id": key.access_key_id, "access_key_secret": key.access_key_secret})

    assert ops.get_role(m.GetRoleRequest(role_name="Partner-A")).body.role.role_name == "partner-a"
    attach_to_role(ops, "partner-a", "AliyunOSSReadOnlyAccess")
    for denied in (lambda: ops.get_role(m.GetRoleRequest(role_name="other")),
                   lambda: attach_to_role(ops, "partner-a", "AliyunECSFullAccess"),
                   lambda: ops.list_roles(m.ListRolesRequest())):
        with cloud_error("NoPermission", 403):
            denied()


# ---------------------------------------------------- attachment index
def _count(client: Any, name: str, policy_type: str = "Custom") -> int:
    """AttachmentCount as GetPolicy and ListPolicies both report it (they must agree)."""
    got = client.get_policy(m.GetPolicyRequest(policy_name=name, policy_type=policy_type)).body.policy
    listed = [p for p in client.list_policies(m.ListPoliciesRequest(policy_type=policy_type, max_items=1000))
              .body.policies.policy if p.policy_name.lower() == name.lower()]
    assert [p.attachment_count for p in listed] == [got.attachment_count]
    return got.attachment_count


def _holders(client: Any, name: str, policy_type: str = "Custom") -> dict[str, list[str]]:
    body = client.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name=name,
                                                                          policy_type=policy_type)).body
    return {"users": [u.user_name for u in body.users.user], "groups": [g.group_name for g in body.groups.group],
            "roles": [r.role_name for r in body.roles.role]}


def _hold(client: Any, name: str, policy_type: str = "Custom") -> None:
    """``name`` attached to user u, group g, role r and, within resource group rg-1, to r again."""
    client.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="u", policy_name=name,
                                                             policy_type=policy_type))
    client.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name="g", policy_name=name,
                                                               policy_type=policy_type))
    attach_to_role(client, "r", name, policy_type)
    attach_to_role(client, "r", name, policy_type, resource_group_id="rg-1")


@pytest.fixture
def holders(ram) -> Any:
    """A user, a group and a role that can hold policies."""
    ram.create_user(m.CreateUserRequest(user_name="u"))
    ram.create_group(m.CreateGroupRequest(group_name="g"))
    make_role(ram, "r")
    return ram


def test_delete_policy_is_refused_while_any_holder_remains(holders) -> None:
    """Each detach lowers AttachmentCount by one; DeletePolicy names the next holder until none is left."""
    make_policy(holders, "Shared-Read", allow_doc("oss:Get*"))
    _hold(holders, "shared-read")
    assert _count(holders, "shared-read") == 4
    assert _holders(holders, "SHARED-READ") == {"users": ["u"], "groups": ["g"], "roles": ["r", "r"]}

    steps = [("DeleteConflict.Policy.User", lambda: holders.detach_policy_from_user(
                 m.DetachPolicyFromUserRequest(user_name="u", policy_name="shared-read", policy_type="Custom"))),
             ("DeleteConflict.Policy.Group", lambda: holders.detach_policy_from_group(
                 m.DetachPolicyFromGroupRequest(group_name="g", policy_name="Shared-Read", policy_type="Custom"))),
             ("DeleteConflict.Policy.Role", lambda: holders.detach_policy_from_role(
                 m.DetachPolicyFromRoleRequest(role_name="r", policy_name="shared-read", policy_type="Custom"))),
             ("DeleteConflict.Policy.Role", lambda: holders.detach_policy_from_role(
                 m.DetachPolicyFromRoleRequest(role_name="r", policy_name="shared-read", policy_type="Custom",
                                               resource_group_id="rg-1")))]
    for left, (refusal, detach) in zip((4, 3, 2, 1), steps):
        with cloud_error(refusal, 409):
            holders.delete_policy(m.DeletePolicyRequest(policy_name="shared-read"))
        assert _count(holders, "shared-read") == left  # the refusal took nothing away
        detach()
    assert _count(holders, "shared-read") == 0
    assert _holders(holders, "shared-read") == {"users": [], "groups": [], "roles": []}
    holders.delete_policy(m.DeletePolicyRequest(policy_name="shared-read"))


def test_a_failed_detach_leaves_the_count_alone(holders) -> None:
    """Detaching a policy the role does not hold in that scope is refused, and every attachment stays."""
    make_policy(holders, "kept")
    attach_to_role(holders, "r", "kept", "Custom", resource_group_id="rg-1")
    for scope in (None, "rg-2"):
        with cloud_error("EntityNotExist.Role.Policy", 404):
            holders.detach_policy_from_role(m.DetachPolicyFromRoleRequest(
                role_name="r", policy_name="kept", policy_type="Custom", resource_group_id=scope))
    assert _count(holders, "kept") == 1 and _holders(holders, "kept")["roles"] == ["r"]


def test_a_recreated_name_starts_with_no_holders(holders) -> None:
    """A role, user or group deleted and made again under its name holds nothing; a policy's count forgets it."""
    attach_to_role(holders, "r", "AliyunOSSReadOnlyAccess")
    holders.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="u", policy_name="AliyunOSSReadOnlyAccess",
                                                              policy_type="System"))
    holders.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name="g", policy_type="System",
                                                                policy_name="AliyunOSSReadOnlyAccess"))
    before = _count(holders, "AliyunOSSReadOnlyAccess", "System")
    assert before == 3

    with cloud_error("DeleteConflict.Role.Policy", 409):
        holders.delete_role(m.DeleteRoleRequest(role_name="r"))
    assert _count(holders, "AliyunOSSReadOnlyAccess", "System") == 3
    holders.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="r", policy_type="System",
                                                                  policy_name="AliyunOSSReadOnlyAccess"))
    holders.delete_role(m.DeleteRoleRequest(role_name="R"))
    holders.detach_policy_from_user(m.DetachPolicyFromUserRequest(user_name="u", policy_type="System",
                                                                  policy_name="AliyunOSSReadOnlyAccess"))
    holders.delete_user(m.DeleteUserRequest(user_name="u"))
    holders.detach_policy_from_group(m.DetachPolicyFromGroupRequest(group_name="g", policy_type="System",
                                                                    policy_name="AliyunOSSReadOnlyAccess"))
    holders.delete_group(m.DeleteGroupRequest(group_name="g"))
    assert _count(holders, "AliyunOSSReadOnlyAccess", "System") == 0

    make_role(holders, "R")
    holders.create_user(m.CreateUserRequest(user_name="U"))
    holders.create_group(m.CreateGroupRequest(group_name="G"))
    assert holders.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="r")).body.policies.policy == []
    assert holders.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="u")).body.policies.policy == []
    assert holders.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="g")).body.policies.policy == []
    assert _holders(holders, "AliyunOSSReadOnlyAccess", "System") == {"users": [], "groups": [], "roles": []}
    holders.delete_role(m.DeleteRoleRequest(role_name="r"))  # nothing attached: deleted at once


def test_cascading_delete_frees_every_holder_and_the_name(holders) -> None:
    """CascadingDelete detaches the policy everywhere; a policy made again under the name has no holders."""
    make_policy(holders, "gone")
    _hold(holders, "gone")
    holders.delete_policy(m.DeletePolicyRequest(policy_name="GONE", cascading_delete=True))
    for listed in (holders.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="r")),
                   holders.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="u")),
                   holders.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="g"))):
        assert listed.body.policies.policy == []
    holders.delete_role(m.DeleteRoleRequest(role_name="r"))  # the scoped attachment went too
    make_policy(holders, "Gone")
    assert _count(holders, "gone") == 0
    holders.delete_policy(m.DeletePolicyRequest(policy_name="gone"))


# ------------------------------------------------------- ordered listings
def test_list_roles_pages_stay_put_while_roles_come_and_go(ram) -> None:
    """Pages follow lower-cased names: a role made past the marker is listed, one deleted or made behind it is not."""
    for name in ("b-2", "B-1", "c-1", "a-1", "d-1"):
        make_role(ram, name)
    first = ram.list_roles(m.ListRolesRequest(max_items=2)).body
    assert [r.role_name for r in first.roles.role] == ["a-1", "B-1"]
    ram.delete_role(m.DeleteRoleRequest(role_name="c-1"))
    make_role(ram, "A-0")
    make_role(ram, "c-0")
    rest = ram.list_roles(m.ListRolesRequest(max_items=2, marker=first.marker)).body
    assert [r.role_name for r in rest.roles.role] == ["b-2", "c-0"] and rest.is_truncated
    last = ram.list_roles(m.ListRolesRequest(max_items=2, marker=rest.marker)).body
    assert [r.role_name for r in last.roles.role] == ["d-1"] and not last.is_truncated
    tagged = m.ListRolesRequest(max_items=1, tag=[m.ListRolesRequestTag(key="absent")])
    assert ram.list_roles(tagged).body.roles.role == []


def test_list_policies_pages_from_system_into_custom(ram) -> None:
    """The marker crosses from system to custom policies; one made past the marker is listed, one behind it not."""
    for name in ("zeta", "Alpha", "mid"):
        make_policy(ram, name)
    system = len(SYSTEM_POLICIES)
    first = ram.list_policies(m.ListPoliciesRequest(max_items=system + 1)).body
    assert [p.policy_type for p in first.policies.policy] == ["System"] * system + ["Custom"]
    assert first.policies.policy[-1].policy_name == "Alpha"
    ram.delete_policy(m.DeletePolicyRequest(policy_name="alpha"))
    make_policy(ram, "beta")
    make_policy(ram, "Nu")
    rest = ram.list_policies(m.ListPoliciesRequest(max_items=2, marker=first.marker)).body
    assert [p.policy_name for p in rest.policies.policy] == ["mid", "Nu"] and rest.is_truncated
    last = ram.list_policies(m.ListPoliciesRequest(max_items=2, marker=rest.marker)).body
    assert [p.policy_name for p in last.policies.policy] == ["zeta"] and not last.is_truncated


def test_list_tag_resources_of_every_role_pages_in_name_then_key_order(ram) -> None:
    """Without names, rows come by role name then tag key, and a page boundary survives a deleted role."""
    tags = [m.CreateRoleRequestTag(key=k, value="v") for k in ("z", "a", "m")]
    for name in ("t-b", "T-A", "t-c"):
        make_role(ram, name, tag=tags)

    def page(token: str | None) -> Any:
        return ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="role", page_size=4,
                                                                next_token=token)).body

    first = page(None)
    assert [(r.resource_name, r.tag_key) for r in first.tag_resources] == [
        ("T-A", "a"), ("T-A", "m"), ("T-A", "z"), ("t-b", "a")]
    ram.delete_role(m.DeleteRoleRequest(role_name="t-c"))
    rest = page(first.next_token)
    assert [(r.resource_name, r.tag_key) for r in rest.tag_resources] == [("t-b", "m"), ("t-b", "z")]
    assert rest.next_token is None
    with cloud_error("InvalidParameter.NextToken", 400):
        page("not-a-token!")
