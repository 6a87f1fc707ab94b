"""The whole lifecycle across the four functions, then an audit of everything left in the owner account.

Scenario (each function running as its own RAM identity holding exactly its
deploy policy; the emulator's authorization is on):

1. onboarding creates four grants -- for the partner account (ExternalId),
   for the partner's user Alice with a custom policy, for a partner role with
   two custom policies, for the ECS service -- and is asked for the first one
   again (a retry: 200, nothing new);
2. the partner's query function lists the owner's functions through the first
   grant;
3. mallory, a RAM administrator, widens the trust of one grant and swaps its
   policies, and attaches AdministratorAccess to another grant's role and to a
   group Rolegate does not manage; the remediation function gets the
   ActionTrail events;
4. onboarding extends Alice's grant;
5. two hours pass and the revoke function sweeps.

Audit: every managed role has a readable record whose policies are exactly
what is attached and whose trust policy is the one its principal needs; every
grant custom policy belongs to a live grant that lists it; the grants alive
are exactly those whose expiry has not passed; the webhook lists the same
grants the account holds; the roles, users and policies Rolegate does not
manage are exactly as before the scenario; and no write call of any function
named a role or policy outside the grants.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from functions.onboard import index as onboard
from functions.revoke.index import handler as revoke_handler
from shared.grants.model import parse_iso_z
from shared.grants.naming import MANAGED_PREFIX
from shared.grants.tags import grant_from_tags
from shared.policies.document import canonical_json
from shared.policies.trust import trust_policy
from tests.emulator.helpers import account_trust, ram_client, record_keyring, service_trust
from tests.functions.conftest import Account, FakeContext, FunctionMeta, Partner, Webhook
from tests.functions.query_support import EXTERNAL_ID, make_functions, query_direct, target
from tests.functions.remediate_support import Lab
from tests.reliability.state import audit, is_write, managed_role_names, snapshot, unmanaged

HOUR = 3600


def custom(*actions: str) -> dict[str, Any]:
    return {"document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions),
                                                        "Resource": "*"}]}}


class Functions:
    """Each function called as Function Compute would, with its own identity in the environment."""

    def __init__(self, emulator: Any, owner: Account, partner: Partner, monkeypatch: pytest.MonkeyPatch,
                 identities: dict[str, dict[str, Any]], lab: Lab) -> None:
        self.emulator, self.owner, self.partner, self.lab = emulator, owner, partner, lab
        self.monkeypatch = monkeypatch
        self.identities = identities
        self.hook = Webhook(onboard.handler, FakeContext(account_id=owner.account_id))

    @contextmanager
    def running(self, name: str, account_id: str) -> Iterator[None]:
        creds = self.identities[name]
        with self.monkeypatch.context() as env:
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", creds["access_key_id"])
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", creds["access_key_secret"])
            env.setenv("FC_ACCOUNT_ID", account_id)
            yield

    def webhook(self, method: str, path: str, body: Any = None) -> Any:
        with self.running("onboard", self.owner.account_id):
            return self.hook.call(method, path, body)

    def query(self, request: dict[str, Any]) -> Any:
        context = FakeContext(account_id=self.partner.account_id, function=FunctionMeta(name="query"))
        with self.running("query", self.partner.account_id):
            return query_direct(context, request)

    def remediate(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        with self.running("remediate", self.owner.account_id):
            return self.lab.invoke(events)

    def sweep(self) -> dict[str, Any]:
        context = FakeContext(account_id=self.owner.account_id, function=FunctionMeta(name="revoke"))
        with self.running("revoke", self.owner.account_id):
            return revoke_handler(b"", context)


@pytest.fixture
def functions(emulator: Any, owner: Account, partner: Partner, fc_env: dict[str, Any], query_env: dict[str, Any],
              remediate_lab: Lab, revoke_identity: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Functions:
    identities = {"onboard": fc_env, "query": query_env, "remediate": remediate_lab.function,
                  "revoke": revoke_identity}
    return Functions(emulator, owner, partner, monkeypatch, identities, remediate_lab)


def foreign_state(emulator: Any, owner: Account) -> None:
    """What the owner had before Rolegate: a break-glass role, an application role with its own policy, a group."""
    ram = ram_client(emulator, owner.root)
    ram.create_role(ram_models.CreateRoleRequest(role_name="ops-break-glass",
                                                 assume_role_policy_document=account_trust(owner.account_id)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="ops-break-glass", policy_type="System", policy_name="AliyunOSSReadOnlyAccess"))
    ram.create_role(ram_models.CreateRoleRequest(role_name="AppRole", assume_role_policy_document=service_trust()))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name="app-policy", policy_document=json.dumps(
        custom("oss:GetObject")["document"])))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="AppRole", policy_type="Custom", policy_name="app-policy"))
    ram.create_group(ram_models.CreateGroupRequest(group_name="auditors"))
    ram.attach_policy_to_group(ram_models.AttachPolicyToGroupRequest(
        group_name="auditors", policy_type="System", policy_name="AliyunOSSReadOnlyAccess"))


def test_lifecycle_leaves_every_role_and_policy_accounted_for(emulator: Any, owner: Account, partner: Partner,
                                                             functions: Functions) -> None:
    """Onboard, query, tamper and remediate, extend, sweep: the account holds exactly the live grants."""
    foreign_state(emulator, owner)
    make_functions(emulator, owner, ["billing-api", "reports-job"])
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    before = snapshot(emulator, owner.root)
    first_seq = emulator.calls()[-1]["seq"]
    lab = functions.lab
    p = partner.account_id

    # 1. onboarding
    requests = {
        "querying": {"partner_account_id": p, "principal": {"type": "account", "external_id": EXTERNAL_ID},
                     "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 2 * 86400},
        "alice": {"partner_account_id": p, "principal": {"type": "user", "name": "Alice"},
                  "policies": [{"name": "AliyunECSReadOnlyAccess"}, custom("fc:GetFunction")],
                  "duration_seconds": HOUR, "ticket": "CHG-7"},
        "deployer": {"partner_account_id": p, "principal": {"type": "role", "name": "deployer"},
                     "policies": [custom("fc:ListFunctions"), custom("fc:GetFunction", "fc:ListTriggers")],
                     "duration_seconds": HOUR},
        "ecs": {"partner_account_id": p, "principal": {"type": "service", "service": "ecs.aliyuncs.com"},
                "policies": [{"name": "AliyunOSSReadOnlyAccess"}], "duration_seconds": 86400},
    }
    grants = {}
    for key, body in requests.items():
        reply = functions.webhook("POST", "/grants", body)
        assert reply.status == 201, reply.json
        grants[key] = reply.json
    again = functions.webhook("POST", "/grants", requests["querying"])
    assert again.status == 200 and again.json["grant_id"] == grants["querying"]["grant_id"]

    # 2. query through the first grant
    reply = functions.query({"targets": [target(owner, grants["querying"]["role_arn"])]})
    [result] = reply["results"]
    assert result["ok"] and [i["name"] for i in result["items"]] == ["billing-api", "reports-job"]

    # 3. tampering and remediation
    ecs_role, alice_role = grants["ecs"]["role_name"], grants["alice"]["role_name"]
    events = [lab.update_trust(ecs_role, account_trust(p)),
              lab.detach_from_role(ecs_role, "AliyunOSSReadOnlyAccess"),
              lab.attach_to_role(ecs_role, "AliyunECSReadOnlyAccess"),
              lab.attach_to_role(alice_role, "AdministratorAccess"),
              lab.capture(lambda: lab.ram(lab.mallory).attach_policy_to_group(ram_models.AttachPolicyToGroupRequest(
                  group_name="auditors", policy_type="System", policy_name="AdministratorAccess")),
                  "AttachPolicyToGroup")]
    reply = functions.remediate(events)
    assert reply["ok"] and not reply["errors"], reply
    assert {d["outcome"] for d in reply["decisions"]} <= {"remediated", "already_compliant", "reported"}, reply

    # 4. extension
    extended = functions.webhook("PATCH", f"/grants/{grants['alice']['grant_id']}", {"duration_seconds": 3 * 86400})
    assert extended.status == 200, extended.json

    # 5. two hours later, the sweep
    emulator.advance_clock(2 * HOUR + 60)
    summary = functions.sweep()
    assert summary["ok"] and summary["revoked"] == 1 and not summary["failed"], summary

    # ------------------------------------------------------------------ the audit
    after = snapshot(emulator, owner.root)
    keyring = record_keyring(emulator, owner.root)
    assert audit(after, owner.account_id, keyring) == []
    live = {k: g for k, g in grants.items() if k != "deployer"}
    assert managed_role_names(after) == {g["role_name"] for g in live.values()}
    assert not [n for n in after["policies"] if grants["deployer"]["grant_id"] in n]
    now = emulator.world.clock.now()
    for key, shown in live.items():
        role = after["roles"][shown["role_name"]]
        grant = grant_from_tags([{"Key": k, "Value": v} for k, v in role["tags"].items()], shown["role_name"],
                                owner.account_id, keyring=keyring, role_description=role["description"])
        assert grant.grant_id == shown["grant_id"] and grant.principal.to_dict() == requests[key]["principal"]
        assert [p.to_dict() for p in grant.policies] == shown["policies"]
        assert canonical_json(role["trust_policy"]) == canonical_json(trust_policy(grant.principal)), key
        assert grant.expires_at > now
    assert parse_iso_z(extended.json["expires_at"]) == grant_from_tags(
        [{"Key": k, "Value": v} for k, v in after["roles"][alice_role]["tags"].items()], alice_role,
        owner.account_id, keyring=keyring).expires_at
    listed = functions.webhook("GET", "/grants").json
    assert {g["grant_id"] for g in listed["grants"]} == {g["grant_id"] for g in live.values()}
    assert all(g["status"] == "active" for g in listed["grants"])

    assert unmanaged(after) == unmanaged(before)
    ours = {g["role_name"] for g in grants.values()}
    for call in emulator.calls(first_seq):
        if not is_write(call) or call["product"] not in ("ram", "ecs"):
            continue
        if call["caller"] in (f"acs:ram::{owner.account_id}:root", f"acs:ram::{owner.account_id}:user/mallory"):
            continue  # set-up with the root key, and the tampering
        role, policy = call["params"].get("RoleName"), call["params"].get("PolicyName")
        assert role is None or role in ours, call
        assert policy is None or policy.startswith(MANAGED_PREFIX) or call["action"].startswith(
            ("AttachPolicyTo", "DetachPolicyFrom")), call

