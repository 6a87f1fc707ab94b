"""The arena for named webhook clients: the onboard function as deployed, its clients in KMS, two partners.

Owner A runs the onboard function as a RAM user holding exactly
``deploy/policies/onboard.json`` (authorization on). The clients are written
into A's KMS secret ``rolegate-webhook-clients`` with A's root key through the
KMS SDK, in the format the operator's CLI writes, and the function is pointed
at it with ``ROLEGATE_WEBHOOK_CLIENTS``. Requests are signed here with
``hmac`` directly, not with Rolegate's signing code, so the two cannot agree
on a wrong string to sign. Partner P is the ``partner`` fixture's account; Q
is a second partner account.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models

from functions.onboard import index
from shared import kms
from tests.emulator.helpers import events, kms_client
from tests.functions.conftest import (WEBHOOK_SECRET, Account, FakeContext, Partner, Reply, Webhook, encode_body,
                                      ram_snapshot)

CLIENTS_SECRET = "rolegate-webhook-clients"
CLIENT_HEADER = "X-Rolegate-Client"
FC_READ = {"name": "AliyunFCReadOnlyAccess"}
P_EXTERNAL_ID = "partner-p-ext-0001"
Q_EXTERNAL_ID = "partner-q-ext-0002"


def named_headers(name: str, secret: str, method: str, path: str, body: bytes, stamp: int) -> dict[str, str]:
    """The documented named signature: HMAC-SHA256 over "<timestamp>.<client>.<METHOD>.<path>.<body>"."""
    digest = hmac.new(secret.encode(), f"{stamp}.{name}.{method}.{path}.".encode() + body, hashlib.sha256)
    return {CLIENT_HEADER: name, "X-Rolegate-Timestamp": str(stamp), "X-Rolegate-Signature": "sha256=" +
            digest.hexdigest()}


def shared_headers(secret: str, method: str, path: str, body: bytes, stamp: int) -> dict[str, str]:
    """The signature without a client: HMAC-SHA256 over "<timestamp>.<METHOD>.<path>.<body>"."""
    digest = hmac.new(secret.encode(), f"{stamp}.{method}.{path}.".encode() + body, hashlib.sha256)
    return {"X-Rolegate-Timestamp": str(stamp), "X-Rolegate-Signature": "sha256=" + digest.hexdigest()}


def entry(secret: str, partners: list[str], *, accounts: list[str] | None = None, write: bool = True,
          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """One client as the clients' secret holds it."""
    found = {"secret": secret, "accounts": accounts or ["*"], "partners": partners, "write": write}
    if previous is not None:
        found["previous"] = previous
    return found


@dataclass
class Lab:
    emulator: Any
    monkeypatch: pytest.MonkeyPatch
    owner: Account
    p: Partner
    q: str  # the second partner's account id
    hook: Webhook
    _stamp: int = field(default_factory=lambda: int(time.time()) - 200)
    _versions: int = 0

    # ------------------------------------------------------------- set-up
    def set_clients(self, clients: dict[str, Any] | str) -> None:
        """Write the clients' secret (a new version when it exists) and start a new function instance."""
        data = clients if isinstance(clients, str) else json.dumps(clients)
        client = kms_client(self.emulator, self.owner.root)
        self._versions += 1
        version = f"v{self._versions}"
        if self._versions == 1:
            client.create_secret(kms_models.CreateSecretRequest(
                secret_name=CLIENTS_SECRET, secret_data=data, version_id=version, secret_data_type="text"))
        else:
            client.put_secret_value(kms_models.PutSecretValueRequest(
                secret_name=CLIENTS_SECRET, secret_data=data, version_id=version, secret_data_type="text"))
        self.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", f"kms:{CLIENTS_SECRET}")
        self.new_instance()

    def new_instance(self) -> None:
        """What a fresh FC instance has: no cached secrets, no replays seen."""
        from shared.onboarding.api import REPLAYS

        kms.clear_cache()
        REPLAYS.clear()

    def without_shared_secret(self) -> None:
        self.monkeypatch.delenv("ROLEGATE_WEBHOOK_SECRET", raising=False)

    # ------------------------------------------------------------- calls
    def stamp(self) -> int:
        """A fresh timestamp per request, so no two requests are a replay of each other by accident."""
        self._stamp += 1
        return self._stamp

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             query: dict[str, str] | None = None) -> Reply:
        """An event with exactly these headers (and a JSON content type when there is a body)."""
        return self.hook.send(self.hook.event(method, path, body, headers=headers, query=query, signed=False))

    def as_client(self, name: str, secret: str, method: str, path: str, body: Any = None,
                  query: dict[str, str] | None = None) -> Reply:
        raw = encode_body(body)
        return self.send(method, path, raw or None, named_headers(name, secret, method, path, raw, self.stamp()),
                         query)

    def as_shared(self, method: str, path: str, body: Any = None, secret: str = WEBHOOK_SECRET) -> Reply:
        raw = encode_body(body)
        return self.send(method, path, raw or None, shared_headers(secret, method, path, raw, self.stamp()))

    # ------------------------------------------------------------- grants
    def body(self, partner: str, external_id: str, **changes: Any) -> dict[str, Any]:
        found = {"partner_account_id": partner, "principal": {"type": "account", "external_id": external_id},
                 "policies": [FC_READ], "duration_seconds": 7200}
        found.update(changes)
        return found

    def grant(self, partner: str, external_id: str) -> dict[str, Any]:
        """A grant made through the shared secret (full scope), as before clients existed."""
        made = self.as_shared("POST", "/grants", self.body(partner, external_id))
        assert made.status == 201, made.json
        return made.json

    # ------------------------------------------------------------- state
    def state(self) -> tuple[Any, ...]:
        """Every role with its attachments and tags, and every custom policy: what a refusal must leave as it was."""
        from emulator.services.ram import ram_state

        roles = ram_state(self.emulator.world.accounts[self.owner.account_id]).roles.values()
        return ram_snapshot(self.emulator, self.owner), sorted((r.name, sorted(dict(r.tags).items())) for r in roles)

    def mark(self) -> int:
        return len(events(self.emulator))

    def writes_since(self, mark: int) -> list[str]:
        """The write calls (ActionTrail events) made since ``mark``, by anyone."""
        return [e["data"]["eventName"] for e in events(self.emulator, mark)]


@pytest.fixture
def lab(emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account, partner: Partner,
        monkeypatch: pytest.MonkeyPatch) -> Lab:
    """The onboard function with the shared secret set (as before clients existed) and no clients yet."""
    q = emulator.create_account("company-q")["account_id"]
    found = Lab(emulator, monkeypatch, owner, partner, q, Webhook(index.handler, fc_context))
    found.new_instance()
    return found
