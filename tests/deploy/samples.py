"""ActionTrail events as EventBridge delivers them, composed in the documented shapes.

The envelope follows EventBridge's CloudEvents form for cloud-service events
(``source: acs.<service>``, ``type: <service>:ActionTrail:<kind>``); the
record in ``data`` follows ActionTrail's management-event fields. No public
document shows one complete event, so these are compositions of the two.
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


def record(service: str, name: str, rw: str = "Write", **params: Any) -> dict[str, Any]:
    return {"eventId": f"{name}-0001", "eventVersion": 1, "eventType": "ApiCall", "eventRW": rw, "eventName": name,
            "serviceName": service, "acsRegion": "cn-hangzhou", "eventTime": "2026-03-01T10:00:00Z",
            "requestParameters": params, "sourceIpAddress": "203.0.113.9",
            "userIdentity": {"type": "ram-user", "accountId": "1234567890123456", "userName": "mallory",
                             "principalId": "274180646548292385", "accessKeyId": "LTAI0000000000000000"}}


DOCUMENTED_SHAPE = {
    "AttachPolicyToRole": cloud_event("acs.ram", record("Ram", "AttachPolicyToRole", RoleName="r",
                                                        PolicyType="System", PolicyName="AdministratorAccess")),
    "UpdateRole": cloud_event("acs.ram", record("Ram", "UpdateRole", RoleName="r", NewAssumeRolePolicyDocument="{}")),
    "AttachInstanceRamRole": cloud_event("acs.ecs", record("Ecs", "AttachInstanceRamRole", RamRoleName="r",
                                                           InstanceIds='["i-1"]', RegionId="cn-hangzhou")),
}
UNRELATED = {
    "oss PutObject": cloud_event("acs.oss", record("Oss", "PutObject", bucketName="b", objectName="o")),
    "ram GetRole (read)": cloud_event("acs.ram", record("Ram", "GetRole", rw="Read", RoleName="r")),
    "ram CreateUser (unwatched)": cloud_event("acs.ram", record("Ims", "CreateUser", UserName="u")),
    "ecs DeleteDisk (documented sample)": cloud_event("acs.ecs", record("Ecs", "DeleteDisk", DiskId="d-1")),
    "ram AttachPolicyToRole, console operation": cloud_event(
        "acs.ram", record("Ram", "AttachPolicyToRole", RoleName="r"), kind="ConsoleOperation"),
}
