"""shared.members against the emulator: who the members are, refusing the others, a session per member."""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from shared.clients import ClientFactory
from shared.errors import ConfigError, Refused, http_status_for
from shared.members import DIRECTORY_TTL_SECONDS, MemberNotEnrolled, Members, MemberSettings, members_for, \
    forget_members
from shared.sts import caller_identity
from tests.emulator.helpers import ram_client
from tests.hub_world import DIRECTORY_PATH, HubWorld, creds_of, hub_world, to_credentials, trust_of_roles

from .helpers import calls_of


@pytest.fixture
def world(use_emulator: Any) -> HubWorld:
    return hub_world(use_emulator)


def hub_factory(world: HubWorld, function: str = "onboard") -> ClientFactory:
    return ClientFactory(to_credentials(world.function_creds(function)))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ settings
def test_unset_is_a_single_account_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROLEGATE_MEMBERS", raising=False)
    monkeypatch.delenv("ROLEGATE_MANAGER_ROLE", raising=False)
    settings = MemberSettings.from_env()
    assert not settings.enabled and settings.manager_role == "RolegateManager"
    members = Members("1111111111111111", ClientFactory(to_credentials(
        {"access_key_id": "k", "access_key_secret": "s"})), settings)
    assert members.accounts() == () and members.everyone() == ("1111111111111111",)
    assert members.require("1111111111111111") == "1111111111111111"
    with pytest.raises(Refused) as refused:
        members.require("2222222222222222")
    assert refused.value.code == "NotAMember" and http_status_for(refused.value) == 403


@pytest.mark.parametrize("value", ["123", "1234567890123456,abc", "resource-directory,1234567890123456", "*"])
def test_a_malformed_member_list_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", value)
    with pytest.raises(ConfigError) as error:
        MemberSettings.from_env()
    assert error.value.field == "ROLEGATE_MEMBERS"


@pytest.mark.parametrize("value", ["rolegate-manager", "Rolegate-Admin", "bad name", "x" * 65])
def test_a_manager_role_in_the_grants_namespace_or_misnamed_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                                        value: str) -> None:
    """A manager role named rolegate-* would be taken for an unproven grant and disarmed by the sweep."""
    monkeypatch.setenv("ROLEGATE_MANAGER_ROLE", value)
    with pytest.raises(ConfigError) as error:
        MemberSettings.from_env()
    assert error.value.field == "ROLEGATE_MANAGER_ROLE"


def test_listed_members_never_include_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", "2222222222222222, 1111111111111111,3333333333333333,2222222222222222")
    members = Members("1111111111111111", ClientFactory(to_credentials(
        {"access_key_id": "k", "access_key_secret": "s"})))
    assert members.accounts() == ("2222222222222222", "3333333333333333")
    assert members.is_member("3333333333333333") and not members.is_member("1111111111111111")


