"""The floor of each function's cold start: the SDKs it needs, and the bare SDK calls of its first invocation.

A floor is what any implementation must pay: importing the product SDK
clients the function calls (and the shared ``tea_openapi`` core they sit on),
building a client, and making the cloud calls the invocation cannot do
without, with no validation, logging, retries or error handling. The
benchmark's handler is measured against it, in the same kind of fresh
interpreter (``bench.child``).

The floor events are plain JSON prepared by the benchmark (role names, trust
documents and tags already computed), since a floor has nothing to decide.
Credentials and the endpoint come from the environment, as the handlers' do.
This module imports only the standard library itself, so a fresh interpreter
can load it by path beside a package that holds nothing but the SDKs.
"""
from __future__ import annotations

import importlib
import json
import os
from datetime import datetime, timezone
from typing import Any

_RAM = ("alibabacloud_ram20150501.client", "alibabacloud_ram20150501.models")
_STS = ("alibabacloud_sts20150401.client", "alibabacloud_sts20150401.models")
_FC3 = ("alibabacloud_fc20230330.client", "alibabacloud_fc20230330.models")
_FC2 = ("alibabacloud_fc_open20210406.client", "alibabacloud_fc_open20210406.models")
_ECS = ("alibabacloud_ecs20140526.client", "alibabacloud_ecs20140526.models")
_KMS = ("alibabacloud_kms20160120.client", "alibabacloud_kms20160120.models")
_CORE = ("alibabacloud_tea_openapi.models",)

SDK_MODULES: dict[str, tuple[str, ...]] = {
    "onboard": _CORE + _RAM + _KMS,
    "onboard-warm": _CORE + _RAM + _KMS,
    "revoke": _CORE + _RAM + _KMS,
    "revoke-accounts": _CORE + _RAM + _STS + _KMS,
    "query": _CORE + _STS + _FC3,
    "query-services": _CORE + _STS + _FC2,
    "remediate-grant": _CORE + _RAM + _STS + _KMS,
    "remediate-instance": _CORE + _RAM + _ECS + _STS,
}
HIGH_RISK = ("AdministratorAccess", "AliyunRAMFullAccess")
MANAGED = ("rolegate:managed", "true")
EXPIRES_KEY = "rolegate:expires-at"


def load(name: str) -> None:
    """Import the SDK modules of ``name``'s floor (what is timed as the import floor)."""
    for module in SDK_MODULES[name]:
        importlib.import_module(module)


def _config(creds: dict[str, str] | None = None) -> Any:
    from alibabacloud_tea_openapi.models import Config

    creds = creds or {"id": os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                      "secret": os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], "token": None}
    return Config(access_key_id=creds["id"], access_key_secret=creds["secret"], security_token=creds["token"],
                  endpoint=os.environ["ROLEGATE_ENDPOINT"], protocol="http", region_id="cn-hangzhou")


def _client(module: str, creds: dict[str, str] | None = None) -> Any:
    return importlib.import_module(f"{module}.client").Client(_config(creds))


def _models(module: str) -> Any:
    return importlib.import_module(f"{module}.models")


def _assume(role_arn: str, session: str, external_id: str | None = None) -> dict[str, str]:
    m = _models("alibabacloud_sts20150401")
    body = _client("alibabacloud_sts20150401").assume_role(m.AssumeRoleRequest(
        role_arn=role_arn, role_session_name=session, external_id=external_id)).body
    return {"id": body.credentials.access_key_id, "secret": body.credentials.access_key_secret,
            "token": body.credentials.security_token}


def _record_key() -> bytes:
    """KMS GetSecretValue of the function's own account's grant-record key, which proves every record (a
    member's too): once per instance, as the handlers."""
    m = _models("alibabacloud_kms20160120")
    body = _client("alibabacloud_kms20160120").get_secret_value(m.GetSecretValueRequest(
        secret_name=os.environ.get("ROLEGATE_RECORD_KEY_SECRET", "rolegate-record-key"))).body
    return body.secret_data.encode()


