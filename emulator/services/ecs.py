"""ECS instance RAM roles: attach, detach and describe, one role per instance.

Instances are made through the admin API. The checks in their order, the
per-instance result rows and the codes chosen where the documentation names
none: docs/design/emulator.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import CloudError
from ..policy import authorize, trust_allows, trust_caller
from ..protocol import ApiRequest
from ..registry import admin, rpc
from ..world import Account, World, random_token
from .ram import Role, ram_state

ECS_SERVICE = "ecs.aliyuncs.com"
MAX_INSTANCE_IDS = 100
MAX_POLICY_LENGTH = 1024
MAX_PAGE_SIZE = 50
NETWORK_TYPES = ("vpc", "classic")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
STATUS = {"InvalidInstanceId.NotFound": 404, "InvalidNetworkType.MismatchRamRole": 403,
          "InstanceRamRole.AlreadyAttached": 409, "InstanceRamRole.NotAttached": 404}


@dataclass
class Instance:
    instance_id: str
    region: str
    network_type: str
    ram_role: str | None = None  # the attached role's name as RAM stores it
    role_policy: str | None = None  # the extra Policy given when the role was attached


@dataclass
class EcsState:
    instances: dict[str, Instance] = field(default_factory=dict)

    def find(self, region: str, instance_id: str) -> Instance | None:
        instance = self.instances.get(instance_id)
        return instance if instance is not None and instance.region == region else None


def ecs_state(account: Account) -> EcsState:
    return account.state("ecs", lambda _account: EcsState())


@dataclass(frozen=True)
class _Row:
    instance_id: str
    code: str = "200"
    message: str = "success"
    role: str | None = None

    @property
    def ok(self) -> bool:
        return self.code == "200"


# ---------------------------------------------------------------------- admin
@admin("POST", "/_emulator/ecs/instances")
def create_instance(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    """An instance for tests to attach roles to: ``{"account_id", "region", "network_type"?}``."""
    account = world.account(str(body.get("account_id", "")))
    region = body.get("region")
    network = body.get("network_type", "vpc")
    if not isinstance(region, str) or not region:
        raise ValueError("region is required")
    if network not in NETWORK_TYPES:
        raise ValueError(f"network_type must be one of {', '.join(NETWORK_TYPES)}")
    state = ecs_state(account)
    with world.lock:
        instance_id = "i-" + random_token(20, _ID_ALPHABET)
        state.instances[instance_id] = Instance(instance_id, region, network)
    return 201, {"instance_id": instance_id}


# ----------------------------------------------------------------- parameters
def _instance_ids(req: ApiRequest, *, required: bool) -> list[str]:
    raw = req.param("InstanceIds", required=required)
    if raw is None:
        return []
    try:
        ids = json.loads(raw)
    except ValueError:
        ids = None
    if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_INSTANCE_IDS
            or not all(isinstance(i, str) and i for i in ids)):
        raise CloudError("InvalidInstanceIds.Malformed", "The specified instanceIds are not valid.", 400)
    return list(dict.fromkeys(ids))


def _instance_arns(req: ApiRequest) -> list[str]:
    region = req.param("RegionId", "*")
    ids = _instance_ids(req, required=False) or ["*"]
    return [f"acs:ecs:{region}:{req.caller.account_id}:instance/{i}" for i in ids]


def _role_arn(req: ApiRequest, name: str) -> str:
    """The role as ECS names it for authorization: the request's region, the name lower-cased as RAM does."""
    return f"acs:ram:{req.param('RegionId', '*')}:{req.caller.account_id}:role/{name.lower()}"


def _attach_resources(req: ApiRequest) -> list[str]:
    """The instances and the role handed to them: both are required resources of the action."""
    name = req.param("RamRoleName")
    return _instance_arns(req) + ([_role_arn(req, name)] if name else [])


def _detach_resources(req: ApiRequest) -> list[str]:
    """The instances and the role taken from them: the named role, else each role the instances hold now."""
    name = req.param("RamRoleName")
    if name:
        roles = [name]
    else:
        state = ecs_state(req.account)
        region = req.param("RegionId", "")
        found = (state.find(region, i) for i in _instance_ids(req, required=False))
        roles = list(dict.fromkeys(i.ram_role for i in found if i is not None and i.ram_role))
    return _instance_arns(req) + [_role_arn(req, r) for r in roles]


def _policy(req: ApiRequest) -> str | None:
    policy = req.param("Policy")
    if policy is None:
        return None
    try:
        json.loads(policy)
    except ValueError:
        policy = ""
    if not policy or len(policy) > MAX_POLICY_LENGTH:
        raise CloudError("InvalidParameter.Policy",
                         f"The specified Policy is not a JSON document of 1-{MAX_POLICY_LENGTH} characters.", 400)
    return policy


def _role(req: ApiRequest, name: str) -> Role:
    role = ram_state(req.account).find_role(name)
    if role is None:
        raise CloudError("InvalidRamRole.NotFound", "The specified RAMRoleName does not exist.", 404)
    return role


def _check_ecs_role(req: ApiRequest, role: Role) -> None:
    if not trust_allows(role.trust_policy, trust_caller("service", req.caller.account_id, ECS_SERVICE)):
        raise CloudError("InvalidRamRole.NotEcsRole",
                         "The specified ram role is not authorized for ecs, please check your role policy.", 404)


def _check_pass_role(req: ApiRequest, role: Role) -> None:
    """The caller hands the role to ECS, so it must be allowed to pass it (root always may)."""
    if not req.world.enforce_authorization or req.caller.kind == "root":
        return
    try:
        authorize(req.world, req.caller, "ram:PassRole", [role.arn], req, {"acs:Service": ECS_SERVICE})
    except CloudError as err:
        if err.status != 403:
            raise
        raise CloudError("InvalidUser.PassRoleForbidden",
                         "The RAM user does not have the privilege to pass a RAM role.", 403,
                         detail=err.detail) from None


