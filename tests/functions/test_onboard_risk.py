"""Every grant-time example of issue 13 is refused by the deployed onboarding handler: 403, nothing created.

The handler runs as a RAM user holding deploy/policies/onboard.json against the
emulator, as in test_onboard_webhook; each request is a signed POST /grants
whose only fault is the policy it asks for.
"""
from __future__ import annotations

from typing import Any

import pytest

from functions.onboard import index
from tests.functions.conftest import Account, FakeContext, Partner, Webhook, ram_snapshot


def custom(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}}


@pytest.fixture
def hook(fc_env: Any, fc_context: FakeContext) -> Webhook:
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    return Webhook(index.handler, fc_context)


def request(partner: Partner, policy: dict[str, Any]) -> dict[str, Any]:
    return {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
            "policies": [{"name": "AliyunFCReadOnlyAccess"}, policy], "duration_seconds": 7200,
            "requester": "ops@company-a.example", "ticket": "CHG-1313"}


WHY = [
    # roles reached by patterns that are not pinned to one name
    ("assume-?*", custom("sts:AssumeRole", "acs:ram::*:role/?*"), "RG132"),
    ("assume-*?", custom("sts:AssumeRole", "acs:ram::*:role/*?"), "RG132"),
    ("assume-r?le", custom("sts:AssumeRole", "acs:ram::*:r?le/*"), "RG132"),
    ("assume-any-type", custom("sts:AssumeRole", "acs:ram::*:*/*"), "RG132"),
    ("assume-*am", custom("sts:AssumeRole", "acs:*am:*:*:role/*"), "RG132"),
    ("assume-*admin*", custom("sts:AssumeRole", "acs:ram::*:role/*admin*"), "RG132"),
    ("passrole-?*", custom("ram:PassRole", "acs:ram::*:role/?*"), "RG131"),
    # paths that used to pass with no finding at all
    ("create-login-profile", custom("ram:CreateLoginProfile"), "RG134"),
    ("update-login-profile", custom("ram:UpdateLoginProfile"), "RG134"),
    ("create-user", custom("ram:CreateUser"), "RG137"),
    ("add-user-to-group", custom("ram:AddUserToGroup"), "RG137"),
    ("tag-resources", custom(["ram:TagResources", "ram:UntagResources"]), "RG138"),
    ("detach-from-role", custom("ram:DetachPolicyFromRole"), "RG133"),
    ("delete-role", custom("ram:DeleteRole"), "RG135"),
    ("update-function", custom("fc:UpdateFunction"), "RG140"),
    ("run-command", custom(["ecs:RunCommand", "ecs:InvokeCommand"]), "RG141"),
    ("stop-logging", custom(["actiontrail:StopLogging", "actiontrail:DeleteTrail"]), "RG143"),
    # service wildcards that only earned medium
    ("fc-star", custom("fc:*"), "RG140"),
    ("ecs-star", custom("ecs:*"), "RG141"),
    ("resourcemanager-star", custom("resourcemanager:*"), "RG142"),
    # Rolegate's own resources
    ("rolegate-function", custom("fc:UpdateFunction", "acs:fc:*:*:functions/rolegate-onboard"), "RG150"),
    ("record-key", custom("kms:GetSecretValue", "acs:kms:*:*:secret/rolegate-record-key"), "RG150"),
    ("function-role", custom("ram:UpdateRole", "acs:ram::*:role/fc-rolegate-onboard"), "RG150"),
    # the functions' logs: deleting them, or writing forged lines among them
    ("log-project", custom(["log:DeleteLogStore", "log:PostLogStoreLogs"], "acs:log:*:*:project/rolegate-logs/*"),
     "RG150"),
]


@pytest.mark.parametrize("policy, finding", [pytest.param(p, f, id=i) for i, p, f in WHY])
def test_custom_document_from_the_issue_is_refused_and_nothing_is_created(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner, policy: dict[str, Any], finding: str) -> None:
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(partner, policy))
    assert (reply.status, reply.json["error"]["code"]) == (403, "PolicyDocumentRefused"), reply.json
    assert reply.json["error"]["field"] == "policies[1].document"
    found = {f["id"]: f for f in reply.json["error"]["findings"]}
    assert finding in found
    assert found[finding]["statement"] == "$.Statement[0]" and found[finding]["source"]
    assert ram_snapshot(emulator, owner) == before


@pytest.mark.parametrize("name, code", [
    ("AliyunSTSAssumeRoleAccess", "PolicyDenied"),
    ("AliyunFCFullAccess", "PolicyDenied"),
    ("AliyunECSFullAccess", "PolicyNotAllowed"),
    ("AdministratorAccess", "PolicyDenied"),
    ("AliyunRAMFullAccess", "PolicyDenied"),
    ("AliyunNotCataloguedAccess", "PolicyNotAllowed"),
])
def test_system_policy_from_the_issue_is_refused_by_default(emulator: Any, hook: Webhook, owner: Account,
                                                           partner: Partner, name: str, code: str) -> None:
    """With default settings, only read-only catalogued system policies are granted."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", request(partner, {"name": name}))
    assert (reply.status, reply.json["error"]["code"], reply.json["error"]["field"]) == (403, code, "policies[1].name")
    assert ram_snapshot(emulator, owner) == before


def test_allow_listing_write_power_is_honoured_but_never_for_a_critical_finding(
        emulator: Any, hook: Webhook, owner: Account, partner: Partner, monkeypatch: pytest.MonkeyPatch) -> None:
    """An allow-listed AliyunECSFullAccess is granted (its findings come back as warnings); an allow-listed
    AliyunFCFullAccess still is not, because it can rewrite Rolegate's own functions."""
    monkeypatch.setenv("ROLEGATE_ALLOWED_POLICIES", "AliyunFCReadOnlyAccess,AliyunECSFullAccess,AliyunFCFullAccess")
    before = ram_snapshot(emulator, owner)
    refused = hook.call("POST", "/grants", request(partner, {"name": "AliyunFCFullAccess"}))
    assert (refused.status, refused.json["error"]["code"]) == (403, "PolicyDenied")
    assert "RG150" in {f["id"] for f in refused.json["error"]["findings"]}
    assert ram_snapshot(emulator, owner) == before
    dry = dict(request(partner, {"name": "AliyunECSFullAccess"}), dry_run=True)
    granted = hook.call("POST", "/grants", dry)
    assert granted.status == 200, granted.json
    assert ram_snapshot(emulator, owner) == before
