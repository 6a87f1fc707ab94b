"""Fixtures for handler tests: accounts in the emulator, the function's identity, FC events and contexts.

Cast (the seeds' scenario): owner account A runs the functions under a RAM user
holding exactly the function's policy from ``deploy/policies/<name>.json``
(with the emulator's authorization on, a test passing proves the policy is
enough); partner account B has the RAM user Alice holding
AliyunSTSAssumeRoleAccess.

Events are built in the FC 3.0 HTTP trigger shape: header names in the
sender's case, repeated headers comma-joined, ``body`` as text or base64 with
``isBase64Encoded``, the decoded path in ``requestContext.http.path``.
"""
from __future__ import annotations

import base64
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from alibabacloud_ram20150501 import models as ram_models

from shared import clients, credentials, kms, sts
from shared.onboarding.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.emulator.helpers import create_user_with_policy, ram_client, record_keyring

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "onboarding-test-secret-0123456789"
FUNCTION_USER = "onboard-fn"
AMBIENT_ENV = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
               "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_ROLE_ARN",
               "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_CREDENTIALS_URI",
               "ALIBABA_CLOUD_ECS_METADATA", "FC_ACCOUNT_ID", "FC_REGION")

Creds = dict[str, Any]


# ------------------------------------------------------------------ environment
@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ambient credentials, endpoint or Rolegate setting leaks into a test; caches start empty."""
    import os

    for name in AMBIENT_ENV + tuple(n for n in os.environ if n.startswith("ROLEGATE_")):
        monkeypatch.delenv(name, raising=False)
    clients.clear_cache()
    credentials.reset_default_chain()
    kms.clear_cache()
    yield
    clients.clear_cache()
    credentials.reset_default_chain()
    kms.clear_cache()


# ----------------------------------------------------------------------- context
@dataclass
class FunctionMeta:
    name: str = "onboard"
    handler: str = "index.handler"
    memory: int = 512
    timeout: int = 60


@dataclass
class FakeContext:
    """The invocation context of a python3.12 runtime: no ``credentials`` (they are in the environment)."""

    account_id: str = ""
    request_id: str = field(default_factory=lambda: f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:16]}")
    region: str = "cn-hangzhou"
    function: FunctionMeta = field(default_factory=FunctionMeta)
    log_project: str = "rolegate"
    log_store: str = "functions"


# ------------------------------------------------------------------------ events
def http_event(method: str, path: str, body: bytes | None = None, *, headers: dict[str, str] | None = None,
               query: dict[str, str] | None = None, base64_body: bool = False,
               request_id: str | None = None) -> dict[str, Any]:
    """An HTTP trigger event as FC 3.0 delivers it (see the module docstring)."""
    raw_body = body or b""
    return {
        "version": "v1",
        "rawPath": urllib.parse.quote(path),
        "body": base64.b64encode(raw_body).decode() if base64_body else raw_body.decode("utf-8"),
        "isBase64Encoded": base64_body,
        "headers": dict(headers or {}),
        "queryParameters": dict(query or {}),
        "requestContext": {
            "accountId": "1234567890123456",
            "domainName": "trigger-abc.cn-hangzhou.fcapp.run",
            "domainPrefix": "trigger-abc",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7",
                     "userAgent": "rolegate-tests"},
            "requestId": request_id or f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:16]}",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "timeEpoch": str(int(time.time() * 1000)),
        },
    }


def signature_headers(method: str, path: str, body: bytes, *, secret: str = WEBHOOK_SECRET,
                      timestamp: int | None = None) -> dict[str, str]:
    """The two signature headers for a request, in the case a typical client sends them."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, method, path, body)}


def encode_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


@dataclass
class Reply:
    status: int
    json: Any
    headers: dict[str, str]
    raw: dict[str, Any]


