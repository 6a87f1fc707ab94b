"""Credential resolution order, secret hygiene, the metadata-service path, and RoleAssumer's cache."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from shared import credentials as credmod
from shared.calls import call
from shared.clients import ClientFactory
from shared.credentials import Credentials, RoleAssumer, default_assumer, resolve_credentials
from shared.errors import CloudCallError, CredentialsNotFound

from .helpers import calls_of, log_lines, make_operator

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


# ------------------------------------------------------------------ RoleAssumer
def whoami(creds: Credentials) -> str:
    return call(ClientFactory(creds).sts().get_caller_identity, action="GetCallerIdentity", safe_to_retry=True).arn


def test_assumed_credentials_work(operator: Credentials, partner_role: str, account_id: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """AssumeRole yields STS credentials (token sent by the client) acting as the role session."""
    creds = RoleAssumer(operator).assume(partner_role, "rolegate-test")
    assert creds.is_sts and creds.access_key_id.startswith("STS.") and creds.expiration is not None
    assert whoami(creds) == f"acs:ram::{account_id}:assumed-role/partner-access/rolegate-test"
    out = capsys.readouterr().out
    assert creds.access_key_secret not in out and creds.security_token not in out
    (line,) = log_lines(out, "role_assumed")
    assert line["role_arn"] == partner_role and line["session_name"] == "rolegate-test"


def test_the_session_arn_sts_answered_is_kept_with_the_cached_credentials(
        operator: Credentials, partner_role: str, use_emulator: Any) -> None:
    """assumed_role_arn is STS's AssumedRoleUser.Arn, and a cache hit hands it back unchanged."""
    from alibabacloud_sts20150401.models import AssumeRoleRequest

    direct = ClientFactory(operator).sts().assume_role(
        AssumeRoleRequest(role_arn=partner_role, role_session_name="named-session")).body.assumed_role_user.arn
    assumer = RoleAssumer(operator)

    first = assumer.assume(partner_role, "named-session")
    again = assumer.assume(partner_role, "named-session")

    assert first.assumed_role_arn == direct and direct.endswith("/named-session")
    assert again is first and again.assumed_role_arn == direct
    assert assumer.cache_info() == credmod.CacheInfo(hits=1, misses=1, currsize=1)
    assert len(calls_of(use_emulator, "AssumeRole")) == 2  # the direct call and the assumer's one


def test_the_session_arn_is_metadata_not_key_material() -> None:
    """Equality and the fingerprint ignore assumed_role_arn; repr still shows no secret or token."""
    plain = Credentials("STS.k", "secret-s", "token-t")
    named = Credentials("STS.k", "secret-s", "token-t", assumed_role_arn="acs:ram::1:role/r/s")
    assert plain == named and plain.fingerprint == named.fingerprint
    assert "secret-s" not in repr(named) and "token-t" not in repr(named)
    assert Credentials("LTAIlong", "secret").assumed_role_arn is None


def test_one_sts_call_for_twenty_concurrent_threads(operator: Credentials, partner_role: str,
                                                    use_emulator: Any) -> None:
    """Twenty threads asking at once share one AssumeRole (single flight) and get the same session."""
    assumer = RoleAssumer(operator)
    barrier = threading.Barrier(20)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            results.append(assumer.assume(partner_role, "shared-session"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 20 and len({c.access_key_id for c in results}) == 1
    assert len(calls_of(use_emulator, "AssumeRole")) == 1
    assert assumer.cache_info() == credmod.CacheInfo(hits=19, misses=1, currsize=1)


def test_refreshes_only_when_less_than_the_margin_is_left(operator: Credentials, partner_role: str,
                                                          use_emulator: Any) -> None:
    """A 900 s session is reused for 600 s (margin 300 s) and re-assumed once less than that remains."""
    assumer = RoleAssumer(operator)
    first = assumer.assume(partner_role, "sess", duration_seconds=900)
    use_emulator.advance_clock(590)
    assert assumer.assume(partner_role, "sess", duration_seconds=900) is first
    use_emulator.advance_clock(15)  # 295 s left
    second = assumer.assume(partner_role, "sess", duration_seconds=900)
    assert second.access_key_id != first.access_key_id
    assert second.expiration > first.expiration
    assert len(calls_of(use_emulator, "AssumeRole")) == 2
    assert whoami(second).endswith("/sess")


def test_a_clock_given_per_call_judges_freshness_instead_of_the_assumers(operator: Credentials, partner_role: str,
                                                                         use_emulator: Any) -> None:
    """``assume(clock=...)`` decides freshness for that call: a time near expiry forces a new session."""
    assumer = RoleAssumer(operator)
    first = assumer.assume(partner_role, "sess", duration_seconds=900)
    assert first.expiration is not None
    assert assumer.assume(partner_role, "sess", clock=lambda: first.expiration - timedelta(seconds=301)) is first
    second = assumer.assume(partner_role, "sess", duration_seconds=900,
                            clock=lambda: first.expiration - timedelta(seconds=299))
    assert second.access_key_id != first.access_key_id
    assert len(calls_of(use_emulator, "AssumeRole")) == 2


def test_cache_key_separates_external_id_session_and_policy(operator: Credentials, partner_role: str,
                                                            use_emulator: Any) -> None:
    """Different external ids, session names or session policies are different sessions; repeats hit."""
    assumer = RoleAssumer(operator)
    policy = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*",
                                                        "Resource": "*"}]})
    a = assumer.assume(partner_role, "sess", external_id="ext-a")
    b = assumer.assume(partner_role, "sess", external_id="ext-b")
    c = assumer.assume(partner_role, "other", external_id="ext-a")
    d = assumer.assume(partner_role, "sess", external_id="ext-a", policy=policy)
    assert len({x.access_key_id for x in (a, b, c, d)}) == 4
    assert assumer.assume(partner_role, "sess", external_id="ext-a") is a
    assumed = calls_of(use_emulator, "AssumeRole")
    assert [x["params"].get("ExternalId") for x in assumed] == ["ext-a", "ext-b", "ext-a", "ext-a"]
    assert assumer.cache_info().misses == 4 and assumer.cache_info().hits == 1


