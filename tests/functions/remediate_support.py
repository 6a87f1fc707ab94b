"""The remediation tests' lab: account A with the function deployed, a misbehaving user, the event feed.

An offending change is made with the real SDKs as ``mallory`` (or root), the
event the emulator's ActionTrail feed recorded for it is fetched from
``GET /_emulator/events`` and handed to the handler, and the account's RAM
state is compared before and after. Hand-written events in the documented
shape live in ``tests/functions/events/*.json`` with ``${name}`` placeholders.
"""
from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ram20150501 import models as ram_models

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from functions.remediate.index import handler
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.lifecycle import GrantStore
from shared.policies.principals import AccountPrincipal
from tests.emulator.helpers import (Creds, account_trust, create_instance, ecs_client, events, ram_client,
                                    record_keyring, service_trust)

EVENTS_DIR = Path(__file__).resolve().parent / "events"
ADMIN_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}


def fixture_event(name: str, **values: str) -> dict[str, Any]:
    """A hand-written event from ``events/<name>.json`` with its ``${...}`` placeholders filled in."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    return json.loads(string.Template(text).substitute(values))


def outcomes(reply: dict[str, Any], rule: str | None = None) -> list[str]:
    return [d["outcome"] for d in reply["decisions"] if rule is None or d["rule"] == rule]


def only(reply: dict[str, Any], rule: str) -> dict[str, Any]:
    """The one decision ``rule`` made in ``reply``."""
    found = [d for d in reply["decisions"] if d["rule"] == rule]
    assert len(found) == 1, reply
    return found[0]


@dataclass
class Lab:
    emulator: EmulatorServer
    account_id: str
    root: Creds
    function: Creds
    mallory: Creds
    partner_id: str
    alice: Creds
    context: Any

    # --------------------------------------------------------------- clients
    def ram(self, creds: Creds | None = None) -> Any:
        return ram_client(self.emulator, creds or self.root)

    def ecs(self, creds: Creds | None = None) -> Any:
        return ecs_client(self.emulator, creds or self.mallory)

    # ----------------------------------------------------------------- events
    def mark(self) -> int:
        return len(events(self.emulator))

    def events_since(self, mark: int, name: str | None = None) -> list[dict[str, Any]]:
        return [e for e in events(self.emulator, mark) if name is None or e["data"]["eventName"] == name]

    def capture(self, change: Callable[[], Any], name: str | None = None) -> dict[str, Any]:
        """Make one change and return the (last) event it produced, named ``name`` if given."""
        mark = self.mark()
        change()
        found = self.events_since(mark, name)
        assert found, f"no {name or 'write'} event recorded"
        return found[-1]

    def invoke(self, payload: Any, *, raw: bool = False) -> dict[str, Any]:
        """The handler, called as FC calls it: the payload serialised to bytes (``raw``: as given)."""
        return handler(payload if raw else json.dumps(payload).encode(), self.context)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Every role (trust, session, tags, policies), user, group and custom policy of A: what "nothing changed"
        compares."""
        ram = ram_state(self.emulator.world.accounts[self.account_id])
        return {
            "roles": {r.name: (r.trust_policy_text, r.max_session_duration, dict(r.tags),
                               sorted((a.policy_type, a.policy_name) for a in r.attached)) for r in ram.roles.values()},
            "users": {u.name: sorted((a.policy_type, a.policy_name) for a in u.attached) for u in ram.users.values()},
            "groups": {g.name: sorted((a.policy_type, a.policy_name) for a in g.attached)
                       for g in ram.groups.values()},
            "policies": {p.name: (p.default_version, sorted(p.versions)) for p in ram.policies.values()},
            "members": {g.name: sorted(g.members) for g in ram.groups.values()},
        }

    def role_policies(self, role: str) -> list[str]:
        return [f"{k}:{n}" for k, n in self.state()["roles"][role][3]]

    def user_policies(self, user: str) -> list[str]:
        return [f"{k}:{n}" for k, n in self.state()["users"][user]]

    def group_policies(self, group: str) -> list[str]:
        return [f"{k}:{n}" for k, n in self.state()["groups"][group]]

    def group_members(self, group: str) -> list[str]:
        """The (lower-cased) names of the users in ``group``."""
        return self.state()["members"][group]

    def tags(self, role: str) -> dict[str, str]:
        return dict(self.state()["roles"][role][2])

    def trust(self, role: str) -> dict[str, Any]:
        return json.loads(self.state()["roles"][role][0])

    # ---------------------------------------------------------------- set-up
    def role(self, name: str, trust: str | None = None, policies: tuple[tuple[str, str], ...] = ()) -> str:
        ram = self.ram()
        ram.create_role(ram_models.CreateRoleRequest(role_name=name,
                                                     assume_role_policy_document=trust or service_trust()))
        for kind, policy in policies:
            ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(role_name=name, policy_type=kind,
                                                                           policy_name=policy))
        return name

    def user(self, name: str) -> str:
        self.ram().create_user(ram_models.CreateUserRequest(user_name=name))
        return name

    def group(self, name: str, policies: tuple[tuple[str, str], ...] = ()) -> str:
        ram = self.ram()
        ram.create_group(ram_models.CreateGroupRequest(group_name=name))
        for kind, policy in policies:
            ram.attach_policy_to_group(ram_models.AttachPolicyToGroupRequest(group_name=name, policy_type=kind,
                                                                             policy_name=policy))
        return name

    def custom_policy(self, name: str, document: dict[str, Any]) -> str:
        self.ram().create_policy(ram_models.CreatePolicyRequest(policy_name=name, policy_document=json.dumps(document)))
        return name

    def grant(self, lifetime_seconds: int = 3600, *, custom: bool = False) -> Grant:
        """A grant for partner B (account principal, AliyunECSReadOnlyAccess [+ a custom policy]), made by A's root."""
        grant_id = new_grant_id()
        now = self.emulator.world.clock.now().replace(microsecond=0)
        policies = [PolicyRef("AliyunECSReadOnlyAccess", "System")]
        if custom:
            policies.append(PolicyRef(custom_policy_name(grant_id, 0), "Custom", document=READ_DOC))
        grant = Grant(grant_id=grant_id, owner_account_id=self.account_id, partner_account_id=self.partner_id,
                      principal=AccountPrincipal(self.partner_id, "ext-id-42"), policies=tuple(policies),
                      role_name=role_name_for(self.partner_id, grant_id), max_session_duration=3600,
                      created_at=now - timedelta(seconds=1), expires_at=now + timedelta(seconds=lifetime_seconds))
        return self.store().create(grant).grant

    def store(self) -> GrantStore:
        """Grants as Rolegate writes them, with A's root key and A's record key."""
        return GrantStore(self.ram(), self.account_id, record_keyring(self.emulator, self.root),
                          now=self.emulator.world.clock.now)

    def instance(self, region: str = "cn-hangzhou") -> str:
        return create_instance(self.emulator, self.account_id, region)

    # ------------------------------------------------------ mallory's doings
    def attach_to_role(self, role: str, policy: str, kind: str = "System", creds: Creds | None = None) -> dict[str, Any]:
        request = ram_models.AttachPolicyToRoleRequest(role_name=role, policy_type=kind, policy_name=policy)
        return self.capture(lambda: self.ram(creds or self.mallory).attach_policy_to_role(request),
                            "AttachPolicyToRole")

    def attach_to_user(self, user: str, policy: str, kind: str = "System") -> dict[str, Any]:
        request = ram_models.AttachPolicyToUserRequest(user_name=user, policy_type=kind, policy_name=policy)
        return self.capture(lambda: self.ram(self.mallory).attach_policy_to_user(request), "AttachPolicyToUser")

    def attach_to_group(self, group: str, policy: str, kind: str = "System") -> dict[str, Any]:
        request = ram_models.AttachPolicyToGroupRequest(group_name=group, policy_type=kind, policy_name=policy)
        return self.capture(lambda: self.ram(self.mallory).attach_policy_to_group(request), "AttachPolicyToGroup")

    def add_to_group(self, user: str, group: str, creds: Creds | None = None) -> dict[str, Any]:
        request = ram_models.AddUserToGroupRequest(user_name=user, group_name=group)
        return self.capture(lambda: self.ram(creds or self.mallory).add_user_to_group(request), "AddUserToGroup")

    def detach_from_role(self, role: str, policy: str, kind: str = "System") -> dict[str, Any]:
        request = ram_models.DetachPolicyFromRoleRequest(role_name=role, policy_type=kind, policy_name=policy)
        return self.capture(lambda: self.ram(self.mallory).detach_policy_from_role(request), "DetachPolicyFromRole")

    def update_trust(self, role: str, trust: str, max_session_duration: int | None = None) -> dict[str, Any]:
        request = ram_models.UpdateRoleRequest(role_name=role, new_assume_role_policy_document=trust,
                                               new_max_session_duration=max_session_duration)
        return self.capture(lambda: self.ram(self.mallory).update_role(request), "UpdateRole")

    def create_role_as_mallory(self, name: str, trust: str) -> dict[str, Any]:
        request = ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust)
        return self.capture(lambda: self.ram(self.mallory).create_role(request), "CreateRole")

    def tag_role(self, role: str, tags: dict[str, str]) -> dict[str, Any]:
        request = ram_models.TagResourcesRequest(resource_type="role", resource_names=[role], tag=[
            ram_models.TagResourcesRequestTag(key=k, value=v) for k, v in tags.items()])
        return self.capture(lambda: self.ram(self.mallory).tag_resources(request), "TagResources")

    def untag_role(self, role: str, keys: list[str]) -> dict[str, Any]:
        request = ram_models.UntagResourcesRequest(resource_type="role", resource_names=[role], tag_keys=keys)
        return self.capture(lambda: self.ram(self.mallory).untag_resources(request), "UntagResources")

    def attach_instance_role(self, instance_id: str, role: str, region: str = "cn-hangzhou") -> dict[str, Any]:
        request = ecs_models.AttachInstanceRamRoleRequest(region_id=region, ram_role_name=role,
                                                          instance_ids=json.dumps([instance_id]))
        return self.capture(lambda: self.ecs().attach_instance_ram_role(request), "AttachInstanceRamRole")

    def instance_role(self, instance_id: str, region: str = "cn-hangzhou") -> str | None:
        request = ecs_models.DescribeInstanceRamRoleRequest(region_id=region, instance_ids=json.dumps([instance_id]))
        sets = self.ecs(self.root).describe_instance_ram_role(request).body.instance_ram_role_sets
        found = [s.ram_role_name for s in (sets.instance_ram_role_set if sets else None) or []]
        return found[0] if found else None

    def advance(self, seconds: float) -> datetime:
        self.emulator.advance_clock(seconds)
        return self.emulator.world.clock.now()


__all__ = ["ADMIN_DOC", "READ_DOC", "Lab", "account_trust", "fixture_event", "only", "outcomes", "service_trust"]
