"""Structured log lines: shape, context binding, level filter and secret redaction."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest

from shared.credentials import Credentials
from shared.logs import REDACTED, bind, log_event, redact

from .helpers import log_lines


def test_one_json_line_with_time_level_event_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """Each event is one JSON object on stdout with an ISO UTC time and the given fields."""
    log_event("grant_created", grant_id="g-abc", count=2)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    (line,) = log_lines(out)
    assert list(line)[:3] == ["time", "level", "event"]
    assert line["level"] == "info" and line["event"] == "grant_created"
    assert line["grant_id"] == "g-abc" and line["count"] == 2
    assert line["time"].endswith("Z")
    assert datetime.fromisoformat(line["time"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_bound_fields_appear_inside_the_block_only(capsys: pytest.CaptureFixture[str]) -> None:
    """bind() adds request context to every line in its block, nests, and is undone on exit."""
    with bind(request_id="r-1", function="onboard"):
        log_event("outer")
        with bind(grant_id="g-1", request_id="r-2"):
            log_event("inner")
        log_event("after_inner")
    log_event("outside")
    outer, inner, after, outside = log_lines(capsys.readouterr().out)
    assert outer["request_id"] == "r-1" and outer["function"] == "onboard" and "grant_id" not in outer
    assert inner["request_id"] == "r-2" and inner["grant_id"] == "g-1"
    assert after["request_id"] == "r-1" and "grant_id" not in after
    assert "request_id" not in outside and "function" not in outside


def test_given_fields_override_bound_ones(capsys: pytest.CaptureFixture[str]) -> None:
    """An event's own field wins over a bound field of the same name, and bound fields come first."""
    with bind(function="revoke", grant_id="g-1"):
        log_event("x", grant_id="g-2")
    (line,) = log_lines(capsys.readouterr().out)
    assert line["grant_id"] == "g-2"
    assert list(line)[3:] == ["function", "grant_id"]


def test_binding_is_per_thread(capsys: pytest.CaptureFixture[str]) -> None:
    """Context bound in one thread does not leak into another running at the same time."""
    started = threading.Event()
    release = threading.Event()

    def other() -> None:
        started.wait()
        log_event("in_other")
        release.set()

    worker = threading.Thread(target=other)
    worker.start()
    with bind(request_id="main"):
        started.set()
        release.wait(5)
    worker.join()
    (line,) = log_lines(capsys.readouterr().out, "in_other")
    assert "request_id" not in line


@pytest.mark.parametrize("key", ["AccessKeySecret", "access_key_secret", "SecurityToken", "x-acs-security-token",
                                 "Authorization", "password", "Signature", "webhook_secret", "NextToken"])
def test_secret_named_keys_are_redacted_at_any_depth(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A value under a secret-looking key never reaches the output, however deeply nested."""
    value = "s3cr3t-value-123"
    log_event("response", body={"Credentials": {key: value}, "list": [{key: value}, "plain"]}, **{key: value})
    out = capsys.readouterr().out
    assert value not in out
    (line,) = log_lines(out)
    assert line[key] == REDACTED
    assert line["body"]["Credentials"][key] == REDACTED
    assert line["body"]["list"] == [{key: REDACTED}, "plain"]


def test_bound_secrets_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    """Redaction applies to bound context as well as to event fields."""
    with bind(security_token="tok-xyz"):
        log_event("x")
    assert "tok-xyz" not in capsys.readouterr().out


def test_ordinary_keys_are_kept() -> None:
    """Redaction is by key name only: ids and names stay readable."""
    data = {"access_key_id": "LTAI123", "role_name": "r", "nested": {"RequestId": "abc"}}
    assert redact(data) == data


def test_credentials_object_in_a_log_line_shows_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """Logging a Credentials value (under any key) prints its safe repr, never secret or token."""
    creds = Credentials("LTAIkeyid", "the-secret-value", "the-token-value")
    log_event("using", creds=creds, items=[creds])
    out = capsys.readouterr().out
    assert "LTAIkeyid" in out
    assert "the-secret-value" not in out and "the-token-value" not in out


def test_level_threshold_from_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Debug lines are dropped by default and kept when ROLEGATE_LOG_LEVEL=debug; warnings always pass."""
    log_event("quiet", "debug")
    log_event("loud", "warning")
    monkeypatch.setenv("ROLEGATE_LOG_LEVEL", "debug")
    log_event("now_visible", "debug")
    events = [line["event"] for line in log_lines(capsys.readouterr().out)]
    assert events == ["loud", "now_visible"]


def test_unknown_level_is_a_programming_error() -> None:
    """A misspelt level fails loudly instead of being silently dropped."""
    with pytest.raises(ValueError):
        log_event("x", "verbose")


def test_non_json_values_are_stringified(capsys: pytest.CaptureFixture[str]) -> None:
    """Datetimes and other objects do not break the line; they are written as text."""
    when = datetime(2030, 1, 2, 3, 4, 5)
    log_event("x", when=when, kinds={"a"})
    (line,) = log_lines(capsys.readouterr().out)
    assert line["when"] == str(when) and line["kinds"] == ["a"]
