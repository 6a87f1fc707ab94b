"""The ActionTrail feed: write calls become EventBridge CloudEvents in ``/_emulator/events``."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_ram20150501 import models as ram
from alibabacloud_sts20150401 import models as sts
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.runtime import RuntimeOptions

from emulator import EmulatorServer
from tests.emulator.helpers import (Creds, account_trust, create_instance, create_role, create_user_with_policy,
                                    ecs_client, events, fc3_client, legacy_fc2_client, ram_client, service_trust,
                                    sts_client)

ENVELOPE_KEYS = {"id", "source", "specversion", "subject", "time", "type", "aliyunaccountid", "aliyunpublishtime",
                 "aliyunoriginalaccountid", "aliyuneventbusname", "aliyunregionid", "aliyunpublishaddr",
                 "datacontenttype", "data"}


@pytest.fixture
def root(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("audited")


def only_event(emulator: EmulatorServer, name: str) -> dict[str, Any]:
    found = [e for e in events(emulator) if e["data"]["eventName"] == name]
    assert len(found) == 1, [e["data"]["eventName"] for e in events(emulator)]
    return found[0]


def test_create_role_by_root_is_a_ram_api_call_event(emulator: EmulatorServer, root: Creds) -> None:
    """CreateRole by the root account arrives as a full CloudEvent with a root-account identity."""
    trust = service_trust()
    ram_client(emulator, root).create_role(ram.CreateRoleRequest(
        role_name="Auditor", assume_role_policy_document=trust, max_session_duration=7200))
    event = only_event(emulator, "CreateRole")
    assert set(event) == ENVELOPE_KEYS
    assert (event["source"], event["type"], event["specversion"]) == ("acs.ram", "ram:ActionTrail:ApiCall", "1.0")
    assert (event["aliyunaccountid"], event["aliyuneventbusname"], event["aliyunregionid"]) == \
        (root["account_id"], "default", "cn-hangzhou")
    assert event["aliyunoriginalaccountid"] == root["account_id"]  # unrouted: the account's own
    assert event["datacontenttype"] == "application/json;charset=utf-8"
    data = event["data"]
    assert (data["eventSource"], data["serviceName"], data["apiVersion"]) == ("ram.aliyuncs.com", "Ram", "2015-05-01")
    assert (data["eventType"], data["eventRW"], data["eventVersion"], data["isGlobal"]) == ("ApiCall", "Write", 1, True)
    assert data["recipientAccountId"] == root["account_id"] and data["requestId"]
    assert data["userIdentity"] == {"type": "root-account", "principalId": root["account_id"],
                                    "accountId": root["account_id"], "userName": "root",
                                    "accessKeyId": root["access_key_id"]}
    params = data["requestParameters"]
    assert params["RoleName"] == "Auditor" and params["AssumeRolePolicyDocument"] == trust
    assert params["MaxSessionDuration"] == 7200  # typed parameters keep their type
    assert (params["AcsProduct"], params["AcsHost"], params["RequestId"]) == ("Ram", "ram.aliyuncs.com",
                                                                           data["requestId"])
    assert not {"Signature", "AccessKeyId", "SignatureNonce", "Timestamp", "Action", "Version"} & set(params)
    assert data["responseElements"]["Role"]["RoleName"] == "Auditor"
    assert data["responseElements"]["RequestId"] == data["requestId"]
    assert data["referencedResources"] == {"ACS::RAM::Role": ["Auditor"]}
    assert "errorCode" not in data


def test_ram_events_arrive_in_the_ram_event_region_of_the_site(emulator: EmulatorServer, root: Creds) -> None:
    """RAM is deployed centrally: its events reach the bus of cn-hangzhou (China site) or ap-southeast-1
    (international site), whatever region the caller addressed; an ECS event stays in its own region."""
    emulator.admin("POST", "/_emulator/settings", {"site": "international"})
    create_role(emulator, root, "EcsWorker", service_trust())
    instance = create_instance(emulator, root["account_id"], region="cn-shanghai")
    ecs_client(emulator, root).attach_instance_ram_role(ecs.AttachInstanceRamRoleRequest(
        region_id="cn-shanghai", ram_role_name="EcsWorker", instance_ids=json.dumps([instance])))
    assert only_event(emulator, "CreateRole")["aliyunregionid"] == "ap-southeast-1"
    assert only_event(emulator, "AttachInstanceRamRole")["aliyunregionid"] == "cn-shanghai"


def test_attach_policy_to_role_by_a_ram_user_names_the_user(emulator: EmulatorServer, root: Creds) -> None:
    """A RAM user's AttachPolicyToRole carries a ram-user identity with its id, name and AccessKey."""
    create_role(emulator, root, "Target", service_trust())
    user = create_user_with_policy(emulator, root, "alice", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "ram:AttachPolicyToRole", "Resource": "*"}]})
    ram_client(emulator, user).attach_policy_to_role(ram.AttachPolicyToRoleRequest(
        policy_type="System", policy_name="AliyunECSReadOnlyAccess", role_name="Target"))
    user_id = ram_client(emulator, root).get_user(ram.GetUserRequest(user_name="alice")).body.user.user_id
    data = only_event(emulator, "AttachPolicyToRole")["data"]
    assert data["userIdentity"] == {"type": "ram-user", "principalId": user_id, "accountId": root["account_id"],
                                    "userName": "alice", "accessKeyId": user["access_key_id"]}
    assert data["referencedResources"] == {"ACS::RAM::Role": ["Target"],
                                           "ACS::RAM::Policy": ["AliyunECSReadOnlyAccess"]}
    assert data["requestParameters"]["PolicyType"] == "System"