# ------------------------------------------------------------------- onboard
def onboard(event: dict[str, Any]) -> dict[str, Any]:
    """CreateRole with the record in its tags, CreatePolicy per custom policy, AttachPolicyToRole per policy.

    ``{"list": true}`` instead lists every managed role (ListRoles on the marker tag, page after page).
    """
    m = _models("alibabacloud_ram20150501")
    ram = _client("alibabacloud_ram20150501")
    _record_key()
    if event.get("list"):
        roles, marker = [], None
        while True:
            body = ram.list_roles(m.ListRolesRequest(marker=marker, max_items=1000, tag=[
                m.ListRolesRequestTag(key=MANAGED[0], value=MANAGED[1])])).body
            roles += [r.role_name for r in body.roles.role or []]
            if not body.is_truncated:
                return {"statusCode": 200, "count": len(roles)}
            marker = body.marker
    create(ram, m, event)
    return {"statusCode": 201, "role_name": event["role_name"]}


_WARM: dict[str, Any] = {}


def onboard_warm(event: dict[str, Any]) -> dict[str, Any]:
    """``onboard``'s create in a warm instance: the client and the record key, made by the first request, kept."""
    if not _WARM:
        _WARM.update(m=_models("alibabacloud_ram20150501"), ram=_client("alibabacloud_ram20150501"),
                     key=_record_key())
    create(_WARM["ram"], _WARM["m"], event)
    return {"statusCode": 201, "role_name": event["role_name"]}


def create(ram: Any, m: Any, event: dict[str, Any]) -> None:
    """One grant's calls through the bare SDK: CreateRole with the record's tags, CreatePolicy, AttachPolicyToRole."""
    ram.create_role(m.CreateRoleRequest(
        role_name=event["role_name"], assume_role_policy_document=event["trust"], description=event["description"],
        max_session_duration=3600, tag=[m.CreateRoleRequestTag(key=k, value=v) for k, v in event["tags"]]))
    for name, document in event["custom"]:
        ram.create_policy(m.CreatePolicyRequest(policy_name=name, policy_document=document))
    for kind, name in event["policies"]:
        ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(role_name=event["role_name"], policy_type=kind,
                                                              policy_name=name))


# -------------------------------------------------------------------- revoke
def _sweep_account(creds: dict[str, str] | None) -> int:
    """List managed roles, and dismantle each one past its expiry tag; the number revoked."""
    m = _models("alibabacloud_ram20150501")
    ram = _client("alibabacloud_ram20150501", creds)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    revoked, marker = 0, None
    while True:
        body = ram.list_roles(m.ListRolesRequest(marker=marker, max_items=1000, tag=[
            m.ListRolesRequestTag(key=MANAGED[0], value=MANAGED[1])])).body
        for role in body.roles.role or []:
            tags = {t.tag_key: t.tag_value for t in (role.tags.tag if role.tags else None) or []}
            if tags.get(EXPIRES_KEY, "9999") > now:
                continue
            attached = ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name=role.role_name)).body
            for policy in attached.policies.policy or []:
                ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(
                    role_name=role.role_name, policy_type=policy.policy_type, policy_name=policy.policy_name))
                if policy.policy_type == "Custom":
                    ram.delete_policy(m.DeletePolicyRequest(policy_name=policy.policy_name))
            ram.delete_role(m.DeleteRoleRequest(role_name=role.role_name))
            revoked += 1
        if not body.is_truncated:
            break
        marker = body.marker
    _grant_policies(ram, m)
    return revoked


def _grant_policies(ram: Any, m: Any) -> list[str]:
    """The managed custom policies (ListPolicies on the marker tag): where a policy that outlived its role shows."""
    names, marker = [], None
    while True:
        body = ram.list_policies(m.ListPoliciesRequest(policy_type="Custom", marker=marker, max_items=1000, tag=[
            m.ListPoliciesRequestTag(key=MANAGED[0], value=MANAGED[1])])).body
        names += [p.policy_name for p in body.policies.policy or []]
        if not body.is_truncated:
            return names
        marker = body.marker


def revoke(event: dict[str, Any]) -> dict[str, Any]:
    _record_key()
    return {"revoked": _sweep_account(None)}


def revoke_accounts(event: dict[str, Any]) -> dict[str, Any]:
    """The same in the hub's own account, then in every listed member through the manager role assumed there."""
    _record_key()
    revoked = _sweep_account(None)
    for account in event["accounts"]:
        revoked += _sweep_account(_assume(f"acs:ram::{account}:role/{event['role_name']}", "rolegate-revoke"))
    return {"revoked": revoked}


