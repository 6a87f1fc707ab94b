"""ActionTrail events as EventBridge delivers them, composed in the documented shapes.

The envelope follows EventBridge's CloudEvents form for cloud-service events
(``source: acs.<service>``, ``type: <service>:ActionTrail:<kind>``); the
record in ``data`` follows ActionTrail's management-event fields, with the
``userIdentity`` shapes ActionTrail documents for a RAM user's AccessKey and
for the root identity (with an AccessKey, or signed in to the console). No
public document shows one complete event, so these are compositions of the two.
"""
from __future__ import annotations

from typing import Any


def cloud_event(source: str, data: dict[str, Any], kind: str = "ApiCall") -> dict[str, Any]:
    """An EventBridge CloudEvent carrying an ActionTrail record (envelope as documented for service events)."""
    service = source.split(".", 1)[1]
    return {"id": "45ef4dew-7c35-447a-bd93-fab0000001", "source": source, "specversion": "1.0",
            "subject": f"{source}:cn-hangzhou:1234567890123456:{data['eventName']}", "time": "2026-03-01T10:00:00Z",
            "type": f"{service}:ActionTrail:{kind}", "aliyunaccountid": "1234567890123456",
            "aliyunpublishtime": "2026-03-01T10:00:01Z", "aliyuneventbusname": "default",
            "aliyunregionid": "cn-hangzhou", "data": data}


RAM_USER = {"type": "ram-user", "accountId": "1234567890123456", "userName": "mallory",
            "principalId": "274180646548292385", "accessKeyId": "LTAI0000000000000000"}
ROOT_WITH_KEY = {"type": "root-account", "accountId": "1234567890123456", "principalId": "1234567890123456",
                 "userName": "root", "accessKeyId": "LTAI4Grootkey0000000"}
ROOT_IN_CONSOLE = {"type": "root-account", "accountId": "1234567890123456", "principalId": "1234567890123456",
                   "userName": "root", "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}}


def record(service: str, name: str, rw: str = "Write", identity: dict[str, Any] | None = None,
           event_type: str = "ApiCall", **params: Any) -> dict[str, Any]:
    """An ActionTrail record of ``service``'s ``name`` call, made by ``identity`` (a RAM user unless given)."""
    return {"eventId": f"{name}-0001", "eventVersion": 1, "eventType": event_type, "eventRW": rw, "eventName": name,
            "serviceName": service, "acsRegion": "cn-hangzhou", "eventTime": "2026-03-01T10:00:00Z",
            "requestParameters": params, "sourceIpAddress": "203.0.113.9",
            "userIdentity": dict(identity or RAM_USER)}


DOCUMENTED_SHAPE = {
    "AttachPolicyToRole": cloud_event("acs.ram", record("Ram", "AttachPolicyToRole", RoleName="r",
                                                        PolicyType="System", PolicyName="AdministratorAccess")),
    "UpdateRole": cloud_event("acs.ram", record("Ram", "UpdateRole", RoleName="r", NewAssumeRolePolicyDocument="{}")),
    "AttachInstanceRamRole": cloud_event("acs.ecs", record("Ecs", "AttachInstanceRamRole", RamRoleName="r",
                                                           InstanceIds='["i-1"]', RegionId="cn-hangzhou")),
    # Console actions not built on the API are recorded as ConsoleOperation (ActionTrail's management event
    # structure; RAM's EventBridge types include ram:ActionTrail:ConsoleOperation).
    "AttachPolicyToRole, console operation": cloud_event(
        "acs.ram", record("Ram", "AttachPolicyToRole", event_type="ConsoleOperation", RoleName="r"),
        kind="ConsoleOperation"),
    # No page shows RAM's source literal: whatever it is, type and serviceName decide.
    "CreateRole under another source": cloud_event("acs.ims", record("Ram", "CreateRole", RoleName="r")),
}
UNRELATED = {
    "oss PutObject": cloud_event("acs.oss", record("Oss", "PutObject", bucketName="b", objectName="o")),
    "ram GetRole (read)": cloud_event("acs.ram", record("Ram", "GetRole", rw="Read", RoleName="r")),
    "ram CreateUser (unwatched)": cloud_event("acs.ram", record("Ims", "CreateUser", UserName="u")),
    "ecs DeleteDisk (documented sample)": cloud_event("acs.ecs", record("Ecs", "DeleteDisk", DiskId="d-1")),
    "ram AttachPolicyToRole, sign-in event": cloud_event(
        "acs.ram", record("Ram", "AttachPolicyToRole", event_type="ConsoleSignin", RoleName="r"),
        kind="ConsoleSignin"),
    "ecs StartInstance by a RAM user": cloud_event("acs.ecs", record("Ecs", "StartInstance", InstanceId="i-1")),
}
# Calls signed by the root identity, of services and event names no rule watches as well as ones they do.
ROOT_SIGNED = {
    "ecs StartInstance": cloud_event("acs.ecs", record("Ecs", "StartInstance", identity=ROOT_WITH_KEY,
                                                       InstanceId="i-1", RegionId="cn-hangzhou")),
    "oss PutObject": cloud_event("acs.oss", record("Oss", "PutObject", identity=ROOT_WITH_KEY,
                                                   bucketName="b", objectName="o")),
    "ims CreateAccessKey": cloud_event("acs.ram", record("Ims", "CreateAccessKey", identity=ROOT_WITH_KEY)),
    "ram AttachPolicyToRole (watched)": cloud_event("acs.ram", record(
        "Ram", "AttachPolicyToRole", identity=ROOT_WITH_KEY, RoleName="r", PolicyType="System",
        PolicyName="AdministratorAccess")),
    "ram CreateUser in the console (documented sample, no AccessKey)": cloud_event(
        "acs.ram", record("Ims", "CreateUser", identity=ROOT_IN_CONSOLE, UserName="Alice")),
    "ecs StartInstance, a console operation": cloud_event(
        "acs.ecs", record("Ecs", "StartInstance", identity=ROOT_IN_CONSOLE, event_type="ConsoleOperation",
                          InstanceId="i-1"), kind="ConsoleOperation"),
}
