"""Emulated RAM user groups through the real SDK: lifecycle, membership, group policies, limits, authorization."""
from __future__ import annotations

import pytest
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_ram20150501 import models as m
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, create_user_with_policy, events, fc3_client, ram_client, set_quotas
from tests.emulator.ram_support import (DATE, account, assert_fully_read, cloud_error, make_policy,  # noqa: F401
                                        pages, ram)


def make_group(ram: RamClient, name: str, comments: str | None = None) -> m.CreateGroupResponseBodyGroup:
    return ram.create_group(m.CreateGroupRequest(group_name=name, comments=comments)).body.group


def join(ram: RamClient, user: str, group: str) -> None:
    ram.add_user_to_group(m.AddUserToGroupRequest(user_name=user, group_name=group))


def leave(ram: RamClient, user: str, group: str) -> None:
    ram.remove_user_from_group(m.RemoveUserFromGroupRequest(user_name=user, group_name=group))


def attach(ram: RamClient, group: str, policy: str, policy_type: str = "System") -> None:
    ram.attach_policy_to_group(m.AttachPolicyToGroupRequest(group_name=group, policy_name=policy,
                                                            policy_type=policy_type))


def detach(ram: RamClient, group: str, policy: str, policy_type: str = "System") -> None:
    ram.detach_policy_from_group(m.DetachPolicyFromGroupRequest(group_name=group, policy_name=policy,
                                                                policy_type=policy_type))


def group_policies(ram: RamClient, group: str) -> list[str]:
    body = ram.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name=group)).body
    return [f"{p.policy_type}:{p.policy_name}" for p in body.policies.policy]


def user_groups(ram: RamClient, user: str) -> list[str]:
    body = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name=user)).body
    return [g.group_name for g in body.groups.group]


# ----------------------------------------------------------------- lifecycle
def test_create_get_update_list_delete_group(ram: RamClient) -> None:
    """A group round-trips through Create/Get/Update/List/Delete with every field the SDK models read."""
    created = ram.create_group(m.CreateGroupRequest(group_name="Dev-Team", comments="developers")).body
    assert_fully_read(created)
    group = created.group
    assert group.group_id.startswith("g-") and DATE.match(group.create_date) and group.comments == "developers"

    got = ram.get_group(m.GetGroupRequest(group_name="dev-team")).body
    assert_fully_read(got)
    assert (got.group.group_name, got.group.group_id, got.group.comments) == ("Dev-Team", group.group_id,
                                                                              "developers")

    updated = ram.update_group(m.UpdateGroupRequest(group_name="Dev-Team", new_group_name="Ops_Team.1",
                                                    new_comments="operators")).body
    assert_fully_read(updated)
    assert (updated.group.group_name, updated.group.group_id, updated.group.comments) == (
        "Ops_Team.1", group.group_id, "operators")
    with cloud_error("EntityNotExist.Group", 404):
        ram.get_group(m.GetGroupRequest(group_name="Dev-Team"))

    listed = ram.list_groups(m.ListGroupsRequest()).body
    assert_fully_read(listed, absent=("marker",))
    assert [g.group_name for g in listed.groups.group] == ["Ops_Team.1"] and listed.is_truncated is False

    ram.delete_group(m.DeleteGroupRequest(group_name="ops_team.1"))
    assert ram.list_groups(m.ListGroupsRequest()).body.groups.group == []
    with cloud_error("EntityNotExist.Group", 404):
        ram.delete_group(m.DeleteGroupRequest(group_name="Ops_Team.1"))


