"""The Resource Directory through the official ResourceManager SDK: members, who may read them, the access
role in each member, and member events on the management account's hub bus."""
from __future__ import annotations

import json
import re
import urllib.error
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_resourcemanager20200331 import models as rm
from alibabacloud_resourcemanager20200331.client import Client as ResourceManagerClient
from alibabacloud_sts20150401 import models as sts

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, create_user_with_policy, ram_client, sdk_config, service_trust, sts_client
from tests.emulator.ram_support import assert_fully_read, cloud_error

ACCESS_ROLE = "ResourceDirectoryAccountAccessRole"
HUB_BUS = "resource-directory"
TIME_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PATH = "/_emulator/resource-directory"


def rm_client(emulator: EmulatorServer, creds: Creds) -> ResourceManagerClient:
    return ResourceManagerClient(sdk_config(emulator, creds))


def enable(emulator: EmulatorServer, management: Creds, *members: Creds, **extra: list[str]) -> dict[str, Any]:
    return emulator.admin("POST", PATH, {"management_account_id": management["account_id"],
                                         "member_account_ids": [m["account_id"] for m in members], **extra})


def list_page(emulator: EmulatorServer, creds: Creds, **fields: Any) -> Any:
    return rm_client(emulator, creds).list_accounts(rm.ListAccountsRequest(**fields)).body


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def admin_error(emulator: EmulatorServer, body: dict[str, Any]) -> int:
    with pytest.raises(urllib.error.HTTPError) as info:
        emulator.admin("POST", PATH, body)
    return info.value.code


def has_access_role(emulator: EmulatorServer, account: Creds) -> bool:
    roles = ram_client(emulator, account).list_roles(ram_models.ListRolesRequest()).body.roles.role
    return any(role.role_name == ACCESS_ROLE for role in roles)


def hub_events(emulator: EmulatorServer, account_id: str, bus: str) -> list[dict[str, Any]]:
    return emulator.admin("GET", f"/_emulator/events?account_id={account_id}&event_bus={bus}")["events"]


@pytest.fixture
def org(emulator: EmulatorServer) -> dict[str, Creds]:
    """Management account M with created members A and B and invited member C; D belongs to no directory."""
    accounts = {name: emulator.create_account(alias) for name, alias in
                (("M", "management"), ("A", "workload-a"), ("B", "workload-b"), ("C", "legacy-c"), ("D", "outsider"))}
    enable(emulator, accounts["M"], accounts["A"], accounts["B"], invited_account_ids=[accounts["C"]["account_id"]])
    return accounts


# ------------------------------------------------------------------ ListAccounts
def test_list_accounts_pages_through_every_member(emulator: EmulatorServer) -> None:
    """23 members: 10 a page by default, pages until TotalCount is reached, a page past the end is empty,
    and PageSize 100 (the maximum) returns them all at once; the management account is not among them."""
    management = emulator.create_account("management")
    members = [emulator.create_account(f"member-{i}") for i in range(23)]
    enable(emulator, management, *members)
    first = list_page(emulator, management)
    assert (first.page_number, first.page_size, first.total_count, len(first.accounts.account)) == (1, 10, 23, 10)
    seen, page = [], 1
    while len(seen) < first.total_count:
        body = list_page(emulator, management, page_number=page, page_size=10)
        seen += [a.account_id for a in body.accounts.account]
        page += 1
    assert page == 4 and sorted(seen) == sorted(m["account_id"] for m in members)
    assert list_page(emulator, management, page_number=4, page_size=10).accounts.account == []
    everything = list_page(emulator, management, page_size=100)
    assert [a.account_id for a in everything.accounts.account] == seen and everything.total_count == 23


@pytest.mark.parametrize("fields, code", [({"page_size": 101}, "InvalidParameter.PageSize"),
                                          ({"page_size": 0}, "InvalidParameter.PageSize"),
                                          ({"page_number": 0}, "InvalidParameter.PageNumber")])
