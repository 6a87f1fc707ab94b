"""Function Compute in the emulator, through the FC 3.0, FC 2.0 Tea and legacy ``aliyun-fc2`` clients."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_fc_open20210406 import models as fc2m
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_util.models import RuntimeOptions as TeaRuntimeOptions
from darabonba.runtime import RuntimeOptions
from fc2.fc_exceptions import FcError

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, fc2_client, fc3_client, legacy_fc2_client

ZIP = base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()


@pytest.fixture
def account(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("fc-owner")


def make_function(client: Any, name: str, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    body = fc3.CreateFunctionInput(function_name=name, runtime=fields.pop("runtime", "python3.10"),
                                   handler=fields.pop("handler", "index.handler"),
                                   code=fc3.InputCodeLocation(zip_file=ZIP), **fields)
    return client.create_function_with_options(fc3.CreateFunctionRequest(body=body), headers or {},
                                               RuntimeOptions())


def list_all_fc3(client: Any, **query: Any) -> tuple[list[str], int]:
    names, pages, token = [], 0, None
    while True:
        resp = client.list_functions(fc3.ListFunctionsRequest(next_token=token, **query))
        pages += 1
        names += [f.function_name for f in resp.body.functions]
        token = resp.body.next_token
        if not token:
            return names, pages


# ---------------------------------------------------------------- FC 3.0
def test_fc3_function_round_trip(emulator: EmulatorServer, account: Creds) -> None:
    """A created function reads back with the fields given, an ARN in the caller's account, and is deletable."""
    client = fc3_client(emulator, account)
    role = f"acs:ram::{account['account_id']}:role/fc-runner"
    made = make_function(client, "worker", memory_size=256, timeout=30, role=role, description="d",
                         tags=[fc3.Tag(key="team", value="ops")], environment_variables={"A": "1"})
    assert made.status_code == 200
    got = client.get_function("worker", fc3.GetFunctionRequest()).body
    assert (got.function_name, got.runtime, got.handler, got.memory_size, got.timeout) == \
        ("worker", "python3.10", "index.handler", 256, 30)
    assert got.role == role and got.description == "d" and got.environment_variables == {"A": "1"}
    assert [(t.key, t.value) for t in got.tags] == [("team", "ops")]
    assert got.function_arn == f"acs:fc:cn-hangzhou:{account['account_id']}:functions/worker"
    assert got.state == "Active" and got.code_size == 22
    assert client.delete_function("worker").status_code == 204
    with pytest.raises(ClientException) as err:
        client.get_function("worker", fc3.GetFunctionRequest())
    assert (err.value.code, err.value.status_code) == ("FunctionNotFound", 404)


def test_fc3_defaults_apply_when_fields_are_omitted(emulator: EmulatorServer, account: Creds) -> None:
    """Memory and timeout fall back to the FC 3.0 defaults (512 MB, 3 s)."""
    client = fc3_client(emulator, account)
    made = make_function(client, "plain").body
    assert (made.memory_size, made.timeout, made.internet_access) == (512, 3, True)


def test_fc3_duplicate_function_is_refused(emulator: EmulatorServer, account: Creds) -> None:
    """Creating a function whose name is taken fails with FunctionAlreadyExists (409)."""
    client = fc3_client(emulator, account)
    make_function(client, "dup")
    with pytest.raises(ClientException) as err:
        make_function(client, "dup")
    assert (err.value.code, err.value.status_code) == ("FunctionAlreadyExists", 409)


@pytest.mark.parametrize("name, fields", [
    ("1starts-with-digit", {}),
    ("ok", {"runtime": ""}),
    ("ok", {"memory_size": 100}),
    ("ok", {"timeout": 0}),
    ("ok", {"role": "not-an-arn"}),
])
def test_fc3_invalid_function_settings_are_refused(emulator: EmulatorServer, account: Creds, name: str,
                                                   fields: dict[str, Any]) -> None:
    """Bad names, missing runtime, odd memory sizes, zero timeouts and non-ARN roles are InvalidArgument."""
    with pytest.raises(ClientException) as err:
        make_function(fc3_client(emulator, account), name, **fields)
    assert (err.value.code, err.value.status_code) == ("InvalidArgument", 400)


def test_fc3_delete_of_missing_function_is_not_found(emulator: EmulatorServer, account: Creds) -> None:
    """Deleting a function that does not exist fails with FunctionNotFound."""
    with pytest.raises(ClientException) as err:
        fc3_client(emulator, account).delete_function("ghost")
    assert err.value.code == "FunctionNotFound"


def test_fc3_list_pages_through_every_function_in_order(emulator: EmulatorServer, account: Creds) -> None:
    """ListFunctions pages with limit/nextToken, ordered by name, until nextToken is absent."""
    client = fc3_client(emulator, account)
    names = [f"fn-{i:02d}" for i in range(7)] + ["other"]
    for name in reversed(names):
        make_function(client, name)
    listed, pages = list_all_fc3(client, limit=3)
    assert listed == sorted(names) and pages == 3
    prefixed, _ = list_all_fc3(client, prefix="fn-", limit=2)
    assert prefixed == sorted(names[:7])
    first = client.list_functions(fc3.ListFunctionsRequest()).body
    assert len(first.functions) == 8 and first.next_token is None
    assert first.functions[0].state is None  # ListFunctions returns only a subset of the fields