def test_group_name_and_comment_rules_uniqueness_and_quota(ram: RamClient, emulator: EmulatorServer) -> None:
    """Names are 1-64 of letters, digits and `._-`, unique regardless of case; comments <= 128; groups capped."""
    with cloud_error("InvalidParameter.GroupName.Length", 400):
        make_group(ram, "g" * 65)
    with cloud_error("InvalidParameter.GroupName.InvalidChars", 400):
        make_group(ram, "dev@team")
    with cloud_error("InvalidParameter.Comments.Length", 400):
        make_group(ram, "dev", "c" * 129)
    with cloud_error("MissingParameter.GroupName", 400):
        ram.create_group(m.CreateGroupRequest())
    make_group(ram, "g" * 64)
    make_group(ram, "dev.team_1-a", "c" * 128)
    with cloud_error("EntityAlreadyExists.Group", 409):
        make_group(ram, "DEV.TEAM_1-A")
    with cloud_error("EntityAlreadyExists.Group", 409):
        ram.update_group(m.UpdateGroupRequest(group_name="g" * 64, new_group_name="Dev.Team_1-A"))
    with cloud_error("InvalidParameter.NewGroupName.InvalidChars", 400):
        ram.update_group(m.UpdateGroupRequest(group_name="g" * 64, new_group_name="a b"))
    with cloud_error("InvalidParameter.NewComments.Length", 400):
        ram.update_group(m.UpdateGroupRequest(group_name="g" * 64, new_comments="c" * 129))
    with cloud_error("EntityNotExist.Group", 404):
        ram.update_group(m.UpdateGroupRequest(group_name="nobody", new_comments="x"))
    set_quotas(emulator, groups_per_account=2)
    with cloud_error("LimitExceeded.Group", 409):
        make_group(ram, "third")


def test_list_groups_pages(ram: RamClient) -> None:
    """ListGroups pages with Marker/MaxItems, in name order, each group exactly once."""
    names = [f"group{i}" for i in range(5)]
    for name in reversed(names):
        make_group(ram, name)
    bodies = pages(lambda marker: ram.list_groups(m.ListGroupsRequest(max_items=2, marker=marker)).body)
    assert len(bodies) == 3 and [g.group_name for body in bodies for g in body.groups.group] == names
    with cloud_error("InvalidParameter.MaxItems", 400):
        ram.list_groups(m.ListGroupsRequest(max_items=1001))


# ---------------------------------------------------------------- membership
def test_membership_round_trip(ram: RamClient) -> None:
    """Users join and leave groups; ListGroupsForUser and ListUsersForGroup agree, with join dates."""
    make_group(ram, "dev", "developers")
    make_group(ram, "ops")
    ram.create_user(m.CreateUserRequest(user_name="Alice", display_name="Alice A"))
    ram.create_user(m.CreateUserRequest(user_name="bob"))
    join(ram, "alice", "DEV")
    join(ram, "Alice", "ops")
    join(ram, "bob", "dev")

    mine = ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name="Alice")).body
    assert_fully_read(mine)
    assert [(g.group_name, g.comments) for g in mine.groups.group] == [("dev", "developers"), ("ops", "")]
    assert all(DATE.match(g.join_date) for g in mine.groups.group)

    members = ram.list_users_for_group(m.ListUsersForGroupRequest(group_name="dev")).body
    assert_fully_read(members, absent=("marker",))
    assert [(u.user_name, u.display_name) for u in members.users.user] == [("Alice", "Alice A"), ("bob", "bob")]
    assert members.is_truncated is False

    leave(ram, "ALICE", "dev")
    assert user_groups(ram, "Alice") == ["ops"]
    listed = ram.list_users_for_group(m.ListUsersForGroupRequest(group_name="dev")).body.users.user
    assert [u.user_name for u in listed] == ["bob"]


def test_membership_errors(ram: RamClient, emulator: EmulatorServer) -> None:
    """Joining twice, leaving a group one is not in, unknown users or groups, and the per-user cap are refused."""
    make_group(ram, "dev")
    ram.create_user(m.CreateUserRequest(user_name="alice"))
    join(ram, "alice", "dev")
    with cloud_error("EntityAlreadyExists.User.Group", 409):
        join(ram, "Alice", "dev")
    with cloud_error("EntityNotExist.Group", 404):
        join(ram, "alice", "nope")
    with cloud_error("EntityNotExist.User", 404):
        join(ram, "nobody", "dev")
    make_group(ram, "ops")
    with cloud_error("EntityNotExist.User.Group", 404):
        leave(ram, "alice", "ops")
    with cloud_error("EntityNotExist.Group", 404):
        leave(ram, "alice", "nope")
    with cloud_error("EntityNotExist.User", 404):
        ram.list_groups_for_user(m.ListGroupsForUserRequest(user_name="nobody"))
    with cloud_error("EntityNotExist.Group", 404):
        ram.list_users_for_group(m.ListUsersForGroupRequest(group_name="nope"))
    set_quotas(emulator, groups_per_user=1)
    with cloud_error("LimitExceeded.User.Group", 409):
        join(ram, "alice", "ops")
    assert user_groups(ram, "alice") == ["dev"]


