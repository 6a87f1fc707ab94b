"""ActionTrail as EventBridge delivers it: one CloudEvent per write call, served or refused.

Read-only calls are never recorded and secrets are masked. The choices made
where the public record is silent (IMS events, AssumeRole, failures, KMS,
member copies, regions): docs/design/emulator.md.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from .clock import iso, iso_ms
from .errors import CloudError
from .identity import Identity
from .protocol import ApiRequest
from .registry import admin
from .services import kms, resourcemanager
from .services.fc import request_region
from .services.ram import ram_state
from .site import site_of
from .world import World

GLOBAL_REGION = "cn-hangzhou"  # ledger: EB-RAM-REGION
MASK = "******"
# Request parameters that authenticate a call rather than describe it.
SIGNATURE_PARAMS = frozenset({
    "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "SignatureType", "AccessKeyId",
    "Timestamp", "Format", "SecurityToken", "Action", "Version",
})
# ledger: AT-SECRETS-MASKED
SECRET_KEYS = frozenset({"accesskeysecret", "securitytoken", "password", "newpassword", "zipfile", "secretdata"})
# ledger: AT-PARAM-TYPES
NUMERIC_PARAMS = frozenset({"MaxSessionDuration", "NewMaxSessionDuration", "DurationSeconds", "MaxItems",
                            "PageNumber", "PageSize", "limit"})
BOOLEAN_PARAMS = frozenset({"AllowConsoleLogin", "NewAllowConsoleLogin", "All", "PasswordResetRequired",
                            "MFABindRequired"})
# ledger: AT-IMS-SERVICE
IMS_ACTIONS = frozenset({"CreateUser", "UpdateUser", "DeleteUser", "CreateAccessKey", "UpdateAccessKey",
                         "DeleteAccessKey", "CreateGroup", "UpdateGroup", "DeleteGroup", "AddUserToGroup",
                         "RemoveUserFromGroup"})
# Request parameters that name a resource, and the ActionTrail resource type they name.
# ledger: AT-REFERENCED-RESOURCES
RESOURCE_PARAMS = {
    "RoleName": "ACS::RAM::Role", "RamRoleName": "ACS::RAM::Role", "UserName": "ACS::RAM::User",
    "GroupName": "ACS::RAM::Group", "NewGroupName": "ACS::RAM::Group", "PolicyName": "ACS::RAM::Policy",
    "InstanceIds": "ACS::ECS::Instance",
    "functionName": "ACS::FC::Function", "serviceName": "ACS::FC::Service",
    "SecretName": "ACS::KMS::Secret",
}
TAGGABLE_TYPES = {"role": "ACS::RAM::Role", "policy": "ACS::RAM::Policy"}  # ledger: AT-RAM-TAG-EVENTS
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>\d+):role/(?P<name>[^/]+)$", re.IGNORECASE)
PUBLISH_ADDR = "127.0.0.1"  # where the cloud names the address the event was published from


@dataclass(frozen=True)
class _Product:
    """How ActionTrail names one emulated product."""

    service: str
    source: str
    api_version: str
    is_global: bool
    host: str  # eventSource / AcsHost, with {region} and {account} filled in per call
    fixed_version: bool = False  # recorded under its own API version whatever the caller used


# ledger: EB-SOURCE-LITERAL, AT-IMS-SERVICE, KMS-EVENTS, KMS-EVENT-FIELDS
_PRODUCTS = {
    "ram": _Product("Ram", "acs.ram", "2015-05-01", True, "ram.aliyuncs.com"),  # ledger: AT-SELFGUARD-RAM
    "ims": _Product("Ims", "acs.ram", "2019-08-15", True, "ims-share.aliyuncs.com", fixed_version=True),
    "sts": _Product("Sts", "acs.sts", "2015-04-01", True, "sts.aliyuncs.com"),
    "ecs": _Product("Ecs", "acs.ecs", "2014-05-26", False, "ecs.{region}.aliyuncs.com"),
    # ledger: AT-SELFGUARD-FC
    "fc3": _Product("Fc", "acs.fc", "2023-03-30", False, "{account}.{region}.fc.aliyuncs.com"),
    "fc2": _Product("Fc", "acs.fc", "2021-04-06", False, "{account}.{region}.fc.aliyuncs.com"),
    "kms": _Product("Kms", "acs.kms", "2016-01-20", False, "kms.{region}.aliyuncs.com"),  # ledger: AT-SELFGUARD-KMS
}


@dataclass
class _Call:
    """What the trail knows about one call, whether or not it got as far as a handler."""

    product: str
    action: str
    caller: Identity
    request_id: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    version: str = ""
    source_ip: str = "127.0.0.1"
    user_agent: str = ""

    @classmethod
    def from_request(cls, req: ApiRequest) -> "_Call":
        params: dict[str, Any] = dict(req.params)
        params.update(req.path_params)  # ledger: AT-SELFGUARD-FC
        if isinstance(req.json_body, dict):
            params.update(req.json_body)
        version = req.version or req.path.strip("/").split("/", 1)[0]
        return cls(req.product, req.action, req.caller, req.request_id, params, req.headers, version,
                   req.source_ip, req.user_agent)


def record(world: World, req: ApiRequest, result: Any) -> None:
    """Append the event for a write call that succeeded."""
    # ledger: EB-WRITE-ONLY
    body = result[1] if isinstance(result, tuple) else result
    _append(world, _event(world, _Call.from_request(req), _response_elements(req, body), None))


def record_failure(world: World, product: str, action: str, params: dict[str, str], caller: Identity,
                   request_id: str, err: CloudError, req: ApiRequest | None = None) -> None:
    """Append the event for a write call that was refused (unless it had already succeeded).

    Given ``req`` the event is as complete as a success's; without it only the
    RPC parameters are known (not a ROA call's path, body or region headers).
    """
    # ledger: AT-FAILED-CALLS
    call = _Call.from_request(req) if req is not None else _Call(product, action, caller, request_id, dict(params))
    with world.lock:
        if any(e["data"]["requestId"] == request_id for e in world.events[-20:]):
            return
        _append(world, _event(world, call, None, err))


def _append(world: World, event: dict[str, Any]) -> None:
    """Deliver the event to its account's bus and, for a directory member, to its management account's too."""
    with world.lock:
        world.events.append(event)
        routed = resourcemanager.hub_copy(world, event)
        if routed is not None:
            world.events.append(routed)


def _response_elements(req: ApiRequest, body: Any) -> Any:
    if body is None:
        return None
    if req.product in ("ram", "sts", "ecs", "kms") and isinstance(body, dict):
        return {**body, "RequestId": req.request_id}
    return body


# ------------------------------------------------------------------- building
def _event(world: World, call: _Call, response: Any, err: CloudError | None) -> dict[str, Any]:
    # ledger: AT-RECORD-FIELDS, EB-ENVELOPE, EB-ACTIONTRAIL-TYPE
    product = _PRODUCTS["ims" if call.product == "ram" and call.action in IMS_ACTIONS else call.product]
    region = _region(call)
    recipient = _recipient(world, call)
    host = product.host.format(region=region, account=recipient)
    now = world.clock.now()
    data: dict[str, Any] = {
        "eventId": str(uuid.uuid4()),
        "eventVersion": 1,
        "eventSource": host,
        "eventName": call.action,
        "eventType": "ApiCall",
        "eventRW": "Write",
        "eventCategory": "Management",
        "eventTime": iso(now),
        "acsRegion": region,
        "serviceName": product.service,
        "apiVersion": product.api_version if product.fixed_version else call.version or product.api_version,
        "requestId": call.request_id,
        "requestParameters": {**_request_parameters(call.params), "AcsHost": host,
                              "AcsProduct": product.service, "HostId": host, "RequestId": call.request_id},
        "responseElements": _mask(response),
        "sourceIpAddress": call.source_ip,
        "userAgent": call.user_agent,
        "userIdentity": _user_identity(world, call.caller),
        "referencedResources": _referenced_resources(call.params, response),
        "isGlobal": product.is_global,
        "recipientAccountId": recipient,
    }
    if err is not None:
        data["errorCode"] = err.code
        data["errorMessage"] = err.message
    delivery_region = site_of(world).ram_event_region if product.is_global else region  # ledger: EB-RAM-REGION
    source = product.source
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "specversion": "1.0",
        "subject": f"{source}:{delivery_region}:{recipient}:{call.action}",
        "time": iso(now),
        "type": f"{source.split('.', 1)[1]}:ActionTrail:ApiCall",
        "aliyunaccountid": recipient,
        "aliyunpublishtime": iso_ms(now),
        "aliyunoriginalaccountid": recipient,  # on every event; another account's only once routed to a bus
        "aliyuneventbusname": "default",
        "aliyunregionid": delivery_region,
        "aliyunpublishaddr": PUBLISH_ADDR,
        "datacontenttype": "application/json;charset=utf-8",
        "data": data,
    }


def _region(call: _Call) -> str:
    if call.product == "ecs":
        return str(call.params.get("RegionId") or GLOBAL_REGION)
    if call.product in ("fc3", "fc2"):
        return request_region(call.headers)
    if call.product == "kms":
        return kms.request_region(call.headers)
    return GLOBAL_REGION


def _recipient(world: World, call: _Call) -> str:
    """The account whose trail gets the event: the caller's, or for AssumeRole the role owner's."""
    # ledger: AT-ASSUMEROLE-EVENT
    if call.product == "sts":
        match = _ROLE_ARN.match(str(call.params.get("RoleArn", "")))
        if match and world.find_account(match["account"]) is not None:
            return match["account"]
    return call.caller.account_id


def _request_parameters(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in SIGNATURE_PARAMS:
            continue
        out[name] = _typed(name, value)
    return _mask(out)


def _typed(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name in NUMERIC_PARAMS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in BOOLEAN_PARAMS and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _mask(value: Any) -> Any:  # ledger: AT-SECRETS-MASKED
    if isinstance(value, dict):
        return {k: MASK if k.lower() in SECRET_KEYS and v not in (None, "") else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _user_identity(world: World, caller: Identity) -> dict[str, Any]:  # ledger: AT-USER-IDENTITY
    if caller.kind == "root":
        return {"type": "root-account", "principalId": caller.account_id, "accountId": caller.account_id,
                "userName": "root", "accessKeyId": caller.access_key_id}
    if caller.kind == "user":
        return {"type": "ram-user", "principalId": caller.principal_id or _user_id(world, caller),
                "accountId": caller.account_id, "userName": caller.name, "accessKeyId": caller.access_key_id}
    if caller.kind == "assumed-role":
        role_id = caller.role_id or _role_id(world, caller)
        key = world.keys.get(caller.access_key_id)
        created = iso(key.created_at) if key is not None and key.created_at is not None else ""
        return {"type": "assumed-role", "principalId": f"{role_id}:{caller.session_name}",
                "accountId": caller.account_id, "userName": f"{caller.name}:{caller.session_name}",
                "accessKeyId": caller.access_key_id,
                "sessionContext": {"attributes": {"mfaAuthenticated": "false", "creationDate": created}}}
    return {"type": "system", "userName": caller.name}


def _user_id(world: World, caller: Identity) -> str:
    account = world.find_account(caller.account_id)
    user = ram_state(account).find_user(caller.name) if account is not None else None
    return user.user_id if user is not None else ""


def _role_id(world: World, caller: Identity) -> str:
    account = world.find_account(caller.account_id)
    role = ram_state(account).find_role(caller.name) if account is not None else None
    return role.role_id if role is not None else ""


def _referenced_resources(params: dict[str, Any], response: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def add(kind: str, names: list[str]) -> None:
        bucket = found.setdefault(kind, [])
        bucket.extend(n for n in names if n and n not in bucket)

    for name, kind in RESOURCE_PARAMS.items():
        if name in params and params[name] not in (None, ""):
            add(kind, _names(params[name]))
    kind = TAGGABLE_TYPES.get(str(params.get("ResourceType", "")).lower())
    if kind and "ResourceNames" in params:
        add(kind, _names(params["ResourceNames"]))
    role = _ROLE_ARN.match(str(params.get("RoleArn", "")))
    if role:
        add("ACS::RAM::Role", [role["name"]])
    if isinstance(response, dict):
        for holder in ("AccessKey", "Credentials"):
            key = response.get(holder)
            if isinstance(key, dict) and key.get("AccessKeyId"):
                add("ACS::RAM::AccessKey", [str(key["AccessKeyId"])])
    return {k: v for k, v in found.items() if v}


def _names(value: Any) -> list[str]:
    """A parameter naming one resource, or a JSON array string naming several."""
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value)
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return [text]
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [text]


# ---------------------------------------------------------------------- admin
@admin("GET", "/_emulator/events")
def list_events(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    """Events oldest first; ``since=<n>`` skips the first n, ``account_id`` keeps one account's,
    ``event_bus`` one bus's (``default``, or the hub bus of a resource directory's management account)."""
    since = int(query.get("since", 0))
    if since < 0:
        raise ValueError("since must be >= 0")
    with world.lock:
        events = list(world.events[since:])
    account_id, bus = query.get("account_id"), query.get("event_bus")
    if account_id:
        events = [e for e in events if e["aliyunaccountid"] == account_id]
    if bus:
        events = [e for e in events if e["aliyuneventbusname"] == bus]
    return 200, {"events": events}
