"""Resource Directory (ResourceManager 2020-03-31): members, their access role, and who may read them.

Directories are made through the admin API; ``ListAccounts``, ``GetAccount``
and ``GetResourceDirectory`` read them. Who may call what, the members' access
role and the hub copy of their events: docs/design/emulator.md.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..clock import iso, iso_ms
from ..errors import CloudError, conflict, not_found
from ..protocol import ApiRequest
from ..registry import admin, rpc
from ..world import World, random_token
from .ram import Quotas, RamState, ram_state, role_arn

ACCESS_ROLE = "ResourceDirectoryAccountAccessRole"  # ledger: RD-ACCESS-ROLE
ACCESS_POLICY = "AdministratorAccess"  # ledger: RD-ACCESS-ROLE
HUB_EVENT_BUS = "resource-directory"  # ledger: RD-MEMBER-EVENTS
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 10, 100  # ledger: RD-LISTACCOUNTS-PAGING
MAX_PAGE_NUMBER = 2**31 - 1  # an int32 parameter
_ACCOUNT_ID = re.compile(r"^\d{16}$")  # ledger: RD-GETACCOUNT-ERRORS
_JOIN = {  # join method -> (member type, status). ledger: RD-ACCOUNT-FIELDS
    "created": ("ResourceAccount", "CreateSuccess"),
    "invited": ("CloudAccount", "InviteSuccess"),
}


# ---------------------------------------------------------------------- state
@dataclass
class Member:
    account_id: str
    display_name: str
    join_method: str
    joined: str

    @property
    def account_type(self) -> str:
        return _JOIN[self.join_method][0]

    @property
    def status(self) -> str:
        return _JOIN[self.join_method][1]


@dataclass
class Directory:
    directory_id: str
    root_folder_id: str
    management_account_id: str
    created: str
    members: dict[str, Member] = field(default_factory=dict)  # in joining order
    delegated_administrators: set[str] = field(default_factory=set)

    def path(self, account_id: str) -> str:
        """The member's RDPath (every member sits in the Root folder)."""
        return f"{self.directory_id}/{self.root_folder_id}/{account_id}"

    def reads_members(self, account_id: str) -> bool:
        """Delegated administrators see the directory as its management account does."""
        return account_id == self.management_account_id or account_id in self.delegated_administrators


def directories(world: World) -> dict[str, Directory]:
    """Every directory, by management account."""
    return world.extras.setdefault("resource_directories", {})


def _containing(world: World, account_id: str) -> Directory | None:
    """The directory the account manages or belongs to."""
    for directory in directories(world).values():
        if account_id == directory.management_account_id or account_id in directory.members:
            return directory
    return None


def _readable_by(world: World, account_id: str) -> Directory:
    """The directory whose members ``account_id`` may list: its own, or one it is a delegated administrator of."""
    # ledger: RD-CALLERS
    for directory in directories(world).values():
        if directory.reads_members(account_id):
            return directory
    raise not_found("EntityNotExists.ResourceDirectory",
                    "The resource directory for the account is not enabled. We recommend that you first enable "
                    "the resource directory for the account.")


def hub_copy(world: World, event: dict[str, Any]) -> dict[str, Any] | None:
    """The member event as the management account's hub bus receives it, or None if its account is no member."""
    # ledger: RD-MEMBER-EVENTS
    origin = event["aliyunaccountid"]
    for directory in directories(world).values():
        if origin in directory.members:
            return {**event, "aliyunaccountid": directory.management_account_id,
                    "aliyuneventbusname": HUB_EVENT_BUS, "aliyunoriginalaccountid": origin}
    return None


# ---------------------------------------------------------------------- admin
def _ids(body: dict[str, Any], name: str) -> list[str]:
    """A list of account ids from the body, each once (order kept: it is the joining order)."""
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must be a list of account ids")
    return list(dict.fromkeys(value))


def _access_trust(management_account_id: str) -> str:
    # ledger: RD-ACCESS-ROLE
    return json.dumps({"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                      "Principal": {"RAM": [f"acs:ram::{management_account_id}:root"]}}],
                       "Version": "1"})


