"""shared.fc: FC's listings through the SDK core's generic client send what the FC 3.0 and 2.0 SDKs send.

Both clients are pointed at a recording HTTP server answering as FC does, so
the comparison covers what goes over the wire (method, path, the query and its
order, the action, version and region headers) and what is read from the
answer, page by page. Should an FC SDK upgrade change either, these tests fail
and name the difference.
"""
from __future__ import annotations

from typing import Any

import pytest
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_fc20230330.client import Client as Fc3Client
from alibabacloud_fc_open20210406 import models as fc2
from alibabacloud_fc_open20210406.client import Client as Fc2Client
from alibabacloud_tea_util.models import RuntimeOptions as UtilRuntimeOptions
from darabonba.runtime import RuntimeOptions

from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.deadline import Deadline
from shared.errors import CloudCallError
from shared.fc import FC3_ONLY, function_view, list_functions, list_services, service_view
from shared.query.budget import TimeBudget
from tests.stand_in import Recorder, recorder_fixtures

ACCOUNT = "1234567890123456"
HEADERS = ("x-acs-action", "x-acs-version", "x-acs-region-id", "x-acs-content-sha256", "x-fc-account-id")
FUNCTIONS = [
    {"functionName": "ledger-api", "runtime": "python3.10", "memorySize": 512, "timeout": 30,
     "role": "acs:ram::1234567890123456:role/app", "lastModifiedTime": "2026-12-01T00:00:00Z",
     "description": "the ledger's API"},
    {"functionName": "stock-sync", "runtime": "custom.debian10", "memorySize": 128, "timeout": 60, "role": "",
     "lastModifiedTime": "2026-12-02T00:00:00Z", "description": ""},
]


SERVICES = [
    {"serviceName": "ledger v1", "description": "the old ledger", "role": "", "internetAccess": True,
     "lastModifiedTime": "2026-11-01T00:00:00Z"},
    {"serviceName": "stock", "description": "", "role": "acs:ram::1234567890123456:role/app", "internetAccess": False,
     "lastModifiedTime": "2026-11-02T00:00:00Z"},
]


def answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """FC's listings as FC answers them, in pages of one: FC 3.0 functions, FC 2.0 services and their functions."""
    path = request["path"]
    key, items = (("services", SERVICES) if path == "/2021-04-06/services"
                  else ("functions", FUNCTIONS[:1] if path.startswith("/2021-04-06/") else FUNCTIONS))
    page = int(request["query"].get("nextToken") or 0)
    body: dict[str, Any] = {key: items[page:page + 1]}
    if page + 1 < len(items):
        body["nextToken"] = str(page + 1)
    return 200, body


endpoint, recorder = recorder_fixtures(answer, HEADERS)


def factory(recorder: Recorder) -> ClientFactory:
    return ClientFactory(Credentials("AKIDexample", "not-a-real-secret"), region="cn-shanghai",
                         endpoint=recorder.stand_in.endpoint)


def test_the_functions_fc_client_is_the_generic_client_on_the_accounts_address() -> None:
    """No FC 3.0 SDK to ship or import; in the cloud the account's own regional address, as the SDK is given."""
    cloud = ClientFactory(Credentials("AKIDexample", "x"), region="cn-shanghai", endpoint="")
    ours = cloud.fc3(ACCOUNT)
    assert not isinstance(ours, Fc3Client) and type(ours).__module__ == "alibabacloud_tea_openapi.client"
    assert ours._endpoint == Fc3Client(cloud.fc_config(ACCOUNT))._endpoint == f"{ACCOUNT}.cn-shanghai.fc.aliyuncs.com"


def test_listing_sends_what_the_sdk_sends_page_by_page_and_reads_what_its_models_read(recorder: Recorder) -> None:
    listed = list_functions(factory(recorder), ACCOUNT, "led", 1, TimeBudget(Deadline(None), 60))
    mine = recorder.take()

    stock = Fc3Client(factory(recorder).fc_config(ACCOUNT))
    read: list[Any] = []
    token = None
    while True:
        body = stock.list_functions_with_options(fc3.ListFunctionsRequest(
            limit=1, next_token=token, prefix="led", fc_version=FC3_ONLY), {}, RuntimeOptions()).body
        read += body.functions
        token = body.next_token
        if not token:
            break
    theirs = recorder.take()

    assert len(mine) == 2 and mine == theirs
    assert mine[0]["method"] == "GET" and mine[0]["path"] == "/2023-03-30/functions"
    assert mine[0]["headers"]["x-acs-action"] == "ListFunctions" and mine[0]["headers"]["x-acs-version"] == "2023-03-30"
    assert mine[0]["headers"]["x-acs-region-id"] == "cn-shanghai"
    assert mine[1]["query"]["nextToken"] == "1"
    sdk_view = [{"name": f.function_name, "runtime": f.runtime or None, "memory_mb": f.memory_size,
                 "timeout_seconds": f.timeout, "role": f.role or None, "last_modified": f.last_modified_time or None,
                 "description": f.description or None} for f in read]
    assert listed == sdk_view == [function_view(f) for f in FUNCTIONS]
    assert listed[1]["role"] is None and listed[1]["description"] is None  # FC's empty strings read as unset


def test_a_refusal_is_a_cloud_error_naming_the_code(recorder: Recorder) -> None:
    recorder.refuse = (403, "AccessDenied")
    with pytest.raises(CloudCallError) as refused:
        list_functions(factory(recorder), ACCOUNT, None, 100, TimeBudget(Deadline(None), 60))
    assert refused.value.cloud_code == "AccessDenied" and refused.value.http_status == 403
    assert len(recorder.take()) == 1  # a refusal is not retried


def test_services_and_their_functions_send_what_the_fc2_sdk_sends_and_read_what_its_models_read(
        recorder: Recorder) -> None:
    """ListServices and, per service, ListFunctions (the path carries the name encoded), with the account header."""
    listed = list_services(factory(recorder), ACCOUNT, None, 1, TimeBudget(Deadline(None), 60), count_functions=True)
    mine = recorder.take()

    stock = Fc2Client(factory(recorder).fc_config(ACCOUNT))
    headers = {"x_fc_account_id": ACCOUNT}
    services: list[Any] = []
    token = None
    while True:
        body = stock.list_services_with_options(fc2.ListServicesRequest(limit=1, next_token=token),
                                                fc2.ListServicesHeaders(**headers), UtilRuntimeOptions()).body
        for service in body.services:  # each page's services counted before the next page, as the query does
            services.append(service)
            stock.list_functions_with_options(service.service_name, fc2.ListFunctionsRequest(limit=1),
                                              fc2.ListFunctionsHeaders(**headers), UtilRuntimeOptions())
        token = body.next_token
        if not token:
            break
    theirs = recorder.take()

    assert [r["path"] for r in mine] == ["/2021-04-06/services", "/2021-04-06/services/ledger%20v1/functions",
                                         "/2021-04-06/services", "/2021-04-06/services/stock/functions"]
    assert mine == theirs
    assert {r["headers"]["x-fc-account-id"] for r in mine} == {ACCOUNT}
    sdk_view = [{"name": v.service_name, "description": v.description or None, "role": v.role or None,
                 "internet_access": v.internet_access, "last_modified": v.last_modified_time or None}
                for v in services]
    assert [{k: v for k, v in item.items() if k != "function_count"} for item in listed] == sdk_view
    assert sdk_view == [service_view(v) for v in SERVICES]
    assert [item["function_count"] for item in listed] == [1, 1]
