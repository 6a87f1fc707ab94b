"""shared.calls.call: retry policy, conversion of SDK errors, one log line per call (real SDK, emulator)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import Any

import pytest

from shared.calls import call, is_code
from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudCallError, CloudUnavailable

from .helpers import calls_of, log_lines


def identity(factory: ClientFactory, **kwargs: Any) -> Any:
    return call(factory.sts().get_caller_identity, action="GetCallerIdentity", target="self", **kwargs)


def test_success_returns_the_body_and_logs_one_line(root: Credentials, account_id: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A plain call returns response.body and writes exactly one cloud_call line."""
    body = identity(ClientFactory(root), safe_to_retry=True)
    assert body.account_id == account_id
    (line,) = log_lines(capsys.readouterr().out, "cloud_call")
    assert line["action"] == "GetCallerIdentity" and line["target"] == "self"
    assert line["outcome"] == "ok" and line["attempts"] == 1 and line["duration_ms"] >= 0


def test_throttling_is_retried_until_it_clears(root: Credentials, use_emulator: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Two injected Throttling.User answers, then success: three attempts, one log line saying so."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="Throttling.User", status=400, times=2)
    body = identity(ClientFactory(root), safe_to_retry=True)
    assert body.account_id
    assert [c["outcome"] for c in calls_of(use_emulator, "GetCallerIdentity")] == \
        ["Throttling.User", "Throttling.User", "ok"]
    (line,) = log_lines(capsys.readouterr().out, "cloud_call")
    assert line["attempts"] == 3 and line["outcome"] == "ok"
    # the server's x-acs-retry-after (1000 ms) is a floor for each of the two waits
    assert line["duration_ms"] >= 2000


def test_the_retry_library_is_loaded_by_the_first_failure_worth_retrying(root: Credentials, use_emulator: Any) -> None:
    """A process whose calls succeed at once never imports tenacity; the first retried throttle does, then retries."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="Throttling.User", status=400, after=1,
                           times=1)
    code = (
        "import sys\n"
        "from shared.calls import call\n"
        "from shared.clients import ClientFactory\n"
        "from shared.credentials import Credentials\n"
        "sts = ClientFactory(Credentials(*sys.argv[1:3])).sts()\n"
        "for _ in range(2):\n"
        "    call(sts.get_caller_identity, action='GetCallerIdentity', safe_to_retry=True)\n"
        "    print('tenacity loaded:', 'tenacity' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, root.access_key_id, root.access_key_secret],
                          capture_output=True, text=True, env=dict(os.environ), check=False)
    assert done.returncode == 0, done.stderr
    loaded = [line.split(": ")[1] for line in done.stdout.splitlines() if line.startswith("tenacity loaded")]
    assert loaded == ["False", "True"]  # stdout also carries the log lines
    assert [c["outcome"] for c in calls_of(use_emulator, "GetCallerIdentity")] == ["ok", "Throttling.User", "ok"]


def test_no_retry_when_not_safe(root: Credentials, use_emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """safe_to_retry=False: one attempt, and the throttling surfaces as a retryable CloudUnavailable."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="Throttling.User", status=400, times=2)
    with pytest.raises(CloudUnavailable) as info:
        identity(ClientFactory(root), safe_to_retry=False)
    err = info.value
    assert err.cloud_code == "Throttling.User" and err.retryable and err.http_status == 400
    assert err.details["retry_after_ms"] == 1000
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 1
    (line,) = log_lines(capsys.readouterr().out, "cloud_call")
    assert line["outcome"] == "Throttling.User" and line["attempts"] == 1 and line["level"] == "warning"


def test_server_errors_are_retried(root: Credentials, use_emulator: Any) -> None:
    """A 5xx answer is transient: retried, and the second attempt's success is returned."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="InternalError", status=500, times=1)
    assert identity(ClientFactory(root), safe_to_retry=True).account_id
    assert [c["status"] for c in calls_of(use_emulator, "GetCallerIdentity")] == [500, 200]


def test_persistent_server_errors_exhaust_the_attempts(root: Credentials, use_emulator: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_RETRY_MAX_ATTEMPTS bounds the attempts; the last 5xx becomes CloudUnavailable (503)."""
    monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "3")
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="ServiceUnavailable", status=503,
                           times=None)
    with pytest.raises(CloudUnavailable) as info:
        identity(ClientFactory(root), safe_to_retry=True)
    assert info.value.cloud_code == "ServiceUnavailable" and info.value.status == 503
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 3


