"""Rule self-guard: Rolegate's own roles, policies, functions and keys, changed by someone who is not Rolegate."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_fc20230330 import models as fc3_models
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_tea_util.models import RuntimeOptions

from shared.kms import DEFAULT_SECRET_NAME
from shared.remediation.selfguard import FC_TRUST, is_fc_only_trust
from tests.emulator.helpers import create_user_with_policy, fc3_client, kms_client, record_keyring
from tests.functions.conftest import function_policy
from tests.functions.remediate_support import Lab, account_trust, only, outcomes, service_trust

RULE = "self-guard"
# Written the way deploy/roles.sh writes it (key order differs from FC_TRUST: the comparison is on meaning).
ROLES_SH_TRUST = ('{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
                  '"Principal":{"Service":["fc.aliyuncs.com"]}}]}')
RAM_ALL = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": "*"}]}


def deployed(lab: Lab, fn: str) -> str:
    """The role fc-rolegate-<fn> holding its own custom policy, as deploy/roles.sh leaves them."""
    name = f"fc-rolegate-{fn}"
    lab.custom_policy(name, function_policy(fn))
    lab.role(name, ROLES_SH_TRUST, policies=(("Custom", name),))
    return name


def test_own_policy_detached_by_mallory_is_attached_again_and_reported_critical(remediate_lab: Lab) -> None:
    """DetachPolicyFromRole of fc-rolegate-onboard's own policy: re-attached, critical, naming mallory and the
    event; the same event delivered again finds nothing to do."""
    lab = remediate_lab
    role = deployed(lab, "onboard")
    event = lab.detach_from_role(role, role, "Custom")
    assert lab.role_policies(role) == []

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "reattach_own_policy"
    assert decision["level"] == "critical" and decision["resource"] == f"role/{role}"
    assert decision["caller"] == "ram-user:mallory" and decision["event_id"] == event["data"]["eventId"]
    assert decision["details"]["changed_by"] == "ram-user:mallory"
    assert "mallory" in decision["reason"] and event["data"]["eventId"] in decision["reason"]
    assert lab.role_policies(role) == [f"Custom:{role}"]
    assert reply["ok"] and reply["actions"] == 1

    before = lab.state()
    again = only(lab.invoke(event), RULE)
    assert again["outcome"] == "already_compliant" and again["level"] == "critical"
    assert lab.state() == before


def test_widened_trust_of_a_function_role_is_set_back_to_function_compute_only(remediate_lab: Lab) -> None:
    """UpdateRole letting partner B assume fc-rolegate-remediate: the FC-only trust is back; the rules after
    self-guard find the role as deployed."""
    lab = remediate_lab
    role = deployed(lab, "remediate")
    event = lab.update_trust(role, account_trust(lab.partner_id))

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "restore_trust"
    assert decision["level"] == "critical" and decision["caller"] == "ram-user:mallory"
    assert lab.partner_id in decision["details"]["trust_policy"]
    assert lab.trust(role) == FC_TRUST
    assert outcomes(reply, "trust-widened") == ["already_compliant"]
    assert lab.role_policies(role) == [f"Custom:{role}"]


def test_administrator_access_on_a_function_role_is_detached(remediate_lab: Lab) -> None:
    """Escalating Rolegate itself: the extra policy goes, the role's own policy stays."""
    lab = remediate_lab
    role = deployed(lab, "query")
    event = lab.attach_to_role(role, "AdministratorAccess")

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "detach_policy"
    assert decision["level"] == "critical" and decision["details"]["policy"] == "AdministratorAccess"
    assert outcomes(reply, "high-risk-policy") == ["already_compliant"]
    assert lab.role_policies(role) == [f"Custom:{role}"]


def test_a_harmless_extra_policy_on_a_function_role_is_detached_too(remediate_lab: Lab) -> None:
    """A function role holds exactly its own policy: even a read-only one attached beside it is taken off."""
    lab = remediate_lab
    role = deployed(lab, "revoke")
    event = lab.attach_to_role(role, "AliyunOSSReadOnlyAccess")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["resource"] == f"role/{role}"
    assert lab.role_policies(role) == [f"Custom:{role}"]


