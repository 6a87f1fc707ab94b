"""Remediation from a hub: member events arrive on the hub's bus and are judged, and fixed, in their member.

Cast (``tests/hub_world.py``): hub H runs the remediation function as a
session of ``fc-rolegate-remediate``; A and B are members of H's Resource
Directory (A enrolled with a manager role, B not); D is an outsider. Changes
are made with the SDKs by each account's own administrator, and the events are
taken from the emulator's feed as H's ``resource-directory`` bus received
them.
"""
from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator.services.ram import ram_state
from functions.remediate.index import handler
from shared import sts
from shared.grants.lifecycle import GrantStore
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import role_name_for
from shared.members import forget_members
from shared.policies.principals import AccountPrincipal
from tests.emulator.helpers import events, ram_client, record_keyring, service_trust
from tests.functions.conftest import FakeContext, FunctionMeta, run_as_function
from tests.functions.revoke_support import MANAGER_POLICY, call_mark
from tests.hub_world import MANAGER_ROLE, HubWorld, hub_world

HUB_BUS = "resource-directory"
ADMIN = "AdministratorAccess"
WRITES = ("Attach", "Detach", "Update", "Create", "Delete", "Tag", "Untag", "Set", "AssumeRole")


@pytest.fixture
def world(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> HubWorld:
    """H with the function deployed (members from the directory), A enrolled, B not, D outside with a lure."""
    made = hub_world(emulator)
    made.make_manager_role("A", policy=MANAGER_POLICY)  # what `rolegate members enroll` gives it
    creds = made.function_creds("remediate")
    run_as_function(monkeypatch, emulator, creds, made.hub_id)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", creds["security_token"])
    monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory")
    sts.forget_caller_identities()
    forget_members()
    yield made
    forget_members()


def invoke(world: HubWorld, payload: Any) -> dict[str, Any]:
    return handler(json.dumps(payload).encode(), FakeContext(account_id=world.hub_id,
                                                             function=FunctionMeta(name="remediate")))


def app_role(world: HubWorld, creds: dict[str, Any], name: str = "AppRole") -> str:
    ram_client(world.emulator, creds).create_role(ram_models.CreateRoleRequest(
        role_name=name, assume_role_policy_document=service_trust()))
    return name


def attach_admin(world: HubWorld, creds: dict[str, Any], role: str) -> int:
    """Attach AdministratorAccess to ``role``; the event feed's position before it."""
    mark = len(events(world.emulator))
    ram_client(world.emulator, creds).attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name=role, policy_type="System", policy_name=ADMIN))
    return mark


def on_hub_bus(world: HubWorld, mark: int, name: str) -> dict[str, Any]:
    """The last event ``name`` since ``mark`` as H's hub bus received it."""
    found = [e for e in events(world.emulator, mark)
             if e.get("aliyuneventbusname") == HUB_BUS and e["data"]["eventName"] == name]
    assert found, f"no {name} delivered to the hub's bus"
    return found[-1]


def policies_of(world: HubWorld, account_id: str, role: str) -> list[str]:
    found = ram_state(world.emulator.world.accounts[account_id]).find_role(role)
    return sorted(a.policy_name for a in found.attached)


def writes_since(world: HubWorld, mark: int) -> list[tuple[str, str]]:
    return [(c["account_id"], c["action"]) for c in world.emulator.calls(mark) if c["action"].startswith(WRITES)]


def test_a_members_change_is_undone_in_that_member_through_its_manager_role(world: HubWorld) -> None:
    """A's administrator attaches AdministratorAccess; the hub detaches it in A as its manager role's session."""
    a = world.member_id("A")
    role = app_role(world, world.admin_of("A"))
    event = on_hub_bus(world, attach_admin(world, world.admin_of("A"), role), "AttachPolicyToRole")
    assert event["aliyunaccountid"] == world.hub_id and event["aliyunoriginalaccountid"] == a
    mark = call_mark(world.emulator)

    reply = invoke(world, event)

    [decision] = [d for d in reply["decisions"] if d["rule"] == "high-risk-policy"]
    assert (decision["outcome"], decision["account_id"]) == ("remediated", a)
    assert policies_of(world, a, role) == []
    detach = [c for c in world.emulator.calls(mark) if c["action"] == "DetachPolicyFromRole"]
    assert [c["account_id"] for c in detach] == [a]
    assert f"assumed-role/{MANAGER_ROLE}/rolegate-remediate" in detach[0]["caller"]

    again = invoke(world, event)  # the member's state is read again: nothing is left to do
    assert [d["outcome"] for d in again["decisions"] if d["rule"] == "high-risk-policy"] == ["already_compliant"]


