"""Fixtures and helpers for the revoke function's tests (imported by each ``test_revoke_*`` module).

The function runs as a RAM user of the owner account holding exactly
``deploy/policies/revoke.json`` (and, when it is a hub, the statements that
reach its members), with authorization on, as it would on Function Compute;
grants are set up with the owner's root key through ``GrantStore``, sealed
with the hub's record key. A member holds the manager role the hub's sweep
assumes there. The shared cast and context come from
``tests/functions/conftest.py``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.lifecycle import GrantStore
from shared.policies.principals import AccountPrincipal
from tests.emulator.helpers import Creds, account_trust, create_user_with_policy, ram_client, record_keyring
from tests.functions.conftest import REPO, Account, FakeContext, FunctionMeta, function_policy
from tests.hub_world import DIRECTORY_STATEMENT, HUB_STATEMENT, MANAGER_ROLE

REVOKE_POLICY = function_policy("revoke")
MANAGER_POLICY = json.loads((REPO / "deploy" / "manager-policy.json").read_text())
HUB_REVOKE_POLICY = {**REVOKE_POLICY, "Statement": [*REVOKE_POLICY["Statement"], HUB_STATEMENT, DIRECTORY_STATEMENT]}
CUSTOM_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}


def context(timeout: int = 60, account_id: str = "") -> FakeContext:
    """The revoke function's invocation context; without ``account_id`` the function asks STS who it is."""
    return FakeContext(account_id=account_id, function=FunctionMeta(name="revoke", timeout=timeout))


@dataclass
class Owner:
    """An owner account: its root key (for setup) and a store writing grants with it, sealed by ``sealer``'s key.

    ``sealer`` is the account whose record key seals the grants: the hub's for a member, else the account's own.
    """

    emulator: EmulatorServer
    root: Creds
    partner: str
    sealer: Creds | None = None

    @property
    def account_id(self) -> str:
        return self.root["account_id"]

    def ram(self) -> Any:
        return ram_client(self.emulator, self.root)

    def store(self) -> GrantStore:
        return GrantStore(self.ram(), self.account_id, record_keyring(self.emulator, self.sealer or self.root),
                          now=self.emulator.world.clock.now)

    def now(self) -> datetime:
        return self.emulator.world.clock.now().replace(microsecond=0)

    def grant(self, lifetime_seconds: int, *, custom: bool = False) -> Grant:
        """Create a grant expiring ``lifetime_seconds`` from the emulator's now."""
        grant_id = new_grant_id()
        policies = [PolicyRef("AliyunECSReadOnlyAccess", "System")]
        if custom:
            policies.append(PolicyRef(custom_policy_name(grant_id, 0), "Custom", document=CUSTOM_DOC))
        now = self.now()
        grant = Grant(grant_id=grant_id, owner_account_id=self.account_id, partner_account_id=self.partner,
                      principal=AccountPrincipal(self.partner, None), policies=tuple(policies),
                      role_name=role_name_for(self.partner, grant_id), max_session_duration=3600,
                      created_at=now - timedelta(seconds=1), expires_at=now + timedelta(seconds=lifetime_seconds))
        return self.store().create(grant).grant

    def plain_role(self, name: str, tags: dict[str, str] | None = None, attach: str | None = None) -> None:
        """A role made directly through RAM (optionally tagged, optionally with a system policy)."""
        ram = self.ram()
        ram.create_role(ram_models.CreateRoleRequest(
            role_name=name, assume_role_policy_document=account_trust(self.partner),
            tag=[ram_models.CreateRoleRequestTag(key=k, value=v) for k, v in (tags or {}).items()] or None))
        if attach:
            ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
                role_name=name, policy_name=attach, policy_type="System"))

    def custom_policy(self, name: str, tags: dict[str, str] | None = None) -> None:
        """A custom policy made directly through RAM (optionally tagged), attached to nothing."""
        self.ram().create_policy(ram_models.CreatePolicyRequest(
            policy_name=name, policy_document=json.dumps(CUSTOM_DOC),
            tag=[ram_models.CreatePolicyRequestTag(key=k, value=v) for k, v in (tags or {}).items()] or None))

    def orphan(self) -> str:
        """What a fault leaves: a custom policy named and tagged as a grant's, with no role of that grant."""
        grant_id = new_grant_id()
        name = custom_policy_name(grant_id, 0)
        self.custom_policy(name, {"rolegate:managed": "true", "rolegate:grant-id": grant_id})
        return name

    def state(self) -> dict[str, Any]:
        """Every role (tags, attachments) and custom policy (versions) of the account, for comparisons."""
        ram = ram_state(self.emulator.world.accounts[self.account_id])
        return {
            "roles": {role.name: (dict(role.tags), sorted((a.policy_type, a.policy_name) for a in role.attached))
                      for role in ram.roles.values()},
            "policies": {policy.name: sorted(policy.versions) for policy in ram.policies.values()},
        }

    def role_names(self) -> set[str]:
        return set(self.state()["roles"])

    def policy_names(self) -> set[str]:
        return set(self.state()["policies"])


