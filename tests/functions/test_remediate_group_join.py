"""Rule high-risk-policy, group side: a user who joins a group holding a high-risk policy is taken out of it."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from tests.functions.remediate_support import ADMIN_DOC, Lab, only, outcomes

RULE = "high-risk-policy"


def _admins(lab: Lab, *users: str) -> None:
    """Group ``admins`` holding AdministratorAccess, and the users named."""
    lab.group("admins", policies=(("System", "AdministratorAccess"),))
    for user in users:
        lab.user(user)


def test_a_user_joining_an_admin_group_is_removed_and_a_second_delivery_changes_nothing(remediate_lab: Lab) -> None:
    """The AddUserToGroup event the trail recorded gets the user out of the group; the group keeps its policy."""
    lab = remediate_lab
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    data = event["data"]
    assert data["serviceName"] in ("Ram", "Ims") and data["requestParameters"]["UserName"] == "bob"
    assert data["requestParameters"]["GroupName"] == "admins" and lab.group_members("admins") == ["bob"]

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "remove_from_group"
    assert decision["resource"] == "user/bob" and decision["caller"] == "ram-user:mallory"
    assert decision["details"]["group"] == "admins"
    assert [p["policy"] for p in decision["details"]["high_risk"]] == ["AdministratorAccess"]
    assert lab.group_members("admins") == [] and lab.group_policies("admins") == ["System:AdministratorAccess"]
    assert reply["ok"] and reply["actions"] == 1

    before = lab.state()
    again = lab.invoke(event)
    assert outcomes(again, RULE) == ["already_compliant"] and again["ok"] and again["actions"] == 0
    assert lab.state() == before


def test_the_groups_policies_are_read_back_not_taken_from_the_event(remediate_lab: Lab) -> None:
    """Judged on the group as RAM lists it at delivery: a group made admin-equivalent after the join (a custom
    policy) loses the member; one whose admin policy was taken away before delivery keeps it."""
    lab = remediate_lab
    lab.user("bob")
    lab.user("carol")
    lab.group("devs")
    _admins(lab)
    lab.custom_policy("everything", ADMIN_DOC)
    joined_devs = lab.add_to_group("bob", "devs")
    joined_admins = lab.add_to_group("carol", "admins")
    lab.attach_to_group("devs", "everything", "Custom")
    lab.ram().detach_policy_from_group(ram_models.DetachPolicyFromGroupRequest(
        group_name="admins", policy_type="System", policy_name="AdministratorAccess"))

    reply = lab.invoke([joined_devs, joined_admins])

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["resource"] == "user/bob"
    assert "allows every action" in decision["details"]["high_risk"][0]["risk"]
    assert lab.group_members("devs") == [] and lab.group_members("admins") == ["carol"]
    assert reply["ignored"] == 1 and "holds no high-risk policy" in reply["ignored_events"][0]["reason"]


def test_a_group_without_a_high_risk_policy_is_left_alone(remediate_lab: Lab) -> None:
    """Joining a group that holds only read-only access is no break: the event is ignored with the reason."""
    lab = remediate_lab
    lab.user("bob")
    lab.group("readers", policies=(("System", "AliyunECSReadOnlyAccess"),))
    event = lab.add_to_group("bob", "readers")
    before = lab.state()

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and reply["ignored"] == 1 and reply["ok"]
    assert "group readers holds no high-risk policy" in reply["ignored_events"][0]["reason"]
    assert lab.state() == before


@pytest.mark.parametrize("exempt, resource", [("user/BOB", "user/bob"), ("group/Admins", "user/bob")])
def test_an_exempt_user_or_group_keeps_the_membership(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                                      exempt: str, resource: str) -> None:
    """A user or a group on ROLEGATE_EXEMPT_PRINCIPALS (any case): reported exempt, nothing read or changed."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", exempt)
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "exempt" and decision["action"] is None and decision["resource"] == resource
    assert lab.state() == before


def test_a_join_made_by_rolegates_own_identity_is_ignored(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A principal on ROLEGATE_SELF_PRINCIPALS is Rolegate itself: its changes are never undone."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_SELF_PRINCIPALS", "user/mallory")
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and reply["ignored_events"][0]["reason"] == "made by this function's own identity"
    assert lab.group_members("admins") == ["bob"]


@pytest.mark.parametrize("undo", ["removed", "deleted"])
def test_a_user_already_out_of_the_group_is_no_error(remediate_lab: Lab, undo: str) -> None:
    """The user left the group (or no longer exists) before delivery: already compliant, nothing changed."""
    lab = remediate_lab
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    lab.ram().remove_user_from_group(ram_models.RemoveUserFromGroupRequest(user_name="bob", group_name="admins"))
    if undo == "deleted":
        lab.ram().delete_user(ram_models.DeleteUserRequest(user_name="bob"))
    before = lab.state()

    reply = lab.invoke(event)

    assert outcomes(reply, RULE) == ["already_compliant"] and reply["ok"] and not reply["errors"]
    assert reply["actions"] == 0 and lab.state() == before


@pytest.mark.parametrize("dry_run", [{"ROLEGATE_REMEDIATE_DRY_RUN": "true"},
                                     {"ROLEGATE_REMEDIATE_DRY_RUN_RULES": RULE}], ids=["global", "rule"])
def test_a_dry_run_reports_the_removal_and_leaves_the_user_in(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                                              dry_run: dict[str, str]) -> None:
    """Global and per-rule dry-run: would_remediate, the user stays in the group."""
    lab = remediate_lab
    for variable, value in dry_run.items():
        monkeypatch.setenv(variable, value)
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    before = lab.state()

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "would_remediate" and decision["dry_run"] is True
    assert decision["action"] == "remove_from_group" and reply["actions"] == 0 and lab.state() == before


def test_the_action_cap_holds_back_further_removals(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_MAX_ACTIONS=1: the first user is removed, the second is reported capped."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_MAX_ACTIONS", "1")
    _admins(lab, "bob", "carol")
    events = [lab.add_to_group("bob", "admins"), lab.add_to_group("carol", "admins")]

    reply = lab.invoke(events)

    assert outcomes(reply, RULE) == ["remediated", "capped"] and reply["capped"] and reply["actions"] == 1
    assert lab.group_members("admins") == ["carol"]


def test_the_removal_is_one_decision_log_line(remediate_lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """What was decided, for whom and why is logged as remediation_decision."""
    lab = remediate_lab
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    capsys.readouterr()

    lab.invoke(event)

    lines: list[dict[str, Any]] = [json.loads(line) for line in capsys.readouterr().out.splitlines()
                                   if line.startswith("{")]
    found = [line for line in lines if line.get("event") == "remediation_decision"]
    assert len(found) == 1 and found[0]["rule"] == RULE and found[0]["action"] == "remove_from_group"
    assert found[0]["outcome"] == "remediated" and found[0]["resource"] == "user/bob"
    assert found[0]["details"]["group"] == "admins" and found[0]["level"] == "warning"


def test_a_join_naming_the_user_by_its_logon_name_is_judged_the_same(remediate_lab: Lab) -> None:
    """An IMS-style record naming the user as <name>@<alias>.onaliyun.com (UserPrincipalName): the same removal."""
    lab = remediate_lab
    _admins(lab, "bob")
    event = lab.add_to_group("bob", "admins")
    parameters = event["data"]["requestParameters"]
    parameters["UserPrincipalName"] = f"{parameters.pop('UserName')}@example.onaliyun.com"

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["resource"] == "user/bob"
    assert lab.group_members("admins") == []
