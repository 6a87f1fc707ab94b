"""ECS instance RAM roles in the emulator, through the ECS SDK."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator import EmulatorServer
from tests.emulator.helpers import (Creds, account_trust, create_instance, create_role, create_user_with_policy,
                                    ecs_client, service_trust)

REGION = "cn-hangzhou"


@pytest.fixture
def root(emulator: EmulatorServer) -> Creds:
    creds = emulator.create_account("ecs-owner")
    create_role(emulator, creds, "EcsWorker", service_trust())
    create_role(emulator, creds, "EcsOther", service_trust())
    return creds


def attach(emulator: EmulatorServer, creds: Creds, role: str, ids: list[str], **extra: Any) -> Any:
    request = ecs.AttachInstanceRamRoleRequest(region_id=extra.pop("region", REGION), ram_role_name=role,
                                               instance_ids=json.dumps(ids), **extra)
    return ecs_client(emulator, creds).attach_instance_ram_role(request).body


def detach(emulator: EmulatorServer, creds: Creds, ids: list[str], role: str | None = None) -> Any:
    request = ecs.DetachInstanceRamRoleRequest(region_id=REGION, ram_role_name=role, instance_ids=json.dumps(ids))
    return ecs_client(emulator, creds).detach_instance_ram_role(request).body


def describe(emulator: EmulatorServer, creds: Creds, **query: Any) -> Any:
    if "instance_ids" in query:
        query["instance_ids"] = json.dumps(query["instance_ids"])
    request = ecs.DescribeInstanceRamRoleRequest(region_id=REGION, **query)
    return ecs_client(emulator, creds).describe_instance_ram_role(request).body


def roles_of(body: Any) -> dict[str, str]:
    return {s.instance_id: s.ram_role_name for s in body.instance_ram_role_sets.instance_ram_role_set}


def rows(body: Any) -> dict[str, tuple[str, bool]]:
    results = body.attach_instance_ram_role_results.attach_instance_ram_role_result \
        if hasattr(body, "attach_instance_ram_role_results") else \
        body.detach_instance_ram_role_results.detach_instance_ram_role_result
    return {r.instance_id: (r.code, r.success) for r in results}


def refused(call: Any) -> ClientException:
    with pytest.raises(ClientException) as err:
        call()
    return err.value


# ------------------------------------------------------------- attach/detach
def test_attach_reports_success_rows_and_describe_shows_the_role(emulator: EmulatorServer, root: Creds) -> None:
    """Attaching a role to VPC instances succeeds per instance and Describe reports it."""
    ids = [create_instance(emulator, root["account_id"]) for _ in range(2)]
    body = attach(emulator, root, "EcsWorker", ids, policy='{"Version":"1","Statement":[]}')
    assert (body.ram_role_name, body.total_count, body.fail_count) == ("EcsWorker", 2, 0)
    result = body.attach_instance_ram_role_results.attach_instance_ram_role_result[0]
    assert (result.code, result.message, result.success) == ("200", "success", True)
    assert roles_of(describe(emulator, root, instance_ids=ids)) == {i: "EcsWorker" for i in ids}


def test_role_name_is_matched_case_insensitively(emulator: EmulatorServer, root: Creds) -> None:
    """RAM role names are case-insensitive, and the stored spelling is what ECS reports."""
    instance = create_instance(emulator, root["account_id"])
    assert attach(emulator, root, "ecsworker", [instance]).ram_role_name == "EcsWorker"


def test_detach_reports_the_detached_role_and_frees_the_instance(emulator: EmulatorServer, root: Creds) -> None:
    """Detach returns each instance's former role; the instance can then take another role."""
    instance = create_instance(emulator, root["account_id"])
    attach(emulator, root, "EcsWorker", [instance])
    body = detach(emulator, root, [instance])
    row = body.detach_instance_ram_role_results.detach_instance_ram_role_result[0]
    assert (row.code, row.success, body.fail_count) == ("200", True, 0)
    assert [(s.instance_id, s.ram_role_name) for s in row.instance_ram_role_sets.instance_ram_role_set] == \
        [(instance, "EcsWorker")]
    assert roles_of(describe(emulator, root, instance_ids=[instance])) == {}
    assert attach(emulator, root, "EcsOther", [instance]).fail_count == 0


def test_detach_of_a_role_that_is_not_attached_fails(emulator: EmulatorServer, root: Creds) -> None:
    """Detaching from a bare instance, or naming a different role than the attached one, is refused."""
    instance = create_instance(emulator, root["account_id"])
    assert refused(lambda: detach(emulator, root, [instance])).code == "InstanceRamRole.NotAttached"
    attach(emulator, root, "EcsWorker", [instance])
    assert refused(lambda: detach(emulator, root, [instance], role="EcsOther")).code == "InstanceRamRole.NotAttached"
    assert roles_of(describe(emulator, root, instance_ids=[instance])) == {instance: "EcsWorker"}


