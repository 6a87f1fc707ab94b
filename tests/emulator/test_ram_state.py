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
