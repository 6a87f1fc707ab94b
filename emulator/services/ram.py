"""The emulated RAM API (2015-05-01): request parameters in, SDK-shaped bodies out.

The rules live in :mod:`emulator.services.ram_models`; this module decodes
parameters, names the resources each action is authorized on and renders the
exact wrappers the SDK models read. Resource groups and tags: docs/design/emulator.md.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
from typing import Any, Callable, Iterable, Iterator, TypeVar

from ..catalogue import SYSTEM_POLICIES
from ..clock import iso
from ..errors import CloudError, invalid
from ..identity import Identity
from ..protocol import ApiRequest
from ..registry import rpc
from .ram_models import (DEFAULT_QUOTAS, DEFAULT_SESSION_DURATION, RESOURCES_PER_TAG_CALL, AttachedPolicy,
                         CustomPolicy, Group, PolicyRef, Quotas, RamState, Role, User, check_policy_type,
                         check_tags, matches_tags, paginate, policy_document, ram_state, read_marker, role_arn,
                         take_page)

__all__ = ["AttachedPolicy", "CustomPolicy", "DEFAULT_QUOTAS", "Group", "Quotas", "RamState", "Role", "User",
           "policy_document", "ram_state", "role_arn"]

_REPEAT_TAG = re.compile(r"^Tag\.(\d+)\.(Key|Value)$")
T = TypeVar("T")


# ------------------------------------------------------------ parameters
def _now(req: ApiRequest) -> str:
    return iso(req.world.clock.now())


def _state(req: ApiRequest) -> RamState:
    return ram_state(req.account)


def _quotas(req: ApiRequest) -> Quotas:
    return Quotas.of(req.world)


def _str(req: ApiRequest, name: str, default: str = "") -> str:
    value = req.param(name)
    return default if value is None else value


def _required(req: ApiRequest, name: str) -> str:
    value = req.param(name, required=True)
    assert value is not None
    return value


def _state_call(req: ApiRequest, method: Callable[..., object], *names: str) -> dict[str, Any]:
    """For the actions whose state method takes only required parameters and whose answer is empty."""
    method(_state(req), *(_required(req, name) for name in names))
    return {}


def _bool(req: ApiRequest, name: str) -> bool | None:
    raw = req.param(name)
    if raw is None:
        return None
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise invalid(f"InvalidParameter.{name}", f"The parameter {name} must be true or false.")


def _json_param(req: ApiRequest, name: str) -> Any:
    raw = req.param(name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid(f"InvalidParameter.{name}", f"The parameter {name} is not a valid JSON array.") from None


def _string_list(req: ApiRequest, name: str) -> list[str] | None:
    """A list parameter sent as a JSON array string, or as ``Name.N`` repeat-list."""
    value = _json_param(req, name)
    if value is None:
        indexed = sorted((int(k.split(".")[1]), v) for k, v in req.params.items()
                         if k.startswith(f"{name}.") and k.split(".")[1].isdigit())
        return [v for _, v in indexed] or None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"InvalidParameter.{name}", f"The parameter {name} must be a JSON array of strings.")
    return value


def _tag_pairs(req: ApiRequest) -> list[tuple[str, str | None]]:
    """Tags as (key, value-or-None), from the JSON ``Tag`` form or ``Tag.N.Key``/``Tag.N.Value``."""
    value = _json_param(req, "Tag")
    if value is None:
        slots: dict[int, dict[str, str]] = {}
        for key, raw in req.params.items():
            match = _REPEAT_TAG.match(key)
            if match:
                slots.setdefault(int(match.group(1)), {})[match.group(2)] = raw
        return [(slot.get("Key", ""), slot.get("Value")) for _, slot in sorted(slots.items())]
    if not isinstance(value, list):
        raise invalid("InvalidParameter.Tag", "The parameter Tag must be a JSON array of {Key, Value} objects.")
    pairs: list[tuple[str, str | None]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("Key", ""), str) \
                or not isinstance(item.get("Value", ""), str):
            raise invalid("InvalidParameter.Tag", "Each tag must be an object with string Key and Value.")
        pairs.append((item.get("Key", ""), item.get("Value")))
    return pairs


def _tags_to_set(req: ApiRequest) -> list[tuple[str, str]]:
    return [(k, v or "") for k, v in _tag_pairs(req)]


def _max_items(req: ApiRequest) -> int:
    value = req.int_param("MaxItems", 100, lo=1, hi=1000)
    assert value is not None
    return value


def _paged(items: dict[str, Any], next_marker: str | None) -> dict[str, Any]:
    out = {**items, "IsTruncated": next_marker is not None}
    if next_marker is not None:
        out["Marker"] = next_marker
    return out


def _by_name(entity: Any) -> str:
    return str(entity.name).lower()


def _listing(req: ApiRequest, items: list[T], key: Callable[[T], str], names: tuple[str, str],
             row: Callable[[T], dict[str, Any]]) -> dict[str, Any]:
    """One page of ``items`` in RAM's list shape: ``{"Users": {"User": [...]}, "IsTruncated": ..}``."""
    page, marker = paginate(items, key, req.param("Marker"), _max_items(req))
    return _paged({names[0]: {names[1]: [row(item) for item in page]}}, marker)


