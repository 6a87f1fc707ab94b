"""The FC 3.0 HTTP trigger event as a typed request, and the response shape handlers return."""
from __future__ import annotations

import json

import pytest

from shared.errors import CloudUnavailable, InvalidInput, Refused
from shared.events.http import Headers, HttpRequest, MethodNotAllowed, error_response, json_response
from tests.functions.conftest import http_event


def test_event_bytes_parse_into_method_path_headers_query_and_body() -> None:
    """The handler's bytes event yields the decoded path, upper-case method, raw body and the FC request id."""
    event = http_event("post", "/grants", b'{"a": 1}', headers={"Content-Type": "application/json"},
                       query={"partner": "1234567890123456"}, request_id="1-abc-def")
    request = HttpRequest.from_event(json.dumps(event).encode())
    assert (request.method, request.path, request.body) == ("POST", "/grants", b'{"a": 1}')
    assert request.query == {"partner": "1234567890123456"}
    assert request.request_id == "1-abc-def"
    assert request.source_ip == "203.0.113.7"
    assert request.json() == {"a": 1}


def test_headers_are_case_insensitive_and_keep_comma_joined_values() -> None:
    """Lookups ignore case; a repeated header arrives comma-joined and splits into its values."""
    request = HttpRequest.from_event(http_event("GET", "/grants", headers={
        "X-Rolegate-Timestamp": "1700000000", "Accept": "application/json, text/plain"}))
    assert request.header("x-rolegate-timestamp") == "1700000000"
    assert request.header("X-ROLEGATE-TIMESTAMP") == "1700000000"
    assert request.headers.values_of("accept") == ["application/json", "text/plain"]
    assert "ACCEPT" in request.headers and request.header("missing") is None


def test_same_header_in_two_cases_is_joined_like_a_repeated_header() -> None:
    """Two spellings of one name are one header whose values are comma-joined, as FC joins repeats."""
    headers = Headers({"Idempotency-Key": "a", "idempotency-key": "b"})
    assert headers["IDEMPOTENCY-KEY"] == "a,b" and len(headers) == 1


def test_base64_body_is_decoded_to_the_exact_bytes() -> None:
    """A body marked isBase64Encoded reaches the handler as the original bytes, not the base64 text."""
    raw = "{\"n\": \"é\"}".encode() + b"\xff"
    request = HttpRequest.from_event(http_event("POST", "/grants", raw, base64_body=True))
    assert request.body == raw


def test_invalid_base64_body_is_a_400_on_body() -> None:
    """A body that claims base64 but is not is reported as a client error, not a crash."""
    event = http_event("POST", "/grants", b"x")
    event.update(body="not base64!!", isBase64Encoded=True)
    with pytest.raises(InvalidInput) as err:
        HttpRequest.from_event(event)
    assert err.value.field == "body"


def test_raw_path_is_the_fallback_and_is_url_decoded() -> None:
    """Without requestContext.http.path the URL-encoded rawPath is decoded."""
    event = {"rawPath": "/grants/g%2Dabc", "requestContext": {"http": {"method": "GET"}}, "headers": {}}
    assert HttpRequest.from_event(event).path == "/grants/g-abc"


@pytest.mark.parametrize("event", [b"not json", b"[1, 2]", json.dumps({"headers": {}}).encode(),
                                   json.dumps({"requestContext": {"http": {"method": "GET", "path": "/"}},
                                               "headers": "x"}).encode()])
def test_events_that_are_not_http_requests_are_400(event: bytes) -> None:
    """Timer payloads, garbage or malformed events are refused with InvalidInput on the event."""
    with pytest.raises(InvalidInput) as err:
        HttpRequest.from_event(event)
    assert err.value.field == "event"


def test_body_that_is_not_json_names_the_position() -> None:
    """A malformed JSON body is a 400 on ``body`` saying where parsing stopped."""
    request = HttpRequest.from_event(http_event("POST", "/grants", b'{"a": }'))
    with pytest.raises(InvalidInput) as err:
        request.json()
    assert err.value.field == "body" and "line 1" in err.value.message


def test_media_type_ignores_parameters_and_case() -> None:
    """``Application/JSON; charset=utf-8`` is JSON."""
    request = HttpRequest.from_event(http_event("POST", "/g", headers={"content-type": "Application/JSON; charset=utf-8"}))
    assert request.media_type == "application/json"


def test_json_response_has_exactly_the_fc_response_fields() -> None:
    """statusCode, headers (string map), isBase64Encoded false, body a JSON string."""
    response = json_response(201, {"ok": True}, {"X-Extra": "1"})
    assert response == {"statusCode": 201, "isBase64Encoded": False, "body": '{"ok":true}',
                        "headers": {"Content-Type": "application/json; charset=utf-8", "X-Extra": "1"}}


def test_error_response_uses_the_error_tree_status_and_body() -> None:
    """A RolegateError answers with its own status and ``{"error": to_dict()}``."""
    response = error_response(Refused("no", code="PolicyDenied", field="policies[0].name"))
    assert response["statusCode"] == 403
    assert json.loads(response["body"]) == {"error": {"code": "PolicyDenied", "message": "no",
                                                      "field": "policies[0].name", "findings": []}}


def test_cloud_errors_carry_retryable_and_request_id() -> None:
    """A transient cloud failure is a 503 with retryable and the cloud's request id."""
    response = error_response(CloudUnavailable("down", action="CreateRole", request_id="RID-1"))
    body = json.loads(response["body"])["error"]
    assert response["statusCode"] == 503
    assert body["retryable"] is True and body["request_id"] == "RID-1" and body["action"] == "CreateRole"


def test_unexpected_exceptions_become_a_bare_500() -> None:
    """An arbitrary exception never leaks its message or a traceback to the caller."""
    response = error_response(KeyError("secret-value"))
    assert response["statusCode"] == 500
    assert "secret-value" not in response["body"] and "Traceback" not in response["body"]


def test_method_not_allowed_sets_the_allow_header() -> None:
    """405 answers list the methods the path does answer."""
    response = error_response(MethodNotAllowed("no", allowed=("GET", "POST")))
    assert response["statusCode"] == 405 and response["headers"]["Allow"] == "GET, POST"

