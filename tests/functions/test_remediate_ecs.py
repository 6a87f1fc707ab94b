"""Rule instance-role: ECS instances may carry only allowed, low-risk RAM roles."""
from __future__ import annotations

import json

import pytest
from alibabacloud_ecs20140526 import models as ecs_models

from tests.functions.remediate_support import Lab, fixture_event, only, outcomes

RULE = "instance-role"


def test_role_off_the_allow_list_is_detached_and_redelivery_is_already_compliant(
        remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """AttachInstanceRamRole of a role not on ROLEGATE_ALLOWED_INSTANCE_ROLES: DetachInstanceRamRole."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_ALLOWED_INSTANCE_ROLES", "WebRole")
    lab.role("BatchRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    instance = lab.instance()
    event = lab.attach_instance_role(instance, "BatchRole")

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "detach_instance_role"
    assert decision["resource"] == f"instance/cn-hangzhou/{instance}"
    assert decision["details"]["problems"] == ["not on ROLEGATE_ALLOWED_INSTANCE_ROLES"]
    assert lab.instance_role(instance) is None
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]


def test_allowed_low_risk_role_stays(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """An allowed role holding no high-risk policy is compliant (the list compares without case)."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_ALLOWED_INSTANCE_ROLES", "webrole")
    lab.role("WebRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    instance = lab.instance()
    event = lab.attach_instance_role(instance, "WebRole")

    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]
    assert lab.instance_role(instance) == "WebRole"


def test_role_holding_a_high_risk_policy_is_detached_even_without_an_allow_list(remediate_lab: Lab) -> None:
    """No allow-list configured: only the high-risk check applies, and AdministratorAccess fails it."""
    lab = remediate_lab
    lab.role("AdminRole", policies=(("System", "AdministratorAccess"),))
    lab.role("PlainRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    risky, plain = lab.instance(), lab.instance()
    events = [lab.attach_instance_role(risky, "AdminRole"), lab.attach_instance_role(plain, "PlainRole")]

    reply = lab.invoke(events)

    assert outcomes(reply, RULE) == ["remediated", "already_compliant"]
    assert "AdministratorAccess" in reply["decisions"][0]["details"]["problems"][0]
    assert lab.instance_role(risky) is None and lab.instance_role(plain) == "PlainRole"


def test_hand_written_event_in_another_region_and_dry_run(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture event names its region; dry-run says what would be detached and leaves the role attached."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_ALLOWED_INSTANCE_ROLES", "WebRole")
    lab.role("BatchRole")
    instance = lab.instance("cn-shanghai")
    lab.attach_instance_role(instance, "BatchRole", region="cn-shanghai")
    event = fixture_event("instance_role", owner=lab.account_id, region="cn-shanghai", role="BatchRole",
                          instance=instance)

    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN", "true")
    assert outcomes(lab.invoke(event), RULE) == ["would_remediate"]
    assert lab.instance_role(instance, "cn-shanghai") == "BatchRole"

    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN", "false")
    assert outcomes(lab.invoke(event), RULE) == ["remediated"]
    assert lab.instance_role(instance, "cn-shanghai") is None


@pytest.mark.parametrize("name", ["RunInstances", "CreateInstance"])
def test_an_instance_launched_with_a_high_risk_role_loses_it(remediate_lab: Lab, name: str) -> None:
    """RunInstances and CreateInstance hand a role to an instance through ``RamRoleName``, no attach call made."""
    lab = remediate_lab
    lab.role("LaunchedAdmin", policies=(("System", "AdministratorAccess"),))
    lab.role("LaunchedReader", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    risky, fine = lab.instance(), lab.instance()
    lab.attach_instance_role(risky, "LaunchedAdmin")
    lab.attach_instance_role(fine, "LaunchedReader")
    event = fixture_event("launch_with_role", owner=lab.account_id, region="cn-hangzhou", role="LaunchedAdmin",
                          instance=risky)
    event["data"]["eventName"] = name

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated", reply
    assert decision["resource"] == f"instance/cn-hangzhou/{risky}"
    assert lab.instance_role(risky) is None and lab.instance_role(fine) == "LaunchedReader"
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]  # re-read: nothing holds the role now


def test_a_launch_without_a_role_changes_nothing(remediate_lab: Lab) -> None:
    """The instance a launch named holds no role: compliant; a record naming neither role nor instance: ignored."""
    lab = remediate_lab
    plain = lab.instance()
    event = fixture_event("launch_with_role", owner=lab.account_id, region="cn-hangzhou", role="-",
                          instance=plain)
    del event["data"]["requestParameters"]["RamRoleName"]
    bare = json.loads(json.dumps(event))
    del bare["data"]["referencedResources"]

    reply = lab.invoke([event, bare])

    assert outcomes(reply, RULE) == ["already_compliant"] and reply["actions"] == 0
    assert "neither a role nor an instance" in reply["ignored_events"][0]["reason"]


def test_one_attach_to_a_hundred_instances_is_undone_on_every_one(remediate_lab: Lab) -> None:
    """AttachInstanceRamRole takes up to 100 instances: undoing the one call takes one unit of the action budget."""
    lab = remediate_lab
    lab.role("FleetAdmin", policies=(("System", "AdministratorAccess"),))
    fleet = [lab.instance() for _ in range(100)]
    request = ecs_models.AttachInstanceRamRoleRequest(region_id="cn-hangzhou", ram_role_name="FleetAdmin",
                                                      instance_ids=json.dumps(fleet))
    event = lab.capture(lambda: lab.ecs().attach_instance_ram_role(request), "AttachInstanceRamRole")

    reply = lab.invoke(event)

    assert outcomes(reply, RULE) == ["remediated"] * 100, reply["capped"]
    assert reply["actions"] == 1 and not reply["capped"]
    assert [lab.instance_role(i) for i in fleet] == [None] * 100


def test_an_instance_launched_from_a_template_naming_a_high_risk_role_loses_it(remediate_lab: Lab) -> None:
    """A launch template carries the role: the RunInstances record names no RamRoleName, only the instance."""
    lab = remediate_lab
    lab.role("TemplateAdmin", policies=(("System", "AdministratorAccess"),))
    launched = lab.instance()
    lab.attach_instance_role(launched, "TemplateAdmin")
    event = fixture_event("launch_with_role", owner=lab.account_id, region="cn-hangzhou", role="-",
                          instance=launched)
    params = event["data"]["requestParameters"]
    del params["RamRoleName"]
    params["LaunchTemplateId"] = "lt-bp1example0000001"

    reply = lab.invoke(event)

    assert outcomes(reply, RULE) == ["remediated"] and lab.instance_role(launched) is None
