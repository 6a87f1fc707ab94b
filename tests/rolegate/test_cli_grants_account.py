"""``rolegate grants ... --account MEMBER``: a hub's operator acting on a member's grants.

Cast (``tests/hub_world.py``): the operator is a RAM administrator of hub H,
which manages a Resource Directory with members A and B; D is an outsider.
RAM calls go to the member through its ``ResourceDirectoryAccountAccessRole``;
records are sealed with H's record key and bound to the member. A holds a
record key of its own as a trap: it is never read.
"""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from emulator.services.ram import ram_state
from functions.remediate.index import handler as remediate
from rolegate.cli import main
from shared import sts
from shared.grants.lifecycle import GrantStore
from shared.grants.tags import record_stamp
from shared.members import forget_members
from tests.emulator.helpers import create_user_with_policy, events, ram_client, record_keyring
from tests.functions.conftest import FakeContext, FunctionMeta, run_as_function
from tests.functions.members_support import enroll
from tests.functions.revoke_support import call_mark, context, invoke
from tests.hub_world import ADMIN_POLICY, HubWorld, hub_world

Run = Callable[..., Result]
ACCESS_ROLE = "ResourceDirectoryAccountAccessRole"
ACCESS_WRITER = f"role/{ACCESS_ROLE}"
HUB_BUS = "resource-directory"


@pytest.fixture
def world(emulator: Any) -> HubWorld:
    made = hub_world(emulator)
    record_keyring(emulator, made.members["A"])  # A's own key: must never seal or prove A's grants
    return made