def test_a_change_by_a_self_principal_is_ignored(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """An identity on ROLEGATE_SELF_PRINCIPALS is Rolegate's own: the engine never shows its change to a rule."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_SELF_PRINCIPALS", "user/deployer")
    deployer = create_user_with_policy(lab.emulator, lab.root, "deployer", RAM_ALL)
    role = deployed(lab, "onboard")
    request = ram_models.DetachPolicyFromRoleRequest(role_name=role, policy_type="Custom", policy_name=role)
    event = lab.capture(lambda: lab.ram(deployer).detach_policy_from_role(request), "DetachPolicyFromRole")
    before = lab.state()

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and reply["ignored"] == 1
    assert reply["ignored_events"][0]["reason"] == "made by this function's own identity"
    assert lab.state() == before and lab.role_policies(role) == []


def test_record_key_written_by_mallory_is_reported_critical_and_nothing_changes(remediate_lab: Lab) -> None:
    """KMS PutSecretValue on rolegate-record-key (mallory given the KMS right for it): reported, nothing changed."""
    lab = remediate_lab
    record_keyring(lab.emulator, lab.root)
    lab.custom_policy("mallory-kms", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "kms:PutSecretValue", "Resource": "*"}]})
    lab.ram().attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        user_name="mallory", policy_type="Custom", policy_name="mallory-kms"))
    request = kms_models.PutSecretValueRequest(secret_name=DEFAULT_SECRET_NAME, version_id="mallory-1",
                                               secret_data="a key mallory knows")
    event = lab.capture(lambda: kms_client(lab.emulator, lab.mallory).put_secret_value(request), "PutSecretValue")
    assert event["data"]["serviceName"] == "Kms"
    before = lab.state()

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert decision["resource"] == f"secret/{DEFAULT_SECRET_NAME}" and decision["action"] is None
    assert decision["caller"] == "ram-user:mallory" and decision["event_name"] == "PutSecretValue"
    assert reply["actions"] == 0 and lab.state() == before


def test_a_function_deleted_by_mallory_is_reported(remediate_lab: Lab) -> None:
    """FC 3.0 DeleteFunction of rolegate-remediate, from the emulator's feed: reported at level critical."""
    lab = remediate_lab
    lab.custom_policy("mallory-fc", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "fc:DeleteFunction", "Resource": "*"}]})
    lab.ram().attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        user_name="mallory", policy_type="Custom", policy_name="mallory-fc"))
    headers = {"x-acs-region-id": "cn-hangzhou"}
    fc3_client(lab.emulator, lab.root).create_function_with_options(fc3_models.CreateFunctionRequest(
        body=fc3_models.CreateFunctionInput(function_name="rolegate-remediate", runtime="python3.12",
                                            handler="index.handler")), headers, RuntimeOptions())
    event = lab.capture(lambda: fc3_client(lab.emulator, lab.mallory).delete_function_with_options(
        "rolegate-remediate", headers, RuntimeOptions()), "DeleteFunction")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert decision["resource"] == "function/rolegate-remediate" and decision["caller"] == "ram-user:mallory"


def _record(lab: Lab, service: str, name: str, **params: Any) -> dict[str, Any]:
    """An ActionTrail record in the documented shape, made by mallory, for services the emulator does not run."""
    return {"eventId": f"{name}-0001", "eventVersion": 1, "eventType": "ApiCall", "eventRW": "Write",
            "eventName": name, "serviceName": service, "acsRegion": "cn-hangzhou",
            "eventTime": "2026-03-01T10:00:00Z", "requestParameters": params, "sourceIpAddress": "203.0.113.9",
            "recipientAccountId": lab.account_id,
            "userIdentity": {"type": "ram-user", "accountId": lab.account_id, "userName": "mallory",
                             "principalId": "274180646548292385", "accessKeyId": "LTAI0000000000000000"}}


