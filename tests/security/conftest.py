"""The arena for attacks on grant records: owner A with every function deployed, partner B, and attackers.

Each function runs as a RAM user of A holding exactly its policy from
``deploy/policies/`` (authorization on), invoked as Function Compute invokes
it. The attackers hold any RAM permission but use of the record key:

* ``tagger`` may only tag and untag (``ram:TagResources`` cannot be limited to
  some roles in RAM, so this is the weakest attacker that matters);
* ``mallory`` may do anything in RAM and ECS (``ram:*``, ``ecs:*``), but not read
  the record key's secret.

Every change an attacker makes is captured from the emulator's ActionTrail
feed and handed to the remediation function, as EventBridge would.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts_models

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from shared import clients
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import role_name_for
from shared.grants.lifecycle import GrantStore
from shared.grants.proof import RecordKey, StaticKeyring
from shared.grants.tags import TAG_PREFIX, grant_to_tags
from shared.policies.principals import AccountPrincipal
from tests.emulator.helpers import (Creds, account_trust, create_user_with_policy, events, ram_client,
                                    record_keyring, sts_client)
from tests.functions.conftest import (Account, FakeContext, FunctionMeta, Partner, Webhook,  # noqa: F401
                                      clean_env, function_policy, owner, partner, run_as_function)

EXTERNAL_ID = "partner-b-ext-0001"
TAGGER_POLICY = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ram:TagResources", "ram:UntagResources", "ram:ListTagResources"],
     "Resource": "*"}]}
MALLORY_POLICY = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:*", "ecs:*"], "Resource": "*"}]}
# A key the attacker made up: records sealed with it must never be believed.
FORGER = StaticKeyring(RecordKey("k1", b"attacker-chosen-key-material-0123456789"))


@dataclass
class Arena:
    emulator: EmulatorServer
    monkeypatch: pytest.MonkeyPatch
    owner: Account
    partner: Partner
    identities: dict[str, Creds] = field(default_factory=dict)
    tagger: Creds | None = None
    mallory: Creds | None = None

    # ------------------------------------------------------------ functions
    def as_function(self, name: str) -> FakeContext:
        """Switch the environment to function ``name`` (its own RAM user); its FC invocation context."""
        run_as_function(self.monkeypatch, self.emulator, self.identities[name], self.owner.account_id)
        self.monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", "onboarding-test-secret-0123456789")
        self.monkeypatch.setenv("ROLEGATE_SELF_PRINCIPALS", "user/fc-onboard,user/fc-revoke")
        clients.clear_cache()
        return FakeContext(account_id=self.owner.account_id, function=FunctionMeta(name=name))

    def webhook(self) -> Webhook:
        from functions.onboard.index import handler

        return Webhook(handler, self.as_function("onboard"))

    def remediate(self, event: dict[str, Any]) -> dict[str, Any]:
        from functions.remediate.index import handler

        return handler(json.dumps(event).encode(), self.as_function("remediate"))

    def sweep(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        from functions.revoke.index import handler

        ctx = self.as_function("revoke")
        raw = json.dumps({"triggerTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "triggerName": "revoke-sweep", "payload": json.dumps(payload or {})}).encode()
        return handler(raw, ctx)

    # ---------------------------------------------------------------- state
    def ram(self, creds: Creds | None = None) -> Any:
        return ram_client(self.emulator, creds or self.owner.root)

    def store(self) -> GrantStore:
        """Rolegate's own store with A's root key and A's record key (an operator's view)."""
        return GrantStore(self.ram(), self.owner.account_id, record_keyring(self.emulator, self.owner.root),
                          now=self.emulator.world.clock.now)

    def roles(self) -> dict[str, Any]:
        return {r.name: r for r in ram_state(self.emulator.world.accounts[self.owner.account_id]).roles.values()}

    def policies_of(self, role: str) -> list[str]:
        found = self.roles().get(role)
        return sorted(f"{a.policy_type}:{a.policy_name}" for a in found.attached) if found else []

    def trust_of(self, role: str) -> dict[str, Any]:
        return json.loads(self.roles()[role].trust_policy_text)

    def tags_of(self, role: str) -> dict[str, str]:
        return dict(self.roles()[role].tags)

    def snapshot(self, role: str) -> tuple[Any, ...]:
        found = self.roles()[role]
        return (found.trust_policy_text, found.max_session_duration, dict(found.tags), self.policies_of(role))

    def now(self) -> datetime:
        return self.emulator.world.clock.now().replace(microsecond=0)

    # -------------------------------------------------------------- set-up
    def plain_role(self, name: str, policies: tuple[str, ...] = (), trust: str | None = None) -> str:
        ram = self.ram()
        ram.create_role(ram_models.CreateRoleRequest(
            role_name=name, assume_role_policy_document=trust or account_trust(self.owner.account_id)))
        for policy in policies:
            ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(role_name=name, policy_type="System",
                                                                           policy_name=policy))
        return name

    def grant(self, lifetime: timedelta = timedelta(days=1), policies: tuple[str, ...] = ("AliyunECSReadOnlyAccess",),
              *, store: GrantStore | None = None) -> Grant:
        """A genuine grant for B (account principal with ExternalId), made by Rolegate's code with A's key."""
        grant_id = new_grant_id()
        now = self.now()
        grant = Grant(grant_id=grant_id, owner_account_id=self.owner.account_id,
                      partner_account_id=self.partner.account_id,
                      principal=AccountPrincipal(self.partner.account_id, EXTERNAL_ID),
                      policies=tuple(PolicyRef(p, "System") for p in policies),
                      role_name=role_name_for(self.partner.account_id, grant_id), max_session_duration=3600,
                      created_at=now - timedelta(seconds=1), expires_at=now + lifetime)
        return (store or self.store()).create(grant).grant

    # ------------------------------------------------------------- attacks
    def capture(self, change: Callable[[], Any], name: str) -> dict[str, Any]:
        """Make one change and return the ActionTrail event it produced."""
        mark = len(events(self.emulator))
        change()
        found = [e for e in events(self.emulator, mark) if e["data"]["eventName"] == name]
        assert found, f"no {name} event recorded"
        return found[-1]

    def tag(self, role: str, tags: dict[str, str] | list[dict[str, str]], creds: Creds | None = None) -> dict[str, Any]:
        pairs = tags.items() if isinstance(tags, dict) else [(t["Key"], t["Value"]) for t in tags]
        request = ram_models.TagResourcesRequest(resource_type="role", resource_names=[role], tag=[
            ram_models.TagResourcesRequestTag(key=k, value=v) for k, v in pairs])
        return self.capture(lambda: self.ram(creds or self.tagger).tag_resources(request), "TagResources")

    def untag(self, role: str, keys: list[str], creds: Creds | None = None) -> dict[str, Any]:
        request = ram_models.UntagResourcesRequest(resource_type="role", resource_names=[role], tag_keys=keys)
        return self.capture(lambda: self.ram(creds or self.tagger).untag_resources(request), "UntagResources")

    def attach(self, role: str, policy: str, creds: Creds | None = None) -> dict[str, Any]:
        request = ram_models.AttachPolicyToRoleRequest(role_name=role, policy_type="System", policy_name=policy)
        return self.capture(lambda: self.ram(creds or self.mallory).attach_policy_to_role(request),
                            "AttachPolicyToRole")

    def forged_record(self, grant: Grant, *, keyring: StaticKeyring = FORGER) -> list[dict[str, str]]:
        """Every Rolegate tag of ``grant`` in the documented format, sealed with a key of the attacker's."""
        return [t for t in grant_to_tags(grant, keyring, written_at=self.now()) if t["Key"].startswith(TAG_PREFIX)]

    def rolegate_tags(self, role: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in self.tags_of(role).items() if k.startswith(TAG_PREFIX)]

    def alice_assumes(self, role: str, external_id: str | None = EXTERNAL_ID) -> bool:
        """Whether partner B's Alice can assume ``role`` of A."""
        request = sts_models.AssumeRoleRequest(role_arn=f"acs:ram::{self.owner.account_id}:role/{role}",
                                               role_session_name="alice", external_id=external_id)
        try:
            sts_client(self.emulator, self.partner.alice).assume_role(request)
        except Exception:  # the SDK raises its own error type for AccessDenied
            return False
        return True


@pytest.fixture
def arena(emulator: EmulatorServer, owner: Account, partner: Partner, monkeypatch: pytest.MonkeyPatch) -> Arena:
    found = Arena(emulator, monkeypatch, owner, partner)
    for name in ("onboard", "revoke", "remediate"):
        found.identities[name] = create_user_with_policy(emulator, owner.root, f"fc-{name}", function_policy(name))
    found.tagger = create_user_with_policy(emulator, owner.root, "tagger", TAGGER_POLICY)
    found.mallory = create_user_with_policy(emulator, owner.root, "mallory", MALLORY_POLICY)
    return found


def swept(summary: dict[str, Any]) -> dict[str, Any]:
    """The one account's report in a sweep summary."""
    return summary["accounts"][0] if "accounts" in summary else summary


def decisions(reply: dict[str, Any], rule: str = "grant-tamper") -> list[dict[str, Any]]:
    return [d for d in reply["decisions"] if d["rule"] == rule]