# ------------------------------------------------------------- resources
def _acct(req: ApiRequest) -> str:
    return req.caller.account_id


def _role_resource(req: ApiRequest) -> list[str]:
    return [role_arn(_acct(req), req.params.get("RoleName", ""))]


def _user_name_or_self(req: ApiRequest) -> str:
    name = req.param("UserName")
    if name is None and req.caller.kind == "user":
        return req.caller.name
    return name or ""


def _user_resource(req: ApiRequest) -> list[str]:
    return [f"acs:ram::{_acct(req)}:user/{_user_name_or_self(req)}"]


def _group_resource(req: ApiRequest) -> list[str]:
    return [f"acs:ram::{_acct(req)}:group/{req.params.get('GroupName', '')}"]


def _group_and_user(req: ApiRequest) -> list[str]:  # ledger: RAM-GROUP-MEMBERSHIP
    return _group_resource(req) + _user_resource(req)


def _policy_arn(account_id: str, policy_type: str | None, name: str) -> str:
    owner = "system" if policy_type == "System" else account_id
    return f"acs:ram::{owner}:policy/{name}"


def _policy_resource(req: ApiRequest) -> list[str]:
    return [_policy_arn(_acct(req), req.params.get("PolicyType", "Custom"), req.params.get("PolicyName", ""))]


def _role_and_policy(req: ApiRequest) -> list[str]:
    return _role_resource(req) + _policy_resource(req)


def _user_and_policy(req: ApiRequest) -> list[str]:
    return _user_resource(req) + _policy_resource(req)


def _group_and_policy(req: ApiRequest) -> list[str]:
    return _group_resource(req) + _policy_resource(req)


def _all_of(kind: str) -> Any:
    return lambda req: [f"acs:ram::{_acct(req)}:{kind}/*"]


def _any(req: ApiRequest) -> list[str]:
    """The tag actions have no resource-level permission (RAM's API reference: "All Resources")."""
    return ["*"]


# --------------------------------------------------------------- views
def _tag_list(tags: dict[str, str]) -> dict[str, Any]:
    return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in tags.items()]}


def _role_view(role: Role, *, document: bool = True, updated: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "RoleId": role.role_id, "RoleName": role.name, "Arn": role.arn, "Description": role.description,
        "CreateDate": role.create_date, "MaxSessionDuration": role.max_session_duration,
        "AllowConsoleLogin": role.allow_console_login,
    }
    if updated:
        view["UpdateDate"] = role.update_date
    if document:
        view["AssumeRolePolicyDocument"] = role.trust_policy_text
    return view


def _user_view(user: User) -> dict[str, Any]:
    return {"UserId": user.user_id, "UserName": user.name, "DisplayName": user.display_name,
            "Comments": user.comments, "Email": user.email, "MobilePhone": user.mobile_phone,
            "CreateDate": user.create_date, "UpdateDate": user.update_date}


def _group_view(group: Group) -> dict[str, Any]:
    return {"GroupId": group.group_id, "GroupName": group.name, "Comments": group.comments,
            "CreateDate": group.create_date, "UpdateDate": group.update_date}


def _policy_view(ref: PolicyRef, attachment_count: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"PolicyName": ref.name, "PolicyType": ref.policy_type, "Description": ref.description,
                            "DefaultVersion": ref.default_version, "CreateDate": ref.create_date,
                            "UpdateDate": ref.update_date}
    if attachment_count is not None:
        view["AttachmentCount"] = attachment_count
    return view