def test_ecs_attach_instance_ram_role_is_an_ecs_event(emulator: EmulatorServer, root: Creds) -> None:
    """AttachInstanceRamRole is published by acs.ecs in the instance's region, naming instance and role."""
    create_role(emulator, root, "EcsWorker", service_trust())
    instance = create_instance(emulator, root["account_id"], region="cn-shanghai")
    ids = json.dumps([instance])
    ecs_client(emulator, root).attach_instance_ram_role(ecs.AttachInstanceRamRoleRequest(
        region_id="cn-shanghai", ram_role_name="EcsWorker", instance_ids=ids))
    event = only_event(emulator, "AttachInstanceRamRole")
    assert (event["source"], event["type"], event["aliyunregionid"]) == \
        ("acs.ecs", "ecs:ActionTrail:ApiCall", "cn-shanghai")
    data = event["data"]
    assert (data["serviceName"], data["eventSource"], data["acsRegion"], data["isGlobal"]) == \
        ("Ecs", "ecs.cn-shanghai.aliyuncs.com", "cn-shanghai", False)
    assert data["apiVersion"] == "2014-05-26"
    assert data["requestParameters"]["InstanceIds"] == ids  # a JSON array string, as sent
    assert data["referencedResources"] == {"ACS::RAM::Role": ["EcsWorker"], "ACS::ECS::Instance": [instance]}
    assert data["responseElements"]["FailCount"] == 0


def test_failed_write_calls_are_recorded_with_their_error(emulator: EmulatorServer, root: Creds) -> None:
    """A refused write (conflict, or a permission denial) is recorded with errorCode/errorMessage."""
    create_role(emulator, root, "Taken", service_trust())
    with pytest.raises(ClientException):
        create_role(emulator, root, "Taken", service_trust())
    user = create_user_with_policy(emulator, root, "bob", None)
    with pytest.raises(ClientException):
        ram_client(emulator, user).delete_role(ram.DeleteRoleRequest(role_name="Taken"))
    created = [e["data"] for e in events(emulator) if e["data"]["eventName"] == "CreateRole"]
    assert [d.get("errorCode") for d in created] == [None, "EntityAlreadyExists.Role"]
    failed = created[1]
    assert failed["errorMessage"] and failed["responseElements"] is None
    assert failed["referencedResources"] == {"ACS::RAM::Role": ["Taken"]}
    denied = only_event(emulator, "DeleteRole")["data"]
    assert denied["errorCode"] == "NoPermission" and denied["userIdentity"]["userName"] == "bob"
    assert not any(r["data"]["eventName"] == "DeleteRole" and "errorCode" not in r["data"] for r in events(emulator))


def test_no_secret_reaches_an_event(emulator: EmulatorServer, root: Creds) -> None:
    """AccessKey secrets are masked; user and key operations are recorded as Ims events on the ram bus."""
    user = create_user_with_policy(emulator, root, "carol", None)
    event = only_event(emulator, "CreateAccessKey")
    assert (event["source"], event["type"]) == ("acs.ram", "ram:ActionTrail:ApiCall")
    data = event["data"]
    assert (data["serviceName"], data["eventSource"]) == ("Ims", "ims-share.aliyuncs.com")
    key = data["responseElements"]["AccessKey"]
    assert key["AccessKeyId"] == user["access_key_id"] and key["AccessKeySecret"] == "******"
    assert data["referencedResources"]["ACS::RAM::AccessKey"] == [user["access_key_id"]]
    assert only_event(emulator, "CreateUser")["data"]["serviceName"] == "Ims"
    dumped = json.dumps(events(emulator))
    assert user["access_key_secret"] not in dumped and root["access_key_secret"] not in dumped


def test_read_only_calls_are_never_recorded(emulator: EmulatorServer, root: Creds) -> None:
    """Get/List/Describe calls leave no event."""
    create_role(emulator, root, "Seen", service_trust())
    instance = create_instance(emulator, root["account_id"])
    before = len(events(emulator))
    ram_client(emulator, root).get_role(ram.GetRoleRequest(role_name="Seen"))
    ram_client(emulator, root).list_roles(ram.ListRolesRequest())
    ecs_client(emulator, root).describe_instance_ram_role(ecs.DescribeInstanceRamRoleRequest(
        region_id="cn-hangzhou", instance_ids=json.dumps([instance])))
    fc3_client(emulator, root).list_functions(fc3.ListFunctionsRequest())
    legacy_fc2_client(emulator, root).list_services()
    assert len(events(emulator)) == before