class Webhook:
    """Calls a handler the way FC would: a signed event serialised to bytes, and a context.

    Each event built without an explicit ``timestamp`` gets a timestamp of its
    own (now, or one past the previous), as a client signing every send anew
    would: two calls are then never an accidental replay of each other, even
    within one second. Replays are made by sending the same event twice.
    """

    def __init__(self, handler: Callable[[bytes, Any], dict[str, Any]], context: FakeContext,
                 secret: str = WEBHOOK_SECRET) -> None:
        self.handler = handler
        self.context = context
        self.secret = secret
        self._last_stamp = 0

    def _stamp(self) -> int:
        self._last_stamp = max(int(time.time()), self._last_stamp + 1)
        return self._last_stamp

    def event(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
              query: dict[str, str] | None = None, timestamp: int | None = None, secret: str | None = None,
              signed: bool = True, content_type: str | None = "application/json",
              base64_body: bool = False) -> dict[str, Any]:
        raw = encode_body(body)
        all_headers: dict[str, str] = {}
        if content_type and raw:
            all_headers["Content-Type"] = content_type
        if signed:
            all_headers.update(signature_headers(method, path, raw, secret=secret or self.secret,
                                                 timestamp=self._stamp() if timestamp is None else timestamp))
        all_headers.update(headers or {})
        return http_event(method, path, raw, headers=all_headers, query=query, base64_body=base64_body)

    def send(self, event: dict[str, Any]) -> Reply:
        response = self.handler(json.dumps(event).encode(), self.context)
        assert set(response) == {"statusCode", "headers", "isBase64Encoded", "body"}
        assert response["isBase64Encoded"] is False and isinstance(response["body"], str)
        return Reply(response["statusCode"], json.loads(response["body"]), response["headers"], response)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.send(self.event(method, path, body, **kwargs))


# ---------------------------------------------------------------------- accounts
@dataclass
class Account:
    account_id: str
    root: Creds


@dataclass
class Partner(Account):
    alice: Creds


def _account(emulator: Any, alias: str) -> Account:
    made = emulator.create_account(alias)
    root = {"account_id": made["account_id"], "access_key_id": made["access_key_id"],
            "access_key_secret": made["access_key_secret"]}
    record_keyring(emulator, root)  # what `rolegate keys init` provisions in every deployment
    return Account(made["account_id"], root)


@pytest.fixture
def owner(emulator: Any) -> Account:
    """Account A: owns the functions and the grants."""
    return _account(emulator, "company-a")


@pytest.fixture
def partner(emulator: Any) -> Partner:
    """Account B with the RAM user Alice, who may call sts:AssumeRole (AliyunSTSAssumeRoleAccess)."""
    account = _account(emulator, "company-b")
    ram = ram_client(emulator, account.root)
    ram.create_user(ram_models.CreateUserRequest(user_name="Alice"))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name="Alice"))
    key = ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name="Alice")).body.access_key
    alice = {"account_id": account.account_id, "access_key_id": key.access_key_id,
             "access_key_secret": key.access_key_secret}
    return Partner(account.account_id, account.root, alice)


def function_policy(name: str) -> dict[str, Any]:
    """The least-privilege policy a function is deployed with."""
    return json.loads((REPO / "deploy" / "policies" / f"{name}.json").read_text())


def run_as_function(monkeypatch: pytest.MonkeyPatch, emulator: Any, identity: Creds, account_id: str) -> None:
    """The environment FC gives a function: its identity's key, account and region; here, the emulator too."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", identity["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", identity["access_key_secret"])
    monkeypatch.setenv("FC_ACCOUNT_ID", account_id)
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.setenv("ROLEGATE_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("ROLEGATE_RETRY_BASE_MS", "1")
    monkeypatch.setenv("ROLEGATE_RECORD_KEY_SECRET", kms.DEFAULT_SECRET_NAME)


@pytest.fixture
def fc_env(emulator: Any, owner: Account, monkeypatch: pytest.MonkeyPatch) -> Creds:
    """The environment FC gives the onboarding function: its identity's key, account, region; the emulator."""
    identity = create_user_with_policy(emulator, owner.root, FUNCTION_USER, function_policy("onboard"))
    run_as_function(monkeypatch, emulator, identity, owner.account_id)
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return identity