@pytest.fixture
def cli(world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``rolegate grants <args> --endpoint <emulator>`` as H's RAM administrator."""
    admin = create_user_with_policy(world.emulator, world.hub, "hub-operator", ADMIN_POLICY)

    def run(*args: str) -> Result:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", admin["access_key_id"])
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", admin["access_key_secret"])
        monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        return CliRunner().invoke(main, ["grants", *args, "--endpoint", world.emulator.endpoint])

    return run


def create_args(world: HubWorld, *extra: str, duration: str = "1h") -> list[str]:
    partner = world.outsider["account_id"]
    return ["create", "--partner", partner, "--principal-type", "account", "--external-id", "ext-12345",
            "--policy", "AliyunFCReadOnlyAccess", "--duration", duration, "--json", *extra]


def roles(world: HubWorld, account_id: str) -> list[str]:
    return sorted(ram_state(world.emulator.world.accounts[account_id]).roles)


def every_role(world: HubWorld) -> dict[str, list[str]]:
    ids = [world.hub_id, world.member_id("A"), world.member_id("B"), world.outsider["account_id"]]
    return {account_id: roles(world, account_id) for account_id in ids}


def error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def hub_keyring(world: HubWorld) -> Any:
    return record_keyring(world.emulator, world.hub)


def secret_reads(world: HubWorld, mark: int) -> set[str]:
    return {c["account_id"] for c in world.emulator.calls(mark) if c["action"] == "GetSecretValue"}


# ------------------------------------------------------------------ the lifecycle in a member
def test_a_members_grant_is_created_listed_shown_extended_and_revoked_with_account(cli: Run,
                                                                                   world: HubWorld) -> None:
    """Every RAM write lands in A as a session of its access role; only H's record key is read."""
    a = world.member_id("A")
    hub_before = roles(world, world.hub_id)
    mark = call_mark(world.emulator)

    made = cli(*create_args(world, "--account", a, "--ticket", "CHG-9"))

    assert made.exit_code == 0, made.output
    grant = json.loads(made.stdout)
    assert grant["created"] is True and grant["owner_account_id"] == a and grant["role_arn"].startswith(
        f"acs:ram::{a}:role/")
    assert grant["role_name"] in roles(world, a) and roles(world, world.hub_id) == hub_before
    writes = [c for c in world.emulator.calls(mark) if c["action"] in ("CreateRole", "AttachPolicyToRole")]
    assert writes and {c["account_id"] for c in writes} == {a}
    assert all(f"assumed-role/{ACCESS_ROLE}/rolegate-operator" in c["caller"] for c in writes)
    role = ram_state(world.emulator.world.accounts[a]).find_role(grant["role_name"])
    tags = [{"Key": k, "Value": v} for k, v in role.tags.items()]
    assert record_stamp(tags, role.name, a, hub_keyring(world))[1] == ACCESS_WRITER

    listed = cli("list", "--account", a, "--json")
    assert listed.exit_code == 0 and [g["grant_id"] for g in json.loads(listed.stdout)["grants"]] == [
        grant["grant_id"]]
    table = cli("list", "--account", a)
    assert table.exit_code == 0 and f"1 grant(s) in {a}" in table.stdout
    assert json.loads(cli("list", "--json").stdout)["count"] == 0  # the hub's own grants: none
    shown = cli("show", grant["grant_id"], "--account", a)
    assert shown.exit_code == 0 and "CHG-9" in shown.stdout and "active" in shown.stdout
    assert cli("show", grant["grant_id"]).exit_code == 1  # not one of H's grants

    extended = cli("extend", grant["grant_id"], "--account", a, "--duration", "3d", "--json")
    assert extended.exit_code == 0, extended.output
    assert json.loads(extended.stdout)["expires_at"] > grant["expires_at"]
    planned = cli("revoke", grant["grant_id"], "--account", a, "--dry-run", "--json")
    assert planned.exit_code == 0 and role.attached
    revoked = cli("revoke", grant["grant_id"], "--account", a)
    assert revoked.exit_code == 0 and f"Revoked {grant['grant_id']}" in revoked.stdout
    assert ram_state(world.emulator.world.accounts[a]).find_role(grant["role_name"]).attached == []
    tombstone = json.loads(cli("show", grant["grant_id"], "--account", a, "--json").stdout)
    assert tombstone["status"] == "revoked"

    assert secret_reads(world, mark) == {world.hub_id}  # A's own record key was never read
    own_key = record_keyring(world.emulator, world.members["A"])
    assert [found.grant for found in GrantStore(ram_client(world.emulator, world.members["A"]), a,
                                              own_key).list()] == [None]


def test_account_naming_the_hub_itself_acts_as_without_it(cli: Run, world: HubWorld) -> None:
    mark = call_mark(world.emulator)
    made = cli(*create_args(world, "--account", world.hub_id))
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["role_name"] in roles(world, world.hub_id)
    assert not [c for c in world.emulator.calls(mark) if c["action"] == "AssumeRole"]
    assert json.loads(cli("list", "--json").stdout)["count"] == 1


def test_owner_account_repeating_account_or_set_in_the_environment_is_no_clash(
        cli: Run, world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--owner-account A --account A`` acts in A; ``ROLEGATE_OWNER_ACCOUNT_ID`` (a profile's) names the hub."""
    a = world.member_id("A")
    same = cli(*create_args(world, "--account", a, "--owner-account", a))
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["role_name"] in roles(world, a)
    monkeypatch.setenv("ROLEGATE_OWNER_ACCOUNT_ID", world.hub_id)
    listed = cli("list", "--account", a, "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout)["count"] == 1


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("case", ["malformed", "clash", "unreachable"])
def test_bad_account_is_one_error_line_and_nothing_is_created(cli: Run, world: HubWorld, case: str) -> None:
    a, d = world.member_id("A"), world.outsider["account_id"]
    args, code, says = {
        "malformed": (["--account", "12345"], 2, "--account '12345' is not an account id (16 digits)"),
        "clash": (["--account", a, "--owner-account", world.member_id("B")], 2,
                  f"--owner-account {world.member_id('B')} and --account {a} name different accounts"),
        "unreachable": (["--account", d], 1,
                        f"Cannot act in account {d}: its role {ACCESS_ROLE} cannot be assumed"),
    }[case]
    before = every_role(world)
    mark = call_mark(world.emulator)

    result = cli(*create_args(world, *args))

    assert result.exit_code == code and says in error_line(result), result.output
    assert every_role(world) == before
    assert not [c for c in world.emulator.calls(mark) if c["action"] in ("CreateRole", "GetSecretValue")]
    if case == "unreachable":
        listed = cli("list", "--account", d)
        assert listed.exit_code == 1 and f"account {d}" in error_line(listed) and ACCESS_ROLE in error_line(listed)


# ------------------------------------------------------------------ the hub's functions judge what the CLI made
def _enroll(world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The members' manager roles, as ``rolegate members enroll`` makes them, so the hub's functions reach them."""
    monkeypatch.setenv("ROLEGATE_ENDPOINT", world.emulator.endpoint)
    for name in world.members:
        enroll(world, name)


def _as_function(world: HubWorld, monkeypatch: pytest.MonkeyPatch, function: str) -> None:
    """The environment of the hub's function ``function``, acting in the directory's members."""
    creds = world.function_creds(function)
    run_as_function(monkeypatch, world.emulator, creds, world.hub_id)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", creds["security_token"])
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    sts.forget_caller_identities()
    forget_members()


def test_the_hubs_sweep_proves_a_members_grant_made_with_account_and_revokes_it_at_expiry(
        cli: Run, world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    a = world.member_id("A")
    grant = json.loads(cli(*create_args(world, "--account", a, duration="15m")).stdout)
    _enroll(world, monkeypatch)
    _as_function(world, monkeypatch, "revoke")  # its session lasts an hour: the grant expires well before
    mark = call_mark(world.emulator)

    early = {p["account_id"]: p for p in invoke(context(account_id=world.hub_id))["accounts"]}

    assert (early[a]["examined"], early[a]["revoked"]) == (1, 0)
    assert early[a]["unreadable_records"] == [] and early[a]["disarmed"] == []
    world.emulator.advance_clock(901)
    late = {p["account_id"]: p for p in invoke(context(account_id=world.hub_id))["accounts"]}
    assert (late[a]["examined"], late[a]["revoked"]) == (1, 1)
    assert grant["role_name"] not in roles(world, a)
    assert secret_reads(world, mark) == {world.hub_id}
    forget_members()


def test_an_extend_in_a_member_is_not_taken_for_tampering_by_the_hubs_remediation(
        cli: Run, world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record names the access role's session, as the member's event does: the rewrite is recognised."""
    a = world.member_id("A")
    grant = json.loads(cli(*create_args(world, "--account", a)).stdout)
    _enroll(world, monkeypatch)
    mark = len(events(world.emulator))
    extended = cli("extend", grant["grant_id"], "--account", a, "--duration", "2d")
    assert extended.exit_code == 0, extended.output
    [event] = [e for e in events(world.emulator, mark)
               if e.get("aliyuneventbusname") == HUB_BUS and e["data"]["eventName"] == "TagResources"]
    assert event["aliyunoriginalaccountid"] == a
    before = ram_state(world.emulator.world.accounts[a]).find_role(grant["role_name"])
    tags_before, attached_before = dict(before.tags), list(before.attached)
    _as_function(world, monkeypatch, "remediate")

    reply = remediate(json.dumps(event).encode(), FakeContext(account_id=world.hub_id,
                                                              function=FunctionMeta(name="remediate")))

    [decision] = [d for d in reply["decisions"] if d["rule"] == "grant-tamper"]
    assert (decision["outcome"], decision["account_id"]) == ("already_compliant", a), decision
    after = ram_state(world.emulator.world.accounts[a]).find_role(grant["role_name"])
    assert (dict(after.tags), list(after.attached)) == (tags_before, attached_before)
    forget_members()
