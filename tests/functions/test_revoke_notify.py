"""Pre-expiry warnings: ``expiring_soon`` log events and the signed webhook, which can never break the sweep."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from emulator import EmulatorServer
from shared.notify import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.sweep import SweepFailed
from tests.functions.revoke_support import Owner, invoke
from tests.functions.revoke_support import sweep_env, sweep_owner  # noqa: F401 (fixtures)

SECRET = "webhook-secret"


class Receiver:
    """A local webhook endpoint recording what it receives and answering ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/rolegate"

    def __enter__(self) -> "Receiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(sweep_env: pytest.MonkeyPatch) -> Iterator[Receiver]:
    with Receiver() as r:
        sweep_env.setenv("ROLEGATE_NOTIFY_URL", r.url)
        sweep_env.setenv("ROLEGATE_NOTIFY_SECRET", SECRET)
        yield r


def events(out: str, name: str) -> list[dict[str, Any]]:
    return [e for e in (json.loads(line) for line in out.splitlines() if line.startswith("{")) if e["event"] == name]


def test_expiring_soon_is_logged_and_sent_signed(emulator: EmulatorServer, sweep_owner: Owner, receiver: Receiver,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Grants inside the warning window are logged one by one and sent in one signed notification."""
    soon = sweep_owner.grant(1800)
    sweep_owner.grant(86_400 * 3)  # outside the window
    summary = invoke(payload={"warn_within_seconds": 3600})
    assert summary["expiring_soon"] == 1 and summary["revoked"] == 0
    logged = events(capsys.readouterr().out, "expiring_soon")
    assert [(e["role"], e["grant_id"], e["partner"]) for e in logged] == \
        [(soon.role_name, soon.grant_id, sweep_owner.partner)]
    assert 1700 < logged[0]["seconds_left"] <= 1800
    [message] = receiver.received
    headers = {k.lower(): v for k, v in message["headers"].items()}
    assert headers[EVENT_HEADER.lower()] == "expiring_soon"
    assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], message["body"], headers[SIGNATURE_HEADER.lower()])
    body = json.loads(message["body"])
    assert body["event"] == "expiring_soon" and body["data"]["account_id"] == sweep_owner.account_id
    assert [g["grant_id"] for g in body["data"]["grants"]] == [soon.grant_id]


def test_no_window_no_warning(emulator: EmulatorServer, sweep_owner: Owner, receiver: Receiver) -> None:
    """The default window is off: nothing is sent."""
    sweep_owner.grant(60)
    assert invoke()["expiring_soon"] == 0 and receiver.received == []


@pytest.mark.parametrize("status", [500, 404])
def test_failing_webhook_is_logged_not_fatal(emulator: EmulatorServer, sweep_owner: Owner, receiver: Receiver,
                                             status: int, capsys: pytest.CaptureFixture[str]) -> None:
    """A webhook answering an error does not stop the warnings or the revocations."""
    receiver.status = status
    sweep_owner.grant(1800)
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    summary = invoke(payload={"warn_within_seconds": 3600})
    assert (summary["ok"], summary["revoked"], summary["expiring_soon"]) == (True, 1, 1)
    failures = events(capsys.readouterr().out, "notify_failed")
    assert sorted(f["notify_event"] for f in failures) == ["expiring_soon", "revoked"]
    assert all(f["status"] == status and f["host"] == "127.0.0.1" for f in failures)


def test_unreachable_or_misconfigured_webhook_is_not_fatal(emulator: EmulatorServer, sweep_owner: Owner,
                                                           sweep_env: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A closed port is a logged failure; an insecure URL or a malformed kms: key disables notifications, with an
    error line."""
    sweep_owner.grant(1800)
    sweep_env.setenv("ROLEGATE_NOTIFY_SECRET", SECRET)
    sweep_env.setenv("ROLEGATE_NOTIFY_URL", "http://127.0.0.1:9/closed")
    assert invoke(payload={"warn_within_seconds": 3600})["ok"] is True
    assert events(capsys.readouterr().out, "notify_failed")[0]["error"]
    sweep_env.setenv("ROLEGATE_NOTIFY_URL", "http://hooks.example.com/x")
    assert invoke(payload={"warn_within_seconds": 3600})["ok"] is True
    out = capsys.readouterr().out
    assert events(out, "notify_misconfigured") and not events(out, "notify_failed")
    sweep_env.setenv("ROLEGATE_NOTIFY_URL", "http://127.0.0.1:9/closed")
    sweep_env.setenv("ROLEGATE_NOTIFY_SECRET", "kms:not a secret name")
    assert invoke(payload={"warn_within_seconds": 3600})["ok"] is True
    [misconfigured] = events(capsys.readouterr().out, "notify_misconfigured")
    assert misconfigured["error"]["field"] == "ROLEGATE_NOTIFY_SECRET"


def test_blocked_sweep_is_notified(emulator: EmulatorServer, sweep_owner: Owner, receiver: Receiver) -> None:
    """A tripped blast-radius guard also reaches the webhook, not only the invocation's failure."""
    for _ in range(6):
        sweep_owner.grant(60)
    emulator.advance_clock(61)
    with pytest.raises(SweepFailed):
        invoke()
    assert [json.loads(m["body"])["event"] for m in receiver.received] == ["sweep_blocked"]


def test_each_revoked_grant_is_notified_signed(emulator: EmulatorServer, sweep_owner: Owner,
                                               receiver: Receiver) -> None:
    """One signed ``revoked`` per grant the sweep revokes; a dry run and a tombstone's deletion send none."""
    first, second = sweep_owner.grant(60), sweep_owner.grant(120)
    sweep_owner.grant(86_400)  # not expired
    emulator.advance_clock(121)
    assert invoke(payload={"dry_run": True})["would_revoke"] == 2 and receiver.received == []
    assert invoke()["revoked"] == 2
    sent = {}
    for message in receiver.received:
        headers = {k.lower(): v for k, v in message["headers"].items()}
        assert headers[EVENT_HEADER.lower()] == "revoked"
        assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], message["body"], headers[SIGNATURE_HEADER.lower()])
        data = json.loads(message["body"])["data"]
        sent[data["grant_id"]] = data
    assert set(sent) == {first.grant_id, second.grant_id}
    assert sent[first.grant_id]["role"] == first.role_name and sent[first.grant_id]["reason"] == "expired"
    assert sent[first.grant_id]["partner"] == sweep_owner.partner
    assert sent[first.grant_id]["account_id"] == sweep_owner.account_id
    assert invoke()["revoked"] == 0 and len(receiver.received) == 2
