"""Grants whose RAM writes name their targets exactly are refused too: 403 through the webhook, nothing created.

A partner owns no RAM user, group, role or custom policy in the owner's
account: the only ones a grant makes are Rolegate's own (``rolegate-*``).
So attaching policies, rewriting roles, taking over users' credentials,
replacing policy content or making identities is escalation whichever names
Resource pins: create the role ``evil`` trusting yourself and attach
AdministratorAccess to it, rewrite the trust of an existing admin role, give
yourself a console password as an existing user. Each shape below goes
through the deployed onboarding handler against the emulator, as in
test_onboard_risk.
"""
from __future__ import annotations

from typing import Any

import pytest

from functions.onboard import index
from tests.functions.conftest import Account, FakeContext, Partner, Webhook, ram_snapshot

ADMIN = "acs:ram:*:system:policy/AdministratorAccess"


def statement(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def custom(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"document": {"Version": "1", "Statement": list(statements)}}


@pytest.fixture
def hook(fc_env: Any, fc_context: FakeContext) -> Webhook:
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    return Webhook(index.handler, fc_context)


def request(partner: Partner, *policies: dict[str, Any]) -> dict[str, Any]:
    return {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
            "policies": [{"name": "AliyunFCReadOnlyAccess"}, *policies], "duration_seconds": 7200,
            "requester": "ops@company-a.example", "ticket": "CHG-2001"}


PINNED = [
    # a role of one's own making, then AdministratorAccess on it
    ("create-role-and-attach-admin",
     custom(statement(["ram:CreateRole", "ram:AttachPolicyToRole"], ["acs:ram:*:*:role/evil", ADMIN])),
     ("RG133", "RG135")),
    # an existing role taken over by rewriting whom it trusts
    ("update-trust-of-named-role", custom(statement("ram:UpdateRole", "acs:ram:*:*:role/AdminRole")), ("RG135",)),
    # an existing user's credentials
    ("login-profile-of-named-user",
     custom(statement(["ram:CreateLoginProfile", "ram:CreateAccessKey"], "acs:ram:*:*:user/admin")), ("RG134",)),
    ("ims-access-key-of-named-user", custom(statement("ims:CreateAccessKey", "acs:ram:*:*:user/admin")),
     ("RG134",)),
    # a group with power, and oneself in it
    ("attach-to-named-group",
     custom(statement(["ram:CreateUser", "ram:AddUserToGroup", "ram:AttachPolicyToGroup"],
                      ["acs:ram:*:*:group/admins", "acs:ram:*:*:user/me", ADMIN])), ("RG133", "RG137")),
    # the content of an existing policy, attached to whoever holds it
    ("new-default-version-of-named-policy",
     custom(statement(["ram:CreatePolicyVersion", "ram:SetDefaultPolicyVersion"], "acs:ram:*:*:policy/OpsPolicy")),
     ("RG136",)),
    # the action's case, a ? and the account written out change nothing
    ("case-and-glob-in-action",
     custom(statement("RAM:Attach?olicyToUser", ["acs:ram::1234567890123456:user/bob", ADMIN])), ("RG133",)),
]


@pytest.mark.parametrize("policy, findings", [pytest.param(p, f, id=i) for i, p, f in PINNED])
def test_ram_writes_on_pinned_names_are_refused_and_nothing_is_created(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner, policy: dict[str, Any],
        findings: tuple[str, ...]) -> None:
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(partner, policy))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    assert reply.json["error"]["field"] == "policies[1].document"
    found = {f["id"]: f for f in reply.json["error"]["findings"]}
    for finding in findings:
        assert finding in found, sorted(found)
        assert found[finding]["severity"] == "high" and found[finding]["statement"] == "$.Statement[0]"
        assert found[finding]["source"]
    assert ram_snapshot(emulator, owner) == before


def test_an_escalation_split_over_two_entries_is_refused_at_the_first(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner) -> None:
    """Each entry is judged alone, so splitting the chain gains nothing: the role's creation is refused."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(
        partner,
        custom(statement("ram:CreateRole", "acs:ram:*:*:role/evil")),
        custom(statement("ram:AttachPolicyToRole", ["acs:ram:*:*:role/evil", ADMIN]))))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    assert reply.json["error"]["field"] == "policies[1].document"
    assert "RG135" in {f["id"] for f in reply.json["error"]["findings"]}
    assert ram_snapshot(emulator, owner) == before


def test_the_parts_under_a_rolegate_function_are_rolegate_s_too(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner) -> None:
    """Triggers, aliases and the like of rolegate-revoke sit under its ARN; their ARN forms are not documented,
    so a grant reaching anything under a protected resource is refused as if it reached the resource."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(
        partner, custom(statement("fc:*", "acs:fc:*:*:functions/rolegate-revoke/*"))))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    found = {f["id"]: f for f in reply.json["error"]["findings"]}
    assert "RG150" in found and "functions/rolegate-*" in found["RG150"]["message"]
    assert ram_snapshot(emulator, owner) == before


def test_deleting_service_linked_roles_is_refused_as_blinding_the_audit_feed(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner) -> None:
    """ActionTrail reaches EventBridge, and EventBridge the remediation function, through service-linked roles
    (AliyunServiceRoleForEventBridgeSourceActionTrail, ...SendToFC): deleting them cuts the feed."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(
        partner, custom(statement("ram:DeleteServiceLinkedRole",
                                  "acs:ram:*:*:role/AliyunServiceRoleForEventBridgeSendToFC"))))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    found = {f["id"]: f for f in reply.json["error"]["findings"]}
    assert "RG143" in found and "ram:DeleteServiceLinkedRole" in found["RG143"]["message"]
    assert ram_snapshot(emulator, owner) == before


ALREADY = [
    # an action pattern without a colon still names RAM's actions
    ("no-colon-ram-glob", custom(statement("ram*")), "RG133"),
    # the record key is a secret; scheduling key deletion on * reaches it through KMS writes
    ("schedule-key-deletion", custom(statement(["kms:ScheduleKeyDeletion", "kms:DisableKey"])), "RG150"),
    # a new rule on the default bus can redirect the events remediation reads
    ("put-rule-on-default-bus", custom(statement(["eventbridge:PutRule", "eventbridge:CreateRule"])), "RG150"),
]


@pytest.mark.parametrize("policy, finding", [pytest.param(p, f, id=i) for i, p, f in ALREADY])
def test_other_shapes_are_refused_and_nothing_is_created(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner, policy: dict[str, Any],
        finding: str) -> None:
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(partner, policy))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    assert finding in {f["id"] for f in reply.json["error"]["findings"]}
    assert ram_snapshot(emulator, owner) == before


def test_read_only_access_is_never_granted_because_it_reads_the_record_key(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner, monkeypatch: pytest.MonkeyPatch) -> None:
    """ReadOnlyAccess is read-only by name, but its ``*:Get*`` holds kms:GetSecretValue on every secret
    (shared/policies/system/ReadOnlyAccess.json): not even an allow-list entry lets it through."""
    monkeypatch.setenv("ROLEGATE_ALLOWED_POLICIES", "AliyunFCReadOnlyAccess,ReadOnlyAccess")
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(partner, {"name": "ReadOnlyAccess"}))
    assert (reply.status, reply.json["error"]["code"], reply.json["error"]["field"]) == \
        (403, "PolicyDenied", "policies[1].name"), reply.json
    found = {f["id"]: f for f in reply.json["error"]["findings"]}
    assert "kms:GetSecretValue" in found["RG150"]["message"]
    assert ram_snapshot(emulator, owner) == before
