"""Function Compute: FC 3.0 functions, and FC 2.0 services with their functions.

State per (account, region); how a call's region is found, resources,
paging, and what is not emulated: docs/design/emulator.md.
"""
from __future__ import annotations

import base64
import binascii
import re
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..clock import iso
from ..errors import CloudError
from ..protocol import ApiRequest
from ..registry import roa
from ..world import Account, Regional

DEFAULT_REGION = "cn-hangzhou"
FC3 = "/2023-03-30"
FC2_PREFIXES = ("/2021-04-06", "/2016-08-15")
DEFAULT_LIMIT = 20  # ledger: FC-LIST-PAGING
MAX_LIMIT = 100  # ledger: FC-LIST-PAGING
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")  # ledger: FC-FUNCTION-FIELDS
_ROLE_ARN = re.compile(r"^acs:ram::\d+:role/[^/]+$", re.IGNORECASE)
_FC2_HOST = re.compile(r"^(?P<account>\d+)\.(?P<region>[a-z0-9-]+?)(?:-internal)?\.fc\.aliyuncs\.com(?::\d+)?$")
_FC3_HOST = re.compile(r"^fcv3\.(?P<region>[a-z0-9-]+?)(?:-vpc)?\.aliyuncs\.com(?::\d+)?$")
# FC 3.0 function settings kept as given (nested configurations the emulator does not interpret).
FC3_PASSTHROUGH = ("customContainerConfig", "customRuntimeConfig", "customDNS", "gpuConfig",
                   "instanceLifecycleConfig", "layers", "logConfig", "nasConfig", "ossMountConfig",
                   "tracingConfig", "vpcConfig", "resourceGroupId", "sessionAffinity")
FC2_PASSTHROUGH = ("initializer", "initializationTimeout", "customContainerConfig", "customRuntimeConfig",
                   "customDNS", "layers", "caPort", "instanceLifecycleConfig")
SERVICE_DEFAULTS: dict[str, Any] = {
    "logConfig": {"project": "", "logstore": "", "enableRequestMetrics": False,
                  "enableInstanceMetrics": False, "logBeginRule": "None"},
    "vpcConfig": {"vpcId": "", "vSwitchIds": [], "securityGroupId": ""},
    "nasConfig": {"userId": -1, "groupId": -1, "mountPoints": []},
    "tracingConfig": {},
    "ossMountConfig": {"mountPoints": []},
}


# ---------------------------------------------------------------------- state
@dataclass
class Service:
    record: dict[str, Any]
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FcRegion:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)  # FC 3.0, by name
    services: dict[str, Service] = field(default_factory=dict)  # FC 2.0, by name


def fc_state(account: Account) -> Regional[FcRegion]:
    return account.state("fc", lambda _account: Regional(FcRegion))


# ------------------------------------------------------------ request context
def request_region(headers: dict[str, str]) -> str:
    """The region a call addresses (see the module docstring for the order)."""
    # ledger: FC-REGION-HEADER
    for name in ("x-acs-region-id", "x-fc-region"):
        if headers.get(name):
            return headers[name]
    host = headers.get("host", "")
    match = _FC2_HOST.match(host) or _FC3_HOST.match(host)
    return match["region"] if match else DEFAULT_REGION


def _target_account(req: ApiRequest) -> str | None:
    named = req.headers.get("x-fc-account-id", "").strip()
    if named:
        return named
    match = _FC2_HOST.match(req.headers.get("host", ""))
    return match["account"] if match else None


def _region(req: ApiRequest) -> FcRegion:
    """The caller's state in the addressed region, after checking the addressed account."""
    named = _target_account(req)
    if named is not None and named != req.caller.account_id:
        raise CloudError("AccessDenied",  # ledger: FC2-ACCOUNT-ENDPOINT
                         f"the caller is not authorized to access account '{named}'", 403)
    return fc_state(req.account).region(request_region(req.headers))


def _arn(req: ApiRequest, resource: str) -> str:  # ledger: FC-AUTH-RESOURCES
    return f"acs:fc:{request_region(req.headers)}:{req.caller.account_id}:{resource}"


def _body(req: ApiRequest) -> dict[str, Any]:
    if req.json_body is None:
        return {}
    if not isinstance(req.json_body, dict):
        raise CloudError("InvalidArgument", "the request body must be a JSON object", 400)
    return req.json_body


def _body_name(req: ApiRequest, key: str) -> str:
    value = req.json_body.get(key) if isinstance(req.json_body, dict) else None
    return value if isinstance(value, str) and value else "*"


def _service_name(req: ApiRequest) -> str:
    """The path's service name without a ``.qualifier`` suffix (versions are not emulated)."""
    return req.path_params["serviceName"].split(".", 1)[0]