def test_fc3_list_shows_fc2_functions_unless_fc_version_is_v3(emulator: EmulatorServer, account: Creds) -> None:
    """Without fcVersion both generations are listed, with v3 only FC 3.0 functions, with v2 only FC 2.0 ones.

    The API reference: "v3: only lists functions of Function Compute 3.0. v2: only lists functions of
    Function Compute 2.0. By default ... functions in both ... are listed."
    """
    client = fc3_client(emulator, account)
    make_function(client, "modern")
    fc2 = fc2_client(emulator, account)
    fc2.create_service(fc2m.CreateServiceRequest(service_name="legacy"))
    fc2.create_function("legacy", fc2m.CreateFunctionRequest(
        function_name="old", runtime="python3.10", handler="index.handler", code=fc2m.Code(zip_file=ZIP)))

    both, _ = list_all_fc3(client)
    assert "modern" in both and len(both) == 2
    [legacy] = [n for n in both if n != "modern"]
    assert "legacy" in legacy and "old" in legacy
    assert list_all_fc3(client, fc_version="v3")[0] == ["modern"]
    assert list_all_fc3(client, fc_version="v2")[0] == [legacy]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"next_token": "%%%"}, {"fc_version": "v9"}])
def test_fc3_list_rejects_bad_paging(emulator: EmulatorServer, account: Creds, query: dict[str, Any]) -> None:
    """limit outside 1-100, a token the service did not issue, or an unknown fcVersion is InvalidArgument."""
    with pytest.raises(ClientException) as err:
        fc3_client(emulator, account).list_functions(fc3.ListFunctionsRequest(**query))
    assert err.value.code == "InvalidArgument"


def test_fc3_functions_are_kept_per_region_and_account(emulator: EmulatorServer, account: Creds) -> None:
    """A region header selects a separate namespace, and another account sees none of them."""
    client = fc3_client(emulator, account)
    make_function(client, "here")
    made = make_function(client, "there", {"x-acs-region-id": "cn-shanghai"}).body
    assert made.function_arn.startswith("acs:fc:cn-shanghai:")
    assert list_all_fc3(client)[0] == ["here"]
    resp = client.list_functions_with_options(fc3.ListFunctionsRequest(), {"x-acs-region-id": "cn-shanghai"},
                                              RuntimeOptions())
    assert [f.function_name for f in resp.body.functions] == ["there"]
    stranger = fc3_client(emulator, emulator.create_account("stranger"))
    assert list_all_fc3(stranger)[0] == []


# ---------------------------------------------------------------- FC 2.0
def create_services(client: Any, names: list[str]) -> None:
    for name in names:
        client.create_service(fc2m.CreateServiceRequest(service_name=name, description=f"svc {name}"))


def test_fc2_service_round_trip_and_errors(emulator: EmulatorServer, account: Creds) -> None:
    """CreateService/GetService/DeleteService work, and the documented errors carry ErrorCode for FC 2.0."""
    client = fc2_client(emulator, account)
    created = client.create_service(fc2m.CreateServiceRequest(service_name="svc", description="d")).body
    assert created.service_name == "svc" and created.service_id and created.internet_access is True
    got = client.get_service("svc", fc2m.GetServiceRequest()).body
    assert (got.service_name, got.description, got.service_id) == ("svc", "d", created.service_id)
    with pytest.raises(ClientException) as dup:
        client.create_service(fc2m.CreateServiceRequest(service_name="svc"))
    assert (dup.value.code, dup.value.status_code) == ("ServiceAlreadyExists", 409)
    assert dup.value.data["ErrorCode"] == "ServiceAlreadyExists" and dup.value.data["ErrorMessage"]
    client.delete_service("svc")
    with pytest.raises(ClientException) as gone:
        client.get_service("svc", fc2m.GetServiceRequest())
    assert (gone.value.code, gone.value.status_code) == ("ServiceNotFound", 404)
    assert gone.value.data["ErrorCode"] == "ServiceNotFound"


