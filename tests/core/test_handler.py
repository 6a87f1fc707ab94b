"""The wrapper every handler is: log context, event decoding, the error reply."""
from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from shared.errors import ConfigError, InvalidInput
from shared.handler import entry
from shared.logs import log_event

from .helpers import log_lines

CONTEXT = SimpleNamespace(request_id="req-1")


def test_log_context_is_bound_around_the_capability(capsys: pytest.CaptureFixture[str]) -> None:
    def handle(data: Any, context: Any) -> dict[str, Any]:
        log_event("inside")
        return {"ok": True, "seen": data}

    http_event = {"requestContext": {"requestId": "http-7", "http": {"method": "GET", "path": "/grants/g-abc"}}}
    assert entry("onboard", handle, http=True)(json.dumps(http_event).encode(), SimpleNamespace()) == \
        {"ok": True, "seen": http_event}
    assert entry("revoke", handle)(b"", CONTEXT) == {"ok": True, "seen": None}
    first, second = log_lines(capsys.readouterr().out)
    assert (first["function"], first["request_id"], first["grant_id"]) == ("onboard", "http-7", "g-abc")
    assert (second["function"], second["request_id"]) == ("revoke", "req-1") and "grant_id" not in second


def test_failures_become_the_one_error_shape(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(data: Any, context: Any) -> dict[str, Any]:
        raise InvalidInput("no", field="x")

    def crash(data: Any, context: Any) -> dict[str, Any]:
        raise KeyError("secret-looking text")

    assert entry("remediate", refuse)(b"{}", CONTEXT) == \
        {"ok": False, "error": {"code": "InvalidInput", "message": "no", "field": "x"}}
    crashed = entry("query", crash)(b"{}", CONTEXT)
    assert crashed["ok"] is False and crashed["error"]["code"] == "InternalError"
    assert "secret-looking" not in json.dumps(crashed)
    reply = entry("onboard", refuse, http=True)(b"{}", CONTEXT)
    assert reply["statusCode"] == 400 and json.loads(reply["body"]) == \
        {"error": {"code": "InvalidInput", "message": "no", "field": "x"}}
    assert entry("query", refuse)(b"not json", CONTEXT)["error"]["field"] == "event"
    events = [line["event"] for line in log_lines(capsys.readouterr().out)]
    assert events == ["remediate_rejected", "query_failed", "onboard_rejected", "query_rejected"]


def test_a_capability_may_fail_the_invocation_instead() -> None:
    def broken(data: Any, context: Any) -> dict[str, Any]:
        raise ConfigError("missing", field="ROLEGATE_X")

    def refuse(data: Any, context: Any) -> dict[str, Any]:
        raise InvalidInput("no")

    handler = entry("revoke", broken, fails_invocation=lambda error: error.status >= 500)
    with pytest.raises(ConfigError):
        handler(b"", CONTEXT)
    assert entry("revoke", refuse, fails_invocation=lambda error: error.status >= 500)(b"", CONTEXT)["ok"] is False