def _settle(rows: list[_Row]) -> list[_Row]:
    """Rows as reported; raises the first failure when nothing succeeded."""
    if rows and not any(r.ok for r in rows):
        first = rows[0]
        raise CloudError(first.code, first.message, STATUS.get(first.code, 400))
    return rows


def _not_found(instance_id: str) -> _Row:
    return _Row(instance_id, "InvalidInstanceId.NotFound", f"The specified instance {instance_id} does not exist.")


def _judged(req: ApiRequest, region: str, ids: list[str], judge: Callable[[Instance], _Row],
            outcome: tuple[str | None, str | None]) -> list[_Row]:
    """A row per instance id (not found, or ``judge``'s verdict); the (role, policy) ``outcome`` is set on
    each instance judged ok, unless none was (then the first failure is raised, as ECS answers)."""
    state = ecs_state(req.account)
    rows = [judge(instance) if (instance := state.find(region, instance_id)) is not None
            else _not_found(instance_id) for instance_id in ids]
    for row in _settle(rows):
        if row.ok:
            instance = state.instances[row.instance_id]
            instance.ram_role, instance.role_policy = outcome
    return rows


# -------------------------------------------------------------------- actions
@rpc("ecs", "AttachInstanceRamRole", ram_action="ecs:AttachInstanceRamRole", resource=_attach_resources,
     write=True)
def attach_instance_ram_role(req: ApiRequest) -> dict[str, Any]:
    region = req.param("RegionId", required=True)
    role_name = req.param("RamRoleName", required=True)
    ids = _instance_ids(req, required=True)
    policy = _policy(req)
    role = _role(req, role_name)
    _check_ecs_role(req, role)
    _check_pass_role(req, role)

    def judge(instance: Instance) -> _Row:
        if instance.network_type == "classic":
            return _Row(instance.instance_id, "InvalidNetworkType.MismatchRamRole",
                        "Ram role cannot be attached to instances of Classic network type.")
        if instance.ram_role is not None:
            return _Row(instance.instance_id, "InstanceRamRole.AlreadyAttached",
                        f"The instance already has the RAM role {instance.ram_role} attached; "
                        "detach it before attaching another.")
        return _Row(instance.instance_id, role=role.name)

    rows = _judged(req, region, ids, judge, (role.name, policy))
    results = [{"InstanceId": r.instance_id, "Code": r.code, "Message": r.message, "Success": r.ok} for r in rows]
    return {"RamRoleName": role.name, "TotalCount": len(rows), "FailCount": sum(not r.ok for r in rows),
            "AttachInstanceRamRoleResults": {"AttachInstanceRamRoleResult": results}}


@rpc("ecs", "DetachInstanceRamRole", ram_action="ecs:DetachInstanceRamRole", resource=_detach_resources,
     write=True)
def detach_instance_ram_role(req: ApiRequest) -> dict[str, Any]:
    region = req.param("RegionId", required=True)
    ids = _instance_ids(req, required=True)
    role_name = req.param("RamRoleName")
    wanted = _role(req, role_name).name if role_name else None

    def judge(instance: Instance) -> _Row:
        if instance.ram_role is None or (wanted is not None and instance.ram_role.lower() != wanted.lower()):
            return _Row(instance.instance_id, "InstanceRamRole.NotAttached",
                        f"The RAM role {wanted} is not attached to the instance." if wanted
                        else "No RAM role is attached to the instance.")
        return _Row(instance.instance_id, role=instance.ram_role)

    rows = _judged(req, region, ids, judge, (None, None))
    results = [{"InstanceId": r.instance_id, "Code": r.code, "Message": r.message, "Success": r.ok,
                "InstanceRamRoleSets": {"InstanceRamRoleSet": (
                    [{"InstanceId": r.instance_id, "RamRoleName": r.role}] if r.ok else [])}}
               for r in rows]
    return {"RamRoleName": wanted or next((r.role for r in rows if r.ok), ""), "TotalCount": len(rows),
            "FailCount": sum(not r.ok for r in rows),
            "DetachInstanceRamRoleResults": {"DetachInstanceRamRoleResult": results}}


@rpc("ecs", "DescribeInstanceRamRole", ram_action="ecs:DescribeInstanceRamRole", resource=_instance_arns)
def describe_instance_ram_role(req: ApiRequest) -> dict[str, Any]:
    region = req.param("RegionId", required=True)
    ids = _instance_ids(req, required=False)
    role_name = req.param("RamRoleName")
    if not ids and role_name is None:
        raise CloudError("MissingParameter", "At least one of InstanceIds and RamRoleName must be specified.", 400)
    page_number = req.int_param("PageNumber", 1, lo=1, hi=100_000)
    page_size = req.int_param("PageSize", 10, lo=1, hi=MAX_PAGE_SIZE)
    state = ecs_state(req.account)
    candidates = [state.find(region, i) for i in ids] if ids else \
        sorted((i for i in state.instances.values() if i.region == region), key=lambda i: i.instance_id)
    matched = [i for i in candidates if i is not None and i.ram_role is not None
               and (role_name is None or i.ram_role.lower() == role_name.lower())]
    start = (page_number - 1) * page_size
    sets = [{"InstanceId": i.instance_id, "RamRoleName": i.ram_role} for i in matched[start:start + page_size]]
    return {"RegionId": region, "TotalCount": len(matched), "InstanceRamRoleSets": {"InstanceRamRoleSet": sets}}
