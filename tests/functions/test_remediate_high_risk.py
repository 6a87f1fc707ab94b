"""Rule high-risk-policy: a high-risk policy given to a role, user or group is taken back."""
from __future__ import annotations

import json

import pytest
from alibabacloud_ram20150501 import models as ram_models

from tests.functions.remediate_support import ADMIN_DOC, READ_DOC, Lab, fixture_event, only, outcomes

RULE = "high-risk-policy"


def test_administrator_access_on_a_role_is_detached_and_a_second_delivery_changes_nothing(remediate_lab: Lab) -> None:
    """The real AttachPolicyToRole event gets the policy detached; delivering it again finds nothing to do."""
    lab = remediate_lab
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.attach_to_role("AppRole", "AdministratorAccess")

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "detach_policy"
    assert decision["resource"] == "role/AppRole" and decision["event_id"] == event["data"]["eventId"]
    assert decision["caller"] == "ram-user:mallory" and decision["details"]["policy"] == "AdministratorAccess"
    assert lab.role_policies("AppRole") == ["System:AliyunOSSReadOnlyAccess"]
    assert reply["ok"] and reply["events"] == 1 and reply["actions"] == 1

    before = lab.state()
    again = lab.invoke(event)
    assert outcomes(again, RULE) == ["already_compliant"] and again["actions"] == 0
    assert lab.state() == before


def test_ram_full_access_on_a_user_is_detached(remediate_lab: Lab) -> None:
    """AttachPolicyToUser of AliyunRAMFullAccess: the user loses it, keeps everything else."""
    lab = remediate_lab
    lab.user("bob")
    lab.attach_to_user("bob", "AliyunECSReadOnlyAccess")
    event = lab.attach_to_user("bob", "AliyunRAMFullAccess")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["resource"] == "user/bob"
    assert lab.user_policies("bob") == ["System:AliyunECSReadOnlyAccess"]


def test_custom_policy_rated_admin_equivalent_is_detached_and_a_harmless_one_is_ignored(remediate_lab: Lab) -> None:
    """Custom policies are judged by their document (GetPolicy + linter), not by name."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.custom_policy("everything", ADMIN_DOC)
    lab.custom_policy("read-objects", READ_DOC)
    admin_event = lab.attach_to_role("AppRole", "everything", "Custom")
    read_event = lab.attach_to_role("AppRole", "read-objects", "Custom")

    reply = lab.invoke([admin_event, read_event])

    assert outcomes(reply) == ["remediated"]
    assert "allows every action" in reply["decisions"][0]["details"]["risk"]
    assert reply["ignored"] == 1 and "not high-risk" in reply["ignored_events"][0]["reason"]
    assert lab.role_policies("AppRole") == ["Custom:read-objects"]


def test_configured_high_risk_policies_extend_the_defaults(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_HIGH_RISK_POLICIES adds names; the two defaults stay high-risk."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_HIGH_RISK_POLICIES", "AliyunECSFullAccess")
    lab.role("AppRole")
    ecs_event = lab.attach_to_role("AppRole", "AliyunECSFullAccess")
    admin_event = lab.attach_to_role("AppRole", "AdministratorAccess")

    reply = lab.invoke([ecs_event, admin_event])

    assert outcomes(reply) == ["remediated", "remediated"]
    assert lab.role_policies("AppRole") == []


def test_exempt_principals_keep_their_policy(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder on ROLEGATE_EXEMPT_PRINCIPALS (any case) is reported exempt and left alone."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", "role/opsbreakglass, user/admin")
    lab.role("OpsBreakGlass")
    event = lab.attach_to_role("OpsBreakGlass", "AdministratorAccess")
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "exempt" and decision["action"] is None
    assert lab.state() == before


@pytest.mark.parametrize("variable, value", [("ROLEGATE_REMEDIATE_DRY_RUN", "true"),
                                             ("ROLEGATE_REMEDIATE_DRY_RUN_RULES", "high-risk-policy")])
def test_dry_run_decides_but_changes_nothing(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch, variable: str,
                                             value: str) -> None:
    """Global and per-rule dry-run: the decision says would_remediate, RAM is untouched."""
    lab = remediate_lab
    monkeypatch.setenv(variable, value)
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")
    before = lab.state()

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "would_remediate" and decision["dry_run"] is True
    assert decision["action"] == "detach_policy"
    assert lab.state() == before and reply["actions"] == 0


def test_a_disabled_rule_is_not_evaluated(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_DISABLED_RULES switches a rule off: the event is ignored with the reason."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DISABLED_RULES", "high-risk-policy,grant-tamper,self-guard")
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and reply["ignored"] == 1
    assert "disabled" in reply["ignored_events"][0]["reason"]
    assert lab.role_policies("AppRole") == ["System:AdministratorAccess"]


def test_custom_policy_turned_admin_by_a_new_version_is_taken_from_every_holder(remediate_lab: Lab) -> None:
    """CreatePolicyVersion (as default) making a held policy admin-equivalent: detached from role and user."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.user("bob")
    lab.custom_policy("app-policy", READ_DOC)
    lab.attach_to_role("AppRole", "app-policy", "Custom")
    lab.attach_to_user("bob", "app-policy", "Custom")
    request = ram_models.CreatePolicyVersionRequest(policy_name="app-policy", policy_document=json.dumps(ADMIN_DOC),
                                                    set_as_default=True)
    event = lab.capture(lambda: lab.ram(lab.mallory).create_policy_version(request), "CreatePolicyVersion")

    reply = lab.invoke(event)

    assert sorted(d["resource"] for d in reply["decisions"]) == ["role/AppRole", "user/bob"]
    assert outcomes(reply) == ["remediated", "remediated"]
    assert lab.role_policies("AppRole") == [] and lab.user_policies("bob") == []


