"""Credential resolution order, secret hygiene and the metadata-service path."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from shared.credentials import Credentials, resolve_credentials
from shared.errors import CredentialsNotFound

EXPLICIT = Credentials("LTAIexplicit", "explicit-secret")


def fc_context(key_id: str = "STS.ctx", secret: str = "ctx-secret", token: str | None = "ctx-token") -> Any:
    return SimpleNamespace(request_id="req-1", credentials=SimpleNamespace(
        access_key_id=key_id, access_key_secret=secret, security_token=token))


def set_env_creds(monkeypatch: pytest.MonkeyPatch, key_id: str, secret: str, token: str | None = None) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
    if token:
        monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", token)


# --------------------------------------------------------------- the value type
def test_repr_and_str_never_show_secret_or_token() -> None:
    """Printing credentials (repr, str, f-string, inside a list) shows the key id, not secret or token."""
    creds = Credentials("STS.abc", "very-secret", "very-token", datetime(2030, 1, 1, tzinfo=timezone.utc))
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "STS.abc" in text and "very-secret" not in text and "very-token" not in text
    assert creds.is_sts and not EXPLICIT.is_sts


def test_fingerprint_changes_with_any_part_and_hides_them() -> None:
    """The cache fingerprint differs when secret or token rotate, and contains neither."""
    a = Credentials("id", "s1", "t1")
    assert a.fingerprint == Credentials("id", "s1", "t1").fingerprint
    assert len({a.fingerprint, Credentials("id", "s2", "t1").fingerprint,
                Credentials("id", "s1", "t2").fingerprint}) == 3
    assert "s1" not in a.fingerprint


def test_the_session_arn_is_metadata_not_key_material() -> None:
    """Equality and the fingerprint ignore assumed_role_arn; repr still shows no secret or token."""
    plain = Credentials("STS.k", "secret-s", "token-t")
    named = Credentials("STS.k", "secret-s", "token-t", assumed_role_arn="acs:ram::1:role/r/s")
    assert plain == named and plain.fingerprint == named.fingerprint
    assert "secret-s" not in repr(named) and "token-t" not in repr(named)
    assert Credentials("LTAIlong", "secret").assumed_role_arn is None


def test_incomplete_credentials_are_rejected() -> None:
    """An empty key id or secret is a programming error, caught at construction."""
    with pytest.raises(ValueError):
        Credentials("", "sess")
    with pytest.raises(ValueError):
        Credentials("id", "")


# ------------------------------------------------------------- resolution order
def test_explicit_wins_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit credentials are used even when env and context also have some."""
    set_env_creds(monkeypatch, "LTAIenv", "env-secret")
    assert resolve_credentials(EXPLICIT, fc_context()) is EXPLICIT


def test_environment_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """FC runtime variables set after import are seen, with the STS token, and beat the context."""
    set_env_creds(monkeypatch, "STS.env", "env-secret", "env-token")
    creds = resolve_credentials(context=fc_context())
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == ("STS.env", "env-secret", "env-token")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.rotated")
    assert resolve_credentials().access_key_id == "STS.rotated"


def test_context_credentials_when_env_is_absent(isolated_chain: Any) -> None:
    """Older runtimes' context.credentials are used when the env variables are missing."""
    creds = resolve_credentials(context=fc_context())
    assert (creds.access_key_id, creds.security_token) == ("STS.ctx", "ctx-token")


def test_half_set_env_and_empty_context_are_skipped(monkeypatch: pytest.MonkeyPatch, isolated_chain: Any) -> None:
    """An id without a secret, or a context with empty strings, is not a credential."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIonly")
    with pytest.raises(CredentialsNotFound):
        resolve_credentials(context=fc_context("", "", ""))
    assert resolve_credentials(context=fc_context()).access_key_id == "STS.ctx"


def test_nothing_found_is_a_clear_error(isolated_chain: Any) -> None:
    """No source at all: CredentialsNotFound (500) naming the sources tried."""
    with pytest.raises(CredentialsNotFound) as info:
        resolve_credentials(context=SimpleNamespace(credentials=None))
    err = info.value
    assert err.status == 500 and err.code == "CredentialsNotFound"
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in err.message and "ECS instance role" in err.message


def test_default_chain_is_last(isolated_chain: Any) -> None:
    """With env and context empty, the credentials library's chain answers (here: its env provider)."""
    isolated_chain.environment_access_key_id = "LTAIfromchain"
    isolated_chain.environment_access_key_secret = "chain-secret"
    creds = resolve_credentials()
    assert (creds.access_key_id, creds.access_key_secret) == ("LTAIfromchain", "chain-secret")


# ------------------------------------------------- ECS metadata, hardened mode
class _Metadata(BaseHTTPRequestHandler):
    """100.100.100.200 in hardened mode, reached as an HTTP proxy: token first, then credentials."""

    token = "imds-session-token"
    role = "EcsRolegateRole"
    seen: list[tuple[str, str, str | None]] = []

    def _reply(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:  # noqa: N802
        self.seen.append(("PUT", self.path, self.headers.get("Host")))
        if self.path.endswith("/latest/api/token") and self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds"):
            self._reply(200, self.token)
        else:
            self._reply(400, "bad token request")

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(("GET", self.path, self.headers.get("Host")))
        if self.headers.get("X-aliyun-ecs-metadata-token") != self.token:
            self._reply(401, "token required")  # hardened mode: no IMDSv1 fallback
            return
        base = "/latest/meta-data/ram/security-credentials/"
        path = self.path.split("100.100.100.200", 1)[-1]
        if path == base:
            self._reply(200, self.role)
        elif path == base + self.role:
            expiry = (datetime.now(timezone.utc) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._reply(200, json.dumps({"AccessKeyId": "STS.fromecs", "AccessKeySecret": "ecs-secret",
                                         "SecurityToken": "ecs-token", "Expiration": expiry,
                                         "LastUpdated": "2024-01-01T00:00:00Z", "Code": "Success"}))
        else:
            self._reply(404, "not found")

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def metadata_service(monkeypatch: pytest.MonkeyPatch, isolated_chain: Any) -> Iterator[list[tuple[str, str, str | None]]]:
    """A local stand-in for the metadata service, and the chain's ECS provider switched on.

    The credentials library hard-codes the host 100.100.100.200 and offers no
    setting to move it, but it sends plain-HTTP requests through HTTP_PROXY,
    so the stand-in is installed as that proxy.
    """
    _Metadata.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Metadata)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(isolated_chain, "environment_ecs_metadata_disabled", "false")
    monkeypatch.setattr(isolated_chain, "environment_imds_v1_disabled", "true")
    yield _Metadata.seen
    server.shutdown()
    server.server_close()


def test_ecs_instance_role_through_hardened_metadata(metadata_service: list[tuple[str, str, str | None]]) -> None:
    """The chain's ECS step fetches a session token (PUT) and then the role's STS credentials with it."""
    creds = resolve_credentials()
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == \
        ("STS.fromecs", "ecs-secret", "ecs-token")
    methods = [m for m, _, _ in metadata_service]
    assert methods[0] == "PUT" and "GET" in methods
    assert all(host == "100.100.100.200" for _, _, host in metadata_service)
    assert any(path.endswith("/security-credentials/EcsRolegateRole") for _, path, _ in metadata_service)