@pytest.mark.parametrize("service, name, params, resource", [
    ("Actiontrail", "StopLogging", {"Name": "audit-trail"}, "trail/audit-trail"),
    ("Actiontrail", "DeleteTrail", {"Name": "audit-trail"}, "trail/audit-trail"),
    ("EventBridge", "DeleteRule", {"EventBusName": "default", "RuleName": "remediate-actiontrail"},
     "eventbus/default/rule/remediate-actiontrail"),
    ("Fc", "UpdateFunction", {"functionName": "rolegate-onboard"}, "function/rolegate-onboard"),
    ("Kms", "DeleteSecret", {"SecretName": "acs:kms:cn-hangzhou:1234567890123456:secret/rolegate-webhook-secret"},
     "secret/rolegate-webhook-secret"),
])
def test_blinding_and_rewriting_calls_are_reported_only(remediate_lab: Lab, service: str, name: str,
                                                        params: dict[str, Any], resource: str) -> None:
    """Trails, default-bus rules, functions and secrets: critical reports, no cloud change."""
    lab = remediate_lab
    before = lab.state()

    reply = lab.invoke(_record(lab, service, name, **params))

    decision = only(reply, RULE)
    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert decision["resource"] == resource and decision["caller"] == "ram-user:mallory"
    assert reply["actions"] == 0 and lab.state() == before


def test_other_resources_are_not_self_guards_business(remediate_lab: Lab) -> None:
    """Someone else's function, secret or bus, and a role outside fc-rolegate-*: no self-guard decision."""
    lab = remediate_lab
    lab.role("AppRole", service_trust(), policies=(("System", "AliyunOSSReadOnlyAccess"),))
    events = [lab.detach_from_role("AppRole", "AliyunOSSReadOnlyAccess"),
              _record(lab, "Fc", "UpdateFunction", functionName="billing"),
              _record(lab, "Kms", "PutSecretValue", SecretName="db-password"),
              _record(lab, "EventBridge", "DeleteRule", EventBusName="orders", RuleName="r")]

    reply = lab.invoke(events)

    assert outcomes(reply, RULE) == []


def test_a_role_merely_named_like_a_function_role_is_reported_never_changed(remediate_lab: Lab) -> None:
    """fc-rolegate-extra is not a function of the deployment: an extra policy on it is reported, not detached."""
    lab = remediate_lab
    lab.role("fc-rolegate-extra", ROLES_SH_TRUST)
    event = lab.attach_to_role("fc-rolegate-extra", "AliyunOSSReadOnlyAccess")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert lab.role_policies("fc-rolegate-extra") == ["System:AliyunOSSReadOnlyAccess"]


def test_dry_run_reports_what_it_would_put_back(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_DRY_RUN_RULES=self-guard: would_remediate, the function role left as mallory left it."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN_RULES", RULE)
    role = deployed(lab, "onboard")
    event = lab.detach_from_role(role, role, "Custom")
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "would_remediate" and decision["dry_run"] is True
    assert lab.state() == before


def test_another_namespace_prefix_moves_the_guard(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_PROTECTED_PREFIX=acme: fc-acme-onboard is the function role now (its trust is put back: UpdateRole
    is held on every role), and fc-rolegate-* is nobody's business any more."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_PROTECTED_PREFIX", "acme")
    lab.role("fc-acme-onboard", ROLES_SH_TRUST)
    lab.role("fc-rolegate-onboard", ROLES_SH_TRUST)
    moved = lab.update_trust("fc-acme-onboard", account_trust(lab.partner_id))
    old = lab.attach_to_role("fc-rolegate-onboard", "AliyunOSSReadOnlyAccess")

    reply = lab.invoke([moved, old])

    decisions = [d for d in reply["decisions"] if d["rule"] == RULE]
    assert [(d["resource"], d["outcome"]) for d in decisions] == [("role/fc-acme-onboard", "remediated")]
    assert lab.trust("fc-acme-onboard") == FC_TRUST
    assert lab.role_policies("fc-rolegate-onboard") == ["System:AliyunOSSReadOnlyAccess"]


@pytest.mark.parametrize("text, fc_only", [
    (ROLES_SH_TRUST, True),
    (json.dumps(FC_TRUST), True),
    ('{"Version":"1","Statement":{"Effect":"Allow","Action":["sts:AssumeRole"],'
     '"Principal":{"Service":"fc.aliyuncs.com"}}}', True),
    (service_trust("ecs.aliyuncs.com"), False),
    (json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fc.aliyuncs.com"]}},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ["acs:ram::1234567890123456:root"]}}]}),
     False),
    (json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fc.aliyuncs.com"]},
         "Condition": {"StringEquals": {"fc:SourceAccount": "1"}}}]}), False),
    ("not json", False),
])
def test_what_counts_as_the_function_compute_trust(text: str, fc_only: bool) -> None:
    assert is_fc_only_trust(text) is fc_only
