"""Every signature scheme the emulator takes refuses a request signed with the wrong secret, and does nothing.

A known AccessKey id with any other secret must answer ``SignatureDoesNotMatch``
(400) before the action runs, whichever of the four schemes the SDK signs with
(docs/design/emulator.md): ACS3-HMAC-SHA256, RPC v1, ROA v1 and FC's own.
Otherwise every test through the emulator would pass whatever the secret.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from alibabacloud_fc20230330 import models as fc3m
from alibabacloud_fc20230330.client import Client as Fc3Client
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_tea_openapi.exceptions import ClientException
from fc2.fc_exceptions import FcError

from emulator import EmulatorServer
from tests.emulator.helpers import (Creds, account_trust, legacy_fc2_client, ram_client, ram_client_v2, sdk_config)

ZIP = "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="  # an empty zip archive


def _forged(creds: Creds) -> Creds:
    return {**creds, "access_key_secret": creds["access_key_secret"][::-1] + "x"}


def _roa_fc3(emulator: EmulatorServer, creds: Creds) -> Fc3Client:
    config = sdk_config(emulator, creds)
    config.signature_algorithm = "v2"  # ROA v1: Authorization: acs AK:signature
    return Fc3Client(config)


def _create_role(client: Any) -> Callable[[str], Any]:
    return lambda name: client.create_role(ram_models.CreateRoleRequest(
        role_name=name, assume_role_policy_document=account_trust("1234567890123456")))


def _role_names(emulator: EmulatorServer, creds: Creds) -> list[str]:
    roles = ram_client(emulator, creds).list_roles(ram_models.ListRolesRequest()).body.roles.role or []
    return [r.role_name for r in roles]


def _function_names(emulator: EmulatorServer, creds: Creds) -> list[str]:
    listed = _roa_fc3(emulator, creds).list_functions(fc3m.ListFunctionsRequest()).body.functions or []
    return [f.function_name for f in listed]


SCHEMES: dict[str, tuple[Callable[[EmulatorServer, Creds], Callable[[str], Any]],
                         Callable[[EmulatorServer, Creds], list[str]]]] = {
    "acs3": (lambda emu, creds: _create_role(ram_client(emu, creds)), _role_names),
    "rpc1": (lambda emu, creds: _create_role(ram_client_v2(emu, creds)), _role_names),
    "roa1": (lambda emu, creds: lambda name: _roa_fc3(emu, creds).create_function(fc3m.CreateFunctionRequest(
        body=fc3m.CreateFunctionInput(function_name=name, runtime="python3.10", handler="index.handler",
                                      code=fc3m.InputCodeLocation(zip_file=ZIP)))), _function_names),
    "fc": (lambda emu, creds: lambda name: legacy_fc2_client(emu, creds).create_service(name),
           lambda emu, creds: [s["serviceName"]
                               for s in legacy_fc2_client(emu, creds).list_services().data["services"]]),
}


def _refusal(exc: BaseException) -> tuple[Any, Any]:
    if isinstance(exc, FcError):
        return exc.err_code, exc.status_code
    assert isinstance(exc, ClientException), exc
    return exc.code, exc.status_code


@pytest.mark.parametrize("scheme", sorted(SCHEMES))
def test_a_wrong_secret_is_refused_before_the_action_runs(emulator: EmulatorServer, scheme: str) -> None:
    creds = emulator.create_account(f"signer-{scheme}")
    make, names = SCHEMES[scheme]
    with pytest.raises((ClientException, FcError)) as refused:
        make(emulator, _forged(creds))("forged")
    assert _refusal(refused.value) == ("SignatureDoesNotMatch", 400)
    assert "forged" not in names(emulator, creds)
    make(emulator, creds)("signed")  # the same call with the right secret is accepted
    assert "signed" in names(emulator, creds)
