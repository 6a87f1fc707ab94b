"""shared.kms: KMS through the SDK core's generic client sends, request for request, what the KMS SDK sends.

Both clients are pointed at a recording HTTP server, so the comparison covers
what goes over the wire: method, path, query, form body and the region header.
The secret's data must travel in the form body, never in a URL. Should a KMS
SDK upgrade change what it sends, these tests fail and name the difference.
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as KmsClient
from alibabacloud_tea_openapi.models import GlobalParameters

from shared import kms
from shared.clients import ClientFactory, kms_endpoint
from shared.credentials import Credentials
from shared.errors import CloudCallError
from tests.stand_in import StandIn

REGION = "cn-shanghai"
NAME = "rolegate-record-key"
KEY = base64.b64encode(bytes(range(32))).decode()
VOLATILE = {"SignatureNonce", "Timestamp", "Signature"}  # differ between any two requests
# What says which action it is (signature v3 puts it in headers), how the body is sent and its digest.
HEADERS = ("x-acs-action", "x-acs-version", "content-type", "x-acs-content-sha256", "x-acs-region-id")


class Recorder:
    """A stand-in KMS endpoint that records every request and answers as KMS does; ``missing``: no secret yet."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.missing = False
        self.refused = False
        self.stand_in = StandIn(self._record)
        self.endpoint = self.stand_in.endpoint

    def _record(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = request["headers"]
        self.requests.append({**request, "query": {k: v for k, v in request["query"].items() if k not in VOLATILE},
                              "headers": {h: headers.get(h) for h in HEADERS}})
        return self.answer(headers.get("x-acs-action"), request["query"])

    def answer(self, action: str | None, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.refused:
            return 403, {"Code": "Forbidden.NoPermission", "Message": "not allowed", "RequestId": "r"}
        if action == "GetSecretValue" and self.missing:
            return 404, {"Code": "Forbidden.ResourceNotFound", "Message": "no such secret", "RequestId": "r"}
        if action == "GetSecretValue":
            return 200, {"RequestId": "r", "SecretName": NAME, "VersionId": query.get("VersionId", "k2"),
                         "SecretData": KEY, "SecretDataType": "text"}
        if action == "ListSecretVersionIds":
            return 200, {"RequestId": "r", "SecretName": NAME, "TotalCount": 2, "PageNumber": 1, "PageSize": 100,
                         "VersionIds": {"VersionId": [{"VersionId": "k1"}, {"VersionId": "k2"}]}}
        return 200, {"RequestId": "r", "SecretName": NAME, "VersionId": query.get("VersionId", "")}

    def take(self) -> list[dict[str, Any]]:
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    with rec.stand_in:
        yield rec


def clients(recorder: Recorder) -> tuple[Any, KmsClient]:
    """The functions' KMS client and the stock KMS SDK's, both signing with the same key and aimed at the recorder."""
    factory = ClientFactory(Credentials("AKIDexample", "not-a-real-secret"), region=REGION,
                            endpoint=recorder.endpoint)
    config = factory.sdk_config()
    config.global_parameters = GlobalParameters(headers={"x-acs-region-id": REGION})
    return factory.kms(), KmsClient(config)


def without_version(request: dict[str, Any]) -> dict[str, Any]:
    """A request with its new version id (random on each side) taken out; the query's order kept."""
    return {**request, "query": {k: v for k, v in request["query"].items() if k != "VersionId"},
            "raw_query": [k for k, _ in parse_qsl(request["raw_query"])]}


def test_the_functions_kms_client_is_the_generic_client_on_the_sdks_endpoint(recorder: Recorder) -> None:
    """No KMS SDK to ship or import; the real-cloud address is the one the KMS SDK's rule gives."""
    ours, _ = clients(recorder)
    assert not isinstance(ours, KmsClient) and type(ours).__module__ == "alibabacloud_tea_openapi.client"
    stock = KmsClient(ClientFactory(Credentials("AKIDexample", "x"), region=REGION, endpoint="").sdk_config())
    assert stock._endpoint == kms_endpoint(REGION) == f"kms.{REGION}.aliyuncs.com"


def test_reading_the_record_key_sends_what_the_sdk_sends(recorder: Recorder) -> None:
    """GetSecretValue (current, then by version) and ListSecretVersionIds: the same requests, the same key read."""
    ours, stock = clients(recorder)
    keyring = kms.KmsKeyring(ours, NAME)
    assert keyring.key("k1").secret == base64.b64decode(KEY)  # current, the version list, then version k1
    mine = recorder.take()

    stock.get_secret_value(kms_models.GetSecretValueRequest(secret_name=NAME))
    stock.list_secret_version_ids(kms_models.ListSecretVersionIdsRequest(
        secret_name=NAME, include_deprecated="true", page_size=100))
    stock.get_secret_value(kms_models.GetSecretValueRequest(secret_name=NAME, version_id="k1"))
    theirs = recorder.take()

    assert [r["headers"]["x-acs-action"] for r in mine] == ["GetSecretValue", "ListSecretVersionIds", "GetSecretValue"]
    assert mine == theirs
    assert all(r["method"] == "POST" and r["path"] == "/" and r["headers"]["x-acs-version"] == "2016-01-20"
               and r["headers"]["x-acs-region-id"] == REGION for r in mine)


def test_a_new_secret_and_a_new_version_carry_the_data_in_the_form_body(recorder: Recorder) -> None:
    """CreateSecret and PutSecretValue: the SDK's query and form body; the secret's value never in the URL."""
    ours, stock = clients(recorder)
    recorder.missing = True
    assert kms.init_text_secret(ours, kms.DEFAULT_WEBHOOK_SECRET_NAME) is True
    recorder.missing = False
    version = kms.rotate_secret(ours, kms.DEFAULT_WEBHOOK_SECRET_NAME)
    mine = recorder.take()
    created, put = mine[1], mine[2]
    new_value = put["form"]["SecretData"]

    recorder.missing = True
    with pytest.raises(Exception, match="Forbidden.ResourceNotFound"):
        stock.get_secret_value(kms_models.GetSecretValueRequest(secret_name=kms.DEFAULT_WEBHOOK_SECRET_NAME))
    recorder.missing = False
    stock.create_secret(kms_models.CreateSecretRequest(
        secret_name=kms.DEFAULT_WEBHOOK_SECRET_NAME, secret_data=created["form"]["SecretData"], version_id="v",
        secret_data_type="text", description="Rolegate webhook HMAC key; give it to partners' systems only"))
    stock.put_secret_value(kms_models.PutSecretValueRequest(
        secret_name=kms.DEFAULT_WEBHOOK_SECRET_NAME, secret_data=new_value, version_id="v", secret_data_type="text"))
    theirs = recorder.take()

    assert [r["headers"]["x-acs-action"] for r in mine] == ["GetSecretValue", "CreateSecret", "PutSecretValue"]
    assert [without_version(r) for r in mine] == [without_version(r) for r in theirs]
    assert put["query"]["VersionId"] == version and base64.b64decode(new_value) and len(new_value) >= 44
    for request in mine[1:]:
        assert request["form"]["SecretData"] and request["form"]["SecretData"] not in request["raw_query"]
        assert "SecretData" not in request["query"]


def test_a_missing_secret_reads_as_none_and_a_refusal_is_raised(recorder: Recorder) -> None:
    """KMS's not-found code means "no secret" (None); the operator's read-change-write depends on that."""
    ours, _ = clients(recorder)
    recorder.missing = True
    assert kms.read_text(ours, NAME) is None
    recorder.missing = False
    assert kms.read_text(ours, NAME) == KEY
    recorder.refused = True
    with pytest.raises(CloudCallError) as refused:
        kms.read_text(ours, NAME)
    assert refused.value.cloud_code == "Forbidden.NoPermission" and refused.value.http_status == 403
    with pytest.raises(CloudCallError):
        kms.init_text_secret(ours, kms.DEFAULT_WEBHOOK_SECRET_NAME)  # a refusal is not "missing": nothing is made
    assert [r["headers"]["x-acs-action"] for r in recorder.take()][-1] == "GetSecretValue"