def setup_owner(emulator: EmulatorServer, hub: Owner | None = None) -> Owner:
    """A further owner account with a partner account of its own; given ``hub``, a member sealed with its key."""
    partner = emulator.create_account("partner")["account_id"]
    return Owner(emulator, emulator.create_account("owner"), partner, hub.root if hub is not None else None)


def function_identity(emulator: EmulatorServer, owner: Owner, monkeypatch: pytest.MonkeyPatch,
                      policy: dict[str, Any] = REVOKE_POLICY) -> Creds:
    """A RAM user of ``owner`` holding ``policy`` (revoke.json, or with a hub's statements), exported as the
    function's credentials."""
    user = create_user_with_policy(emulator, owner.root, "fc-revoke", policy)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", user["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", user["access_key_secret"])
    return user


def manager_role(member: Owner, trusted_account: str, policy: dict[str, Any] = MANAGER_POLICY) -> None:
    """The manager role in a member account: trusts ``trusted_account`` and holds ``policy`` (by default, what
    ``rolegate members enroll`` gives it)."""
    ram = member.ram()
    ram.create_role(ram_models.CreateRoleRequest(role_name=MANAGER_ROLE,
                                                 assume_role_policy_document=account_trust(trusted_account)))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name="RolegateManagerPolicy",
                                                     policy_document=json.dumps(policy)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name=MANAGER_ROLE, policy_name="RolegateManagerPolicy", policy_type="Custom"))


@pytest.fixture
def sweep_env(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The handler's FC-like environment on top of conftest's ``clean_env``: the emulator, quick retries."""
    for name in ("FC_FUNCTION_TIMEOUT", "FC_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROLEGATE_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("ROLEGATE_RETRY_BASE_MS", "20")
    monkeypatch.setenv("ROLEGATE_RETRY_CAP_MS", "200")
    return monkeypatch


def running_in(emulator: EmulatorServer, owner: Account, monkeypatch: pytest.MonkeyPatch,
               policy: dict[str, Any]) -> Owner:
    """Owner account A, with the function running as A's RAM user holding ``policy``."""
    created = Owner(emulator, owner.root, emulator.create_account("partner")["account_id"])
    function_identity(emulator, created, monkeypatch, policy)
    return created


@pytest.fixture
def sweep_owner(emulator: EmulatorServer, owner: Account, sweep_env: pytest.MonkeyPatch) -> Owner:
    """Owner account A, with the function running as A's RAM user holding revoke.json."""
    return running_in(emulator, owner, sweep_env, REVOKE_POLICY)


@pytest.fixture
def sweep_hub(emulator: EmulatorServer, owner: Account, sweep_env: pytest.MonkeyPatch) -> Owner:
    """Owner account A as a hub: its function's user also holds the statements that reach the members."""
    return running_in(emulator, owner, sweep_env, HUB_REVOKE_POLICY)


def invoke(ctx: FakeContext | None = None, payload: Any = "", *, raw: Any = None) -> dict[str, Any]:
    """Run the handler with a timer event carrying ``payload`` (a dict is sent as its JSON text)."""
    from functions.revoke.index import handler

    if raw is None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        raw = json.dumps({"triggerTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "triggerName": "revoke-sweep", "payload": text}).encode()
    return handler(raw, ctx or context())


def managed_past_expiry(owner: Owner) -> list[str]:
    """Managed roles whose (readable) expiry has passed on the emulator clock."""
    now = owner.now()
    out = []
    for name, (tags, _) in owner.state()["roles"].items():
        try:
            expires = datetime.strptime(tags.get("rolegate:expires-at", ""), "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            continue
        if tags.get("rolegate:managed") == "true" and expires.replace(tzinfo=timezone.utc) <= now:
            out.append(name)
    return out


def orphan_policies(owner: Owner) -> list[str]:
    """Grant custom policies (``rolegate-<grant id>-pN``) whose grant has no role any more."""
    live = {tags.get("rolegate:grant-id") for tags, _ in owner.state()["roles"].values()}
    return [name for name in owner.policy_names()
            if name.startswith("rolegate-g-") and name[len("rolegate-"):len("rolegate-") + 14] not in live]


def call_mark(emulator: EmulatorServer) -> int:
    """The call log position now; ``emulator.calls(mark)`` is everything after it."""
    calls = emulator.calls()
    return calls[-1]["seq"] if calls else 0
