"""``rolegate members enroll`` and ``list`` against the emulator's Resource Directory.

The operator is a RAM administrator of the management account M, which is
also the hub; members A and B belong to M's directory, D does not.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from alibabacloud_ram20150501 import models as ram_models
from click.testing import CliRunner, Result

from rolegate.cli import main
from rolegate.cli_members import MANAGER_POLICY_FILE, manager_policy, manager_trust
from shared.policies.document import canonical_json
from tests.emulator.helpers import create_user_with_policy, ram_client
from tests.hub_world import ADMIN_POLICY, HubWorld, hub_world

Run = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(emulator: Any) -> HubWorld:
    return hub_world(emulator)


@pytest.fixture
def cli(world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rolegate <args> --endpoint <emulator>`` as the management account's RAM administrator."""
    admin = create_user_with_policy(world.emulator, world.hub, "rd-admin", ADMIN_POLICY)
    for name in [n for n in __import__("os").environ if n.startswith("ROLEGATE_")]:
        monkeypatch.delenv(name)

    def run(*args: str) -> Result:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", admin["access_key_id"])
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", admin["access_key_secret"])
        return CliRunner().invoke(main, ["members", *args, "--endpoint", world.emulator.endpoint])

    return run


def manager_state(world: HubWorld, name: str) -> dict[str, Any]:
    ram = ram_client(world.emulator, world.members[name])
    role = ram.get_role(ram_models.GetRoleRequest(role_name="RolegateManager")).body.role
    attached = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name="RolegateManager"))
    policy = ram.get_policy(ram_models.GetPolicyRequest(policy_name="RolegateManager", policy_type="Custom")).body
    return {"trust": json.loads(role.assume_role_policy_document),
            "attached": sorted(f"{p.policy_type}:{p.policy_name}" for p in attached.body.policies.policy),
            "policy": json.loads(policy.default_policy_version.policy_document),
            "version": policy.default_policy_version.version_id}


# ------------------------------------------------------------------ the manager role's permissions
def test_the_policy_file_is_the_derived_policy() -> None:
    """deploy/manager-policy.json (used by deploy/roles.sh --manager) is what enrolment writes."""
    assert json.loads(MANAGER_POLICY_FILE.read_text()) == manager_policy()


def test_the_manager_policy_holds_no_kms_no_chaining_and_stays_in_the_namespace() -> None:
    policy = manager_policy()
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not [a for a in actions if a.startswith(("kms:", "sts:"))]
    for statement in policy["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not any("fc-rolegate-" in r for r in resources)
        actions_here = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        destructive = {"ram:DeleteRole", "ram:CreateRole", "ram:DeletePolicy", "ram:CreatePolicy"} & set(actions_here)
        if destructive and statement["Effect"] == "Allow":
            assert all("rolegate-*" in r for r in resources), statement["Sid"]
    for function in ("onboard", "revoke", "remediate"):  # nothing a function does in a member is missing
        source = json.loads((REPO / "deploy" / "policies" / f"{function}.json").read_text())
        for statement in source["Statement"]:
            acts = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("kms:") or a == "sts:AssumeRole" for a in acts) or "fc-rolegate" in str(statement):
                continue
            body = {k: v for k, v in statement.items() if k != "Sid"}
            assert any({k: v for k, v in s.items() if k != "Sid"} == body for s in policy["Statement"]), statement
    assert len(canonical_json(policy)) <= 6144  # RAM's limit on a policy document


# ------------------------------------------------------------------ enroll
def test_enroll_makes_the_manager_role_in_every_member_and_a_second_run_changes_nothing(cli: Run,
                                                                                        world: HubWorld) -> None:
    first = cli("enroll", "--json")
    assert first.exit_code == 0, first.output
    reports = {r["account_id"]: r for r in json.loads(first.stdout)}
    assert set(reports) == {world.member_id("A"), world.member_id("B")}
    assert all(r["ok"] and "created role RolegateManager" in r["changes"] for r in reports.values())
    state = manager_state(world, "A")
    assert canonical_json(state["trust"]) == canonical_json(manager_trust(world.hub_id))
    assert sorted(state["trust"]["Statement"][0]["Principal"]["RAM"]) == sorted(
        f"acs:ram::{world.hub_id}:role/fc-rolegate-{fn}" for fn in ("onboard", "revoke", "remediate"))
    assert state["attached"] == ["Custom:RolegateManager"]
    assert canonical_json(state["policy"]) == canonical_json(manager_policy())

    second = cli("enroll", "--json")
    assert second.exit_code == 0
    assert [r["changes"] for r in json.loads(second.stdout)] == [[], []]
    assert manager_state(world, "A") == state
    table = cli("enroll", world.member_id("A"))
    assert table.exit_code == 0 and "unchanged" in table.stdout and world.member_id("B") not in table.stdout


