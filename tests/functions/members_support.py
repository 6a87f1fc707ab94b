"""The arena for a hub deployment: the onboard function in hub H acting in the members of H's Resource Directory.

Hub H runs the function as a session of its role ``fc-rolegate-onboard``
(deploy/policies/onboard.json plus the hub statements, authorization on);
members A and B belong to H's Resource Directory, A enrolled with ``rolegate
members enroll``'s code, B not; D is an outsider. Partner P (the ``partner``
fixture) receives the grants.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from alibabacloud_kms20160120 import models as kms_models

from functions.onboard import index
from rolegate.cli_members import SESSION_NAME, Member, ManagerRole, manager_policy, member_factory
from shared import kms
from shared.clients import ClientFactory
from shared.members import forget_members
from tests.emulator.helpers import create_user_with_policy, kms_client
from tests.functions.clients_support import named_headers
from tests.functions.conftest import WEBHOOK_SECRET, Account, FakeContext, Partner, Webhook, encode_body, \
    ram_snapshot
from tests.hub_world import ADMIN_POLICY, HubWorld, hub_world, to_credentials

FC_READ = {"name": "AliyunFCReadOnlyAccess"}
CLIENT_SECRET = "scoped-client-secret-0123456789abcdef"


@dataclass
class Hub:
    world: HubWorld
    hook: Webhook
    partner: Partner
    monkeypatch: pytest.MonkeyPatch

    @property
    def a(self) -> str:
        return self.world.member_id("A")

    @property
    def b(self) -> str:
        return self.world.member_id("B")

    @property
    def d(self) -> str:
        return self.world.outsider["account_id"]

    def body(self, account: str | None = None, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"partner_account_id": self.partner.account_id,
                                "principal": {"type": "user", "name": "Alice"}, "policies": [FC_READ],
                                "duration_seconds": 7200}
        if account is not None:
            body["account_id"] = account
        return {**body, **changes}

    def snapshots(self) -> dict[str, Any]:
        roots = {"H": self.world.hub, **self.world.members, "D": self.world.outsider}
        return {name: ram_snapshot(self.world.emulator, Account(creds["account_id"], creds))
                for name, creds in roots.items()}

    def roles_of(self, name: str) -> list[str]:
        return sorted(ram_snapshot(self.world.emulator, Account(self.world.member_id(name),
                                                                self.world.members[name]))["roles"])

    def named(self, client: str, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        raw = encode_body(body)
        headers = named_headers(client, CLIENT_SECRET, method, path, raw, int(time.time()))
        if raw:
            headers["Content-Type"] = "application/json"
        return self.hook.send(self.hook.event(method, path, body, signed=False, headers=headers, **kwargs))

    def set_clients(self, clients: dict[str, Any]) -> None:
        kms_client(self.world.emulator, self.world.hub).create_secret(kms_models.CreateSecretRequest(
            secret_name="rolegate-webhook-clients", secret_data=json.dumps(clients), version_id="v1",
            secret_data_type="text"))
        self.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", "kms:rolegate-webhook-clients")


def enroll(world: HubWorld, name: str) -> Member:
    """``rolegate members enroll <member>`` as the management account's RAM administrator."""
    manager = ClientFactory(to_credentials(world.admins.get("rd-admin") or _rd_admin(world)))
    report = Member(world.member_id(name))
    ManagerRole(member_factory(manager, report.account_id, SESSION_NAME), world.hub_id, "RolegateManager",
                manager_policy()).enroll(report, "test")
    return report


def _rd_admin(world: HubWorld) -> dict[str, Any]:
    world.admins["rd-admin"] = create_user_with_policy(world.emulator, world.hub, "rd-admin", ADMIN_POLICY)
    return world.admins["rd-admin"]


@pytest.fixture
def hub(emulator: Any, partner: Partner, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    world = hub_world(emulator)
    monkeypatch.setenv("ROLEGATE_ENDPOINT", emulator.endpoint)
    enroll(world, "A")
    creds = world.function_creds("onboard")
    for name, value in (("ALIBABA_CLOUD_ACCESS_KEY_ID", creds["access_key_id"]),
                        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", creds["access_key_secret"]),
                        ("ALIBABA_CLOUD_SECURITY_TOKEN", creds["security_token"]),
                        ("FC_ACCOUNT_ID", world.hub_id), ("FC_REGION", "cn-hangzhou"),
                        ("ROLEGATE_RETRY_BASE_MS", "1"), ("ROLEGATE_RECORD_KEY_SECRET", kms.DEFAULT_SECRET_NAME),
                        ("ROLEGATE_WEBHOOK_SECRET", WEBHOOK_SECRET), ("ROLEGATE_MEMBERS", "resource-directory")):
        monkeypatch.setenv(name, value)
    from shared.onboarding.api import REPLAYS

    REPLAYS.clear()
    forget_members()
    yield Hub(world, Webhook(index.handler, FakeContext(account_id=world.hub_id)), partner, monkeypatch)
    forget_members()