def test_the_hubs_own_change_in_a_member_is_not_judged_again(world: HubWorld) -> None:
    """The detach the hub made in A comes back on the hub's bus: made by its own session, ignored."""
    a = world.member_id("A")
    role = app_role(world, world.admin_of("A"))
    invoke(world, on_hub_bus(world, attach_admin(world, world.admin_of("A"), role), "AttachPolicyToRole"))
    own = on_hub_bus(world, 0, "DetachPolicyFromRole")
    assert own["aliyunoriginalaccountid"] == a

    reply = invoke(world, own)

    assert reply["decisions"] == [] and reply["ignored_events"][0]["reason"] == "made by this function's own identity"


def test_an_outsiders_own_event_makes_the_hub_act_nowhere(world: HubWorld) -> None:
    """D, no member, lures the hub with a manager role trusting it and sends its own event, as if delivered.

    Whether D's event names D or claims member A, nothing is assumed, read in
    a member or changed anywhere, and the reason is logged.
    """
    d = world.outsider["account_id"]
    lure = dict(world.outsider)
    ram = ram_client(world.emulator, lure)
    ram.create_role(ram_models.CreateRoleRequest(role_name=MANAGER_ROLE, assume_role_policy_document=json.dumps({
        "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Principal": {"RAM": [f"acs:ram::{world.hub_id}:root"]}}]})))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(role_name=MANAGER_ROLE, policy_type="System",
                                                                   policy_name=ADMIN))
    role = app_role(world, lure)
    mark = attach_admin(world, lure, role)
    [own] = [e for e in events(world.emulator, mark) if e["data"]["eventName"] == "AttachPolicyToRole"]
    delivered = {**own, "aliyunaccountid": world.hub_id, "aliyuneventbusname": HUB_BUS,
                 "aliyunoriginalaccountid": d}
    claims_a = copy.deepcopy(delivered)
    claims_a["data"]["recipientAccountId"] = world.member_id("A")
    before = policies_of(world, d, role)
    calls = call_mark(world.emulator)

    reply = invoke(world, [own, delivered, claims_a])

    assert reply["decisions"] == [] and reply["errors"] == [] and reply["actions"] == 0
    reasons = [e["reason"] for e in reply["ignored_events"]]
    assert reasons[:2] == [f"event of account {d}, which is neither this hub's ({world.hub_id}) nor one of its "
                           f"members"] * 2
    assert reasons[2] == f"the record names account {world.member_id('A')} but was delivered from {d}"
    assert writes_since(world, calls) == [] and policies_of(world, d, role) == before == [ADMIN]


def test_a_grant_a_members_administrator_seals_with_a_key_of_their_own_is_disarmed(world: HubWorld) -> None:
    """A's administrator makes a ``rolegate-record-key`` in A and writes a grant record with it, trusting D.

    The hub proves records with its own key only: the role is reported at level
    critical and disarmed in A, never restored or trusted to D.
    """
    a, outsider = world.member_id("A"), world.outsider["account_id"]
    admin = world.admin_of("A")
    now = world.emulator.world.clock.now().replace(microsecond=0)
    grant_id = new_grant_id()
    forged = Grant(grant_id=grant_id, owner_account_id=a, partner_account_id=outsider,
                   principal=AccountPrincipal(outsider, "ext-d"),
                   policies=(PolicyRef("AliyunECSReadOnlyAccess", "System"),),
                   role_name=role_name_for(outsider, grant_id), max_session_duration=3600, created_at=now - timedelta(seconds=1),
                   expires_at=now + timedelta(days=30))
    mark = len(events(world.emulator))
    GrantStore(ram_client(world.emulator, admin), a, record_keyring(world.emulator, admin)).create(forged)

    reply = invoke(world, [on_hub_bus(world, mark, name) for name in ("CreateRole", "AttachPolicyToRole")])

    judged = {x["rule"]: x for x in reply["decisions"]}
    assert (judged["trust-widened"]["outcome"], judged["trust-widened"]["level"]) == ("reported", "critical")
    assert (judged["grant-tamper"]["action"], judged["grant-tamper"]["account_id"]) == ("disarm_grant", a)
    assert all(x["action"] != "restore_grant" for x in reply["decisions"])
    assert policies_of(world, a, forged.role_name) == []
    assert outsider not in ram_state(world.emulator.world.accounts[a]).find_role(forged.role_name).trust_policy_text