def _check_joinable(world: World, management_id: str, newcomers: Iterable[str]) -> None:
    """Refuse, before anything changes, an account that cannot join: unknown, the manager, or taken elsewhere."""
    for account_id in newcomers:
        account = world.account(account_id)
        if account_id == management_id:
            raise ValueError(f"the management account {account_id} cannot be its own member")
        elsewhere = _containing(world, account_id)
        if elsewhere is not None:
            raise conflict("AccountInAnotherResourceDirectory",
                           f"Account {account_id} already belongs to the resource directory "
                           f"{elsewhere.directory_id}.")
        if ram_state(account).find_role(ACCESS_ROLE) is not None:
            raise conflict("EntityAlreadyExists.Role", f"Account {account_id} already has a role named {ACCESS_ROLE}.")


def _create_access_roles(world: World, management_id: str, account_ids: list[str]) -> None:
    """The access role in each new member, all or none (a RAM quota may refuse one)."""
    now, quotas = iso(world.clock.now()), Quotas.of(world)
    made: list[RamState] = []
    try:
        for account_id in account_ids:
            state = ram_state(world.account(account_id))
            role = state.create_role(ACCESS_ROLE, _access_trust(management_id), now, quotas)
            made.append(state)
            state.attach(role, "System", ACCESS_POLICY, None, now, quotas)
    except CloudError:
        for state in made:
            role = state.get_role(ACCESS_ROLE)
            if role.attached:
                state.detach(role, "System", ACCESS_POLICY, None)
            state.delete_role(ACCESS_ROLE)
        raise


def _view(directory: Directory) -> dict[str, Any]:
    return {"resource_directory_id": directory.directory_id, "root_folder_id": directory.root_folder_id,
            "management_account_id": directory.management_account_id, "event_bus": HUB_EVENT_BUS,
            "members": [{"account_id": m.account_id, "join_method": m.join_method,
                         "access_role_arn": role_arn(m.account_id, ACCESS_ROLE)}
                        for m in directory.members.values()],
            "delegated_administrator_account_ids": sorted(directory.delegated_administrators)}


