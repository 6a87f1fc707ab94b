"""The ECS seam: instance RAM roles, read and taken away (the remediation's instance-role rule).

Like :mod:`shared.ram`, it turns answers into plain data and "already done"
answers into return values, so a rule reads as the decision it makes. ECS is
regional: every call names the region the instance lives in. The two calls go
through the SDK core's generic client (:mod:`shared.rpc`) with the parameters
the ECS SDK (``alibabacloud_ecs20140526``) sends: every one in the query,
``InstanceIds`` as a JSON array in one string.
"""
from __future__ import annotations

import json
from typing import Any

from shared.calls import is_code
from shared.errors import CloudCallError
from shared.rpc import call_rpc, wrapped_items

ECS_VERSION = "2014-05-26"
# DescribeInstanceRamRole pages at most 50 instances; an event names at most 100.
PAGE_SIZE = 50
MAX_PAGES = 200  # 10,000 instances holding one role in one region: far beyond a launch's
NOT_ATTACHED = ("InstanceRamRole.NotAttached", "InvalidInstanceId.NotFound", "InvalidRamRole.NotFound")


class InstanceRoles:
    """Instance roles of one account in one region, through the generic client on ECS's endpoint."""

    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self.region = region

    def attached(self, instance_ids: list[str]) -> dict[str, str]:
        """Instance id -> name of the role attached to it, for those of ``instance_ids`` that have one."""
        found: dict[str, str] = {}
        for start in range(0, len(instance_ids), PAGE_SIZE):
            batch = instance_ids[start:start + PAGE_SIZE]
            body = call_rpc(self._client, ECS_VERSION, "DescribeInstanceRamRole",
                            {"RegionId": self.region, "InstanceIds": json.dumps(batch), "PageSize": PAGE_SIZE},
                            target=",".join(batch), safe_to_retry=True)
            for item in wrapped_items(body, "InstanceRamRoleSets", "InstanceRamRoleSet"):
                if item.get("InstanceId") and item.get("RamRoleName"):
                    found[str(item["InstanceId"])] = str(item["RamRoleName"])
        return found

    def holders(self, role_name: str) -> list[str]:
        """Ids of the instances of this region that hold ``role_name`` now (DescribeInstanceRamRole by role)."""
        found: list[str] = []
        page = 1
        while page <= MAX_PAGES:
            body = call_rpc(self._client, ECS_VERSION, "DescribeInstanceRamRole",
                            {"RegionId": self.region, "RamRoleName": role_name, "PageSize": PAGE_SIZE,
                             "PageNumber": page}, target=role_name, safe_to_retry=True)
            rows = wrapped_items(body, "InstanceRamRoleSets", "InstanceRamRoleSet")
            found.extend(str(r["InstanceId"]) for r in rows
                         if r.get("InstanceId") and str(r.get("RamRoleName", "")).casefold() == role_name.casefold())
            total = body.get("TotalCount")
            if not rows or not isinstance(total, int) or page * PAGE_SIZE >= total:
                break
            page += 1
        return list(dict.fromkeys(found))

    def detach(self, instance_id: str, role_name: str) -> bool:
        """Detach ``role_name`` from the instance; False when it was not (or no longer) attached."""
        try:
            body = call_rpc(self._client, ECS_VERSION, "DetachInstanceRamRole",
                            {"RegionId": self.region, "InstanceIds": json.dumps([instance_id]),
                             "RamRoleName": role_name},
                            target=f"{instance_id}:{role_name}", safe_to_retry=True)
        except Exception as exc:
            if is_code(exc, *NOT_ATTACHED):
                return False
            raise
        if not body.get("FailCount"):
            return True
        # ECS may answer 200 and report the instance's failure in its row: only "not attached" is done.
        rows = wrapped_items(body, "DetachInstanceRamRoleResults", "DetachInstanceRamRoleResult")
        code = next((str(r.get("Code")) for r in rows if r.get("InstanceId") == instance_id), None)
        if code in NOT_ATTACHED:
            return False
        raise CloudCallError(f"DetachInstanceRamRole failed on {instance_id}: {code or 'no result row'}",
                             action="DetachInstanceRamRole", cloud_code=code, request_id=body.get("RequestId"),
                             http_status=200, details={"target": f"{instance_id}:{role_name}"})


__all__ = ["ECS_VERSION", "InstanceRoles"]