def test_paging_out_of_range_is_refused(emulator: EmulatorServer, org: dict[str, Creds], fields: dict[str, int],
                                        code: str) -> None:
    with cloud_error(code, 400):
        list_page(emulator, org["M"], **fields)


def test_members_carry_the_fields_the_api_returns(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    """Created members are resource accounts, invited ones cloud accounts; all sit in the Root folder."""
    directory = rm_client(emulator, org["M"]).get_resource_directory().body.resource_directory
    body = list_page(emulator, org["M"], include_tags=True)
    assert_fully_read(body)
    accounts = {a.account_id: a for a in body.accounts.account}
    assert list(accounts) == [org[n]["account_id"] for n in "ABC"]
    a, c = accounts[org["A"]["account_id"]], accounts[org["C"]["account_id"]]
    assert (a.display_name, a.type, a.status, a.join_method) == ("workload-a", "ResourceAccount", "CreateSuccess",
                                                                 "created")
    assert (c.display_name, c.type, c.status, c.join_method) == ("legacy-c", "CloudAccount", "InviteSuccess",
                                                                 "invited")
    assert (a.folder_id, a.resource_directory_id) == (directory.root_folder_id, directory.resource_directory_id)
    assert a.resource_directory_path == f"{directory.resource_directory_id}/{directory.root_folder_id}/" \
                                        f"{org['A']['account_id']}"
    assert TIME_MS.match(a.join_time) and a.modify_time == a.join_time
    assert a.tags.tag == []
    assert list_page(emulator, org["M"]).accounts.account[0].tags is None  # tags only when asked for
    assert list_page(emulator, org["M"], tag=[rm.ListAccountsRequestTag(key="env")]).total_count == 0


# ------------------------------------------------------------------ GetAccount, GetResourceDirectory
def test_get_account_answers_one_member(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    client = rm_client(emulator, org["M"])
    account = client.get_account(rm.GetAccountRequest(account_id=org["C"]["account_id"],
                                                      include_tags=True)).body.account
    assert_fully_read(account, absent={"account_name", "email_status", "identity_information", "location"})
    listed = {a.account_id: a for a in list_page(emulator, org["M"]).accounts.account}[org["C"]["account_id"]]
    assert {k: v for k, v in account.to_map().items() if k != "Tags"} == listed.to_map()
    assert account.tags == []


@pytest.mark.parametrize("account_id, code, status", [(None, "MissingParameter.AccountId", 400),
                                                      ("12345", "InvalidParameter.AccountId", 400),
                                                      ("1234567890123456", "EntityNotExists.Account", 404)])
def test_get_account_refuses_what_is_not_a_member(emulator: EmulatorServer, org: dict[str, Creds],
                                                  account_id: str | None, code: str, status: int) -> None:
    with cloud_error(code, status):
        rm_client(emulator, org["M"]).get_account(rm.GetAccountRequest(account_id=account_id))


def test_the_management_account_is_not_one_of_its_members(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    with cloud_error("EntityNotExists.Account", 404):
        rm_client(emulator, org["M"]).get_account(rm.GetAccountRequest(account_id=org["M"]["account_id"]))


def test_the_directory_is_described_to_its_management_account_and_members(emulator: EmulatorServer,
                                                                          org: dict[str, Creds]) -> None:
    from_management = rm_client(emulator, org["M"]).get_resource_directory().body.resource_directory
    assert_fully_read(from_management, absent={"identity_information"})
    assert (from_management.master_account_id, from_management.master_account_name) == (org["M"]["account_id"],
                                                                                        "management")
    assert re.fullmatch(r"rd-\w{6}", from_management.resource_directory_id)
    assert re.fullmatch(r"r-\w{6}", from_management.root_folder_id) and TIME_MS.match(from_management.create_time)
    from_member = rm_client(emulator, org["B"]).get_resource_directory().body.resource_directory
    assert from_member.to_map() == from_management.to_map()


# ------------------------------------------------------------------ who may read the directory
def test_an_account_without_a_directory_is_told_so(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    client = rm_client(emulator, org["D"])
    with cloud_error("EntityNotExists.ResourceDirectory", 404):
        client.list_accounts(rm.ListAccountsRequest())
    with cloud_error("EntityNotExists.ResourceDirectory", 404):
        client.get_account(rm.GetAccountRequest(account_id=org["A"]["account_id"]))
    with cloud_error("ResourceDirectoryNotInUse", 404):
        client.get_resource_directory()


def test_a_member_cannot_list_the_directory(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    client = rm_client(emulator, org["A"])
    with cloud_error("EntityNotExists.ResourceDirectory", 404):
        client.list_accounts(rm.ListAccountsRequest())
    with cloud_error("EntityNotExists.ResourceDirectory", 404):
        client.get_account(rm.GetAccountRequest(account_id=org["B"]["account_id"]))


def test_a_delegated_administrator_reads_the_directory(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    enable(emulator, org["M"], delegated_administrator_account_ids=[org["B"]["account_id"]])
    client = rm_client(emulator, org["B"])
    assert client.list_accounts(rm.ListAccountsRequest()).body.total_count == 3
    assert client.get_account(rm.GetAccountRequest(account_id=org["A"]["account_id"])).body.account.join_method \
        == "created"


def test_ram_users_of_the_management_account_need_resourcemanager_permissions(emulator: EmulatorServer,
                                                                              org: dict[str, Creds]) -> None:
    """No policy: NoPermission on each call. ListAccounts on ``account/*``, GetAccount on the member's RDPath."""
    management_id = org["M"]["account_id"]
    nobody = create_user_with_policy(emulator, org["M"], "nobody", None)
    for call in (lambda c: c.list_accounts(rm.ListAccountsRequest()),
                 lambda c: c.get_account(rm.GetAccountRequest(account_id=org["A"]["account_id"])),
                 lambda c: c.get_resource_directory()):
        with cloud_error("NoPermission", 403):
            call(rm_client(emulator, nobody))
    directory = rm_client(emulator, org["M"]).get_resource_directory().body.resource_directory
    a_path = f"{directory.resource_directory_id}/{directory.root_folder_id}/{org['A']['account_id']}"
    reader = create_user_with_policy(emulator, org["M"], "reader", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "resourcemanager:ListAccounts",
         "Resource": f"acs:resourcemanager:*:{management_id}:account/*"},
        {"Effect": "Allow", "Action": "resourcemanager:GetAccount",
         "Resource": f"acs:resourcemanager:*:{management_id}:account/{a_path}"}]})
    client = rm_client(emulator, reader)
    assert client.list_accounts(rm.ListAccountsRequest()).body.total_count == 3
    assert client.get_account(rm.GetAccountRequest(account_id=org["A"]["account_id"])).body.account
    with cloud_error("NoPermission", 403) as refused:
        client.get_account(rm.GetAccountRequest(account_id=org["B"]["account_id"]))
    assert "resourcemanager:GetAccount" in refused.value.data["Message"]
    with cloud_error("NoPermission", 403):
        client.get_resource_directory()


# ------------------------------------------------------------------ the access role in members
def test_each_member_gets_an_administrator_role_trusting_the_management_account(emulator: EmulatorServer,
                                                                               org: dict[str, Creds]) -> None:
    for name in "ABC":
        ram = ram_client(emulator, org[name])
        role = ram.get_role(ram_models.GetRoleRequest(role_name=ACCESS_ROLE)).body.role
        trust = json.loads(role.assume_role_policy_document)
        assert trust["Statement"] == [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                       "Principal": {"RAM": [f"acs:ram::{org['M']['account_id']}:root"]}}]
        policies = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name=ACCESS_ROLE))
        assert [(p.policy_name, p.policy_type) for p in policies.body.policies.policy] == [("AdministratorAccess",
                                                                                            "System")]
    assert not has_access_role(emulator, org["M"]) and not has_access_role(emulator, org["D"])