# ----------------------------------------------------------------- validation
def _check_name(kind: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str) or not value:
        raise CloudError("InvalidArgument", f"{kind} is required", 400)
    if len(value) > max_len or not _NAME.match(value):
        raise CloudError("InvalidArgument",
                         f"{kind} '{value}' is invalid: 1-{max_len} letters, digits, '_' or '-', "
                         "not starting with a digit or '-'", 400)
    return value


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise CloudError("InvalidArgument", f"{key} is required", 400)
    return value


def _int_field(body: dict[str, Any], key: str, default: int, lo: int, hi: int, step: int = 1) -> int:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi or value % step:
        extra = f" and a multiple of {step}" if step > 1 else ""
        raise CloudError("InvalidArgument", f"{key} must be an integer between {lo} and {hi}{extra}", 400)
    return value


def _optional_str(body: dict[str, Any], key: str, max_len: int = 256) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_len:
        raise CloudError("InvalidArgument", f"{key} must be a string of at most {max_len} characters", 400)
    return value


def _role(body: dict[str, Any]) -> str:
    role = _optional_str(body, "role", 300)
    if role and not _ROLE_ARN.match(role):
        raise CloudError("InvalidArgument", f"role '{role}' is not a RAM role ARN (acs:ram::<uid>:role/<name>)", 400)
    return role


def _env(body: dict[str, Any]) -> dict[str, str]:
    env = body.get("environmentVariables") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise CloudError("InvalidArgument", "environmentVariables must map strings to strings", 400)
    return dict(env)


def _tags(body: dict[str, Any]) -> list[dict[str, str]]:
    tags = body.get("tags") or []
    ok = isinstance(tags, list) and all(
        isinstance(t, dict) and isinstance(t.get("Key"), str) and t["Key"] and isinstance(t.get("Value", ""), str)
        for t in tags)
    if not ok or len(tags) > 20:
        raise CloudError("InvalidArgument", "tags must be at most 20 {Key, Value} string pairs", 400)
    return [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags]