def test_list_users_for_group_pages(ram: RamClient) -> None:
    """ListUsersForGroup pages with Marker/MaxItems and names each member exactly once."""
    make_group(ram, "big")
    names = [f"user{i}" for i in range(5)]
    for name in names:
        ram.create_user(m.CreateUserRequest(user_name=name))
        join(ram, name, "big")
    bodies = pages(lambda marker: ram.list_users_for_group(
        m.ListUsersForGroupRequest(group_name="big", max_items=2, marker=marker)).body)
    assert len(bodies) == 3 and [u.user_name for body in bodies for u in body.users.user] == names


def test_delete_conflicts_of_groups_and_their_members(ram: RamClient) -> None:
    """A group with members or policies cannot be deleted, nor can a user who is still in a group."""
    make_group(ram, "dev")
    ram.create_user(m.CreateUserRequest(user_name="alice"))
    join(ram, "alice", "dev")
    attach(ram, "dev", "AliyunOSSReadOnlyAccess")
    with cloud_error("DeleteConflict.Group.User", 409):
        ram.delete_group(m.DeleteGroupRequest(group_name="dev"))
    with cloud_error("DeleteConflict.User.Group", 409):
        ram.delete_user(m.DeleteUserRequest(user_name="alice"))
    leave(ram, "alice", "dev")
    ram.delete_user(m.DeleteUserRequest(user_name="alice"))
    with cloud_error("DeleteConflict.Group.Policy", 409):
        ram.delete_group(m.DeleteGroupRequest(group_name="dev"))
    detach(ram, "dev", "AliyunOSSReadOnlyAccess")
    ram.delete_group(m.DeleteGroupRequest(group_name="dev"))
    assert ram.list_groups(m.ListGroupsRequest()).body.groups.group == []


# ------------------------------------------------------------------ policies
def test_group_policies_attach_list_detach(ram: RamClient) -> None:
    """System and custom policies attach to a group, are listed with attach dates, and detach again."""
    make_group(ram, "dev")
    make_policy(ram, "read-things")
    attach(ram, "dev", "AliyunOSSReadOnlyAccess")
    attach(ram, "dev", "read-things", "Custom")

    body = ram.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="dev")).body
    assert_fully_read(body)
    assert [(p.policy_type, p.policy_name, p.default_version) for p in body.policies.policy] == [
        ("System", "AliyunOSSReadOnlyAccess", "v1"), ("Custom", "read-things", "v1")]
    assert all(DATE.match(p.attach_date) for p in body.policies.policy)

    detach(ram, "dev", "aliyunossreadonlyaccess")
    assert group_policies(ram, "dev") == ["Custom:read-things"]