def _version_view(version_id: str, text: str, created: str, default: bool) -> dict[str, Any]:
    return {"VersionId": version_id, "IsDefaultVersion": default, "PolicyDocument": text, "CreateDate": created}


def _attached_view(state: RamState, att: AttachedPolicy) -> dict[str, Any]:
    ref = state.resolve_policy(att.policy_type, att.policy_name)
    return {"PolicyName": ref.name, "PolicyType": ref.policy_type, "Description": ref.description,
            "DefaultVersion": ref.default_version, "AttachDate": att.attach_date}


def _custom_ref(state: RamState, policy: CustomPolicy) -> PolicyRef:
    return state.resolve_policy("Custom", policy.name)


# ================================================================ users
@rpc("ram", "CreateUser", ram_action="ram:CreateUser", resource=_user_resource, write=True)
def create_user(req: ApiRequest) -> dict[str, Any]:
    user = _state(req).create_user(_required(req, "UserName"), _now(req), _quotas(req),
                                   display_name=_str(req, "DisplayName"), comments=_str(req, "Comments"),
                                   email=_str(req, "Email"), mobile_phone=_str(req, "MobilePhone"))
    view = _user_view(user)
    view.pop("UpdateDate")
    return {"User": view}


@rpc("ram", "GetUser", ram_action="ram:GetUser", resource=_user_resource)
def get_user(req: ApiRequest) -> dict[str, Any]:
    user = _state(req).get_user(_required(req, "UserName"))
    return {"User": {**_user_view(user), "LastLoginDate": ""}}


@rpc("ram", "ListUsers", ram_action="ram:ListUsers", resource=_all_of("user"))
def list_users(req: ApiRequest) -> dict[str, Any]:
    return _listing(req, list(_state(req).users.values()), _by_name, ("Users", "User"), _user_view)


def _key_owner(req: ApiRequest) -> User:
    name = _user_name_or_self(req)
    if not name:
        raise CloudError("MissingParameter.UserName",
                         "The input parameter \"UserName\" that is mandatory for processing this request is "
                         "not supplied.", 400)
    return _state(req).get_user(name)


@rpc("ram", "CreateAccessKey", ram_action="ram:CreateAccessKey", resource=_user_resource, write=True)
def create_access_key(req: ApiRequest) -> dict[str, Any]:
    user = _key_owner(req)
    state = _state(req)
    state.check_access_key_room(user, _quotas(req))
    record = req.world.issue_key(Identity("user", state.account_id, user.name, principal_id=user.user_id))
    user.access_keys.append(record.access_key_id)
    return {"AccessKey": {"AccessKeyId": record.access_key_id, "AccessKeySecret": record.secret,
                          "Status": record.status, "CreateDate": _now(req)}}


@rpc("ram", "DeleteAccessKey", ram_action="ram:DeleteAccessKey", resource=_user_resource, write=True)
def delete_access_key(req: ApiRequest) -> dict[str, Any]:
    user = _key_owner(req)
    key_id = _required(req, "UserAccessKeyId")
    RamState.remove_access_key(user, key_id)
    req.world.keys.pop(key_id, None)
    return {}


@rpc("ram", "ListAccessKeys", ram_action="ram:ListAccessKeys", resource=_user_resource)
def list_access_keys(req: ApiRequest) -> dict[str, Any]:
    user = _key_owner(req)
    rows = []
    for key_id in user.access_keys:
        record = req.world.keys.get(key_id)
        if record is not None:
            created = iso(record.created_at) if record.created_at else ""
            rows.append({"AccessKeyId": key_id, "Status": record.status, "CreateDate": created})
    return {"AccessKeys": {"AccessKey": rows}}


# =============================================================== groups
@rpc("ram", "CreateGroup", ram_action="ram:CreateGroup", resource=_group_resource, write=True)
def create_group(req: ApiRequest) -> dict[str, Any]:
    group = _state(req).create_group(_required(req, "GroupName"), _now(req), _quotas(req),
                                     comments=_str(req, "Comments"))
    view = _group_view(group)
    view.pop("UpdateDate")
    return {"Group": view}