def _code_facts(body: dict[str, Any]) -> tuple[int, str]:
    """Size and checksum of an inline code archive (zero when the code lives in OSS)."""
    code = body.get("code")
    archive = code.get("zipFile") if isinstance(code, dict) else None
    if not archive:
        return 0, "0"
    try:
        data = base64.b64decode(archive, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CloudError("InvalidArgument", "code.zipFile must be base64", 400) from None
    return len(data), str(zlib.crc32(data))


def _passthrough(body: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: body[k] for k in keys if body.get(k) is not None}


# --------------------------------------------------------------------- paging
@dataclass(frozen=True)
class _Tokens:
    encode: Callable[[str], str]
    decode: Callable[[str], str]


def _b64_encode(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _b64_decode(token: str) -> str:
    """The name a token was made from; only tokens this service issued decode."""
    try:
        name = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        name = None
    if name is None or _b64_encode(name) != token:
        raise CloudError("InvalidArgument", f"nextToken '{token}' is invalid", 400)
    return name


FC3_TOKENS = _Tokens(_b64_encode, _b64_decode)
FC2_TOKENS = _Tokens(lambda name: name, lambda token: token)


def _page(req: ApiRequest, names: list[str], tokens: _Tokens) -> tuple[list[str], str | None]:
    """One page of ``names`` (any order) per prefix/startKey/nextToken/limit; and the next token."""
    # ledger: FC-LIST-PAGING
    limit_raw = req.params.get("limit")
    try:
        limit = DEFAULT_LIMIT if limit_raw in (None, "") else int(limit_raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise CloudError("InvalidArgument", f"limit must be between 1 and {MAX_LIMIT}", 400)
    prefix = req.params.get("prefix", "")
    start = req.params.get("startKey", "")
    token = req.params.get("nextToken", "")
    floor = max(start, tokens.decode(token) if token else "")
    chosen = sorted(n for n in names if n.startswith(prefix) and n >= floor)
    page, rest = chosen[:limit], chosen[limit:]
    return page, tokens.encode(rest[0]) if rest else None


def _listing(key: str, items: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {key: items}
    if next_token:
        body["nextToken"] = next_token
    return body


# ------------------------------------------------------------------- FC 3.0
def _fc3_function(req: ApiRequest, body: dict[str, Any]) -> dict[str, Any]:
    name = _check_name("functionName", body.get("functionName"), 64)
    code_size, checksum = _code_facts(body)
    now = iso(req.world.clock.now())
    return {
        "functionName": name,
        "functionId": str(uuid.uuid4()),
        "functionArn": _arn(req, f"functions/{name}"),
        "runtime": _required_str(body, "runtime"),
        "handler": _required_str(body, "handler"),
        # ledger: FC-FUNCTION-FIELDS
        "memorySize": _int_field(body, "memorySize", 512, 64, 32768, 64),
        "timeout": _int_field(body, "timeout", 3, 1, 86400),
        "cpu": body.get("cpu") if isinstance(body.get("cpu"), (int, float)) else 0.35,
        "diskSize": _int_field(body, "diskSize", 512, 512, 10240),
        "instanceConcurrency": _int_field(body, "instanceConcurrency", 1, 1, 200),
        "internetAccess": body.get("internetAccess") is not False,
        "role": _role(body),
        "description": _optional_str(body, "description"),
        "environmentVariables": _env(body),
        "tags": _tags(body),
        "codeSize": code_size,
        "codeChecksum": checksum,
        "createdTime": now,
        "lastModifiedTime": now,
        "state": "Active",
        "stateReason": "",
        "stateReasonCode": "",
        "lastUpdateStatus": "Successful",
        "lastUpdateStatusReason": "",
        "lastUpdateStatusReasonCode": "",
        **_passthrough(body, FC3_PASSTHROUGH),
    }


# ListFunctions returns a subset of a function's fields; GetFunction returns them all.
# ledger: FC-FUNCTION-FIELDS
FC3_GET_ONLY = ("state", "stateReason", "stateReasonCode", "lastUpdateStatus", "lastUpdateStatusReason",
                "lastUpdateStatusReasonCode")


def _add_new(table: dict[str, Any], name: str, value: Any, code: str, message: str) -> None:
    """Store ``value`` as ``name``, unless the name is taken (409 ``code``)."""
    if name in table:
        raise CloudError(code, message, 409)
    table[name] = value


def _fc3_get(req: ApiRequest) -> dict[str, Any]:
    name = req.path_params["functionName"]
    function = _region(req).functions.get(name)
    if function is None:
        raise CloudError("FunctionNotFound", f"function '{name}' does not exist", 404)  # ledger: FC-ERRORS
    return function


@roa("fc3", "POST", f"{FC3}/functions", "CreateFunction", ram_action="fc:CreateFunction",
     resource=lambda req: [_arn(req, f"functions/{_body_name(req, 'functionName')}")], write=True)
def create_function(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    function = _fc3_function(req, _body(req))
    name = function["functionName"]
    _add_new(_region(req).functions, name, function, "FunctionAlreadyExists", f"function '{name}' already exists")
    return 200, function, {}


@roa("fc3", "GET", f"{FC3}/functions/{{functionName}}", "GetFunction", ram_action="fc:GetFunction",
     resource=lambda req: [_arn(req, f"functions/{req.path_params['functionName']}")])
def get_function(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    return 200, _fc3_get(req), {}


@roa("fc3", "DELETE", f"{FC3}/functions/{{functionName}}", "DeleteFunction", ram_action="fc:DeleteFunction",
     resource=lambda req: [_arn(req, f"functions/{req.path_params['functionName']}")], write=True)
def delete_function(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    function = _fc3_get(req)
    del _region(req).functions[function["functionName"]]
    return 204, None, {}


@roa("fc3", "GET", f"{FC3}/functions", "ListFunctions", ram_action="fc:ListFunctions",
     resource=lambda req: [_arn(req, "functions/*")])
def list_functions(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    region = _region(req)
    version = req.params.get("fcVersion", "")  # ledger: FC-LISTFUNCTIONS-VERSION
    if version not in ("", "v3", "v2"):
        raise CloudError("InvalidArgument", f"fcVersion '{version}' is invalid: v3 or v2", 400)
    listed: dict[str, dict[str, Any]] = {}
    if version != "v2":
        listed.update({n: {k: v for k, v in f.items() if k not in FC3_GET_ONLY} for n, f in region.functions.items()})
    if version != "v3":
        listed.update(_fc2_functions_as_fc3(region))
    page, token = _page(req, list(listed), FC3_TOKENS)
    return 200, _listing("functions", [listed[n] for n in page], token), {}


FC2_LISTED_AS_FC3 = ("functionId", "runtime", "handler", "memorySize", "timeout", "instanceConcurrency",
                     "description", "environmentVariables", "codeSize", "codeChecksum", "createdTime",
                     "lastModifiedTime")


def _fc2_functions_as_fc3(region: FcRegion) -> dict[str, dict[str, Any]]:
    """The FC 2.0 functions of ``region`` as FC 3.0's ListFunctions shows them without ``fcVersion=v3``."""
    # ledger: FC-LISTFUNCTIONS-VERSION
    out: dict[str, dict[str, Any]] = {}
    for service_name, service in region.services.items():
        for function_name, function in service.functions.items():
            name = f"{service_name}${function_name}"  # ledger: FC-LIST-FC2-NAMES
            out[name] = {"functionName": name, "role": service.record.get("role", ""),
                         **{k: function[k] for k in FC2_LISTED_AS_FC3 if k in function}}
    return out


# ------------------------------------------------------------------- FC 2.0
def _service(req: ApiRequest) -> Service:
    name = _service_name(req)
    service = _region(req).services.get(name)
    if service is None:
        raise CloudError("ServiceNotFound", f"service '{name}' does not exist", 404)  # ledger: FC-ERRORS
    return service


def _fc2_service(req: ApiRequest, body: dict[str, Any]) -> dict[str, Any]:
    now = iso(req.world.clock.now())
    record: dict[str, Any] = {
        "serviceName": _check_name("serviceName", body.get("serviceName"), 128),
        "serviceId": str(uuid.uuid4()),
        "description": _optional_str(body, "description"),
        "role": _role(body),
        "internetAccess": body.get("internetAccess") is not False,
        "createdTime": now,
        "lastModifiedTime": now,
    }
    for key, default in SERVICE_DEFAULTS.items():
        given = body.get(key)
        record[key] = given if isinstance(given, dict) else default
    return record


def _fc2_function(req: ApiRequest, body: dict[str, Any]) -> dict[str, Any]:
    code_size, checksum = _code_facts(body)
    now = iso(req.world.clock.now())
    return {
        "functionName": _check_name("functionName", body.get("functionName"), 64),
        "functionId": str(uuid.uuid4()),
        "runtime": _required_str(body, "runtime"),
        "handler": _required_str(body, "handler"),
        "memorySize": _int_field(body, "memorySize", 128, 64, 32768, 64),
        "timeout": _int_field(body, "timeout", 3, 1, 86400),
        "instanceConcurrency": _int_field(body, "instanceConcurrency", 1, 1, 200),
        "instanceType": _optional_str(body, "instanceType") or "e1",
        "description": _optional_str(body, "description"),
        "environmentVariables": _env(body),
        "codeSize": code_size,
        "codeChecksum": checksum,
        "createdTime": now,
        "lastModifiedTime": now,
        **_passthrough(body, FC2_PASSTHROUGH),
    }


def _service_arn(req: ApiRequest, suffix: str = "") -> list[str]:
    name = _service_name(req) if "serviceName" in req.path_params else _body_name(req, "serviceName")
    return [_arn(req, f"services/{name}{suffix}")]


def create_service(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    record = _fc2_service(req, _body(req))
    name = record["serviceName"]
    _add_new(_region(req).services, name, Service(record), "ServiceAlreadyExists",
             f"service '{name}' already exists")
    return 200, record, {"etag": record["serviceId"]}


def get_service(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    record = _service(req).record
    return 200, record, {"etag": record["serviceId"]}


def delete_service(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    service = _service(req)
    name = service.record["serviceName"]
    if service.functions:
        raise CloudError("ServiceNotEmpty", f"service '{name}' is not empty", 412)
    del _region(req).services[name]
    return 204, None, {}


def list_services(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    services = _region(req).services
    page, token = _page(req, list(services), FC2_TOKENS)
    return 200, _listing("services", [services[n].record for n in page], token), {}


def create_service_function(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    service = _service(req)
    function = _fc2_function(req, _body(req))
    name = function["functionName"]
    _add_new(service.functions, name, function, "FunctionAlreadyExists",
             f"function '{name}' already exists in service '{service.record['serviceName']}'")
    return 200, function, {"etag": function["functionId"]}


def list_service_functions(req: ApiRequest) -> tuple[int, Any, dict[str, str]]:
    functions = _service(req).functions
    page, token = _page(req, list(functions), FC2_TOKENS)
    return 200, _listing("functions", [functions[n] for n in page], token), {}


def _fc2_function_arn(req: ApiRequest) -> list[str]:
    return _service_arn(req, f"/functions/{_body_name(req, 'functionName')}")


for _prefix in FC2_PREFIXES:
    roa("fc2", "POST", f"{_prefix}/services", "CreateService", ram_action="fc:CreateService",
        resource=_service_arn, write=True)(create_service)
    roa("fc2", "GET", f"{_prefix}/services", "ListServices", ram_action="fc:ListServices",
        resource=lambda req: [_arn(req, "services/*")])(list_services)
    roa("fc2", "GET", f"{_prefix}/services/{{serviceName}}", "GetService", ram_action="fc:GetService",
        resource=_service_arn)(get_service)
    roa("fc2", "DELETE", f"{_prefix}/services/{{serviceName}}", "DeleteService", ram_action="fc:DeleteService",
        resource=_service_arn, write=True)(delete_service)
    roa("fc2", "POST", f"{_prefix}/services/{{serviceName}}/functions", "CreateFunction",
        ram_action="fc:CreateFunction", resource=_fc2_function_arn, write=True)(create_service_function)
    roa("fc2", "GET", f"{_prefix}/services/{{serviceName}}/functions", "ListFunctions",
        ram_action="fc:ListFunctions", resource=lambda req: _service_arn(req, "/functions/*"))(list_service_functions)