# ------------------------------------------------------------ the directory
def test_the_directory_is_read_page_by_page_and_kept_for_a_while(use_emulator: Any, world: HubWorld,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """101 more members: two pages of 100; a second look within the TTL asks nothing; after it, a newcomer shows."""
    extra = [creds_of(use_emulator.create_account(f"m{i}")) for i in range(101)]
    use_emulator.admin("POST", DIRECTORY_PATH, {"management_account_id": world.hub_id,
                                                "member_account_ids": [m["account_id"] for m in extra]})
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    clock = Clock()
    members = Members(world.hub_id, hub_factory(world), monotonic=clock)
    before = len(calls_of(use_emulator, "ListAccounts"))

    found = members.accounts()
    assert set(found) == {world.member_id("A"), world.member_id("B")} | {m["account_id"] for m in extra}
    assert len(found) == 103 and world.hub_id not in found
    assert len(calls_of(use_emulator, "ListAccounts")) - before == 2

    clock.now += DIRECTORY_TTL_SECONDS - 1
    assert members.accounts() == found and members.is_member(world.member_id("A"))
    assert len(calls_of(use_emulator, "ListAccounts")) - before == 2

    late = creds_of(use_emulator.create_account("late"))
    use_emulator.admin("POST", DIRECTORY_PATH, {"management_account_id": world.hub_id,
                                                "member_account_ids": [late["account_id"]]})
    assert not members.is_member(late["account_id"])
    clock.now += 2
    assert members.is_member(late["account_id"])
    assert len(calls_of(use_emulator, "ListAccounts")) - before == 4


def test_a_hub_that_manages_no_directory_fails_loudly(use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outsider asks ListAccounts and the cloud says no directory: an error, never an empty member list."""
    from shared.errors import CloudCallError

    world = hub_world(use_emulator, directory=False)
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    members = Members(world.hub_id, hub_factory(world))
    with pytest.raises(CloudCallError) as error:
        members.accounts()
    assert error.value.cloud_code == "EntityNotExists.ResourceDirectory"
    assert members.require(world.hub_id) == world.hub_id  # its own account needs no directory


# ------------------------------------------------------------ refusals
def test_an_outsider_is_refused_before_any_cloud_call(use_emulator: Any, world: HubWorld,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    members = Members(world.hub_id, hub_factory(world))
    before = len(calls_of(use_emulator, "AssumeRole"))
    for account in (world.outsider["account_id"], "not-an-account", ""):
        with pytest.raises(Refused) as refused:
            members.factory_for(account)
        assert refused.value.code == "NotAMember"
    assert len(calls_of(use_emulator, "AssumeRole")) == before


# ------------------------------------------------------------ sessions
def test_a_member_is_reached_through_its_manager_role_once_per_warm_instance(use_emulator: Any, world: HubWorld,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", f"{world.member_id('A')},{world.member_id('B')}")
    world.make_manager_role("A")
    hub = hub_factory(world)
    members = Members(world.hub_id, hub)
    assert members.factory_for(world.hub_id) is hub
    before = len(calls_of(use_emulator, "AssumeRole"))

    first = members.factory_for(world.member_id("A"))
    again = members.factory_for(world.member_id("A"))

    assert again is first
    assert len(calls_of(use_emulator, "AssumeRole")) - before == 1
    identity = caller_identity(first)
    assert identity.account_id == world.member_id("A")
    assert identity.arn.startswith(f"acs:ram::{world.member_id('A')}:assumed-role/RolegateManager/")


def test_the_process_wide_view_is_kept_across_invocations(use_emulator: Any, world: HubWorld,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", world.member_id("A"))
    world.make_manager_role("A")
    forget_members()
    hub = hub_factory(world)
    before = len(calls_of(use_emulator, "AssumeRole"))
    members_for(world.hub_id, hub).factory_for(world.member_id("A"))
    members_for(world.hub_id, hub).factory_for(world.member_id("A"))
    assert members_for(world.hub_id, hub) is members_for(world.hub_id, hub)
    assert len(calls_of(use_emulator, "AssumeRole")) - before == 1
    monkeypatch.setenv("ROLEGATE_MANAGER_ROLE", "OtherManager")
    assert members_for(world.hub_id, hub).settings.manager_role == "OtherManager"  # new settings, new view
    forget_members()


def test_a_member_without_its_manager_role_is_not_enrolled(use_emulator: Any, world: HubWorld,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    members = Members(world.hub_id, hub_factory(world))
    with pytest.raises(MemberNotEnrolled) as error:
        members.factory_for(world.member_id("B"))
    body = error.value.to_dict()
    assert body["code"] == "MemberNotEnrolled" and http_status_for(error.value) == 409
    assert f"rolegate members enroll {world.member_id('B')}" in body["message"]
    assert body["details"]["role_arn"] == f"acs:ram::{world.member_id('B')}:role/RolegateManager"


def test_a_manager_role_whose_trust_leaves_the_hub_out_is_not_enrolled(use_emulator: Any, world: HubWorld,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The member's administrator rewrote the trust policy (here: to trust another account's role)."""
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    world.make_manager_role("A", trust=trust_of_roles(f"acs:ram::{world.outsider['account_id']}:role/x"))
    members = Members(world.hub_id, hub_factory(world))
    with pytest.raises(MemberNotEnrolled):
        members.factory_for(world.member_id("A"))


def test_a_manager_role_trusting_only_another_function_does_not_admit_this_one(
        use_emulator: Any, world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    world.make_manager_role("A", trust=trust_of_roles(f"acs:ram::{world.hub_id}:role/fc-rolegate-revoke"))
    members = Members(world.hub_id, hub_factory(world, "onboard"))
    with pytest.raises(MemberNotEnrolled):
        members.factory_for(world.member_id("A"))
    ram = ram_client(use_emulator, world.members["A"])
    trust = json.loads(ram.get_role(ram_models.GetRoleRequest(role_name="RolegateManager")).body.role
                       .assume_role_policy_document)
    assert trust["Statement"][0]["Principal"]["RAM"] == [f"acs:ram::{world.hub_id}:role/fc-rolegate-revoke"]


def test_a_function_not_allowed_to_assume_the_manager_role_is_told_both_causes(
        use_emulator: Any, world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """STS answers NoPermission alike for a trust that leaves the hub out and for a caller lacking sts:AssumeRole."""
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    world.make_manager_role("A")
    members = Members(world.hub_id, ClientFactory(to_credentials(world.function_creds(
        "onboard", hub_policy=False, extra=[{"Effect": "Allow", "Action": "resourcemanager:ListAccounts",
                                             "Resource": "*"}]))))
    with pytest.raises(MemberNotEnrolled) as error:
        members.factory_for(world.member_id("A"))
    assert "deploy/roles.sh --hub" in error.value.message and "rolegate members enroll" in error.value.message
