"""Environment settings and the error tree: typed readers, endpoint/region defaults, HTTP mapping."""
from __future__ import annotations

import pytest

from shared import config
from shared.errors import (
    CloudCallError,
    CloudUnavailable,
    ConfigError,
    Conflict,
    CredentialsNotFound,
    DeadlineExceeded,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Refused,
    RolegateError,
    Unauthenticated,
    Unprocessable,
    UnsupportedMediaType,
    as_rolegate_error,
    http_status_for,
)


def test_endpoint_unset_blank_and_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset or blank means the real cloud; a scheme or trailing slash is dropped (the SDK signs host:port)."""
    assert config.endpoint() is None
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "  ")
    assert config.endpoint() is None
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "http://127.0.0.1:8080/")
    assert config.endpoint() == "127.0.0.1:8080"


def test_region_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REGION beats the function's FC_REGION, which beats the cn-hangzhou default."""
    assert config.region() == "cn-hangzhou"
    monkeypatch.setenv("FC_REGION", "cn-shanghai")
    assert config.region() == "cn-shanghai"
    monkeypatch.setenv("ROLEGATE_REGION", "ap-southeast-1")
    assert config.region() == "ap-southeast-1"


def test_typed_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reader parses its type and falls back to the default when unset."""
    assert config.env_int("X_INT", 7) == 7 and config.env_bool("X_BOOL", True) is True
    assert config.env_list("X_LIST", ["a"]) == ["a"] and config.env_str("X_STR") is None
    monkeypatch.setenv("X_INT", " 42 ")
    monkeypatch.setenv("X_BOOL", "off")
    monkeypatch.setenv("X_LIST", "a, b,,c ,")
    monkeypatch.setenv("X_STR", " v ")
    assert config.env_int("X_INT", 7) == 42
    assert config.env_bool("X_BOOL", True) is False
    assert config.env_list("X_LIST") == ["a", "b", "c"]
    assert config.env_str("X_STR") == "v"


@pytest.mark.parametrize("reader,value", [
    (lambda: config.env_int("X_VAR", 1), "twelve"),
    (lambda: config.env_int("X_VAR", 1, minimum=5), "3"),
    (lambda: config.env_int("X_VAR", 1, maximum=5), "9"),
    (lambda: config.env_bool("X_VAR", False), "maybe"),
])
def test_malformed_value_names_the_variable_not_the_value(reader, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad setting is a ConfigError naming the variable (field) without echoing the value."""
    monkeypatch.setenv("X_VAR", value)
    with pytest.raises(ConfigError) as info:
        reader()
    assert info.value.field == "X_VAR" and "X_VAR" in info.value.message
    assert value not in info.value.message
    assert http_status_for(info.value) == 500


@pytest.mark.parametrize("cls,status", [
    (InvalidInput, 400), (Unauthenticated, 401), (Refused, 403), (NotFound, 404), (Conflict, 409),
    (PayloadTooLarge, 413), (UnsupportedMediaType, 415), (Unprocessable, 422), (ConfigError, 500),
    (CredentialsNotFound, 500), (DeadlineExceeded, 504), (RolegateError, 500),
])
def test_http_status_for_each_error(cls: type[RolegateError], status: int) -> None:
    """http_status_for maps every class of the tree to its documented status."""
    assert http_status_for(cls("m")) == status


def test_cloud_errors_status_and_body() -> None:
    """CloudCallError is a 502 and CloudUnavailable a retryable 503, both carrying the cloud's ids."""
    final = CloudCallError("GetRole failed", action="GetRole", cloud_code="NoPermission", request_id="R1",
                           http_status=403)
    transient = CloudUnavailable("busy", action="ListRoles", cloud_code="Throttling.User", request_id="R2",
                                 http_status=400)
    assert http_status_for(final) == 502 and http_status_for(transient) == 503
    assert final.to_dict() == {"code": "CloudCallFailed", "message": "GetRole failed", "action": "GetRole",
                               "cloud_code": "NoPermission", "request_id": "R1"}
    body = transient.to_dict()
    assert body["retryable"] is True and body["request_id"] == "R2" and body["code"] == "CloudUnavailable"
    assert isinstance(transient, CloudCallError)


def test_to_dict_optional_keys() -> None:
    """field/retryable/details appear only when set; Refused lists its findings."""
    assert InvalidInput("bad").to_dict() == {"code": "InvalidInput", "message": "bad"}
    full = InvalidInput("bad", field="duration", details={"max": 3}).to_dict()
    assert full == {"code": "InvalidInput", "message": "bad", "field": "duration", "details": {"max": 3}}

    class Finding:
        def to_dict(self) -> dict[str, str]:
            return {"id": "F1"}

    refused = Refused("no", findings=[Finding(), {"id": "F2"}]).to_dict()
    assert refused["findings"] == [{"id": "F1"}, {"id": "F2"}]


def test_unknown_exceptions_become_generic_internal_errors() -> None:
    """Foreign exceptions are a 500 whose message does not repeat their text (it may hold secrets)."""
    exc = RuntimeError("secret=abc")
    assert http_status_for(exc) == 500
    wrapped = as_rolegate_error(exc)
    assert wrapped.code == "InternalError" and "abc" not in str(wrapped.to_dict())
    same = NotFound("x")
    assert as_rolegate_error(same) is same