@rpc("ram", "GetGroup", ram_action="ram:GetGroup", resource=_group_resource)
def get_group(req: ApiRequest) -> dict[str, Any]:
    return {"Group": _group_view(_state(req).get_group(_required(req, "GroupName")))}


@rpc("ram", "UpdateGroup", ram_action="ram:UpdateGroup", resource=_group_resource, write=True)
def update_group(req: ApiRequest) -> dict[str, Any]:
    group = _state(req).update_group(_required(req, "GroupName"), _now(req), new_name=req.param("NewGroupName"),
                                     new_comments=req.param("NewComments"))
    return {"Group": _group_view(group)}


@rpc("ram", "ListGroups", ram_action="ram:ListGroups", resource=_all_of("group"))
def list_groups(req: ApiRequest) -> dict[str, Any]:
    return _listing(req, list(_state(req).groups.values()), _by_name, ("Groups", "Group"), _group_view)


@rpc("ram", "AddUserToGroup", ram_action="ram:AddUserToGroup", resource=_group_and_user, write=True)
def add_user_to_group(req: ApiRequest) -> dict[str, Any]:
    _state(req).add_user_to_group(_required(req, "UserName"), _required(req, "GroupName"), _now(req), _quotas(req))
    return {}


@rpc("ram", "RemoveUserFromGroup", ram_action="ram:RemoveUserFromGroup", resource=_group_and_user, write=True)
def remove_user_from_group(req: ApiRequest) -> dict[str, Any]:
    return _state_call(req, RamState.remove_user_from_group, "UserName", "GroupName")


