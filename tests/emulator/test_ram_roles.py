"""Emulated RAM roles through the real SDK clients: create, get, list, update, delete and their errors."""
from __future__ import annotations

import json

from alibabacloud_ram20150501 import models as m
from aliyunsdkcore.acs_exception.exceptions import ServerException

from emulator import EmulatorServer
from emulator.services import ram_models
from tests.emulator.helpers import legacy_common_request, legacy_core_client, ram_client_v2, set_quotas
from tests.emulator.helpers import ram_client
from tests.emulator.ram_support import (DATE, PARTNER, account, assert_fully_read, attach_to_role,  # noqa: F401
                                        cloud_error, make_role, pages, ram, trust_doc)


def test_create_role_returns_every_field(ram, account) -> None:
    """CreateRole answers in the `Role` wrapper with every field the SDK reads; the ARN lower-cases the name."""
    body = make_role(ram, "Partner-Role", description="for partner", max_session_duration=7200,
                     tag=[m.CreateRoleRequestTag(key="env", value="dev")])
    role = body.role
    assert_fully_read(body)
    assert role.role_name == "Partner-Role"
    assert role.arn == f"acs:ram::{account['account_id']}:role/partner-role"
    assert role.role_id.isdigit() and len(role.role_id) >= 15
    assert role.description == "for partner" and role.max_session_duration == 7200
    assert json.loads(role.assume_role_policy_document) == json.loads(trust_doc())
    assert DATE.match(role.create_date)


def test_get_role_reads_back_every_field(ram) -> None:
    """GetRole returns the stored role, found case-insensitively, with all fields the SDK model reads."""
    make_role(ram, "Reader")
    body = ram.get_role(m.GetRoleRequest(role_name="READER")).body
    assert_fully_read(body, absent={"latest_deletion_task"})
    assert body.role.role_name == "Reader"
    assert body.role.max_session_duration == ram_models.DEFAULT_SESSION_DURATION
    assert body.role.is_service_linked_role is False
    assert DATE.match(body.role.update_date)


def test_role_name_rules(ram) -> None:
    """Names are 1-64 chars of letters, digits, `.` and `-`, unique regardless of case."""
    with cloud_error("InvalidParameter.RoleName.Length", 400):
        make_role(ram, "r" * 65)
    with cloud_error("InvalidParameter.RoleName.InvalidChars", 400):
        make_role(ram, "bad_name")
    make_role(ram, "a.b-C9" + "x" * 58)
    with cloud_error("EntityAlreadyExists.Role", 409):
        make_role(ram, "A.B-c9" + "X" * 58)


def test_trust_policy_is_validated(ram) -> None:
    """Malformed trust policies are refused with a message naming the problem."""
    cases = {
        "{not json": "not valid JSON",
        json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}): "Principal",
        json.dumps({"Version": "1", "Statement": [{
            "Effect": "Allow", "Action": "ecs:*", "Principal": {"RAM": [f"acs:ram::{PARTNER}:root"]}}]}): "sts:AssumeRole",
        trust_doc(Resource="*"): "Resource",
        json.dumps({"Version": "2", "Statement": []}): "Version",
    }
    for document, named in cases.items():
        with cloud_error("MalformedPolicyDocument", 400) as info:
            make_role(ram, "t", assume_role_policy_document=document)
        assert named in info.value.message
    huge = trust_doc(Condition={"StringEquals": {"sts:ExternalId": "x" * ram_models.TRUST_POLICY_CHARS}})
    with cloud_error("InvalidParameter.AssumeRolePolicyDocument.Length", 400):
        make_role(ram, "t", assume_role_policy_document=huge)


def test_a_trust_policy_must_let_someone_in(ram) -> None:
    """A Deny-only trust policy is shown valid by no document, so it is refused; a documented form that
    nobody can satisfy (an Allow under contradictory conditions) is accepted."""
    deny_only = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"RAM": ["*"]}}]})
    with cloud_error("MalformedPolicyDocument", 400) as info:
        make_role(ram, "deny-only", assume_role_policy_document=deny_only)
    assert "Allow" in info.value.message
    contradiction = trust_doc(Condition={"StringEquals": {"sts:ExternalId": "x1"},
                                         "StringNotEquals": {"sts:ExternalId": "x1"}})
    assert make_role(ram, "nobody", assume_role_policy_document=contradiction).role.role_name == "nobody"


def test_description_and_session_duration_limits(ram) -> None:
    """Description is at most 1024 chars; MaxSessionDuration must lie in 3600..43200."""
    with cloud_error("InvalidParameter.Description.Length", 400):
        make_role(ram, "d", description="x" * 1025)
    for bad in (3599, 43201):
        with cloud_error("InvalidParameter.MaxSessionDuration", 400):
            make_role(ram, "d", max_session_duration=bad)
    assert make_role(ram, "d", max_session_duration=43200).role.max_session_duration == 43200