def test_the_management_account_assumes_the_access_role_and_others_cannot(emulator: EmulatorServer,
                                                                         org: dict[str, Creds]) -> None:
    """A RAM user of M allowed sts:AssumeRole gets a session that administers member A; the same permission
    in member B or outsider D does not open A's role."""
    role_arn = f"acs:ram::{org['A']['account_id']}:role/{ACCESS_ROLE.lower()}"
    request = sts.AssumeRoleRequest(role_arn=role_arn, role_session_name="hub")
    operator = create_user_with_policy(emulator, org["M"], "operator", allow("sts:AssumeRole"))
    credentials = sts_client(emulator, operator).assume_role(request).body.credentials
    session = {"account_id": org["A"]["account_id"], "access_key_id": credentials.access_key_id,
               "access_key_secret": credentials.access_key_secret, "security_token": credentials.security_token}
    ram_client(emulator, session).create_role(ram_models.CreateRoleRequest(
        role_name="made-by-the-hub", assume_role_policy_document=service_trust()))
    assert ram_client(emulator, org["A"]).get_role(ram_models.GetRoleRequest(role_name="made-by-the-hub")).body.role
    for stranger in ("B", "D"):
        user = create_user_with_policy(emulator, org[stranger], f"operator-{stranger}", allow("sts:AssumeRole"))
        with cloud_error("NoPermission", 403):
            sts_client(emulator, user).assume_role(request)


