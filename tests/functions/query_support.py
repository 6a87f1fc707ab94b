"""Building the query tests' world: grants in owner accounts, their functions and services, and calling the handler."""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from alibabacloud_fc20230330 import models as fc3_models
from alibabacloud_fc_open20210406 import models as fc2_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_tea_util.models import RuntimeOptions as TeaRuntimeOptions
from darabonba.runtime import RuntimeOptions

from functions.onboard import index as onboard_index
from functions.query import index as query_index
from tests.emulator.helpers import create_user_with_policy, fc2_client, fc3_client, ram_client
from tests.functions.conftest import (QUERY_SESSION, WEBHOOK_SECRET, Account, FakeContext, Reply, Webhook,
                                      function_policy)

EXTERNAL_ID = "company-b-5f3a9c"


# ------------------------------------------------------------------------ grants
def onboard_grant(emulator: Any, owner: Account, partner_id: str, monkeypatch: pytest.MonkeyPatch,
                  policy: str = "AliyunFCReadOnlyAccess", external_id: str | None = EXTERNAL_ID) -> str:
    """A grant made by the onboarding function in ``owner`` for the whole partner account; its role ARN.

    The onboarding function runs as a RAM user of ``owner`` holding deploy/policies/onboard.json, in an
    environment that is put back afterwards (the query function's stays in force).
    """
    identity = create_user_with_policy(emulator, owner.root, f"onboard-fn-{uuid.uuid4().hex[:8]}",
                                       function_policy("onboard"))
    principal: dict[str, Any] = {"type": "account"}
    if external_id is not None:
        principal["external_id"] = external_id
    body = {"partner_account_id": partner_id, "principal": principal, "policies": [{"name": policy}],
            "duration_seconds": 86400}
    with monkeypatch.context() as env:
        env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", identity["access_key_id"])
        env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", identity["access_key_secret"])
        env.setenv("FC_ACCOUNT_ID", owner.account_id)
        env.setenv("ROLEGATE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        from shared.onboarding.api import REPLAYS
        REPLAYS.clear()
        reply = Webhook(onboard_index.handler, FakeContext(account_id=owner.account_id)).call("POST", "/grants",
                                                                                              body)
    assert reply.status == 201, reply.json
    return str(reply.json["role_arn"])


def trusting_role(emulator: Any, owner: Account, trusted_account: str, name: str,
                  policy: str = "AliyunFCReadOnlyAccess", external_id: str | None = EXTERNAL_ID) -> str:
    """A role made directly with the RAM API (for many accounts at once), trusting ``trusted_account``."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Principal": {"RAM": [f"acs:ram::{trusted_account}:root"]}}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    ram = ram_client(emulator, owner.root)
    ram.create_role(ram_models.CreateRoleRequest(
        role_name=name, assume_role_policy_document=json.dumps({"Version": "1", "Statement": [statement]})))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name=policy,
                                                                   role_name=name))
    return f"acs:ram::{owner.account_id}:role/{name}"


# --------------------------------------------------------------- FC resources
def make_functions(emulator: Any, owner: Account, names: list[str], region: str = "cn-hangzhou") -> None:
    """FC 3.0 functions in ``owner``'s ``region``, made with the FC 3.0 SDK."""
    client = fc3_client(emulator, owner.root)
    for i, name in enumerate(names):
        body = fc3_models.CreateFunctionInput(
            function_name=name, runtime="python3.12", handler="index.handler", memory_size=128 * (i % 4 + 1),
            timeout=30 + i, description=f"{name} in {region}",
            role=f"acs:ram::{owner.account_id}:role/aliyunfcdefaultrole")
        client.create_function_with_options(fc3_models.CreateFunctionRequest(body=body),
                                            {"x-acs-region-id": region}, RuntimeOptions())


def make_services(emulator: Any, owner: Account, services: dict[str, int]) -> None:
    """FC 2.0 services in ``owner``'s cn-hangzhou, each with the given number of functions."""
    client = fc2_client(emulator, owner.root)
    for service, functions in services.items():
        client.create_service(fc2_models.CreateServiceRequest(service_name=service,
                                                              description=f"the {service} service"))
        for i in range(functions):
            request = fc2_models.CreateFunctionRequest(function_name=f"fn-{i}", runtime="python3.10",
                                                       handler="index.handler")
            client.create_function_with_options(service, request, fc2_models.CreateFunctionHeaders(),
                                                TeaRuntimeOptions())


# ----------------------------------------------------------------------- calling
def target(owner: Account, role_arn: str, **extra: Any) -> dict[str, Any]:
    return {"account_id": owner.account_id, "role_arn": role_arn, "external_id": EXTERNAL_ID, **extra}


def query_http(context: FakeContext, body: Any, **kwargs: Any) -> Reply:
    """POST the query to the handler as an HTTP trigger would deliver it (FC verified the signature already)."""
    return Webhook(query_index.handler, context).call("POST", "/", body, signed=False, **kwargs)


def query_direct(context: FakeContext, body: Any) -> Any:
    """Invoke the handler directly with the request as the event."""
    return query_index.handler(json.dumps(body).encode(), context)


def session_arn(account_id: str, role_arn: str) -> str:
    return f"acs:ram::{account_id}:assumed-role/{role_arn.rsplit('/', 1)[1]}/{QUERY_SESSION}"


def calls(emulator: Any, since: int, action: str | None = None) -> list[dict[str, Any]]:
    """Calls made by identities of this test's world, optionally of one action.

    A call an earlier test left hanging in an injected latency is logged when it
    ends, possibly during this test; its caller's account no longer exists.
    """
    live = emulator.world.accounts
    return [c for c in emulator.calls(since)
            if c["account_id"] in live and (action is None or c["action"] == action)]


def last_seq(emulator: Any) -> int:
    entries = emulator.calls()
    return entries[-1]["seq"] if entries else 0

