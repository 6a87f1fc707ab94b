"""shared.ram: RAM through the SDK core's generic client sends, request for request, what the RAM SDK sends.

Both clients are pointed at a recording HTTP server answering as RAM does, so
the comparison covers what goes over the wire (method, path, the query and its
order, the body and its digest, the action and version headers) and what is
read from the answer. Should a RAM SDK upgrade change either, these tests fail
and name the difference.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client as RamClient

from shared.clients import RAM_ENDPOINT, ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudCallError
from shared.ram import ListedPolicy, PolicyInfo, RamGateway, RoleInfo
from tests.stand_in import Recorder, recorder_fixtures

HEADERS = ("x-acs-action", "x-acs-version", "content-type", "x-acs-content-sha256")
TRUST = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"RAM": ["acs:ram::1234567890123456:root"]}}]})
DOC = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:Get*", "Resource": "*"}]})
TAGS = [{"Key": "rolegate:managed", "Value": "true"}, {"Key": "rolegate:grant", "Value": "g-1 ü/ \"x\""}]
ROLE = {"RoleName": "rolegate-p-g1", "Arn": "acs:ram::1234567890123456:role/rolegate-p-g1", "RoleId": "301",
        "Description": "grant g1", "MaxSessionDuration": 7200, "CreateDate": "2026-12-01T00:00:00Z"}
WIRE_TAGS = {"Tag": [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in TAGS]}
# Answers as RAM gives them, by action (the shapes the RAM SDK's response models read).
ANSWERS: dict[str, dict[str, Any]] = {
    "GetRole": {"Role": {**ROLE, "AssumeRolePolicyDocument": TRUST}},
    "ListRoles": {"IsTruncated": False, "Roles": {"Role": [{**ROLE, "Tags": WIRE_TAGS}]}},
    "ListTagResources": {"TagResources": [{"ResourceName": "rolegate-p-g1", "ResourceType": "role", **t}
                                          for t in WIRE_TAGS["Tag"]]},
    "GetPolicy": {"Policy": {"PolicyName": "p", "PolicyType": "Custom", "DefaultVersion": "v3"},
                  "DefaultPolicyVersion": {"PolicyDocument": DOC, "VersionId": "v3", "IsDefaultVersion": True}},
    "ListPolicies": {"IsTruncated": False, "Policies": {"Policy": [
        {"PolicyName": "p", "PolicyType": "Custom", "CreateDate": "2026-12-01T00:00:00Z", "AttachmentCount": 2,
         "Tags": WIRE_TAGS}]}},
    "ListPolicyVersions": {"PolicyVersions": {"PolicyVersion": [
        {"VersionId": "v1", "IsDefaultVersion": False, "PolicyDocument": DOC},
        {"VersionId": "v3", "IsDefaultVersion": True, "PolicyDocument": DOC}]}},
    "ListPoliciesForRole": {"Policies": {"Policy": [{"PolicyName": "AliyunFCReadOnlyAccess", "PolicyType": "System"},
                                                    {"PolicyName": "p", "PolicyType": "Custom"}]}},
    "ListEntitiesForPolicy": {"Roles": {"Role": [{"RoleName": "r1"}]}, "Users": {"User": [{"UserName": "u1"}]},
                              "Groups": {"Group": [{"GroupName": "g1"}, {"GroupName": "g2"}]}},
}
ANSWERS["ListPoliciesForUser"] = ANSWERS["ListPoliciesForGroup"] = ANSWERS["ListPoliciesForRole"]


def answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 200, {"RequestId": "r", **ANSWERS.get(request["headers"].get("x-acs-action") or "", {})}


endpoint, recorder = recorder_fixtures(answer, HEADERS)


@pytest.fixture
def pair(recorder: Recorder) -> tuple[RamGateway, RamClient]:
    """Rolegate's RAM gateway and the stock RAM SDK, signing with the same key and aimed at the recorder."""
    factory = ClientFactory(Credentials("AKIDexample", "not-a-real-secret"), endpoint=recorder.stand_in.endpoint)
    return RamGateway(factory.ram()), RamClient(factory.sdk_config(RAM_ENDPOINT))


def tag(cls: Any) -> list[Any]:
    return [cls(key=t["Key"], value=t["Value"]) for t in TAGS]