def test_explicit_attempts_override_the_setting(root: Credentials, use_emulator: Any) -> None:
    """attempts=2 stops after two tries whatever the environment says."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="InternalError", status=500, times=None)
    with pytest.raises(CloudUnavailable):
        identity(ClientFactory(root), safe_to_retry=True, attempts=2)
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 2


def test_client_errors_are_final_and_keep_code_and_request_id(root: Credentials, use_emulator: Any) -> None:
    """A 4xx is not retried and becomes CloudCallError with the cloud's code, status and request id."""
    use_emulator.add_fault(kind="error", action="GetCallerIdentity", code="InvalidParameter.Something",
                           status=400, times=None)
    with pytest.raises(CloudCallError) as info:
        identity(ClientFactory(root), safe_to_retry=True)
    err = info.value
    assert type(err) is CloudCallError and not err.retryable and err.status == 502
    assert err.cloud_code == "InvalidParameter.Something" and err.http_status == 400
    (served,) = calls_of(use_emulator, "GetCallerIdentity")
    assert err.request_id == served["request_id"]
    assert err.action == "GetCallerIdentity" and "InvalidParameter.Something" in err.message
    assert err.to_dict()["request_id"] == served["request_id"]
    assert is_code(err, "Other", "InvalidParameter.Something") and not is_code(err, "InvalidParameter")
    assert is_code(err.__cause__, "InvalidParameter.Something")  # the raw SDK exception works too


def test_unknown_key_is_a_final_error_without_secrets(use_emulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A rejected signature is final; neither the error nor the log line contains the secret."""
    bogus = Credentials("LTAInotissued", "super-secret-value")
    with pytest.raises(CloudCallError) as info:
        identity(ClientFactory(bogus), safe_to_retry=True)
    assert info.value.cloud_code == "InvalidAccessKeyId.NotFound"
    out = capsys.readouterr().out
    assert "super-secret-value" not in out + str(info.value.to_dict())


def test_retry_after_beyond_the_cap_ends_retrying(root: Credentials, use_emulator: Any) -> None:
    """A server asking for a wait longer than MAX_RETRY_AFTER_MS is not slept on: one attempt."""
    use_emulator.add_fault(kind="throttle", action="GetCallerIdentity", per_second=0.05)  # retry-after ~20 s
    with pytest.raises(CloudUnavailable) as info:
        identity(ClientFactory(root), safe_to_retry=True)
    assert info.value.details["retry_after_ms"] > 10_000
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_errors_are_transient_and_retried(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listening: every attempt is made, then CloudUnavailable marked as a connection failure."""
    monkeypatch.setenv("ROLEGATE_RETRY_BASE_MS", "1")
    factory = ClientFactory(Credentials("LTAIx", "secret-in-test"), endpoint=f"127.0.0.1:{_closed_port()}")
    with pytest.raises(CloudUnavailable) as info:
        identity(factory, safe_to_retry=True, attempts=3)
    assert info.value.details["transport"] == "connection" and info.value.cloud_code is None
    (line,) = log_lines(capsys.readouterr().out, "cloud_call")
    assert line["attempts"] == 3 and line["outcome"] == "connection"


def test_read_timeouts_are_transient(root: Credentials, use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call slower than the read timeout is a 'timeout' CloudUnavailable, not retried when unsafe."""
    monkeypatch.setenv("ROLEGATE_READ_TIMEOUT_MS", "300")
    use_emulator.add_fault(kind="latency", action="GetCallerIdentity", delay_ms=1000)
    with pytest.raises(CloudUnavailable) as info:
        identity(ClientFactory(root), safe_to_retry=False)
    assert info.value.details["transport"] == "timeout"
    assert "timeout" in info.value.message


def test_non_sdk_exceptions_pass_through_and_are_logged(capsys: pytest.CaptureFixture[str]) -> None:
    """A programming error inside the call is not disguised as a cloud error, but is still logged."""
    def broken(request: Any) -> Any:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        call(broken, object(), action="Broken", safe_to_retry=True)
    (line,) = log_lines(capsys.readouterr().out, "cloud_call")
    assert line["outcome"] == "KeyError" and line["attempts"] == 1


def test_runtime_options_are_passed_after_the_request() -> None:
    """With runtime given, the method receives (request, runtime) -- the *_with_options shape."""
    seen: list[tuple[Any, ...]] = []

    class Response:
        body = "the-body"

    def with_options(*args: Any) -> Response:
        seen.append(args)
        return Response()

    assert call(with_options, "req", action="X", safe_to_retry=False, runtime="rt") == "the-body"
    assert call(with_options, action="X", safe_to_retry=False, runtime="rt") == "the-body"
    assert seen == [("req", "rt"), ("rt",)]