def test_function_compute_writes_are_recorded_per_region(emulator: EmulatorServer, root: Creds) -> None:
    """FC writes are acs.fc events in the addressed region, with the JSON body as parameters."""
    client = fc3_client(emulator, root)
    body = fc3.CreateFunctionInput(function_name="audited-fn", runtime="python3.10", handler="index.handler",
                                   memory_size=1024, code=fc3.InputCodeLocation(zip_file="UEsFBgAAAAA="))
    client.create_function_with_options(fc3.CreateFunctionRequest(body=body), {"x-acs-region-id": "cn-beijing"},
                                        RuntimeOptions())
    client.delete_function_with_options("audited-fn", {"x-acs-region-id": "cn-beijing"}, RuntimeOptions())
    legacy_fc2_client(emulator, root).create_service("old-svc")
    created, deleted = only_event(emulator, "CreateFunction"), only_event(emulator, "DeleteFunction")
    assert (created["source"], created["type"], created["aliyunregionid"]) == \
        ("acs.fc", "fc:ActionTrail:ApiCall", "cn-beijing")
    data = created["data"]
    assert (data["serviceName"], data["acsRegion"], data["apiVersion"]) == ("Fc", "cn-beijing", "2023-03-30")
    assert data["requestParameters"]["memorySize"] == 1024
    assert data["requestParameters"]["code"]["zipFile"] == "******"  # code archives are not copied
    assert data["responseElements"]["functionName"] == "audited-fn"
    assert data["referencedResources"] == {"ACS::FC::Function": ["audited-fn"]}
    assert deleted["data"]["responseElements"] is None
    service = only_event(emulator, "CreateService")["data"]
    assert service["apiVersion"] == "2016-08-15" and service["referencedResources"] == {"ACS::FC::Service": ["old-svc"]}


def test_events_can_be_read_incrementally_and_per_account(emulator: EmulatorServer, root: Creds) -> None:
    """`since` skips events already read; `account_id` keeps one account's events."""
    create_role(emulator, root, "First", service_trust())
    other = emulator.create_account("other")
    create_role(emulator, other, "Second", service_trust())
    everything = events(emulator)
    assert [e["data"]["requestParameters"]["RoleName"] for e in everything] == ["First", "Second"]
    assert [e["data"]["requestParameters"]["RoleName"] for e in events(emulator, since=1)] == ["Second"]
    mine = emulator.admin("GET", f"/_emulator/events?account_id={other['account_id']}")["events"]
    assert [e["aliyunaccountid"] for e in mine] == [other["account_id"]]


def test_a_lost_response_still_leaves_one_success_event(emulator: EmulatorServer, root: Creds) -> None:
    """When a fault hides a completed write from the caller, the trail shows the write, once, as a success."""
    emulator.add_fault(kind="error", action="ram:CreateRole", phase="after", code="InternalError", status=500)
    with pytest.raises(ServerException):
        create_role(emulator, root, "Ghost", service_trust())
    data = only_event(emulator, "CreateRole")["data"]
    assert "errorCode" not in data and data["responseElements"]["Role"]["RoleName"] == "Ghost"


def test_a_role_session_is_an_assumed_role_identity(emulator: EmulatorServer, root: Creds) -> None:
    """A partner's role session is recorded in the role's account as `<role>:<session>`, with no token."""
    partner_root = emulator.create_account("partner")
    partner = create_user_with_policy(emulator, partner_root, "dev", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    role = create_role(emulator, root, "PartnerAccess", account_trust(partner_root["account_id"]))
    owner = ram_client(emulator, root)
    owner.create_policy(ram.CreatePolicyRequest(policy_name="fc-admin", policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:*", "Resource": "*"}]})))
    owner.attach_policy_to_role(ram.AttachPolicyToRoleRequest(policy_type="Custom", policy_name="fc-admin",
                                                              role_name="PartnerAccess"))
    creds = sts_client(emulator, partner).assume_role(sts.AssumeRoleRequest(
        role_arn=role.arn, role_session_name="dev-session")).body.credentials
    session = {"access_key_id": creds.access_key_id, "access_key_secret": creds.access_key_secret,
               "security_token": creds.security_token}
    body = fc3.CreateFunctionInput(function_name="from-partner", runtime="python3.10", handler="index.handler")
    fc3_client(emulator, session).create_function(fc3.CreateFunctionRequest(body=body))
    event = only_event(emulator, "CreateFunction")
    identity = event["data"]["userIdentity"]
    assert event["aliyunaccountid"] == root["account_id"]
    assert {k: identity[k] for k in ("type", "principalId", "accountId", "userName", "accessKeyId")} == {
        "type": "assumed-role", "principalId": f"{role.role_id}:dev-session", "accountId": root["account_id"],
        "userName": "PartnerAccess:dev-session", "accessKeyId": creds.access_key_id}
    assert identity["accessKeyId"].startswith("STS.")
    assert identity["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    assert identity["sessionContext"]["attributes"]["creationDate"].endswith("Z")
    dumped = json.dumps(events(emulator))
    assert creds.security_token not in dumped and creds.access_key_secret not in dumped