# (gateway call, the stock SDK's call of the same request, how the stock answer reads as the gateway's result)
CASES: list[tuple[str, Callable[[RamGateway], Any], Callable[[RamClient], Any], Callable[[Any], Any]]] = [
    ("GetRole", lambda g: g.get_role("rolegate-p-g1"),
     lambda c: c.get_role(m.GetRoleRequest(role_name="rolegate-p-g1")),
     lambda b: RoleInfo(b.role.role_name, b.role.arn, b.role.role_id, b.role.description,
                        b.role.max_session_duration, b.role.assume_role_policy_document)),
    ("ListRoles", lambda g: list(g.list_roles(TAGS[:1])),
     lambda c: c.list_roles(m.ListRolesRequest(max_items=1000, tag=tag(m.ListRolesRequestTag)[:1])),
     lambda b: [RoleInfo(r.role_name, r.arn, r.role_id, r.description, r.max_session_duration,
                         tags=[{"Key": t.tag_key, "Value": t.tag_value} for t in r.tags.tag])
                for r in b.roles.role]),
    ("ListTagResources", lambda g: g.role_tags("rolegate-p-g1"),
     lambda c: c.list_tag_resources(m.ListTagResourcesRequest(resource_type="role", resource_names=["rolegate-p-g1"],
                                                              page_size=100)),
     lambda b: [{"Key": t.tag_key, "Value": t.tag_value} for t in b.tag_resources]),
    ("CreateRole", lambda g: g.create_role("rolegate-p-g1", TRUST, "grant g1", 3600, TAGS),
     lambda c: c.create_role(m.CreateRoleRequest(role_name="rolegate-p-g1", assume_role_policy_document=TRUST,
                                                 description="grant g1", max_session_duration=3600,
                                                 tag=tag(m.CreateRoleRequestTag))),
     lambda b: True),
    ("UpdateRole", lambda g: g.update_role("rolegate-p-g1", TRUST, 7200),
     lambda c: c.update_role(m.UpdateRoleRequest(role_name="rolegate-p-g1", new_assume_role_policy_document=TRUST,
                                                 new_max_session_duration=7200)),
     lambda b: None),
    ("DeleteRole", lambda g: g.delete_role("rolegate-p-g1"),
     lambda c: c.delete_role(m.DeleteRoleRequest(role_name="rolegate-p-g1")), lambda b: True),
    ("TagResources", lambda g: g.tag_role("rolegate-p-g1", TAGS),
     lambda c: c.tag_resources(m.TagResourcesRequest(resource_type="role", resource_names=["rolegate-p-g1"],
                                                     tag=tag(m.TagResourcesRequestTag))),
     lambda b: None),
    ("UntagResources", lambda g: g.untag_role("rolegate-p-g1", ["rolegate:a", "rolegate:b"]),
     lambda c: c.untag_resources(m.UntagResourcesRequest(resource_type="role", resource_names=["rolegate-p-g1"],
                                                         tag_keys=["rolegate:a", "rolegate:b"])),
     lambda b: None),
    ("GetPolicy", lambda g: g.get_policy("p", "Custom"),
     lambda c: c.get_policy(m.GetPolicyRequest(policy_name="p", policy_type="Custom")),
     lambda b: PolicyInfo("p", "Custom", b.default_policy_version.policy_document,
                          b.default_policy_version.version_id)),
    ("CreatePolicy", lambda g: g.create_policy("p", DOC, "grant g1", TAGS),
     lambda c: c.create_policy(m.CreatePolicyRequest(policy_name="p", policy_document=DOC, description="grant g1",
                                                     tag=tag(m.CreatePolicyRequestTag))),
     lambda b: True),
    ("ListPolicies", lambda g: list(g.list_policies("Custom", TAGS[:1])),
     lambda c: c.list_policies(m.ListPoliciesRequest(policy_type="Custom", max_items=1000,
                                                     tag=tag(m.ListPoliciesRequestTag)[:1])),
     lambda b: [ListedPolicy(p.policy_name, p.policy_type, p.create_date, p.attachment_count,
                             [{"Key": t.tag_key, "Value": t.tag_value} for t in p.tags.tag])
                for p in b.policies.policy]),
    ("ListPolicyVersions", lambda g: g.policy_versions("p"),
     lambda c: c.list_policy_versions(m.ListPolicyVersionsRequest(policy_name="p", policy_type="Custom")),
     lambda b: [(v.version_id, v.is_default_version, v.policy_document) for v in b.policy_versions.policy_version]),
    ("CreatePolicyVersion", lambda g: g.create_policy_version("p", DOC),
     lambda c: c.create_policy_version(m.CreatePolicyVersionRequest(policy_name="p", policy_document=DOC,
                                                                   set_as_default=True)),
     lambda b: None),
    ("DeletePolicyVersion", lambda g: g.delete_policy_version("p", "v1"),
     lambda c: c.delete_policy_version(m.DeletePolicyVersionRequest(policy_name="p", version_id="v1")),
     lambda b: None),
    ("SetDefaultPolicyVersion", lambda g: g.set_default_policy_version("p", "v1"),
     lambda c: c.set_default_policy_version(m.SetDefaultPolicyVersionRequest(policy_name="p", version_id="v1")),
     lambda b: None),
    ("DeletePolicy", lambda g: g.delete_policy("p"),
     lambda c: c.delete_policy(m.DeletePolicyRequest(policy_name="p")), lambda b: True),
    ("ListPoliciesForRole", lambda g: g.policies_for_role("r1"),
     lambda c: c.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="r1")),
     lambda b: [(p.policy_type, p.policy_name) for p in b.policies.policy]),
    ("ListPoliciesForUser", lambda g: g.policies_for_user("u1"),
     lambda c: c.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="u1")),
     lambda b: [(p.policy_type, p.policy_name) for p in b.policies.policy]),
    ("ListPoliciesForGroup", lambda g: g.policies_for_group("g1"),
     lambda c: c.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="g1")),
     lambda b: [(p.policy_type, p.policy_name) for p in b.policies.policy]),
    ("AttachPolicyToRole", lambda g: g.attach("r1", "System", "AliyunFCReadOnlyAccess", "rg-1"),
     lambda c: c.attach_policy_to_role(m.AttachPolicyToRoleRequest(
         role_name="r1", policy_type="System", policy_name="AliyunFCReadOnlyAccess", resource_group_id="rg-1")),
     lambda b: True),
    ("DetachPolicyFromRole", lambda g: g.detach("r1", "Custom", "p"),
     lambda c: c.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="r1", policy_type="Custom",
                                                                      policy_name="p")),
     lambda b: True),
    ("DetachPolicyFromUser", lambda g: g.detach_from_user("u1", "System", "AdministratorAccess", "rg-1"),
     lambda c: c.detach_policy_from_user(m.DetachPolicyFromUserRequest(
         user_name="u1", policy_type="System", policy_name="AdministratorAccess", resource_group_id="rg-1")),
     lambda b: True),
    ("DetachPolicyFromGroup", lambda g: g.detach_from_group("g1", "System", "AdministratorAccess"),
     lambda c: c.detach_policy_from_group(m.DetachPolicyFromGroupRequest(
         group_name="g1", policy_type="System", policy_name="AdministratorAccess")),
     lambda b: True),
    ("RemoveUserFromGroup", lambda g: g.remove_user_from_group("u1", "g1"),
     lambda c: c.remove_user_from_group(m.RemoveUserFromGroupRequest(user_name="u1", group_name="g1")),
     lambda b: True),
    ("ListEntitiesForPolicy", lambda g: g.entities_for_policy("AdministratorAccess", "System"),
     lambda c: c.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name="AdministratorAccess",
                                                                        policy_type="System")),
     lambda b: {"role": [r.role_name for r in b.roles.role], "user": [u.user_name for u in b.users.user],
                "group": [g.group_name for g in b.groups.group]}),
]