def test_group_policy_errors_and_limits(ram: RamClient, emulator: EmulatorServer) -> None:
    """Attach twice, detach what is not attached, unknown groups, policies and types, and the per-group caps."""
    make_group(ram, "dev")
    attach(ram, "dev", "AliyunOSSReadOnlyAccess")
    with cloud_error("EntityAlreadyExists.Group.Policy", 409):
        attach(ram, "dev", "AliyunOSSReadOnlyAccess")
    with cloud_error("EntityNotExist.Group.Policy", 404):
        detach(ram, "dev", "AliyunECSReadOnlyAccess")
    with cloud_error("EntityNotExist.Group", 404):
        attach(ram, "nope", "AliyunOSSReadOnlyAccess")
    with cloud_error("EntityNotExist.Group", 404):
        detach(ram, "nope", "AliyunOSSReadOnlyAccess")
    with cloud_error("EntityNotExist.Group", 404):
        ram.list_policies_for_group(m.ListPoliciesForGroupRequest(group_name="nope"))
    with cloud_error("EntityNotExist.Policy", 404):
        attach(ram, "dev", "NoSuchPolicy")
    with cloud_error("InvalidParameter.PolicyType", 400):
        attach(ram, "dev", "AliyunOSSReadOnlyAccess", "Managed")

    set_quotas(emulator, system_policies_per_entity=2, custom_policies_per_entity=1)
    attach(ram, "dev", "AliyunECSReadOnlyAccess")
    with cloud_error("LimitExceeded.Group.Policy", 409):
        attach(ram, "dev", "AliyunVPCReadOnlyAccess")
    make_policy(ram, "c1")
    make_policy(ram, "c2")
    attach(ram, "dev", "c1", "Custom")
    with cloud_error("LimitExceeded.Group.Policy", 409):
        attach(ram, "dev", "c2", "Custom")


def test_policies_know_their_groups(ram: RamClient) -> None:
    """ListEntitiesForPolicy names the groups holding a policy; DeletePolicy refuses while a group holds it."""
    make_group(ram, "dev", "developers")
    make_policy(ram, "read-things")
    attach(ram, "dev", "read-things", "Custom")
    body = ram.list_entities_for_policy(m.ListEntitiesForPolicyRequest(policy_name="read-things",
                                                                       policy_type="Custom")).body
    assert_fully_read(body)
    assert [(g.group_name, g.comments) for g in body.groups.group] == [("dev", "developers")]
    assert DATE.match(body.groups.group[0].attach_date)
    assert body.users.user == [] and body.roles.role == []
    got = ram.get_policy(m.GetPolicyRequest(policy_name="read-things", policy_type="Custom")).body
    assert got.policy.attachment_count == 1

    with cloud_error("DeleteConflict.Policy.Group", 409):
        ram.delete_policy(m.DeletePolicyRequest(policy_name="read-things"))
    detach(ram, "dev", "read-things", "Custom")
    ram.delete_policy(m.DeletePolicyRequest(policy_name="read-things"))


def test_cascading_policy_delete_detaches_it_from_groups(ram: RamClient) -> None:
    """DeletePolicy with CascadingDelete takes the policy from the groups holding it too."""
    make_group(ram, "dev")
    make_policy(ram, "read-things")
    attach(ram, "dev", "read-things", "Custom")
    ram.delete_policy(m.DeletePolicyRequest(policy_name="read-things", cascading_delete=True))
    assert group_policies(ram, "dev") == []


# ------------------------------------------------------------- authorization
@pytest.fixture
def carol(emulator: EmulatorServer, account: Creds) -> Creds:
    """A RAM user holding no policy of its own, with an AccessKey."""
    return create_user_with_policy(emulator, account, "carol", None)


def _list_functions(emulator: EmulatorServer, creds: Creds) -> list[str]:
    body = fc3_client(emulator, creds).list_functions(fc3.ListFunctionsRequest()).body
    return [f.function_name for f in body.functions or []]


def test_a_group_policy_authorizes_its_members_until_they_leave(emulator: EmulatorServer, ram: RamClient,
                                                                carol: Creds) -> None:
    """A user without policies of its own may call fc:ListFunctions while in a group holding AliyunFCReadOnlyAccess."""
    with pytest.raises(ClientException) as refused:
        _list_functions(emulator, carol)
    assert refused.value.code == "NoPermission" and "fc:ListFunctions" in refused.value.message

    make_group(ram, "readers")
    attach(ram, "readers", "AliyunFCReadOnlyAccess")
    join(ram, "carol", "readers")
    assert _list_functions(emulator, carol) == []

    leave(ram, "carol", "readers")
    with pytest.raises(ClientException) as again:
        _list_functions(emulator, carol)
    assert again.value.code == "NoPermission"


