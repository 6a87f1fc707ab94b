"""Builders for the real SDK clients pointed at the emulator, one function per client kind.

``creds`` is what the admin API returns for an account (``access_key_id``,
``access_key_secret``) or any dict with those keys plus ``security_token`` for
STS credentials. The Tea clients are built by Rolegate's own
:class:`shared.clients.ClientFactory`, so a test's client is configured exactly
as the functions' are.
"""
from __future__ import annotations

import json
from typing import Any

import fc2
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_fc20230330.client import Client as Fc3Client
from alibabacloud_fc_open20210406.client import Client as Fc2Client
from alibabacloud_kms20160120.client import Client as KmsClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import GlobalParameters

from emulator import EmulatorServer
from shared import clients
from shared.credentials import Credentials

Creds = dict[str, Any]
REGION = "cn-hangzhou"


def factory(emulator: EmulatorServer, creds: Creds, region: str = REGION) -> clients.ClientFactory:
    """The client factory signing with ``creds`` and talking plain HTTP to the emulator."""
    key = Credentials(creds["access_key_id"], creds["access_key_secret"], creds.get("security_token"))
    return clients.ClientFactory(key, region=region, endpoint=emulator.endpoint)


def sdk_config(emulator: EmulatorServer, creds: Creds) -> Any:
    """The Tea client configuration of ``creds`` against the emulator, for a client the factory does not build."""
    return factory(emulator, creds).sdk_config()


def ram_client(emulator: EmulatorServer, creds: Creds) -> RamClient:
    """The stock RAM SDK's client, as an account's users call RAM. It is also the SDK core's generic client
    (its base class), so Rolegate's RAM gateway can be given it."""
    return RamClient(factory(emulator, creds).sdk_config(clients.RAM_ENDPOINT))


def kms_client(emulator: EmulatorServer, creds: Creds, region: str = REGION) -> KmsClient:
    """The stock KMS SDK's client, as a KMS user would call it (the functions use the generic client).

    The emulator's address names no region, so the region goes in the header the functions send it in.
    """
    config = factory(emulator, creds, region).sdk_config()
    config.global_parameters = GlobalParameters(headers={"x-acs-region-id": region})
    return KmsClient(config)


def record_keyring(emulator: EmulatorServer, creds: Creds) -> Any:
    """The account's grant-record keyring (its KMS secret created if missing), read with ``creds``."""
    from shared.kms import DEFAULT_SECRET_NAME, KmsKeyring, init_secret

    client = factory(emulator, creds).kms()
    init_secret(client, DEFAULT_SECRET_NAME)
    return KmsKeyring(client, DEFAULT_SECRET_NAME)


def ecs_client(emulator: EmulatorServer, creds: Creds) -> EcsClient:
    """The stock ECS SDK's client, as an ECS user would call it (the functions use the generic client)."""
    return EcsClient(sdk_config(emulator, creds))


def fc3_client(emulator: EmulatorServer, creds: Creds) -> Fc3Client:
    """The stock FC 3.0 SDK's client, as an FC user calls it (the query function uses the generic client)."""
    return Fc3Client(factory(emulator, creds).fc_config(None))


def fc2_client(emulator: EmulatorServer, creds: Creds) -> Fc2Client:
    """The FC 2.0 Tea client (API path ``/2021-04-06``)."""
    return Fc2Client(factory(emulator, creds).fc_config(None))


def legacy_fc2_client(emulator: EmulatorServer, creds: Creds) -> fc2.Client:
    """The ``aliyun-fc2`` client (API path ``/2016-08-15``, FC-native signature)."""
    return fc2.Client(endpoint=emulator.url, accessKeyID=creds["access_key_id"],
                      accessKeySecret=creds["access_key_secret"], securityToken=creds.get("security_token", ""))


def create_instance(emulator: EmulatorServer, account_id: str, region: str = "cn-hangzhou",
                    network_type: str = "vpc") -> str:
    """An ECS instance made through the admin API (ECS itself cannot create one)."""
    body = {"account_id": account_id, "region": region, "network_type": network_type}
    return emulator.admin("POST", "/_emulator/ecs/instances", body)["instance_id"]


def events(emulator: EmulatorServer, since: int = 0) -> list[dict[str, Any]]:
    """The ActionTrail events the emulator has delivered, oldest first."""
    return emulator.admin("GET", f"/_emulator/events?since={since}")["events"]


def ram_client_v2(emulator: EmulatorServer, creds: Creds) -> RamClient:
    """A RAM Tea client that signs with the legacy RPC v1 (HMAC-SHA1 ``Signature`` parameter) scheme."""
    config = sdk_config(emulator, creds)
    config.signature_algorithm = "v2"
    return RamClient(config)


def legacy_core_client(creds: Creds) -> Any:
    """An ``aliyun-python-sdk-core`` AcsClient; requests name the emulator as their domain."""
    from aliyunsdkcore.client import AcsClient

    return AcsClient(creds["access_key_id"], creds["access_key_secret"], "cn-hangzhou", auto_retry=False)


def legacy_common_request(emulator: EmulatorServer, product_version: str, action: str, **params: str) -> Any:
    """A CommonRequest (RPC v1 signature) for ``action`` aimed at the emulator over plain HTTP."""
    from aliyunsdkcore.request import CommonRequest

    request = CommonRequest(domain=emulator.endpoint, version=product_version, action_name=action)
    request.set_protocol_type("http")
    request.set_method("POST")
    for name, value in params.items():
        request.add_query_param(name, value)
    return request


def set_quotas(emulator: EmulatorServer, **quotas: int) -> dict[str, Any]:
    """Lower service limits for this test (e.g. ``roles_per_account=3``); a reset restores the defaults."""
    return emulator.admin("POST", "/_emulator/settings", {"quotas": quotas})


def service_trust(service: str = "ecs.aliyuncs.com") -> str:
    """A trust policy letting a cloud service assume the role."""
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": [service]}}]})


def account_trust(account_id: str) -> str:
    """A trust policy letting any RAM identity of ``account_id`` assume the role."""
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]})


def create_role(emulator: EmulatorServer, creds: Creds, name: str, trust: str) -> Any:
    """A role made through the RAM API; returns the SDK's ``Role`` body."""
    request = ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust)
    return ram_client(emulator, creds).create_role(request).body.role


def create_user_with_policy(emulator: EmulatorServer, root: Creds, user_name: str,
                            document: dict[str, Any] | None) -> Creds:
    """A RAM user holding one custom policy (none when ``document`` is None), and its AccessKey."""
    ram = ram_client(emulator, root)
    ram.create_user(ram_models.CreateUserRequest(user_name=user_name))
    if document is not None:
        policy_name = f"{user_name}-policy"
        ram.create_policy(ram_models.CreatePolicyRequest(policy_name=policy_name,
                                                         policy_document=json.dumps(document)))
        ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
            policy_type="Custom", policy_name=policy_name, user_name=user_name))
    key = ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name=user_name)).body.access_key
    return {"account_id": root["account_id"], "access_key_id": key.access_key_id,
            "access_key_secret": key.access_key_secret}


def sts_client(emulator: EmulatorServer, creds: Creds | None = None) -> StsClient:
    """An STS Tea client; without ``creds`` it can only make the unsigned federation calls."""
    if creds is None:
        return StsClient(clients.sdk_config(None, REGION, emulator.endpoint))
    return factory(emulator, creds).sts()