def test_hand_written_event_in_the_documented_shape(remediate_lab: Lab) -> None:
    """The fixture event (AttachPolicyToUser, Ims-style RAM record) is routed and acted on like a real one."""
    lab = remediate_lab
    lab.user("carol")
    lab.ram().attach_policy_to_user(ram_models.AttachPolicyToUserRequest(
        user_name="carol", policy_type="System", policy_name="AdministratorAccess"))

    decision = only(lab.invoke(fixture_event("high_risk_policy", owner=lab.account_id, user="carol")), RULE)

    assert decision["outcome"] == "remediated" and decision["resource"] == "user/carol"
    assert lab.user_policies("carol") == []


def test_administrator_access_on_a_group_is_detached_from_the_real_event(remediate_lab: Lab) -> None:
    """The AttachPolicyToGroup event the trail recorded gets the policy taken from the group, nothing else."""
    lab = remediate_lab
    lab.group("ops", policies=(("System", "AliyunECSReadOnlyAccess"),))
    event = lab.attach_to_group("ops", "AdministratorAccess")
    assert event["data"]["serviceName"] == "Ram" and event["data"]["requestParameters"]["GroupName"] == "ops"

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "detach_policy"
    assert decision["resource"] == "group/ops" and decision["caller"] == "ram-user:mallory"
    assert lab.group_policies("ops") == ["System:AliyunECSReadOnlyAccess"]
    before = lab.state()
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"] and lab.state() == before


def test_custom_policy_turned_admin_is_taken_from_a_group_holder(remediate_lab: Lab) -> None:
    """A group holding a custom policy that a new default version makes admin-equivalent loses it."""
    lab = remediate_lab
    lab.custom_policy("team-policy", READ_DOC)
    lab.group("devs", policies=(("Custom", "team-policy"),))
    request = ram_models.CreatePolicyVersionRequest(policy_name="team-policy", policy_document=json.dumps(ADMIN_DOC),
                                                    set_as_default=True)
    event = lab.capture(lambda: lab.ram(lab.mallory).create_policy_version(request), "CreatePolicyVersion")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["resource"] == "group/devs"
    assert lab.group_policies("devs") == []