@admin("POST", "/_emulator/resource-directory")
def enable_directory(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    """Enable a directory or add to it: ``{"management_account_id", "member_account_ids",
    "invited_account_ids"?, "delegated_administrator_account_ids"?}``; members already in it stay as they are."""
    management_id = body.get("management_account_id")
    if not isinstance(management_id, str) or not management_id:
        raise ValueError("management_account_id is required")
    created_ids, invited_ids = _ids(body, "member_account_ids"), _ids(body, "invited_account_ids")
    if set(created_ids) & set(invited_ids):
        raise ValueError("an account cannot be both created and invited")
    joining = {**dict.fromkeys(created_ids, "created"), **dict.fromkeys(invited_ids, "invited")}
    delegated = _ids(body, "delegated_administrator_account_ids")
    with world.lock:
        management = world.account(management_id)
        directory = directories(world).get(management_id)
        if directory is None and _containing(world, management_id) is not None:
            raise conflict("AccountInAnotherResourceDirectory",
                           f"Account {management_id} is a member of another resource directory.")
        newcomers = [a for a in joining if directory is None or a not in directory.members]
        _check_joinable(world, management_id, newcomers)
        known = set(newcomers) | set(directory.members if directory else ())
        outsiders = [a for a in delegated if a not in known]
        if outsiders:  # ledger: RD-CALLERS
            raise ValueError(f"delegated administrators must be members: {', '.join(outsiders)}")
        _create_access_roles(world, management_id, newcomers)
        created, now = directory is None, iso_ms(world.clock.now())
        if directory is None:
            # ledger: RD-ACCOUNT-FIELDS
            directory = Directory("rd-" + random_token(6), "r-" + random_token(6), management.account_id, now)
            directories(world)[management_id] = directory
        for account_id in newcomers:
            directory.members[account_id] = Member(account_id, world.account(account_id).alias, joining[account_id],
                                                   now)
        directory.delegated_administrators.update(delegated)
        return (201 if created else 200), _view(directory)


@admin("GET", "/_emulator/resource-directory")
def list_directories(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    """Every directory with its members."""
    with world.lock:
        return 200, {"resource_directories": [_view(d) for d in directories(world).values()]}


# ------------------------------------------------------------------- actions
def _account(directory: Directory, member: Member) -> dict[str, Any]:
    # ledger: RD-ACCOUNT-FIELDS
    return {"AccountId": member.account_id, "DisplayName": member.display_name, "Type": member.account_type,
            "Status": member.status, "FolderId": directory.root_folder_id,
            "ResourceDirectoryId": directory.directory_id, "ResourceDirectoryPath": directory.path(member.account_id),
            "JoinMethod": member.join_method, "JoinTime": member.joined, "ModifyTime": member.joined}


def _include_tags(req: ApiRequest) -> bool:
    """Whether to answer with tags; members carry none, as tagging them is not emulated."""
    return (req.param("IncludeTags") or "false").lower() == "true"


def _list_resources(req: ApiRequest) -> list[str]:  # ledger: RD-AUTH
    return [f"acs:resourcemanager::{req.caller.account_id}:account/*"]


def _get_resources(req: ApiRequest) -> list[str]:  # ledger: RD-AUTH
    """The member by its RDPath when the caller's directory has it, else by its id."""
    target = req.param("AccountId") or "*"
    directory = next((d for d in directories(req.world).values() if d.reads_members(req.caller.account_id)), None)
    path = directory.path(target) if directory is not None and target in directory.members else target
    return [f"acs:resourcemanager::{req.caller.account_id}:account/{path}"]


@rpc("resourcemanager", "ListAccounts", ram_action="resourcemanager:ListAccounts", resource=_list_resources)
def list_accounts(req: ApiRequest) -> dict[str, Any]:
    # ledger: RD-LISTACCOUNTS-PAGING
    page_number = req.int_param("PageNumber", 1, lo=1, hi=MAX_PAGE_NUMBER) or 1
    page_size = req.int_param("PageSize", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    directory = _readable_by(req.world, req.caller.account_id)
    members = list(directory.members.values())
    if any(name.startswith("Tag.") for name in req.params):
        members = []  # no member carries a tag to match
    page = members[(page_number - 1) * page_size:page_number * page_size]
    tags = {"Tags": {"Tag": []}} if _include_tags(req) else {}  # ListAccounts wraps the list, GetAccount does not
    accounts = [{**_account(directory, member), **tags} for member in page]
    return {"Accounts": {"Account": accounts}, "PageNumber": page_number, "PageSize": page_size,
            "TotalCount": len(members)}


@rpc("resourcemanager", "GetAccount", ram_action="resourcemanager:GetAccount", resource=_get_resources)
def get_account(req: ApiRequest) -> dict[str, Any]:
    # ledger: RD-GETACCOUNT-ERRORS
    account_id = req.param("AccountId")
    if account_id is None:
        raise CloudError("MissingParameter.AccountId", "You must specify AccountId.", 400)
    if not _ACCOUNT_ID.match(account_id):
        raise CloudError("InvalidParameter.AccountId", "The AccountId is invalid.", 400)
    directory = _readable_by(req.world, req.caller.account_id)
    member = directory.members.get(account_id)
    if member is None:
        raise not_found("EntityNotExists.Account", "This resource directory account does not exist.")
    tags: dict[str, Any] = {"Tags": []} if _include_tags(req) else {}
    return {"Account": {**_account(directory, member), **tags}}


@rpc("resourcemanager", "GetResourceDirectory", ram_action="resourcemanager:GetResourceDirectory")
def get_resource_directory(req: ApiRequest) -> dict[str, Any]:
    # ledger: RD-CALLERS, RD-DIRECTORY-FIELDS
    world = req.world
    directory = _containing(world, req.caller.account_id)
    if directory is None:
        raise not_found("ResourceDirectoryNotInUse", "The specified account is not an Alibaba Cloud account or a "
                                                     "member account of the resource directory.")
    return {"ResourceDirectory": {
        "ResourceDirectoryId": directory.directory_id, "RootFolderId": directory.root_folder_id,
        "MasterAccountId": directory.management_account_id,
        "MasterAccountName": world.account(directory.management_account_id).alias,
        "CreateTime": directory.created, "ControlPolicyStatus": "Disabled", "MemberDeletionStatus": "Disabled"}}