def test_enroll_puts_back_what_a_member_changed(cli: Run, world: HubWorld) -> None:
    assert cli("enroll", world.member_id("A")).exit_code == 0
    ram = ram_client(world.emulator, world.admin_of("A"))
    ram.update_role(ram_models.UpdateRoleRequest(role_name="RolegateManager", new_assume_role_policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Principal": {"RAM": [f"acs:ram::{world.member_id('A')}:root"]}}]})))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name="AdministratorAccess",
                                                                   role_name="RolegateManager"))
    ram.create_policy_version(ram_models.CreatePolicyVersionRequest(
        policy_name="RolegateManager", set_as_default=True,
        policy_document=json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*",
                                                                    "Resource": "*"}]})))
    listed = cli("list")
    assert listed.exit_code == 1 and "unhealthy" in listed.stdout
    again = cli("enroll", world.member_id("A"), "--json")
    assert again.exit_code == 0, again.output
    (report,) = json.loads(again.stdout)
    assert report["changes"] == ["trust policy set", "policy RolegateManager: new default version",
                                 "detached extra System policy AdministratorAccess"]
    state = manager_state(world, "A")
    assert canonical_json(state["trust"]) == canonical_json(manager_trust(world.hub_id))
    assert state["attached"] == ["Custom:RolegateManager"]
    assert canonical_json(state["policy"]) == canonical_json(manager_policy())


def test_enroll_with_the_members_own_credentials_reaches_an_account_outside_the_directory(
        cli: Run, world: HubWorld, tmp_path: Path) -> None:
    outsider = create_user_with_policy(world.emulator, world.outsider, "setup", ADMIN_POLICY)
    path = tmp_path / "member.json"
    path.write_text(json.dumps({"access_key_id": outsider["access_key_id"],
                                "access_key_secret": outsider["access_key_secret"]}))
    without = cli("enroll", world.outsider["account_id"], "--json")
    assert without.exit_code == 1 and "EntityNotExist.Role" in json.loads(without.stdout)[0]["error"]
    made = cli("enroll", "--member-credentials", str(path), "--hub", world.hub_id, "--json")
    assert made.exit_code == 0, made.output
    assert [r["account_id"] for r in json.loads(made.stdout)] == [world.outsider["account_id"]]
    clash = cli("enroll", world.member_id("A"), "--member-credentials", str(path))
    assert clash.exit_code == 2 and "--member-credentials act in account" in clash.stderr


def test_enroll_refuses_a_malformed_account_before_any_call(cli: Run, world: HubWorld) -> None:
    result = cli("enroll", "12345")
    assert result.exit_code == 2 and result.stderr.startswith("error: ConfigError")


# ------------------------------------------------------------------ list
def test_list_shows_each_member_and_its_health(cli: Run, world: HubWorld) -> None:
    before = cli("list", "--json")
    assert before.exit_code == 1
    assert {r["account_id"]: r["problems"] for r in json.loads(before.stdout)} == {
        world.member_id("A"): ["role RolegateManager missing"], world.member_id("B"): ["role RolegateManager missing"]}
    cli("enroll", world.member_id("A"))
    half = {r["account_id"]: r["ok"] for r in json.loads(cli("list", "--json").stdout)}
    assert half == {world.member_id("A"): True, world.member_id("B"): False}
    cli("enroll")
    after = cli("list")
    assert after.exit_code == 0 and after.stdout.count("ready") == 2


def test_enroll_makes_room_for_a_new_version_at_rams_limit_of_five(cli: Run, world: HubWorld) -> None:
    """A member's administrator filled the policy's five versions: the oldest non-default one goes."""
    assert cli("enroll", world.member_id("A")).exit_code == 0
    ram = ram_client(world.emulator, world.admin_of("A"))
    for n in range(4):
        ram.create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name="RolegateManager", set_as_default=True, policy_document=json.dumps(
                {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetRole",
                                                "Resource": f"acs:ram:*:*:role/x{n}"}]})))
    again = cli("enroll", world.member_id("A"), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)[0]["changes"] == ["policy RolegateManager: new default version"]
    versions = ram.list_policy_versions(ram_models.ListPolicyVersionsRequest(
        policy_name="RolegateManager", policy_type="Custom")).body.policy_versions.policy_version
    assert sorted(v.version_id for v in versions) == ["v2", "v3", "v4", "v5", "v6"]
    assert canonical_json(manager_state(world, "A")["policy"]) == canonical_json(manager_policy())