@rpc("ram", "ListGroupsForUser", ram_action="ram:ListGroupsForUser", resource=_user_resource)
def list_groups_for_user(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    user = state.get_user(_required(req, "UserName"))
    rows = [{"GroupId": g.group_id, "GroupName": g.name, "Comments": g.comments,
             "JoinDate": g.members[user.name.lower()]} for g in state.groups_of(user.name)]
    return {"Groups": {"Group": rows}}


@rpc("ram", "ListUsersForGroup", ram_action="ram:ListUsersForGroup", resource=_group_resource)
def list_users_for_group(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    group = state.get_group(_required(req, "GroupName"))
    return _listing(req, state.members_of(group), lambda member: _by_name(member[0]), ("Users", "User"),
                    lambda member: {"UserName": member[0].name, "DisplayName": member[0].display_name,
                                    "JoinDate": member[1]})


# ================================================================ roles
@rpc("ram", "CreateRole", ram_action="ram:CreateRole", resource=_role_resource, write=True)
def create_role(req: ApiRequest) -> dict[str, Any]:
    duration = req.int_param("MaxSessionDuration", DEFAULT_SESSION_DURATION)
    assert duration is not None
    role = _state(req).create_role(
        _required(req, "RoleName"), _required(req, "AssumeRolePolicyDocument"), _now(req), _quotas(req),
        description=_str(req, "Description"), max_session_duration=duration,
        allow_console_login=bool(_bool(req, "AllowConsoleLogin")), tags=_tags_to_set(req))
    return {"Role": _role_view(role, updated=False)}


@rpc("ram", "GetRole", ram_action="ram:GetRole", resource=_role_resource)
def get_role(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    role = state.get_role(_required(req, "RoleName"))
    return {"Role": {**_role_view(role), "IsServiceLinkedRole": False,
                     "RolePrincipalName": f"{role.name}@role.{state.account_id}.onaliyunservice.com"}}


@rpc("ram", "ListRoles", ram_action="ram:ListRoles", resource=_all_of("role"))
def list_roles(req: ApiRequest) -> dict[str, Any]:
    wanted, limit = _tag_pairs(req), _max_items(req)
    roles = (r for r in _state(req).roles_from(read_marker(req.param("Marker"))) if matches_tags(r.tags, wanted))
    page, marker = take_page(roles, lambda r: r.name.lower(), limit)
    rows = [{**_role_view(r, document=False), "Tags": _tag_list(r.tags)} for r in page]
    return _paged({"Roles": {"Role": rows}}, marker)


@rpc("ram", "UpdateRole", ram_action="ram:UpdateRole", resource=_role_resource, write=True)
def update_role(req: ApiRequest) -> dict[str, Any]:
    role = _state(req).update_role(
        _required(req, "RoleName"), _now(req), _quotas(req), trust_text=req.param("NewAssumeRolePolicyDocument"),
        description=req.params.get("NewDescription"), max_session_duration=req.int_param(
            "NewMaxSessionDuration", code="InvalidParameter.MaxSessionDuration"),
        allow_console_login=_bool(req, "NewAllowConsoleLogin"))
    return {"Role": _role_view(role)}


# ================================================ deletion, attachments
# Users, groups and roles are deleted and hold policies the same way: one set of handlers, registered per
# entity kind.
def _delete(req: ApiRequest, kind: str) -> dict[str, Any]:
    return _state_call(req, getattr(RamState, f"delete_{kind.lower()}"), f"{kind}Name")


def _entity(req: ApiRequest, kind: str) -> tuple[Any, Any]:
    state = _state(req)
    return state, getattr(state, f"get_{kind.lower()}")(_required(req, f"{kind}Name"))


def _attach(req: ApiRequest, kind: str) -> dict[str, Any]:
    policy_type = check_policy_type(_required(req, "PolicyType"))
    state, entity = _entity(req, kind)
    state.attach(entity, policy_type, _required(req, "PolicyName"), req.param("ResourceGroupId"), _now(req),
                 _quotas(req))
    return {}


def _detach(req: ApiRequest, kind: str) -> dict[str, Any]:
    policy_type = check_policy_type(_required(req, "PolicyType"))
    state, entity = _entity(req, kind)
    state.detach(entity, policy_type, _required(req, "PolicyName"), req.param("ResourceGroupId"))
    return {}


def _list_attached(req: ApiRequest, kind: str) -> dict[str, Any]:
    """Only the attachments scoped to the whole account: RAM lists no resource-group-scoped one here."""
    state, entity = _entity(req, kind)
    return {"Policies": {"Policy": [_attached_view(state, a) for a in entity.attached if a.resource_group_id is None]}}


for _kind, _alone, _with_policy in (("User", _user_resource, _user_and_policy),
                                    ("Group", _group_resource, _group_and_policy),
                                    ("Role", _role_resource, _role_and_policy)):
    rpc("ram", f"Delete{_kind}", ram_action=f"ram:Delete{_kind}", resource=_alone,
        write=True)(functools.partial(_delete, kind=_kind))
    rpc("ram", f"AttachPolicyTo{_kind}", ram_action=f"ram:AttachPolicyTo{_kind}", resource=_with_policy,
        write=True)(functools.partial(_attach, kind=_kind))
    rpc("ram", f"DetachPolicyFrom{_kind}", ram_action=f"ram:DetachPolicyFrom{_kind}", resource=_with_policy,
        write=True)(functools.partial(_detach, kind=_kind))
    rpc("ram", f"ListPoliciesFor{_kind}", ram_action=f"ram:ListPoliciesFor{_kind}",
        resource=_alone)(functools.partial(_list_attached, kind=_kind))


# ============================================================= policies
@rpc("ram", "CreatePolicy", ram_action="ram:CreatePolicy", resource=_policy_resource, write=True)
def create_policy(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    policy = state.create_policy(_required(req, "PolicyName"), _required(req, "PolicyDocument"), _now(req),
                                 _quotas(req), description=_str(req, "Description"), tags=_tags_to_set(req))
    view = _policy_view(_custom_ref(state, policy))
    view.pop("UpdateDate")
    return {"Policy": view}


@rpc("ram", "GetPolicy", ram_action="ram:GetPolicy", resource=_policy_resource)
def get_policy(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    ref = state.resolve_policy(_required(req, "PolicyType"), _required(req, "PolicyName"))
    count = state.attachment_count(ref.policy_type, ref.name)
    return {"Policy": {**_policy_view(ref, count), "PolicyDocument": ref.document_text},
            "DefaultPolicyVersion": _version_view(ref.default_version, ref.document_text, ref.version_date, True)}


@rpc("ram", "DeletePolicy", ram_action="ram:DeletePolicy", resource=_policy_resource, write=True)
def delete_policy(req: ApiRequest) -> dict[str, Any]:
    _state(req).delete_policy(_required(req, "PolicyName"), cascade=bool(_bool(req, "CascadingDelete")))
    return {}


@rpc("ram", "ListPolicies", ram_action="ram:ListPolicies", resource=_all_of("policy"))
def list_policies(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    wanted_type = req.param("PolicyType")
    if wanted_type is not None:
        check_policy_type(wanted_type)
    wanted_tags, limit = _tag_pairs(req), _max_items(req)
    after = read_marker(req.param("Marker"))

    def key(ref: PolicyRef) -> str:  # system policies first, then custom ones, each by name
        return ("0" if ref.policy_type == "System" else "1") + ref.name.lower()

    system: list[PolicyRef] = []
    if wanted_type in (None, "System") and not wanted_tags:
        system = sorted((state.resolve_policy("System", name) for name in SYSTEM_POLICIES), key=key)
    custom: Iterable[PolicyRef] = ()
    if wanted_type in (None, "Custom"):
        custom = (_custom_ref(state, p) for p in state.policies_from(after[1:] if after[:1] == "1" else "")
                  if matches_tags(p.tags, wanted_tags))
    page, marker = take_page((r for r in itertools.chain(system, custom) if key(r) >= after), key, limit)
    rows = [{**_policy_view(r, state.attachment_count(r.policy_type, r.name)), "Tags": _tag_list(r.tags)}
            for r in page]
    return _paged({"Policies": {"Policy": rows}}, marker)


def _custom_versions_ref(req: ApiRequest) -> tuple[RamState, PolicyRef, CustomPolicy | None]:
    state = _state(req)
    ref = state.resolve_policy(_required(req, "PolicyType"), _required(req, "PolicyName"))
    return state, ref, state.find_policy(ref.name) if ref.policy_type == "Custom" else None


@rpc("ram", "CreatePolicyVersion", ram_action="ram:CreatePolicyVersion", resource=_policy_resource, write=True)
def create_policy_version(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    name = _required(req, "PolicyName")
    version_id = state.create_policy_version(name, _required(req, "PolicyDocument"), _now(req), _quotas(req),
                                             set_as_default=bool(_bool(req, "SetAsDefault")),
                                             rotate=_str(req, "RotateStrategy", "None"))
    policy = state.get_custom_policy(name)
    text, created = policy.versions[version_id]
    return {"PolicyVersion": _version_view(version_id, text, created, version_id == policy.default_version)}


@rpc("ram", "SetDefaultPolicyVersion", ram_action="ram:SetDefaultPolicyVersion", resource=_policy_resource,
     write=True)
def set_default_policy_version(req: ApiRequest) -> dict[str, Any]:
    _state(req).set_default_policy_version(_required(req, "PolicyName"), _required(req, "VersionId"), _now(req))
    return {}


@rpc("ram", "GetPolicyVersion", ram_action="ram:GetPolicyVersion", resource=_policy_resource)
def get_policy_version(req: ApiRequest) -> dict[str, Any]:
    state, ref, custom = _custom_versions_ref(req)
    version_id = _required(req, "VersionId")
    if custom is None:
        if version_id != ref.default_version:
            raise CloudError("EntityNotExist.Policy.Version", "The policy version does not exist.", 404)
        return {"PolicyVersion": _version_view(version_id, ref.document_text, ref.version_date, True)}
    text, created = state.get_policy_version(custom, version_id)
    return {"PolicyVersion": _version_view(version_id, text, created, version_id == custom.default_version)}


@rpc("ram", "ListPolicyVersions", ram_action="ram:ListPolicyVersions", resource=_policy_resource)
def list_policy_versions(req: ApiRequest) -> dict[str, Any]:
    _, ref, custom = _custom_versions_ref(req)
    if custom is None:
        rows = [_version_view(ref.default_version, ref.document_text, ref.version_date, True)]
    else:
        rows = [_version_view(v, text, created, v == custom.default_version)
                for v, (text, created) in custom.versions.items()]
    return {"PolicyVersions": {"PolicyVersion": rows}}


@rpc("ram", "DeletePolicyVersion", ram_action="ram:DeletePolicyVersion", resource=_policy_resource, write=True)
def delete_policy_version(req: ApiRequest) -> dict[str, Any]:
    return _state_call(req, RamState.delete_policy_version, "PolicyName", "VersionId")


@rpc("ram", "ListEntitiesForPolicy", ram_action="ram:ListEntitiesForPolicy", resource=_policy_resource)
def list_entities_for_policy(req: ApiRequest) -> dict[str, Any]:
    state = _state(req)
    ref = state.resolve_policy(_required(req, "PolicyType"), _required(req, "PolicyName"))
    users, groups, roles = [], [], []
    for entity, att in state.attachments_of(ref.policy_type, ref.name):
        if isinstance(entity, User):
            users.append({"UserName": entity.name, "UserId": entity.user_id, "DisplayName": entity.display_name,
                          "AttachDate": att.attach_date})
        elif isinstance(entity, Group):
            groups.append({"GroupName": entity.name, "Comments": entity.comments, "AttachDate": att.attach_date})
        else:
            roles.append({"RoleName": entity.name, "RoleId": entity.role_id, "Arn": entity.arn,
                          "Description": entity.description, "AttachDate": att.attach_date})
    return {"Users": {"User": users}, "Roles": {"Role": roles}, "Groups": {"Group": groups}}


# ================================================================= tags
def _resource_type(req: ApiRequest) -> str:
    value = _required(req, "ResourceType")
    if value not in ("role", "policy"):
        raise invalid("InvalidParameter.ResourceType", "ResourceType must be role or policy.")
    return value


def _tag_targets(req: ApiRequest, required: bool = True) -> list[Role | CustomPolicy] | None:
    resource_type = _resource_type(req)
    names = _string_list(req, "ResourceNames")
    if not names:
        if required:
            raise CloudError("MissingParameter.ResourceNames", "At least one resource name is required.", 400)
        return None
    if len(names) > RESOURCES_PER_TAG_CALL:
        raise invalid("InvalidParameter.ResourceNames",
                      f"At most {RESOURCES_PER_TAG_CALL} resource names can be given in one request.")
    state = _state(req)
    return [state.taggable(resource_type, n) for n in names]


@rpc("ram", "TagResources", ram_action="ram:TagResources", resource=_any, write=True)
def tag_resources(req: ApiRequest) -> dict[str, Any]:
    targets = _tag_targets(req) or []
    tags = check_tags(_tags_to_set(req))
    if not tags:
        raise CloudError("MissingParameter.Tag", "At least one tag is required.", 400)
    _state(req).tag(targets, tags, _quotas(req))
    return {}


@rpc("ram", "UntagResources", ram_action="ram:UntagResources", resource=_any, write=True)
def untag_resources(req: ApiRequest) -> dict[str, Any]:
    targets = _tag_targets(req) or []
    remove_all = bool(_bool(req, "All"))
    keys = _string_list(req, "TagKeys")
    if not remove_all and not keys:
        raise CloudError("MissingParameter.TagKeys", "TagKeys is required unless All is true.", 400)
    RamState.untag(targets, None if remove_all else keys)
    return {}


@rpc("ram", "ListTagResources", ram_action="ram:ListTagResources", resource=_any)
def list_tag_resources(req: ApiRequest) -> dict[str, Any]:
    resource_type = _resource_type(req)
    targets = _tag_targets(req, required=False)
    wanted = _tag_pairs(req)
    size = req.int_param("PageSize", 100, lo=1, hi=100)
    assert size is not None
    after = read_marker(req.param("NextToken"), "InvalidParameter.NextToken")

    def key(row: dict[str, str]) -> str:  # by resource name, then tag key
        return f"{row['ResourceName'].lower()}\x00{row['TagKey']}"

    def rows(pool: Iterable[Role | CustomPolicy]) -> Iterator[dict[str, str]]:
        for t in pool:
            if matches_tags(t.tags, wanted):
                for k, v in sorted(t.tags.items()):
                    yield {"ResourceName": t.name, "ResourceType": resource_type, "TagKey": k, "TagValue": v}

    if targets is None:  # every resource of the type, walked in order from the token's resource on
        state, first = _state(req), after.split("\x00", 1)[0]
        ordered: Iterable[dict[str, str]] = rows(state.roles_from(first) if resource_type == "role"
                                                 else state.policies_from(first))
    else:
        ordered = sorted(rows(targets), key=key)
    page, token = take_page((r for r in ordered if key(r) >= after), key, size)
    out: dict[str, Any] = {"TagResources": page}
    if token is not None:
        out["NextToken"] = token
    return out