def test_missing_role_is_entity_not_exist(ram) -> None:
    """Get, update and delete of an unknown role answer EntityNotExist.Role with 404."""
    with cloud_error("EntityNotExist.Role", 404):
        ram.get_role(m.GetRoleRequest(role_name="ghost"))
    with cloud_error("EntityNotExist.Role", 404):
        ram.update_role(m.UpdateRoleRequest(role_name="ghost", new_description="x"))
    with cloud_error("EntityNotExist.Role", 404):
        ram.delete_role(m.DeleteRoleRequest(role_name="ghost"))


def test_update_role_changes_only_given_fields(ram, emulator: EmulatorServer) -> None:
    """UpdateRole applies New* fields, bumps UpdateDate, and leaves the role untouched when a field is invalid."""
    created = make_role(ram, "upd", description="old").role
    emulator.advance_clock(5)
    new_trust = trust_doc("6543210987654321")
    body = ram.update_role(m.UpdateRoleRequest(role_name="upd", new_assume_role_policy_document=new_trust,
                                               new_max_session_duration=10800)).body
    assert_fully_read(body)
    assert body.role.update_date > created.create_date
    assert body.role.description == "old" and body.role.max_session_duration == 10800
    assert json.loads(body.role.assume_role_policy_document) == json.loads(new_trust)
    with cloud_error("MalformedPolicyDocument", 400):
        ram.update_role(m.UpdateRoleRequest(role_name="upd", new_assume_role_policy_document="[]",
                                            new_description="changed"))
    with cloud_error("InvalidParameter.MaxSessionDuration", 400):
        ram.update_role(m.UpdateRoleRequest(role_name="upd", new_max_session_duration=60))
    role = ram.get_role(m.GetRoleRequest(role_name="upd")).body.role
    assert role.description == "old" and json.loads(role.assume_role_policy_document) == json.loads(new_trust)
    ram.update_role(m.UpdateRoleRequest(role_name="upd", new_description=""))
    assert ram.get_role(m.GetRoleRequest(role_name="upd")).body.role.description == ""


def test_delete_role_refused_while_policies_are_attached(ram) -> None:
    """A role with attached policies cannot be deleted; after detaching it can, and it is gone."""
    make_role(ram, "busy")
    attach_to_role(ram, "busy", "AliyunECSReadOnlyAccess")
    with cloud_error("DeleteConflict.Role.Policy", 409):
        ram.delete_role(m.DeleteRoleRequest(role_name="busy"))
    ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(role_name="busy", policy_name="AliyunECSReadOnlyAccess",
                                                              policy_type="System"))
    assert ram.delete_role(m.DeleteRoleRequest(role_name="busy")).body.request_id
    with cloud_error("EntityNotExist.Role", 404):
        ram.get_role(m.GetRoleRequest(role_name="busy"))


def test_role_quota_per_account(ram, emulator: EmulatorServer) -> None:
    """The account's role count is capped (1000 by default); a lowered quota is enforced the same way."""
    assert ram_models.ROLES_PER_ACCOUNT == 1000 == ram_models.DEFAULT_QUOTAS["roles_per_account"]
    set_quotas(emulator, roles_per_account=2)
    make_role(ram, "q1")
    make_role(ram, "q2")
    with cloud_error("LimitExceeded.Role", 409):
        make_role(ram, "q3")
    ram.delete_role(m.DeleteRoleRequest(role_name="q1"))
    make_role(ram, "q3")


def test_list_roles_pages_through_every_role(ram) -> None:
    """ListRoles pages with Marker/MaxItems, marks truncation, and returns each role once in the SDK wrappers."""
    names = [f"role-{i}" for i in range(5)]
    for name in names:
        make_role(ram, name, tag=[m.CreateRoleRequestTag(key="n", value=name)])
    bodies = pages(lambda marker: ram.list_roles(m.ListRolesRequest(max_items=2, marker=marker)).body)
    for body in bodies[:-1]:
        assert_fully_read(body)
    rows = [row for body in bodies for row in body.roles.role]
    for row in rows:
        assert_fully_read(row)
        assert row.tags.tag[0].tag_value == row.role_name
    assert len(bodies) == 3 and sorted(r.role_name for r in rows) == names
    assert len(ram.list_roles(m.ListRolesRequest()).body.roles.role) == 5