# --------------------------------------------------------------------- query
def query(event: dict[str, Any]) -> dict[str, Any]:
    """Per target: AssumeRole, then ListFunctions page after page (the loop of the fan-out baseline)."""
    m = _models("alibabacloud_fc20230330")
    found = {}
    for target in event["targets"]:
        fc = _client("alibabacloud_fc20230330", _assume(target["role_arn"], "rolegate-query"))
        names, token = [], None
        while True:
            body = fc.list_functions(m.ListFunctionsRequest(limit=event["page_size"], next_token=token)).body
            names += [f.function_name for f in body.functions or []]
            token = body.next_token
            if not token:
                break
        found[target["account_id"]] = names
    return {"results": found}


def query_services(event: dict[str, Any]) -> dict[str, Any]:
    """Per target: AssumeRole, then ListServices (FC 2.0) page after page."""
    m = _models("alibabacloud_fc_open20210406")
    found = {}
    for target in event["targets"]:
        fc = _client("alibabacloud_fc_open20210406", _assume(target["role_arn"], "rolegate-query"))
        names, token = [], None
        while True:
            body = fc.list_services_with_options(
                m.ListServicesRequest(limit=event["page_size"], next_token=token),
                m.ListServicesHeaders(x_fc_account_id=target["account_id"]),
                importlib.import_module("alibabacloud_tea_util.models").RuntimeOptions()).body
            names += [s.service_name for s in body.services or []]
            token = body.next_token
            if not token:
                break
        found[target["account_id"]] = names
    return {"results": found}


# ----------------------------------------------------------------- remediate
def _who_am_i() -> str:
    """STS GetCallerIdentity: a cold instance learns its own identity, to ignore the changes it makes itself."""
    return _client("alibabacloud_sts20150401").get_caller_identity().body.arn


def remediate_grant(event: dict[str, Any]) -> dict[str, Any]:
    """Read the grant role back (GetRole, ListTagResources, ListPoliciesForRole); detach what is not recorded."""
    _who_am_i()
    _record_key()
    m = _models("alibabacloud_ram20150501")
    ram = _client("alibabacloud_ram20150501")
    role = event["role_name"]
    ram.get_role(m.GetRoleRequest(role_name=role))
    ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="role", resource_names=[role]))
    recorded = {tuple(p) for p in event["recorded"]}
    detached = []
    for policy in ram.list_policies_for_role(m.ListPoliciesForRoleRequest(role_name=role)).body.policies.policy:
        if (policy.policy_type, policy.policy_name) not in recorded:
            ram.detach_policy_from_role(m.DetachPolicyFromRoleRequest(
                role_name=role, policy_type=policy.policy_type, policy_name=policy.policy_name))
            detached.append(policy.policy_name)
    return {"detached": detached}


def remediate_instance(event: dict[str, Any]) -> dict[str, Any]:
    """Which role the instance carries (ECS), what that role holds (RAM); detach it if it holds a high-risk policy."""
    _who_am_i()
    ecs_m, ram_m = _models("alibabacloud_ecs20140526"), _models("alibabacloud_ram20150501")
    ecs, ram = _client("alibabacloud_ecs20140526"), _client("alibabacloud_ram20150501")
    instances = json.dumps([event["instance_id"]])
    body = ecs.describe_instance_ram_role(ecs_m.DescribeInstanceRamRoleRequest(
        region_id=event["region"], instance_ids=instances)).body
    role = body.instance_ram_role_sets.instance_ram_role_set[0].ram_role_name
    held = ram.list_policies_for_role(ram_m.ListPoliciesForRoleRequest(role_name=role)).body.policies.policy
    if any(p.policy_type == "System" and p.policy_name in HIGH_RISK for p in held):
        ecs.detach_instance_ram_role(ecs_m.DetachInstanceRamRoleRequest(region_id=event["region"],
                                                                        instance_ids=instances, ram_role_name=role))
        return {"detached": role}
    return {"detached": None}


FLOORS = {"onboard": onboard, "onboard-warm": onboard_warm, "revoke": revoke, "revoke-accounts": revoke_accounts,
          "query": query, "query-services": query_services, "remediate-grant": remediate_grant,
          "remediate-instance": remediate_instance}


def invoke(name: str, event: bytes, context: Any) -> dict[str, Any]:
    return FLOORS[name](json.loads(event))