def test_a_group_deny_outweighs_the_members_own_allow(emulator: EmulatorServer, ram: RamClient,
                                                      account: Creds) -> None:
    """Group and user policies are one identity set: an explicit Deny on the group wins over the user's Allow."""
    dave = create_user_with_policy(emulator, account, "dave", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "fc:List*", "Resource": "*"}]})
    assert _list_functions(emulator, dave) == []
    make_policy(ram, "no-fc", '{"Version": "1", "Statement": [{"Effect": "Deny", "Action": "fc:*", "Resource": "*"}]}')
    make_group(ram, "restricted")
    attach(ram, "restricted", "no-fc", "Custom")
    join(ram, "dave", "restricted")
    with pytest.raises(ClientException) as refused:
        _list_functions(emulator, dave)
    assert refused.value.code == "NoPermission" and "ExplicitDeny" in refused.value.message


def test_group_actions_are_authorized_on_group_arns(emulator: EmulatorServer, ram: RamClient,
                                                    account: Creds) -> None:
    """A user allowed group actions on group/dev-* only manages those groups; the ARN names the account."""
    arn = f"acs:ram::{account['account_id']}:group/dev-*"
    erin = create_user_with_policy(emulator, account, "erin", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:CreateGroup", "ram:GetGroup"], "Resource": arn}]})
    erin_ram = ram_client(emulator, erin)
    make_group(erin_ram, "dev-web")
    assert erin_ram.get_group(m.GetGroupRequest(group_name="dev-web")).body.group.group_name == "dev-web"
    with pytest.raises(ClientException) as refused:
        make_group(erin_ram, "ops")
    assert refused.value.code == "NoPermission"
    assert f"acs:ram::{account['account_id']}:group/ops" in refused.value.message
    assert ram.list_groups(m.ListGroupsRequest()).body.groups.group[0].group_name == "dev-web"


# --------------------------------------------------------------------- trail
def test_group_writes_are_recorded_membership_as_ims_and_attachments_as_ram(emulator: EmulatorServer,
                                                                            ram: RamClient) -> None:
    """Group lifecycle and membership events are Ims events; policy attachments are Ram events; reads are not."""
    mark = len(events(emulator))
    make_group(ram, "dev", "developers")
    ram.create_user(m.CreateUserRequest(user_name="alice"))
    join(ram, "alice", "dev")
    attach(ram, "dev", "AdministratorAccess")
    ram.get_group(m.GetGroupRequest(group_name="dev"))
    group_policies(ram, "dev")
    detach(ram, "dev", "AdministratorAccess")
    leave(ram, "alice", "dev")
    ram.delete_group(m.DeleteGroupRequest(group_name="dev"))

    recorded = {e["data"]["eventName"]: e["data"] for e in events(emulator, mark)}
    assert list(recorded) == ["CreateGroup", "CreateUser", "AddUserToGroup", "AttachPolicyToGroup",
                              "DetachPolicyFromGroup", "RemoveUserFromGroup", "DeleteGroup"]
    for name in ("CreateGroup", "AddUserToGroup", "RemoveUserFromGroup", "DeleteGroup"):
        assert (recorded[name]["serviceName"], recorded[name]["eventSource"]) == ("Ims", "ims-share.aliyuncs.com")
    for name in ("AttachPolicyToGroup", "DetachPolicyFromGroup"):
        assert (recorded[name]["serviceName"], recorded[name]["eventSource"]) == ("Ram", "ram.aliyuncs.com")
    attach_event = recorded["AttachPolicyToGroup"]
    assert attach_event["requestParameters"]["GroupName"] == "dev"
    assert attach_event["referencedResources"] == {"ACS::RAM::Group": ["dev"],
                                                   "ACS::RAM::Policy": ["AdministratorAccess"]}
    assert recorded["AddUserToGroup"]["referencedResources"] == {"ACS::RAM::User": ["alice"],
                                                                 "ACS::RAM::Group": ["dev"]}
    assert recorded["CreateGroup"]["responseElements"]["Group"]["GroupName"] == "dev"