def test_group_holder_is_routed_and_exemption_needs_no_cloud_call(remediate_lab: Lab,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """AttachPolicyToGroup is watched; an exempt group is decided on configuration alone."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", "group/Admins")
    event = fixture_event("high_risk_policy", owner=lab.account_id, user="unused")
    event["data"]["eventName"] = "AttachPolicyToGroup"
    event["data"]["requestParameters"] = {"GroupName": "Admins", "PolicyType": "System",
                                          "PolicyName": "AdministratorAccess"}

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "exempt" and decision["resource"] == "group/Admins"


def test_batch_is_judged_on_live_state_not_on_what_each_event_says(remediate_lab: Lab) -> None:
    """Attach of a then-harmless policy and its later admin version, delivered together: the attach event already
    finds the policy admin-equivalent and detaches it; the version event then finds no holder left."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.custom_policy("app-policy", READ_DOC)
    attach = lab.attach_to_role("AppRole", "app-policy", "Custom")
    request = ram_models.CreatePolicyVersionRequest(policy_name="app-policy", policy_document=json.dumps(ADMIN_DOC),
                                                    set_as_default=True)
    version = lab.capture(lambda: lab.ram(lab.mallory).create_policy_version(request), "CreatePolicyVersion")

    reply = lab.invoke([attach, version])

    assert outcomes(reply, RULE) == ["remediated", "already_compliant"]
    assert reply["decisions"][1]["resource"] == "policy/app-policy" and lab.role_policies("AppRole") == []


@pytest.mark.parametrize("document", [
    pytest.param({"Version": "1", "Statement": [{"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}]},
                 id="notaction-on-star"),
    pytest.param({"Version": "1", "Statement": [{"Effect": "Allow", "NotAction": ["ram:*", "ims:*"],
                                                 "Resource": "*"}]}, id="power-user-notaction"),
    pytest.param({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "?*:?*", "Resource": "acs:?*:*:*:*"}]},
                 id="question-star"),
    pytest.param({"Version": "1", "Statement": {"Effect": "Allow", "Action": ["oss:GetObject", "*:*"],
                                                "Resource": ["acs:*"]}}, id="object-statement"),
])
def test_admin_equivalent_custom_policy_however_spelt_is_taken_off(remediate_lab: Lab, document: dict) -> None:
    """Issue 13: the insider's spellings of "everything" are rated like Action * on *, and detached."""
    lab = remediate_lab
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    lab.custom_policy("sneaky", document)
    event = lab.attach_to_role("AppRole", "sneaky", "Custom")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and "RG120" in decision["details"]["risk"]
    assert lab.role_policies("AppRole") == ["System:AliyunOSSReadOnlyAccess"]


def test_a_broad_but_not_critical_policy_is_left_to_the_grant_checks(remediate_lab: Lab) -> None:
    """Remediation takes back what the judgment rates critical; ECS full access is high, so it stays (reported
    nowhere by this rule), as before the judgment was shared."""
    lab = remediate_lab
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AliyunECSFullAccess")

    reply = lab.invoke(event)

    assert outcomes(reply, RULE) == [] and lab.role_policies("AppRole") == ["System:AliyunECSFullAccess"]


def test_a_policy_named_in_another_case_is_still_judged_and_detached(remediate_lab: Lab) -> None:
    """RAM finds policies whatever the case of the name given (RAM-ROLE-NAME-CASE): so does the judgment."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.custom_policy("Everything", ADMIN_DOC)
    events = [lab.attach_to_role("AppRole", "administratoraccess"),
              lab.attach_to_role("AppRole", "ALIYUNRAMFULLACCESS"),
              lab.attach_to_role("AppRole", "everything", "Custom")]
    assert sorted(e["data"]["requestParameters"]["PolicyName"] for e in events) == [
        "ALIYUNRAMFULLACCESS", "administratoraccess", "everything"]

    reply = lab.invoke(events)

    assert outcomes(reply, RULE) == ["remediated"] * 3
    assert lab.role_policies("AppRole") == []