def test_a_member_that_is_not_enrolled_is_an_error_and_the_next_event_is_judged(world: HubWorld) -> None:
    """B has no manager role: its event is an error naming MemberNotEnrolled; A's, in the same batch, is fixed."""
    a, b = world.member_id("A"), world.member_id("B")
    b_role = app_role(world, world.admin_of("B"))
    b_event = on_hub_bus(world, attach_admin(world, world.admin_of("B"), b_role), "AttachPolicyToRole")
    a_role = app_role(world, world.admin_of("A"))
    a_event = on_hub_bus(world, attach_admin(world, world.admin_of("A"), a_role), "AttachPolicyToRole")

    reply = invoke(world, [b_event, a_event])

    assert [e["code"] for e in reply["errors"]] == ["MemberNotEnrolled"] and reply["ok"] is False
    assert policies_of(world, b, b_role) == [ADMIN] and policies_of(world, a, a_role) == []


def test_a_member_role_named_like_a_hub_function_role_is_not_taken_for_it(
        world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_SELF_PRINCIPALS names the hub's function roles; A's administrator makes a role of that name in A.

    Changes made as that role in A are A's own, not Rolegate's: they are judged and undone.
    """
    from alibabacloud_sts20150401 import models as sts_models

    from tests.emulator.helpers import account_trust, sts_client

    monkeypatch.setenv("ROLEGATE_SELF_PRINCIPALS", "role/fc-rolegate-onboard,role/fc-rolegate-revoke")
    a = world.member_id("A")
    admin = world.admin_of("A")
    role = app_role(world, admin)
    ram = ram_client(world.emulator, admin)
    ram.create_role(ram_models.CreateRoleRequest(role_name="fc-rolegate-onboard",
                                                 assume_role_policy_document=account_trust(a)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="fc-rolegate-onboard", policy_type="System", policy_name="AliyunRAMFullAccess"))
    session = sts_client(world.emulator, admin).assume_role(sts_models.AssumeRoleRequest(
        role_arn=f"acs:ram::{a}:role/fc-rolegate-onboard", role_session_name="lookalike")).body.credentials
    lookalike = {"access_key_id": session.access_key_id, "access_key_secret": session.access_key_secret,
                 "security_token": session.security_token, "account_id": a}
    event = on_hub_bus(world, attach_admin(world, lookalike, role), "AttachPolicyToRole")
    assert event["data"]["userIdentity"]["userName"].startswith("fc-rolegate-onboard:")

    reply = invoke(world, event)

    assert [d["outcome"] for d in reply["decisions"] if d["rule"] == "high-risk-policy"] == ["remediated"], reply
    assert policies_of(world, a, role) == []


def test_an_exemption_without_an_account_is_the_hubs_not_a_members_role_of_that_name(
        world: HubWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_EXEMPT_PRINCIPALS=role/OpsBreakGlass names the hub's break-glass role; A's administrator makes a
    role of that name in A and gives it AdministratorAccess: it is taken off, as on any role of A's.
    With the member's account written out, the exemption is A's and the policy stays."""
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", "role/OpsBreakGlass")
    a = world.member_id("A")
    admin = world.admin_of("A")
    role = app_role(world, admin, "OpsBreakGlass")

    reply = invoke(world, on_hub_bus(world, attach_admin(world, admin, role), "AttachPolicyToRole"))

    assert [d["outcome"] for d in reply["decisions"] if d["rule"] == "high-risk-policy"] == ["remediated"], reply
    assert policies_of(world, a, role) == []
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", f"acs:ram::{a}:role/OpsBreakGlass")
    reply = invoke(world, on_hub_bus(world, attach_admin(world, admin, role), "AttachPolicyToRole"))
    assert [d["outcome"] for d in reply["decisions"] if d["rule"] == "high-risk-policy"] == ["exempt"], reply
    assert policies_of(world, a, role) == [ADMIN]
