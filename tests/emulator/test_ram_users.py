"""Emulated RAM users and their AccessKeys through the real SDK."""
from __future__ import annotations

from alibabacloud_ram20150501 import models as m

from emulator import EmulatorServer
from tests.emulator.helpers import ram_client, set_quotas
from tests.emulator.ram_support import DATE, account, assert_fully_read, cloud_error, pages, ram  # noqa: F401


def test_create_get_list_delete_user(ram) -> None:
    """A user round-trips through Create/Get/List/Delete with every field the SDK models read."""
    created = ram.create_user(m.CreateUserRequest(user_name="Alice", display_name="Alice A", comments="c",
                                                  email="a@example.com", mobile_phone="86-1")).body
    assert_fully_read(created)
    assert created.user.user_id.isdigit() and DATE.match(created.user.create_date)
    got = ram.get_user(m.GetUserRequest(user_name="alice")).body
    assert_fully_read(got)
    assert (got.user.user_name, got.user.user_id) == ("Alice", created.user.user_id)
    listed = ram.list_users(m.ListUsersRequest()).body
    assert [u.user_name for u in listed.users.user] == ["Alice"] and listed.is_truncated is False
    assert_fully_read(listed.users.user[0])
    ram.delete_user(m.DeleteUserRequest(user_name="Alice"))
    with cloud_error("EntityNotExist.User", 404):
        ram.get_user(m.GetUserRequest(user_name="Alice"))


def test_user_name_rules_and_uniqueness(ram, emulator: EmulatorServer) -> None:
    """User names are 1-64 chars of letters, digits and `._@-`, unique regardless of case, capped per account."""
    with cloud_error("InvalidParameter.UserName.Length", 400):
        ram.create_user(m.CreateUserRequest(user_name="u" * 65))
    with cloud_error("InvalidParameter.UserName.InvalidChars", 400):
        ram.create_user(m.CreateUserRequest(user_name="bad name"))
    ram.create_user(m.CreateUserRequest(user_name="ok.user@x-1_"))
    with cloud_error("EntityAlreadyExists.User", 409):
        ram.create_user(m.CreateUserRequest(user_name="OK.USER@X-1_"))
    set_quotas(emulator, users_per_account=1)
    with cloud_error("LimitExceeded.User", 409):
        ram.create_user(m.CreateUserRequest(user_name="second"))


def test_list_users_pages(ram) -> None:
    """ListUsers pages with Marker/MaxItems and returns each user exactly once."""
    names = [f"user{i}" for i in range(5)]
    for name in names:
        ram.create_user(m.CreateUserRequest(user_name=name))
    bodies = pages(lambda marker: ram.list_users(m.ListUsersRequest(max_items=2, marker=marker)).body)
    assert len(bodies) == 3 and [u.user_name for body in bodies for u in body.users.user] == names


def test_access_key_lifecycle(ram, emulator: EmulatorServer, account) -> None:
    """A created key signs requests as the user; once deleted it no longer authenticates."""
    ram.create_user(m.CreateUserRequest(user_name="svc"))
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name="svc")).body
    assert_fully_read(key)
    assert key.access_key.status == "Active" and DATE.match(key.access_key.create_date)
    record = emulator.world.keys[key.access_key.access_key_id]
    assert (record.identity.kind, record.identity.name, record.identity.account_id) == (
        "user", "svc", account["account_id"])
    listed = ram.list_access_keys(m.ListAccessKeysRequest(user_name="svc")).body
    assert_fully_read(listed)
    assert [k.access_key_id for k in listed.access_keys.access_key] == [key.access_key.access_key_id]

    emulator.admin("POST", "/_emulator/settings", {"authorization": False})
    user_ram = ram_client(emulator, {"access_key_id": key.access_key.access_key_id,
                                     "access_key_secret": key.access_key.access_key_secret})
    assert user_ram.list_roles(m.ListRolesRequest()).body.roles.role == []
    own = user_ram.create_access_key(m.CreateAccessKeyRequest()).body.access_key
    assert emulator.world.keys[own.access_key_id].identity.name == "svc"

    ram.delete_access_key(m.DeleteAccessKeyRequest(user_name="svc", user_access_key_id=key.access_key.access_key_id))
    with cloud_error("InvalidAccessKeyId.NotFound", 404):
        user_ram.list_roles(m.ListRolesRequest())
    with cloud_error("EntityNotExist.User.AccessKey", 404):
        ram.delete_access_key(m.DeleteAccessKeyRequest(user_name="svc",
                                                       user_access_key_id=key.access_key.access_key_id))


def test_access_keys_per_user_limit(ram) -> None:
    """A user holds at most two AccessKey pairs."""
    ram.create_user(m.CreateUserRequest(user_name="keys"))
    for _ in range(2):
        ram.create_access_key(m.CreateAccessKeyRequest(user_name="keys"))
    with cloud_error("LimitExceeded.User.AccessKey", 409):
        ram.create_access_key(m.CreateAccessKeyRequest(user_name="keys"))
    with cloud_error("EntityNotExist.User", 404):
        ram.create_access_key(m.CreateAccessKeyRequest(user_name="nobody"))


def test_delete_user_conflicts(ram) -> None:
    """A user with AccessKeys or attached policies cannot be deleted until they are removed."""
    ram.create_user(m.CreateUserRequest(user_name="held"))
    key = ram.create_access_key(m.CreateAccessKeyRequest(user_name="held")).body.access_key
    ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="held", policy_name="ReadOnlyAccess",
                                                          policy_type="System"))
    with cloud_error("DeleteConflict.User.AccessKey", 409):
        ram.delete_user(m.DeleteUserRequest(user_name="held"))
    ram.delete_access_key(m.DeleteAccessKeyRequest(user_name="held", user_access_key_id=key.access_key_id))
    with cloud_error("DeleteConflict.User.Policy", 409):
        ram.delete_user(m.DeleteUserRequest(user_name="held"))
    ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(user_name="held", policy_name="ReadOnlyAccess",
                                                              policy_type="System"))
    ram.delete_user(m.DeleteUserRequest(user_name="held"))


def test_user_policy_attachments(ram) -> None:
    """Attach/detach/list for users mirror the role rules with User-specific error codes."""
    ram.create_user(m.CreateUserRequest(user_name="dev"))
    attach = m.AttachPolicyToUserRequest(user_name="dev", policy_name="AliyunSTSAssumeRoleAccess", policy_type="System")
    ram.attach_policy_to_user(attach)
    with cloud_error("EntityAlreadyExists.User.Policy", 409):
        ram.attach_policy_to_user(attach)
    with cloud_error("EntityNotExist.User", 404):
        ram.attach_policy_to_user(m.AttachPolicyToUserRequest(user_name="nobody", policy_name="ReadOnlyAccess",
                                                              policy_type="System"))
    rows = ram.list_policies_for_user(m.ListPoliciesForUserRequest(user_name="dev")).body
    assert_fully_read(rows)
    assert [p.policy_name for p in rows.policies.policy] == ["AliyunSTSAssumeRoleAccess"]
    ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(user_name="dev", policy_name="AliyunSTSAssumeRoleAccess",
                                                              policy_type="System"))
    with cloud_error("EntityNotExist.User.Policy", 404):
        ram.detach_policy_from_user(m.DetachPolicyFromUserRequest(
            user_name="dev", policy_name="AliyunSTSAssumeRoleAccess", policy_type="System"))