@pytest.mark.parametrize("action,ours,stock,read", CASES, ids=[c[0] for c in CASES])
def test_each_call_sends_what_the_sdk_sends_and_reads_what_its_models_read(
        recorder: Recorder, pair: tuple[RamGateway, RamClient], action: str, ours: Callable[[RamGateway], Any],
        stock: Callable[[RamClient], Any], read: Callable[[Any], Any]) -> None:
    gateway, client = pair
    result = ours(gateway)
    mine = recorder.take()
    answer = stock(client)
    theirs = recorder.take()
    assert [r["headers"]["x-acs-action"] for r in mine] == [action]
    assert mine == theirs
    assert mine[0]["method"] == "POST" and mine[0]["headers"]["x-acs-version"] == "2015-05-01"
    assert result == read(answer.body)


def test_lists_travel_as_json_and_nothing_unset_is_sent(recorder: Recorder, pair: tuple[RamGateway, RamClient]) -> None:
    """Tags, names and keys as RAM's SDK sends them (one JSON string each); an unset parameter is left out."""
    gateway, _ = pair
    gateway.create_role("r1", TRUST, None, 3600, TAGS)
    gateway.untag_role("r1", ["rolegate:a"])
    created, untagged = recorder.take()
    assert json.loads(created["query"]["Tag"]) == TAGS and "Description" not in created["query"]
    assert json.loads(untagged["query"]["ResourceNames"]) == ["r1"]
    assert json.loads(untagged["query"]["TagKeys"]) == ["rolegate:a"]


def test_already_there_and_already_gone_answers_are_outcomes_and_others_are_raised(
        recorder: Recorder, pair: tuple[RamGateway, RamClient]) -> None:
    gateway, _ = pair
    recorder.refuse = (404, "EntityNotExist.Role")
    assert gateway.get_role("r1") is None and gateway.delete_role("r1") is False
    assert gateway.policies_for_role("r1") == []
    recorder.refuse = (409, "EntityAlreadyExists.Role")
    assert gateway.create_role("r1", TRUST, None, 3600, []) is False
    recorder.refuse = (404, "EntityNotExist.Policy")
    with pytest.raises(CloudCallError) as raised:
        gateway.attach("r1", "System", "NoSuchPolicy")
    assert raised.value.cloud_code == "EntityNotExist.Policy"