def test_list_roles_rejects_bad_paging(ram) -> None:
    """MaxItems must be 1..1000 and the Marker must be one the service issued."""
    for bad in (0, 1001):
        with cloud_error("InvalidParameter.MaxItems", 400):
            ram.list_roles(m.ListRolesRequest(max_items=bad))
    with cloud_error("InvalidParameter.Marker", 400):
        ram.list_roles(m.ListRolesRequest(marker="not-a-marker!"))


def test_list_roles_tag_filter_is_an_and_of_pairs(ram) -> None:
    """Every given key/value pair must match; a key without a value only requires the key."""
    tag = m.CreateRoleRequestTag
    make_role(ram, "dev-a", tag=[tag(key="env", value="dev"), tag(key="team", value="a")])
    make_role(ram, "dev-b", tag=[tag(key="env", value="dev"), tag(key="team", value="b")])
    make_role(ram, "prod-a", tag=[tag(key="env", value="prod"), tag(key="team", value="a")])
    make_role(ram, "untagged")

    def names(*pairs: tuple[str, str | None]) -> list[str]:
        request = m.ListRolesRequest(tag=[m.ListRolesRequestTag(key=k, value=v) for k, v in pairs])
        return sorted(r.role_name for r in ram.list_roles(request).body.roles.role)

    assert names(("env", "dev")) == ["dev-a", "dev-b"]
    assert names(("env", "dev"), ("team", "a")) == ["dev-a"]
    assert names(("team", None)) == ["dev-a", "dev-b", "prod-a"]
    assert names(("env", "test")) == []


def test_legacy_core_client_creates_and_reads_a_role(emulator: EmulatorServer, account) -> None:
    """The aliyun-python-sdk-core CommonRequest (RPC v1 signature, Tag.N repeat-list) works end to end."""
    client = legacy_core_client(account)
    create = legacy_common_request(emulator, "2015-05-01", "CreateRole", RoleName="LegacyRole",
                                   AssumeRolePolicyDocument=trust_doc(), **{"Tag.1.Key": "env", "Tag.1.Value": "qa"})
    role = json.loads(client.do_action_with_exception(create))["Role"]
    assert role["Arn"] == f"acs:ram::{account['account_id']}:role/legacyrole"
    got = json.loads(client.do_action_with_exception(
        legacy_common_request(emulator, "2015-05-01", "GetRole", RoleName="LegacyRole")))["Role"]
    assert got["RoleId"] == role["RoleId"]
    listed = json.loads(client.do_action_with_exception(legacy_common_request(emulator, "2015-05-01", "ListRoles")))
    assert listed["Roles"]["Role"][0]["Tags"]["Tag"] == [{"TagKey": "env", "TagValue": "qa"}]
    try:
        client.do_action_with_exception(legacy_common_request(emulator, "2015-05-01", "GetRole", RoleName="nope"))
    except ServerException as err:
        assert (err.get_error_code(), err.get_http_status()) == ("EntityNotExist.Role", 404)
    else:
        raise AssertionError("GetRole of a missing role succeeded")


def test_v2_signature_tea_client(emulator: EmulatorServer, account) -> None:
    """A Tea client with signature_algorithm='v2' (HMAC-SHA1 query signature) gets the same answers."""
    client = ram_client_v2(emulator, account)
    body = make_role(client, "v2-role", description="ünïcode & spaces*~",
                     tag=[m.CreateRoleRequestTag(key="k", value="v")])
    assert_fully_read(body)
    got = client.get_role(m.GetRoleRequest(role_name="v2-role")).body.role
    assert got.description == "ünïcode & spaces*~"
    assert [r.role_name for r in client.list_roles(m.ListRolesRequest()).body.roles.role] == ["v2-role"]
    with cloud_error("EntityNotExist.Role", 404):
        client.get_role(m.GetRoleRequest(role_name="missing"))


def test_roles_are_per_account(emulator: EmulatorServer, ram) -> None:
    """Each account sees only its own roles, and the ARN carries the owning account."""
    other = emulator.create_account()
    other_ram = ram_client(emulator, other)
    make_role(ram, "mine")
    assert other_ram.list_roles(m.ListRolesRequest()).body.roles.role == []
    assert make_role(other_ram, "mine").role.arn.startswith(f"acs:ram::{other['account_id']}:")


def test_attach_date_and_policy_listing_on_role(ram) -> None:
    """ListPoliciesForRole returns each attachment with type, description, default version and date."""
    make_role(ram, "lister")
    attach_to_role(ram, "lister", "AliyunFCReadOnlyAccess")
    rows = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name="lister")).body.policies.policy
    assert len(rows) == 1
    assert_fully_read(rows[0])
    assert (rows[0].policy_name, rows[0].policy_type, rows[0].default_version) == (
        "AliyunFCReadOnlyAccess", "System", "v1")
    assert DATE.match(rows[0].attach_date)