def test_one_role_per_instance(emulator: EmulatorServer, root: Creds) -> None:
    """An instance holding a role refuses a second (or the same) one; other instances in the call still succeed."""
    busy, free = create_instance(emulator, root["account_id"]), create_instance(emulator, root["account_id"])
    attach(emulator, root, "EcsWorker", [busy])
    err = refused(lambda: attach(emulator, root, "EcsOther", [busy]))
    assert (err.code, err.status_code) == ("InstanceRamRole.AlreadyAttached", 409)
    assert refused(lambda: attach(emulator, root, "EcsWorker", [busy])).code == "InstanceRamRole.AlreadyAttached"
    body = attach(emulator, root, "EcsOther", [busy, free])
    assert rows(body) == {busy: ("InstanceRamRole.AlreadyAttached", False), free: ("200", True)}
    assert (body.total_count, body.fail_count) == (2, 1)
    assert roles_of(describe(emulator, root, instance_ids=[busy, free])) == {busy: "EcsWorker", free: "EcsOther"}


def test_unknown_instances_fail_per_row_and_alone_fail_the_call(emulator: EmulatorServer, root: Creds) -> None:
    """An unknown id is a failed row next to good ones, and InvalidInstanceId.NotFound (404) on its own."""
    good = create_instance(emulator, root["account_id"])
    elsewhere = create_instance(emulator, root["account_id"], region="cn-beijing")
    body = attach(emulator, root, "EcsWorker", [good, "i-missing"])
    assert rows(body) == {good: ("200", True), "i-missing": ("InvalidInstanceId.NotFound", False)}
    err = refused(lambda: attach(emulator, root, "EcsOther", ["i-missing", elsewhere]))
    assert (err.code, err.status_code) == ("InvalidInstanceId.NotFound", 404)
    stranger = emulator.create_account("stranger")
    create_role(emulator, stranger, "EcsWorker", service_trust())
    assert refused(lambda: attach(emulator, stranger, "EcsWorker", [good])).code == "InvalidInstanceId.NotFound"


def test_classic_network_instances_cannot_take_a_role(emulator: EmulatorServer, root: Creds) -> None:
    """A classic-network instance is refused with InvalidNetworkType.MismatchRamRole (403)."""
    classic = create_instance(emulator, root["account_id"], network_type="classic")
    err = refused(lambda: attach(emulator, root, "EcsWorker", [classic]))
    assert (err.code, err.status_code) == ("InvalidNetworkType.MismatchRamRole", 403)


def test_missing_role_is_refused(emulator: EmulatorServer, root: Creds) -> None:
    """A role that does not exist in the caller's account is InvalidRamRole.NotFound (404)."""
    instance = create_instance(emulator, root["account_id"])
    err = refused(lambda: attach(emulator, root, "NoSuchRole", [instance]))
    assert (err.code, err.status_code) == ("InvalidRamRole.NotFound", 404)
    assert refused(lambda: detach(emulator, root, [instance], role="NoSuchRole")).code == "InvalidRamRole.NotFound"


def test_role_not_trusting_ecs_is_refused(emulator: EmulatorServer, root: Creds) -> None:
    """A role whose trust policy does not admit ecs.aliyuncs.com is InvalidRamRole.NotEcsRole."""
    create_role(emulator, root, "PartnerRole", account_trust(root["account_id"]))
    create_role(emulator, root, "FcRole", service_trust("fc.aliyuncs.com"))
    instance = create_instance(emulator, root["account_id"])
    for role in ("PartnerRole", "FcRole"):
        assert refused(lambda: attach(emulator, root, role, [instance])).code == "InvalidRamRole.NotEcsRole"
    assert roles_of(describe(emulator, root, instance_ids=[instance])) == {}


@pytest.mark.parametrize("ids", ["not json", "[]", json.dumps([f"i-{n}" for n in range(101)]), "[1]"])
def test_malformed_instance_ids_are_refused(emulator: EmulatorServer, root: Creds, ids: str) -> None:
    """InstanceIds must be a JSON array string of 1-100 ids."""
    request = ecs.AttachInstanceRamRoleRequest(region_id=REGION, ram_role_name="EcsWorker", instance_ids=ids)
    err = refused(lambda: ecs_client(emulator, root).attach_instance_ram_role(request))
    assert (err.code, err.status_code) == ("InvalidInstanceIds.Malformed", 400)


def test_oversized_or_invalid_policy_is_refused(emulator: EmulatorServer, root: Creds) -> None:
    """The optional extra Policy must be JSON of at most 1024 characters."""
    instance = create_instance(emulator, root["account_id"])
    for policy in ("{not json", json.dumps({"Version": "1", "x": "y" * 1100})):
        assert refused(lambda: attach(emulator, root, "EcsWorker", [instance], policy=policy)).code == \
            "InvalidParameter.Policy"