def test_fc2_functions_under_a_service_are_real(emulator: EmulatorServer, account: Creds) -> None:
    """Functions created in a service are listed there; a service with functions cannot be deleted."""
    client = fc2_client(emulator, account)
    create_services(client, ["svc"])
    for name in ("b", "a", "c"):
        client.create_function("svc", fc2m.CreateFunctionRequest(
            function_name=name, runtime="python3.10", handler="index.handler", code=fc2m.Code(zip_file=ZIP)))
    listed = client.list_functions("svc", fc2m.ListFunctionsRequest(limit=2)).body
    assert [f.function_name for f in listed.functions] == ["a", "b"] and listed.next_token == "c"
    rest = client.list_functions("svc", fc2m.ListFunctionsRequest(next_token=listed.next_token)).body
    assert [f.function_name for f in rest.functions] == ["c"] and rest.next_token is None
    with pytest.raises(ClientException) as dup:
        client.create_function("svc", fc2m.CreateFunctionRequest(
            function_name="a", runtime="python3.10", handler="index.handler", code=fc2m.Code(zip_file=ZIP)))
    assert dup.value.code == "FunctionAlreadyExists"
    with pytest.raises(ClientException) as busy:
        client.delete_service("svc")
    assert (busy.value.code, busy.value.status_code) == ("ServiceNotEmpty", 412)
    with pytest.raises(ClientException) as missing:
        client.list_functions("nosvc", fc2m.ListFunctionsRequest())
    assert missing.value.code == "ServiceNotFound"


def test_fc2_tea_list_services_pages_with_limit_next_token_prefix_and_start_key(
        emulator: EmulatorServer, account: Creds) -> None:
    """ListServices on /2021-04-06 pages across more than two pages and honours prefix and startKey."""
    client = fc2_client(emulator, account)
    names = [f"svc-{i:02d}" for i in range(7)] + ["zz"]
    create_services(client, names)
    seen, token, pages = [], None, 0
    while True:
        body = client.list_services(fc2m.ListServicesRequest(limit=3, next_token=token)).body
        seen += [s.service_name for s in body.services]
        pages += 1
        token = body.next_token
        if not token:
            break
    assert seen == sorted(names) and pages == 3
    prefixed = client.list_services(fc2m.ListServicesRequest(prefix="svc-", start_key="svc-05")).body
    assert [s.service_name for s in prefixed.services] == ["svc-05", "svc-06"]
    with pytest.raises(ClientException) as err:
        client.list_services(fc2m.ListServicesRequest(limit=101))
    assert err.value.code == "InvalidArgument"


def test_legacy_fc2_client_pages_services_on_the_2016_path(emulator: EmulatorServer, account: Creds) -> None:
    """The aliyun-fc2 client (FC signature, /2016-08-15) lists, creates and pages the same services."""
    legacy = legacy_fc2_client(emulator, account)
    for i in range(7):
        legacy.create_service(f"old-{i}", description="legacy")
    seen, token, pages = [], None, 0
    while True:
        data = legacy.list_services(limit=3, nextToken=token).data
        seen += [s["serviceName"] for s in data["services"]]
        pages += 1
        token = data.get("nextToken")
        if not token:
            break
    assert seen == [f"old-{i}" for i in range(7)] and pages == 3
    tea = fc2_client(emulator, account).list_services(fc2m.ListServicesRequest()).body
    assert len(tea.services) == 7  # both API paths address one store


def test_legacy_fc2_client_functions_and_errors(emulator: EmulatorServer, account: Creds) -> None:
    """Legacy functions count under their service, and errors reach FcError with code and status."""
    legacy = legacy_fc2_client(emulator, account)
    legacy.create_service("svc")
    legacy.create_function("svc", "fn1", "python3", "index.handler", codeOSSBucket="b", codeOSSObject="o")
    legacy.create_function("svc", "fn2", "python3", "index.handler", codeOSSBucket="b", codeOSSObject="o",
                           memorySize=512)
    functions = legacy.list_functions("svc").data["functions"]
    assert [(f["functionName"], f["memorySize"]) for f in functions] == [("fn1", 256), ("fn2", 512)]
    assert legacy.get_service("svc").data["serviceName"] == "svc"
    with pytest.raises(FcError) as err:
        legacy.get_service("nosvc")
    assert (err.value.err_code, err.value.status_code) == ("ServiceNotFound", 404)
    with pytest.raises(FcError) as dup:
        legacy.create_service("svc")
    assert (dup.value.err_code, dup.value.status_code) == ("ServiceAlreadyExists", 409)


def test_fc2_account_header_must_name_the_callers_account(emulator: EmulatorServer, account: Creds) -> None:
    """x-fc-account-id naming another account is AccessDenied (403) in FC 2.0 shape; one's own is fine."""
    other = emulator.create_account("other")
    legacy = legacy_fc2_client(emulator, account)
    assert legacy.list_services(headers={"x-fc-account-id": account["account_id"]}).data["services"] == []
    with pytest.raises(FcError) as err:
        legacy.list_services(headers={"x-fc-account-id": other["account_id"]})
    assert (err.value.err_code, err.value.status_code) == ("AccessDenied", 403)
    tea = fc2_client(emulator, account)
    with pytest.raises(ClientException) as denied:
        tea.list_services_with_options(fc2m.ListServicesRequest(),
                                       fc2m.ListServicesHeaders(x_fc_account_id=other["account_id"]),
                                       TeaRuntimeOptions())
    assert denied.value.code == "AccessDenied" and denied.value.data["ErrorCode"] == "AccessDenied"