# ------------------------------------------------------------------ member events on the hub bus
def test_member_events_reach_the_management_accounts_hub_bus_and_not_the_reverse(emulator: EmulatorServer,
                                                                                 org: dict[str, Creds]) -> None:
    member, management = org["A"]["account_id"], org["M"]["account_id"]
    ram_client(emulator, org["A"]).create_role(ram_models.CreateRoleRequest(
        role_name="member-made", assume_role_policy_document=service_trust()))
    ram_client(emulator, org["M"]).create_role(ram_models.CreateRoleRequest(
        role_name="hub-made", assume_role_policy_document=service_trust()))
    ram_client(emulator, org["D"]).create_role(ram_models.CreateRoleRequest(
        role_name="outsider-made", assume_role_policy_document=service_trust()))
    on_member_bus = hub_events(emulator, member, "default")
    [routed] = hub_events(emulator, management, HUB_BUS)
    assert [e["data"]["requestParameters"]["RoleName"] for e in on_member_bus] == ["member-made"]
    assert routed["aliyunoriginalaccountid"] == member
    # Unrouted, every event names its own account as the original one (ledger: EB-ENVELOPE).
    assert on_member_bus[0]["aliyunoriginalaccountid"] == on_member_bus[0]["aliyunaccountid"] == member
    assert routed["data"] == on_member_bus[0]["data"] and routed["id"] == on_member_bus[0]["id"]
    assert (routed["data"]["recipientAccountId"], routed["data"]["userIdentity"]["accountId"]) == (member, member)
    assert [e["data"]["requestParameters"]["RoleName"] for e in hub_events(emulator, management, "default")] == \
        ["hub-made"]
    assert hub_events(emulator, member, HUB_BUS) == [] and hub_events(emulator, org["D"]["account_id"], HUB_BUS) == []