# ------------------------------------------------------------------ describe
def test_describe_by_role_name_pages_results(emulator: EmulatorServer, root: Creds) -> None:
    """Describe by RamRoleName lists that role's instances page by page with a total count."""
    ids = [create_instance(emulator, root["account_id"]) for _ in range(5)]
    attach(emulator, root, "EcsWorker", ids[:4])
    attach(emulator, root, "EcsOther", ids[4:])
    seen: dict[str, str] = {}
    for page in (1, 2, 3):
        body = describe(emulator, root, ram_role_name="EcsWorker", page_number=page, page_size=2)
        assert body.total_count == 4 and body.region_id == REGION
        seen.update(roles_of(body))
    assert seen == {i: "EcsWorker" for i in ids[:4]}
    assert roles_of(describe(emulator, root, ram_role_name="EcsWorker", page_number=3, page_size=2)) == {}


def test_describe_requires_a_filter_and_bounds_page_size(emulator: EmulatorServer, root: Creds) -> None:
    """Describe needs InstanceIds or RamRoleName, and PageSize may not exceed 50."""
    assert refused(lambda: describe(emulator, root)).code == "MissingParameter"
    err = refused(lambda: describe(emulator, root, ram_role_name="EcsWorker", page_size=51))
    assert (err.code, err.status_code) == ("InvalidParameter.PageSize", 400)


# ------------------------------------------------------------- authorization
PASS_ROLE_FOR_ECS = {"Effect": "Allow", "Action": "ram:PassRole", "Resource": "*",
                     "Condition": {"StringEquals": {"acs:Service": "ecs.aliyuncs.com"}}}
ATTACH = {"Effect": "Allow", "Action": ["ecs:AttachInstanceRamRole", "ecs:DescribeInstanceRamRole"],
          "Resource": "*"}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


def test_ram_user_needs_pass_role_on_the_role(emulator: EmulatorServer, root: Creds) -> None:
    """Without ram:PassRole a RAM user gets InvalidUser.PassRoleForbidden (403) and nothing is attached."""
    instance = create_instance(emulator, root["account_id"])
    user = create_user_with_policy(emulator, root, "operator", policy(ATTACH))
    err = refused(lambda: attach(emulator, user, "EcsWorker", [instance]))
    assert (err.code, err.status_code) == ("InvalidUser.PassRoleForbidden", 403)
    assert roles_of(describe(emulator, root, instance_ids=[instance])) == {}


def test_pass_role_is_judged_with_the_ecs_service_as_context(emulator: EmulatorServer, root: Creds) -> None:
    """PassRole limited to acs:Service ecs.aliyuncs.com works; limited to another service it does not."""
    instance = create_instance(emulator, root["account_id"])
    wrong = dict(PASS_ROLE_FOR_ECS, Condition={"StringEquals": {"acs:Service": "fc.aliyuncs.com"}})
    fc_only = create_user_with_policy(emulator, root, "fc-deployer", policy(ATTACH, wrong))
    assert refused(lambda: attach(emulator, fc_only, "EcsWorker", [instance])).code == "InvalidUser.PassRoleForbidden"
    scoped = dict(PASS_ROLE_FOR_ECS, Resource=f"acs:ram::{root['account_id']}:role/ecsworker")
    operator = create_user_with_policy(emulator, root, "operator", policy(ATTACH, scoped))
    assert attach(emulator, operator, "EcsWorker", [instance]).fail_count == 0
    other = create_instance(emulator, root["account_id"])
    assert refused(lambda: attach(emulator, operator, "EcsOther", [other])).code == "InvalidUser.PassRoleForbidden"


def test_ram_user_needs_the_ecs_action_on_the_instances(emulator: EmulatorServer, root: Creds) -> None:
    """Without ecs:AttachInstanceRamRole on the instance a RAM user gets NoPermission (403)."""
    instance = create_instance(emulator, root["account_id"])
    other = create_instance(emulator, root["account_id"])
    only_other = {"Effect": "Allow", "Action": "ecs:AttachInstanceRamRole",
                  "Resource": [f"acs:ecs:{REGION}:{root['account_id']}:instance/{other}",
                               f"acs:ram:{REGION}:{root['account_id']}:role/ecsworker"]}
    user = create_user_with_policy(emulator, root, "narrow", policy(only_other, PASS_ROLE_FOR_ECS))
    err = refused(lambda: attach(emulator, user, "EcsWorker", [instance]))
    assert (err.code, err.status_code) == ("NoPermission", 403)
    assert attach(emulator, user, "EcsWorker", [other]).fail_count == 0


def test_pass_role_is_not_checked_when_authorization_is_off(emulator: EmulatorServer, root: Creds) -> None:
    """With authorization switched off, a RAM user without any policy may attach a role."""
    instance = create_instance(emulator, root["account_id"])
    user = create_user_with_policy(emulator, root, "nobody", None)
    emulator.admin("POST", "/_emulator/settings", {"authorization": False})
    assert attach(emulator, user, "EcsWorker", [instance]).fail_count == 0
