"""Policies attached with a ResourceGroupId, through the real RAM SDK (docs/cloud-fidelity.md, RAM-RG-*).

Such an attachment is an object of its own beside any account-wide attachment of
the same policy: a detach removes only the attachment of the scope it names, the
``ListPoliciesFor*`` calls show only account-wide attachments, and whatever
attachment remains keeps the role, user or group from being deleted.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client as RamClient

from tests.emulator.ram_support import (account, assert_fully_read, attach_to_role, cloud_error,  # noqa: F401
                                        make_policy, make_role, ram)

RG = "rg-acfmxazb4ph6aiy"
OTHER_RG = "rg-aek2k3rqlvv6wwq"
POLICY = "AliyunECSReadOnlyAccess"


class Holder:
    """One kind of policy holder (role, user or group), driven through its own RAM actions."""

    def __init__(self, kind: str, make: Callable[[RamClient, str], Any]) -> None:
        self.kind = kind
        self._make = make

    def __repr__(self) -> str:
        return self.kind

    def make(self, ram: RamClient, name: str) -> None:
        self._make(ram, name)

    def _request(self, verb: str, name: str, **fields: Any) -> Any:
        model = getattr(m, f"{verb}{self.kind}Request")
        return model(**{f"{self.kind.lower()}_name": name}, **fields)

    def attach(self, ram: RamClient, name: str, policy: str = POLICY, policy_type: str = "System",
               group: str | None = None) -> None:
        call = getattr(ram, f"attach_policy_to_{self.kind.lower()}")
        call(self._request("AttachPolicyTo", name, policy_name=policy, policy_type=policy_type,
                           resource_group_id=group))

    def detach(self, ram: RamClient, name: str, policy: str = POLICY, policy_type: str = "System",
               group: str | None = None) -> None:
        call = getattr(ram, f"detach_policy_from_{self.kind.lower()}")
        call(self._request("DetachPolicyFrom", name, policy_name=policy, policy_type=policy_type,
                           resource_group_id=group))

    def listed(self, ram: RamClient, name: str) -> list[Any]:
        call = getattr(ram, f"list_policies_for_{self.kind.lower()}")
        return call(self._request("ListPoliciesFor", name)).body.policies.policy

    def delete(self, ram: RamClient, name: str) -> None:
        getattr(ram, f"delete_{self.kind.lower()}")(self._request("Delete", name))


HOLDERS = [
    Holder("Role", lambda ram, name: make_role(ram, name)),
    Holder("User", lambda ram, name: ram.create_user(m.CreateUserRequest(user_name=name))),
    Holder("Group", lambda ram, name: ram.create_group(m.CreateGroupRequest(group_name=name))),
]


@pytest.fixture(params=HOLDERS, ids=repr)
def holder(request: pytest.FixtureRequest) -> Holder:
    return request.param


def test_a_resource_group_attachment_is_not_listed(ram: RamClient, holder: Holder) -> None:
    """ListPoliciesFor* shows the account-wide attachments only, with no field naming a resource group."""
    holder.make(ram, "h1")
    make_policy(ram, "scoped-read")
    holder.attach(ram, "h1", "scoped-read", "Custom", group=RG)
    assert holder.listed(ram, "h1") == []
    holder.attach(ram, "h1")
    rows = holder.listed(ram, "h1")
    assert [(p.policy_type, p.policy_name) for p in rows] == [("System", POLICY)]
    assert_fully_read(rows[0])
    assert set(rows[0].to_map()) == {"AttachDate", "DefaultVersion", "Description", "PolicyName", "PolicyType"}


def test_the_same_policy_can_be_attached_per_scope_but_once_in_each(ram: RamClient, holder: Holder) -> None:
    """Account-wide and per resource group are separate attachments; a repeat in one scope is 409."""
    holder.make(ram, "h1")
    holder.attach(ram, "h1", group=RG)
    holder.attach(ram, "h1")
    holder.attach(ram, "h1", group=OTHER_RG)
    with cloud_error(f"EntityAlreadyExists.{holder.kind}.Policy", 409):
        holder.attach(ram, "h1", group=RG)
    with cloud_error(f"EntityAlreadyExists.{holder.kind}.Policy", 409):
        holder.attach(ram, "h1")


def test_detach_without_the_resource_group_leaves_the_scoped_attachment(ram: RamClient, holder: Holder) -> None:
    """Only the scope named is detached: no ResourceGroupId (or another one) is EntityNotExist, and the holder
    stays undeletable until the attachment of its own resource group is detached."""
    holder.make(ram, "h1")
    holder.attach(ram, "h1", group=RG)
    with cloud_error(f"EntityNotExist.{holder.kind}.Policy", 404):
        holder.detach(ram, "h1")
    with cloud_error(f"EntityNotExist.{holder.kind}.Policy", 404):
        holder.detach(ram, "h1", group=OTHER_RG)
    with cloud_error(f"DeleteConflict.{holder.kind}.Policy", 409):
        holder.delete(ram, "h1")
    holder.detach(ram, "h1", group=RG)
    holder.delete(ram, "h1")


def test_detach_of_one_scope_keeps_the_other(ram: RamClient, holder: Holder) -> None:
    """With both attachments, a detach without ResourceGroupId takes the account-wide one only."""
    holder.make(ram, "h1")
    holder.attach(ram, "h1")
    holder.attach(ram, "h1", group=RG)
    holder.detach(ram, "h1")
    assert holder.listed(ram, "h1") == []
    with cloud_error(f"DeleteConflict.{holder.kind}.Policy", 409):
        holder.delete(ram, "h1")
    with cloud_error(f"EntityNotExist.{holder.kind}.Policy", 404):
        holder.detach(ram, "h1")
    holder.detach(ram, "h1", group=RG)
    holder.delete(ram, "h1")


def test_a_role_revoked_by_its_listing_alone_cannot_be_deleted(ram: RamClient) -> None:
    """Detaching what ListPoliciesForRole shows is not enough when a policy was attached to a resource group:
    the role is only deletable once that attachment is detached with its ResourceGroupId."""
    make_role(ram, "rolegate-grant")
    attach_to_role(ram, "rolegate-grant", POLICY, resource_group_id=RG)
    attach_to_role(ram, "rolegate-grant", "AliyunOSSReadOnlyAccess")
    listed = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="rolegate-grant")).body
    for row in listed.policies.policy:
        ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="rolegate-grant",
                                                                  policy_name=row.policy_name,
                                                                  policy_type=row.policy_type))
    with cloud_error("DeleteConflict.Role.Policy", 409):
        ram.delete_role(m.DeleteRoleRequest(role_name="rolegate-grant"))
    ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="rolegate-grant", policy_name=POLICY,
                                                              policy_type="System", resource_group_id=RG))
    ram.delete_role(m.DeleteRoleRequest(role_name="rolegate-grant"))


def test_a_custom_policy_held_in_a_resource_group_cannot_be_deleted(ram: RamClient) -> None:
    """DeletePolicy refuses a policy still attached, whatever the scope of the attachment."""
    make_role(ram, "r")
    make_policy(ram, "scoped-read")
    attach_to_role(ram, "r", "scoped-read", "Custom", resource_group_id=RG)
    with cloud_error("DeleteConflict.Policy.Role", 409):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="scoped-read"))
    ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="r", policy_name="scoped-read",
                                                              policy_type="Custom", resource_group_id=RG))
    ram.delete_policy(m.DeletePolicyRequest(policy_name="scoped-read"))