def test_a_refused_member_call_reaches_the_hub_too(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    user = create_user_with_policy(emulator, org["B"], "intern", None)
    with cloud_error("NoPermission", 403):
        ram_client(emulator, user).create_role(ram_models.CreateRoleRequest(
            role_name="not-allowed", assume_role_policy_document=service_trust()))
    routed = hub_events(emulator, org["M"]["account_id"], HUB_BUS)
    assert [e["data"]["eventName"] for e in routed] == ["CreateUser", "CreateAccessKey", "CreateRole"]
    assert routed[-1]["data"]["errorCode"] == "NoPermission"
    assert routed[-1]["data"]["userIdentity"]["userName"] == "intern"


# ------------------------------------------------------------------ the admin API
def test_the_directory_reads_back_and_grows(emulator: EmulatorServer, org: dict[str, Creds]) -> None:
    """A second POST adds a member and leaves the others (and their possibly edited access roles) alone."""
    ram_a = ram_client(emulator, org["A"])
    ram_a.update_role(ram_models.UpdateRoleRequest(role_name=ACCESS_ROLE, new_description="edited in A"))
    [before] = emulator.admin("GET", PATH)["resource_directories"]
    late = emulator.create_account("late")
    after = enable(emulator, org["M"], org["A"], late)
    assert [m["account_id"] for m in after["members"]] == [org[n]["account_id"] for n in "ABC"] + [late["account_id"]]
    assert after["resource_directory_id"] == before["resource_directory_id"]
    assert emulator.admin("GET", PATH)["resource_directories"] == [after]
    assert ram_a.get_role(ram_models.GetRoleRequest(role_name=ACCESS_ROLE)).body.role.description == "edited in A"
    assert has_access_role(emulator, late)


def test_bad_directory_requests_are_refused_and_change_nothing(emulator: EmulatorServer,
                                                               org: dict[str, Creds]) -> None:
    fresh, other = emulator.create_account("fresh"), emulator.create_account("other-management")
    ids = {n: c["account_id"] for n, c in org.items()}
    before = emulator.admin("GET", PATH)
    cases = [({"member_account_ids": [fresh["account_id"]]}, 400),  # no management account
             ({"management_account_id": ids["M"], "member_account_ids": fresh["account_id"]}, 400),
             ({"management_account_id": ids["M"], "member_account_ids": [fresh["account_id"], "9999999999999999"]},
              404),
             ({"management_account_id": ids["M"], "member_account_ids": [fresh["account_id"], ids["M"]]}, 400),
             ({"management_account_id": ids["M"], "member_account_ids": [fresh["account_id"]],
               "invited_account_ids": [fresh["account_id"]]}, 400),
             ({"management_account_id": ids["M"], "member_account_ids": [fresh["account_id"]],
               "delegated_administrator_account_ids": [ids["D"]]}, 400),
             ({"management_account_id": other["account_id"], "member_account_ids": [fresh["account_id"], ids["A"]]},
              409),
             ({"management_account_id": ids["A"], "member_account_ids": [fresh["account_id"]]}, 409)]
    for body, status in cases:
        assert admin_error(emulator, body) == status, body
    ram_client(emulator, org["D"]).create_role(ram_models.CreateRoleRequest(
        role_name=ACCESS_ROLE, assume_role_policy_document=service_trust()))
    assert admin_error(emulator, {"management_account_id": ids["M"],
                                  "member_account_ids": [fresh["account_id"], ids["D"]]}) == 409
    assert emulator.admin("GET", PATH) == before
    assert not has_access_role(emulator, fresh) and not has_access_role(emulator, other)


def test_access_roles_are_made_in_every_new_member_or_in_none(emulator: EmulatorServer,
                                                              org: dict[str, Creds]) -> None:
    """When RAM refuses the role in one member (its role quota is full), the roles already made are removed."""
    first, full = emulator.create_account("first"), emulator.create_account("full")
    emulator.admin("POST", "/_emulator/settings", {"quotas": {"roles_per_account": 1}})
    ram_client(emulator, full).create_role(ram_models.CreateRoleRequest(
        role_name="only-one", assume_role_policy_document=service_trust()))
    assert admin_error(emulator, {"management_account_id": org["M"]["account_id"],
                                  "member_account_ids": [first["account_id"], full["account_id"]]}) == 409
    assert not has_access_role(emulator, first)
    assert len(emulator.admin("GET", PATH)["resource_directories"][0]["members"]) == 3
