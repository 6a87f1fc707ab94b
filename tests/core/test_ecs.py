"""shared.ecs: ECS through the SDK core's generic client sends what the ECS SDK sends and reads its answers."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient

from emulator import EmulatorServer
from shared.ecs import InstanceRoles
from tests.emulator.helpers import Creds, create_instance, create_role, ecs_client, factory, service_trust
from tests.stand_in import StandIn

REGION = "cn-hangzhou"
VOLATILE = {"SignatureNonce", "Timestamp", "Signature"}  # differ between any two requests


@pytest.fixture
def owner(emulator: EmulatorServer) -> Creds:
    creds = emulator.create_account("ecs-generic")
    create_role(emulator, creds, "WebRole", service_trust())
    return creds


def roles(emulator: EmulatorServer, creds: Creds) -> InstanceRoles:
    return InstanceRoles(factory(emulator, creds).ecs(), REGION)


def attach(emulator: EmulatorServer, creds: Creds, ids: list[str], role: str = "WebRole") -> None:
    ecs_client(emulator, creds).attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id=REGION, ram_role_name=role, instance_ids=json.dumps(ids)))


def sent(emulator: EmulatorServer, since: int) -> list[dict[str, Any]]:
    """What reached the emulator after ``since``: action, version, method, path and parameters of each call."""
    calls = emulator.admin("GET", f"/_emulator/calls?since={since}")["calls"]
    return [{"action": c["action"], "version": c["version"], "method": c["method"], "path": c["path"],
             "params": {k: v for k, v in c["params"].items() if k not in VOLATILE}} for c in calls]


def mark(emulator: EmulatorServer) -> int:
    calls = emulator.admin("GET", "/_emulator/calls")["calls"]
    return calls[-1]["seq"] if calls else 0


def test_the_generic_client_is_not_the_ecs_sdk(emulator: EmulatorServer, owner: Creds) -> None:
    """The functions' ECS client is the core's generic client on ECS's endpoint: no ECS SDK to ship or import."""
    client = factory(emulator, owner).ecs()
    assert not isinstance(client, EcsClient) and type(client).__module__ == "alibabacloud_tea_openapi.client"


def test_describe_and_detach_send_what_the_ecs_sdk_sends(emulator: EmulatorServer, owner: Creds) -> None:
    """Same action, version, method, path and parameters (InstanceIds one JSON array string) as the SDK's."""
    first, second = create_instance(emulator, owner["account_id"]), create_instance(emulator, owner["account_id"])
    attach(emulator, owner, [first, second])
    stock = ecs_client(emulator, owner)

    start = mark(emulator)
    assert roles(emulator, owner).attached([first, second]) == {first: "WebRole", second: "WebRole"}
    between = mark(emulator)
    stock.describe_instance_ram_role(ecs_models.DescribeInstanceRamRoleRequest(
        region_id=REGION, instance_ids=json.dumps([first, second]), page_size=50))
    ours, theirs = sent(emulator, start)[0], sent(emulator, between)[0]
    assert ours == theirs
    assert ours["params"]["InstanceIds"] == json.dumps([first, second]) and ours["version"] == "2014-05-26"

    start = mark(emulator)
    assert roles(emulator, owner).detach(first, "WebRole") is True
    between = mark(emulator)
    stock.detach_instance_ram_role(ecs_models.DetachInstanceRamRoleRequest(
        region_id=REGION, instance_ids=json.dumps([second]), ram_role_name="WebRole"))
    ours, theirs = sent(emulator, start)[0], sent(emulator, between)[0]
    assert ours["params"].pop("InstanceIds") == json.dumps([first])
    assert theirs["params"].pop("InstanceIds") == json.dumps([second])
    assert ours == theirs
    assert roles(emulator, owner).attached([first, second]) == {}