def test_sessions_are_not_shared_between_base_principals(root: Credentials, operator: Credentials,
                                                         partner_role: str, use_emulator: Any) -> None:
    """A session fetched with one base identity is never handed to another (trust is per caller)."""
    other = make_operator(root, "operator-two")
    current = [operator]
    assumer = RoleAssumer(lambda: current[0])
    first = assumer.assume(partner_role, "sess")
    current[0] = other
    second = assumer.assume(partner_role, "sess")
    assert first.access_key_id != second.access_key_id
    callers = [c["caller"].rsplit("/", 1)[-1] for c in calls_of(use_emulator, "AssumeRole")]
    assert callers == ["operator", "operator-two"]


def test_sts_errors_are_cloud_errors_and_not_cached(operator: Credentials, account_id: str,
                                                    use_emulator: Any) -> None:
    """AssumeRole on a missing role raises CloudCallError with the STS code; a later call asks again."""
    assumer = RoleAssumer(operator)
    missing = f"acs:ram::{account_id}:role/nope"
    for _ in range(2):
        with pytest.raises(CloudCallError) as info:
            assumer.assume(missing, "sess")
        assert info.value.cloud_code == "EntityNotExist.Role" and info.value.action == "AssumeRole"
        assert info.value.request_id
    assert len(calls_of(use_emulator, "AssumeRole")) == 2
    assert assumer.cache_info().currsize == 0


def test_throttled_assume_role_is_retried(operator: Credentials, partner_role: str, use_emulator: Any) -> None:
    """AssumeRole is safe to repeat, so a throttled attempt is retried transparently."""
    use_emulator.add_fault(kind="error", action="AssumeRole", code="Throttling.User", status=400, times=1)
    assert RoleAssumer(operator).assume(partner_role, "sess").is_sts
    assert [c["outcome"] for c in calls_of(use_emulator, "AssumeRole")] == ["Throttling.User", "ok"]


def test_given_factory_supplies_region_and_endpoint(operator: Credentials, partner_role: str,
                                                    use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory passed in is used for its endpoint even when the environment points elsewhere."""
    factory = ClientFactory(operator, endpoint=use_emulator.endpoint)
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:9")  # would fail if used for STS
    assumer = RoleAssumer(operator, factory, clock=lambda: datetime.now(timezone.utc))
    assert assumer.assume(partner_role, "sess").is_sts
    assert len(calls_of(use_emulator, "AssumeRole")) == 1


def test_margin_must_leave_room_below_the_minimum_duration() -> None:
    """A margin of 900 s or more would make every minimum-length session stale on arrival."""
    with pytest.raises(ValueError):
        RoleAssumer(EXPLICIT, margin_seconds=900)
    with pytest.raises(ValueError):
        RoleAssumer(EXPLICIT, margin_seconds=-1)


def test_default_assumer_is_process_wide_and_uses_resolved_credentials(
        operator: Credentials, partner_role: str, use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """default_assumer() is one instance that acts with the FC environment's credentials."""
    set_env_creds(monkeypatch, operator.access_key_id, operator.access_key_secret)
    assumer = default_assumer()
    assert default_assumer() is assumer
    creds = assumer.assume(partner_role, "warm")
    assert assumer.assume(partner_role, "warm") is creds
    (served,) = calls_of(use_emulator, "AssumeRole")
    assert served["caller"].endswith("user/operator")
