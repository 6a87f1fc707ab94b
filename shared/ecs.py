"""The ECS seam: instance RAM roles, read and taken away (the remediation's instance-role rule).

Like :mod:`shared.ram`, it turns SDK models into plain data and "already
done" answers into return values, so a rule reads as the decision it makes.
ECS is regional: every call names the region the instance lives in.
"""
from __future__ import annotations

import json
from typing import Any

from shared.calls import call, is_code
from shared.lazy import load

# DescribeInstanceRamRole pages at most 50 instances; an event names at most 100.
PAGE_SIZE = 50
NOT_ATTACHED = ("InstanceRamRole.NotAttached", "InvalidInstanceId.NotFound", "InvalidRamRole.NotFound")


class InstanceRoles:
    """Instance roles of one account in one region, through an official ECS client."""

    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self._m = load("alibabacloud_ecs20140526.models")  # at first use: only remediation of ECS events needs it
        self.region = region

    def attached(self, instance_ids: list[str]) -> dict[str, str]:
        """Instance id -> name of the role attached to it, for those of ``instance_ids`` that have one."""
        found: dict[str, str] = {}
        for start in range(0, len(instance_ids), PAGE_SIZE):
            batch = instance_ids[start:start + PAGE_SIZE]
            request = self._m.DescribeInstanceRamRoleRequest(region_id=self.region, instance_ids=json.dumps(batch),
                                                             page_size=PAGE_SIZE)
            body = call(self._client.describe_instance_ram_role, request, action="DescribeInstanceRamRole",
                        target=",".join(batch), safe_to_retry=True)
            sets = body.instance_ram_role_sets.instance_ram_role_set if body.instance_ram_role_sets else None
            for item in sets or []:
                if item.instance_id and item.ram_role_name:
                    found[item.instance_id] = item.ram_role_name
        return found

    def detach(self, instance_id: str, role_name: str) -> bool:
        """Detach ``role_name`` from the instance; False when it was not (or no longer) attached."""
        request = self._m.DetachInstanceRamRoleRequest(region_id=self.region, instance_ids=json.dumps([instance_id]),
                                                       ram_role_name=role_name)
        try:
            body = call(self._client.detach_instance_ram_role, request, action="DetachInstanceRamRole",
                        target=f"{instance_id}:{role_name}", safe_to_retry=True)
        except Exception as exc:
            if is_code(exc, *NOT_ATTACHED):
                return False
            raise
        return not body.fail_count


__all__ = ["InstanceRoles"]