def test_more_instances_than_a_page_are_asked_in_pages(emulator: EmulatorServer, owner: Creds) -> None:
    """51 instances: two DescribeInstanceRamRole calls of at most 50 ids; instances without a role are left out."""
    ids = [create_instance(emulator, owner["account_id"]) for _ in range(51)]
    attach(emulator, owner, ids[:2])
    attach(emulator, owner, ids[-1:])
    start = mark(emulator)

    found = roles(emulator, owner).attached(ids)

    assert found == {ids[0]: "WebRole", ids[1]: "WebRole", ids[50]: "WebRole"}
    pages = [json.loads(c["params"]["InstanceIds"]) for c in sent(emulator, start)]
    assert pages == [ids[:50], ids[50:]]


def test_detach_of_a_role_not_attached_is_false_and_changes_nothing(emulator: EmulatorServer, owner: Creds) -> None:
    """No role on the instance, or another role than the one named, or no such instance: False, nothing detached."""
    create_role(emulator, owner, "OtherRole", service_trust())
    bare, held = create_instance(emulator, owner["account_id"]), create_instance(emulator, owner["account_id"])
    attach(emulator, owner, [held])
    instance_roles = roles(emulator, owner)

    assert instance_roles.detach(bare, "WebRole") is False
    assert instance_roles.detach(held, "OtherRole") is False
    assert instance_roles.detach("i-missing", "WebRole") is False
    assert instance_roles.attached([bare, held]) == {held: "WebRole"}


def test_an_ecs_refusal_is_raised_with_its_code(emulator: EmulatorServer, owner: Creds) -> None:
    """A caller without ECS permissions is refused; the error names the code and no role is detached."""
    from shared.errors import CloudCallError
    from tests.emulator.helpers import create_user_with_policy

    held = create_instance(emulator, owner["account_id"])
    attach(emulator, owner, [held])
    nobody = create_user_with_policy(emulator, owner, "nobody", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]})

    with pytest.raises(CloudCallError) as refused:
        roles(emulator, nobody).detach(held, "WebRole")
    assert refused.value.action == "DetachInstanceRamRole" and refused.value.http_status == 403
    assert refused.value.cloud_code
    assert roles(emulator, owner).attached([held]) == {held: "WebRole"}


def _failed_row(code: str) -> StandIn:
    """A stand-in ECS endpoint answering DetachInstanceRamRole with 200 and one failed row of ``code``.

    The DetachInstanceRamRole page (help.aliyun.com/document_detail/54245) reports each instance's
    outcome in its row, the ``Code`` "200" on success and an error code otherwise, in a 200 answer.
    """
    def answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        instance = json.loads(request["query"]["InstanceIds"])[0]
        return 200, {"RequestId": "r-1", "TotalCount": 1, "FailCount": 1,
                     "RamRoleName": request["query"]["RamRoleName"],
                     "DetachInstanceRamRoleResults": {"DetachInstanceRamRoleResult": [
                         {"InstanceId": instance, "Success": False, "Code": code, "Message": "refused"}]}}

    return StandIn(answer)


def _stand_in_roles(endpoint: str) -> InstanceRoles:
    from shared.clients import ClientFactory
    from shared.credentials import Credentials

    return InstanceRoles(ClientFactory(Credentials("ak", "sk"), region=REGION, endpoint=endpoint).ecs(), REGION)


def test_a_failed_row_in_a_200_answer_is_raised_unless_it_says_not_attached() -> None:
    """An instance whose row failed for another reason still holds its role: never taken for "not attached"."""
    from shared.errors import CloudCallError

    with _failed_row("IncorrectInstanceStatus") as ecs:
        with pytest.raises(CloudCallError) as failed:
            _stand_in_roles(ecs.endpoint).detach("i-held", "WebRole")
    assert (failed.value.action, failed.value.cloud_code) == ("DetachInstanceRamRole", "IncorrectInstanceStatus")
    assert "i-held" in failed.value.message
    with _failed_row("InstanceRamRole.NotAttached") as ecs:
        assert _stand_in_roles(ecs.endpoint).detach("i-bare", "WebRole") is False