@pytest.fixture
def fc_context(owner: Account) -> FakeContext:
    return FakeContext(account_id=owner.account_id)


# ------------------------------------------------------------------- RAM state
def ram_snapshot(emulator: Any, account: Account) -> dict[str, Any]:
    """Every role (with its attached policies) and custom policy of ``account``, read with its root key."""
    ram = ram_client(emulator, account.root)
    roles: dict[str, list[str]] = {}
    marker = None
    while True:
        body = ram.list_roles(ram_models.ListRolesRequest(marker=marker, max_items=1000)).body
        for role in body.roles.role or []:
            attached = ram.list_policies_for_role(
                ram_models.ListPoliciesForRoleRequest(role_name=role.role_name)).body.policies.policy or []
            roles[role.role_name] = sorted(f"{p.policy_type}:{p.policy_name}" for p in attached)
        if not body.is_truncated:
            break
        marker = body.marker
    policies = ram.list_policies(ram_models.ListPoliciesRequest(policy_type="Custom", max_items=1000)).body
    return {"roles": roles, "policies": sorted(p.policy_name for p in policies.policies.policy or [])}


# =============================================================================== query function
# Section owned by the query tests (tests/functions/test_query*.py).
# The seeds' scenario seen from the partner's side: account A (``owner``) grants
# B (``partner``) a role; B's query function, a RAM user holding exactly
# deploy/policies/query.json, assumes it and lists A's Function Compute.
QUERY_USER = "query-fn"
QUERY_SESSION = "rolegate-query"


@pytest.fixture
def query_env(emulator: Any, partner: Partner, monkeypatch: pytest.MonkeyPatch) -> Creds:
    """The environment FC gives the query function deployed in account B; the emulator's authorization is on."""
    identity = create_user_with_policy(emulator, partner.root, QUERY_USER, function_policy("query"))
    run_as_function(monkeypatch, emulator, identity, partner.account_id)
    return identity


@pytest.fixture
def query_context(partner: Partner) -> FakeContext:
    return FakeContext(account_id=partner.account_id, function=FunctionMeta(name="query", timeout=60))


@pytest.fixture
def query_assumer() -> Iterator[Any]:
    """The process-wide role-session cache, emptied around the test so counts of AssumeRole calls are exact."""
    assumer = sts.default_assumer()
    assumer.clear()
    yield assumer
    assumer.clear()


# =========================================================================== remediate function
# Section owned by the remediation tests (tests/functions/test_remediate*.py).
# The function guards account A (``owner``) as A's RAM user holding exactly
# deploy/policies/remediate.json; the changes it reacts to are made through the
# SDKs by ``mallory``, a RAM user of A with broad RAM and ECS rights, and handed
# to it as the emulator's ActionTrail feed delivered them (``remediate_lab``).
REMEDIATE_USER = "remediate-fn"
MALLORY_POLICY = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ram:*", "ecs:*"], "Resource": "*"}]}


@pytest.fixture
def remediate_env(emulator: Any, owner: Account, monkeypatch: pytest.MonkeyPatch) -> Creds:
    """The environment FC gives the remediation function in account A; the emulator's authorization is on."""
    identity = create_user_with_policy(emulator, owner.root, REMEDIATE_USER, function_policy("remediate"))
    run_as_function(monkeypatch, emulator, identity, owner.account_id)
    sts.forget_caller_identities()
    return identity


@pytest.fixture
def remediate_lab(emulator: Any, owner: Account, partner: Partner, remediate_env: Creds) -> Any:
    """Account A with the function deployed, mallory ready to misbehave, partner B for grants and trust."""
    from tests.functions.remediate_support import Lab

    mallory = create_user_with_policy(emulator, owner.root, "mallory", MALLORY_POLICY)
    context = FakeContext(account_id=owner.account_id, function=FunctionMeta(name="remediate"))
    return Lab(emulator, owner.account_id, owner.root, remediate_env, mallory, partner.account_id, partner.alice,
               context)
