"""A hub's sweep: its own account and every member, each through its manager role, each reported on its own."""
from __future__ import annotations

import pytest

from emulator import EmulatorServer
from shared.sweep import SweepFailed
from tests.functions.revoke_support import (Owner, call_mark, context, invoke, managed_past_expiry, manager_role,
                                            orphan_policies, setup_owner)
from tests.functions.revoke_support import sweep_env, sweep_hub  # noqa: F401 (fixtures)
from tests.hub_world import DIRECTORY_PATH, MANAGER_ROLE

READ_ONLY_RAM = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:Get*", "ram:List*"],
                                                "Resource": "*"}]}


@pytest.fixture
def members(emulator: EmulatorServer, sweep_hub: Owner) -> tuple[Owner, Owner]:
    """Two member accounts whose manager role trusts the hub; their grants are sealed with the hub's key."""
    out = []
    for _ in range(2):
        member = setup_owner(emulator, sweep_hub)
        manager_role(member, sweep_hub.account_id)
        out.append(member)
    return out[0], out[1]


def listed(monkeypatch: pytest.MonkeyPatch, *owners: Owner) -> None:
    monkeypatch.setenv("ROLEGATE_MEMBERS", ",".join(o.account_id for o in owners))


def by_account(summary: dict) -> dict[str, dict]:
    return {part["account_id"]: part for part in summary["accounts"]}


def test_hub_and_members_swept_in_one_run(emulator: EmulatorServer, sweep_hub: Owner, members: tuple[Owner, Owner],
                                          sweep_env: pytest.MonkeyPatch) -> None:
    """Expired grants go in the hub and in both members, each member through a session of its manager role."""
    b, c = members
    b_expired = [b.grant(60, custom=True).role_name for _ in range(2)]
    b.grant(100_000)
    c_expired = c.grant(60).role_name
    c.grant(100_000)
    own = sweep_hub.grant(60).role_name
    emulator.advance_clock(61)
    listed(sweep_env, b, c)
    mark = call_mark(emulator)

    summary = invoke(context(account_id=sweep_hub.account_id))

    parts = by_account(summary)
    assert list(parts) == [sweep_hub.account_id, b.account_id, c.account_id]
    assert (parts[b.account_id]["examined"], parts[b.account_id]["revoked"]) == (3, 2)
    assert (parts[c.account_id]["examined"], parts[c.account_id]["revoked"]) == (2, 1)
    assert (parts[sweep_hub.account_id]["examined"], parts[sweep_hub.account_id]["revoked"]) == (1, 1)
    assert (summary["examined"], summary["revoked"], summary["ok"]) == (6, 4, True)
    assert not set(b_expired) & b.role_names() and c_expired not in c.role_names()
    assert own not in sweep_hub.role_names()
    for member in (b, c):
        assert managed_past_expiry(member) == [] and orphan_policies(member) == []
    calls = emulator.calls(mark)
    assumed = [(c["params"]["RoleArn"], c["params"]["RoleSessionName"]) for c in calls if c["action"] == "AssumeRole"]
    assert sorted(assumed) == sorted((f"acs:ram::{m.account_id}:role/{MANAGER_ROLE}", "rolegate-revoke")
                                     for m in (b, c))
    member_deletes = {c["caller"] for c in calls if c["action"] == "DeleteRole" and c["account_id"] != sweep_hub.account_id}
    assert member_deletes and all(f"assumed-role/{MANAGER_ROLE}/rolegate-revoke" in who for who in member_deletes)
    # Every record is proven with the hub's key: no member's KMS is ever asked for one.
    assert summary["unreadable_records"] == [] and summary["disarmed"] == []
    assert {c["account_id"] for c in calls if c["action"] == "GetSecretValue"} == {sweep_hub.account_id}


def test_a_member_administrators_own_record_key_is_not_believed(emulator: EmulatorServer, sweep_hub: Owner,
                                                                members: tuple[Owner, Owner],
                                                                sweep_env: pytest.MonkeyPatch) -> None:
    """A member's administrator makes a ``rolegate-record-key`` of their own and seals a grant with it.

    The sweep proves records with the hub's key only: the forged grant is never
    revoked as an expired grant (nor counted by the guard), it is reported and
    disarmed; a record the hub sealed for the other member, copied onto a role
    here, does not verify either. The member's genuine expired grant still goes.
    """
    b, c = members
    genuine = b.grant(60).role_name
    forged = Owner(emulator, b.root, b.partner, b.root).grant(60).role_name  # sealed with b's own key
    copied = c.grant(100_000)
    b.plain_role(copied.role_name, c.state()["roles"][copied.role_name][0], attach="AliyunECSReadOnlyAccess")
    emulator.advance_clock(61)
    listed(sweep_env, b, c)
    mark = call_mark(emulator)

    summary = invoke(context(account_id=sweep_hub.account_id))

    part = by_account(summary)[b.account_id]
    assert (part["examined"], part["revoked"]) == (1, 1) and genuine not in b.role_names()
    assert {e["role"] for e in part["unreadable_records"]} == {forged, copied.role_name}
    assert {d["role"] for d in part["disarmed"]} == {forged, copied.role_name}
    assert {forged, copied.role_name} <= b.role_names()  # disarmed, never deleted as if expired
    assert b.state()["roles"][copied.role_name][1] == []
    assert copied.role_name in c.role_names() and by_account(summary)[c.account_id]["unreadable_records"] == []
    assert {c["account_id"] for c in emulator.calls(mark) if c["action"] == "GetSecretValue"} == {
        sweep_hub.account_id}


def test_a_member_without_its_manager_role_is_reported_and_the_others_swept(
        emulator: EmulatorServer, sweep_hub: Owner, members: tuple[Owner, Owner],
        sweep_env: pytest.MonkeyPatch) -> None:
    """A listed member that never made its manager role: MemberNotEnrolled in its part, the invocation fails."""
    b, _ = members
    stranger = setup_owner(emulator, sweep_hub)
    b.grant(60)
    stranger.grant(60)
    sweep_hub.grant(60)
    emulator.advance_clock(61)
    listed(sweep_env, stranger, b)

    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_hub.account_id))

    assert info.value.code == "SweepIncomplete" and info.value.details["accounts"] == [stranger.account_id]
    parts = by_account(info.value.summary)
    assert parts[stranger.account_id]["error"]["code"] == "MemberNotEnrolled"
    assert parts[sweep_hub.account_id]["revoked"] == 1 and parts[b.account_id]["revoked"] == 1
    assert managed_past_expiry(stranger) != []


def test_a_member_whose_manager_role_is_broken_is_reported_and_the_others_swept(
        emulator: EmulatorServer, sweep_hub: Owner, members: tuple[Owner, Owner],
        sweep_env: pytest.MonkeyPatch) -> None:
    """A manager role that may only read RAM: the member's revocations fail, named in its part; b is swept."""
    b, _ = members
    weak = setup_owner(emulator, sweep_hub)
    manager_role(weak, sweep_hub.account_id, READ_ONLY_RAM)
    b.grant(60)
    stuck = weak.grant(60).role_name
    emulator.advance_clock(61)
    listed(sweep_env, weak, b)

    summary = invoke(context(account_id=sweep_hub.account_id))

    parts = by_account(summary)
    assert parts[b.account_id]["revoked"] == 1 and parts[weak.account_id]["revoked"] == 0
    [failure] = parts[weak.account_id]["failed"]
    assert failure["role"] == stuck and stuck in weak.role_names()
    assert summary["failed"] == [{"account_id": weak.account_id, **failure}]


def test_members_read_from_the_resource_directory(emulator: EmulatorServer, sweep_hub: Owner,
                                                  members: tuple[Owner, Owner],
                                                  sweep_env: pytest.MonkeyPatch) -> None:
    """``ROLEGATE_MEMBERS=resource-directory``: the directory's members are swept, an account outside it is not."""
    b, c = members
    outsider = setup_owner(emulator, sweep_hub)
    manager_role(outsider, sweep_hub.account_id)
    emulator.admin("POST", DIRECTORY_PATH, {"management_account_id": sweep_hub.account_id,
                                            "member_account_ids": [b.account_id, c.account_id]})
    for owner in (b, c, outsider):
        owner.grant(60)
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_MEMBERS", "resource-directory")

    summary = invoke(context(account_id=sweep_hub.account_id))

    assert set(by_account(summary)) == {sweep_hub.account_id, b.account_id, c.account_id}
    assert summary["revoked"] == 2 and managed_past_expiry(outsider) != []


def test_a_directory_that_cannot_be_listed_still_sweeps_the_hub(emulator: EmulatorServer, sweep_hub: Owner,
                                                                sweep_env: pytest.MonkeyPatch) -> None:
    """No Resource Directory behind the hub: the hub's own expired grant goes, the failure is named."""
    own = sweep_hub.grant(60).role_name
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_MEMBERS", "resource-directory")

    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_hub.account_id))

    summary = info.value.summary
    assert summary["members_error"]["code"] and summary["ok"] is False
    assert [p["account_id"] for p in summary["accounts"]] == [sweep_hub.account_id]
    assert own not in sweep_hub.role_names()


def test_guard_is_per_account(emulator: EmulatorServer, sweep_hub: Owner, members: tuple[Owner, Owner],
                              sweep_env: pytest.MonkeyPatch) -> None:
    """A mass expiry in one member blocks that member only; the other is swept, the invocation fails."""
    b, c = members
    for _ in range(7):
        b.grant(60)
    c.grant(60)
    c.grant(100_000)
    emulator.advance_clock(61)
    before_b = b.state()
    listed(sweep_env, b, c)
    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_hub.account_id))
    assert info.value.code == "SweepBlocked"
    parts = by_account(info.value.summary)
    assert parts[b.account_id]["blocked"]["expired"] == 7 and parts[c.account_id]["revoked"] == 1
    assert b.state() == before_b


def test_revocation_cap_spans_all_accounts(emulator: EmulatorServer, sweep_hub: Owner,
                                           members: tuple[Owner, Owner], sweep_env: pytest.MonkeyPatch) -> None:
    """max_revocations is per run, not per account."""
    b, c = members
    for member in (b, c):
        member.grant(60)
        member.grant(70)
        member.grant(100_000)
    emulator.advance_clock(71)
    listed(sweep_env, b, c)
    summary = invoke(context(account_id=sweep_hub.account_id), payload={"max_revocations": 3})
    assert (summary["revoked"], summary["left_for_next_run"]) == (3, 1)


def test_accounts_not_started_before_the_deadline_are_reported(emulator: EmulatorServer, sweep_hub: Owner,
                                                               members: tuple[Owner, Owner],
                                                               sweep_env: pytest.MonkeyPatch) -> None:
    """Out of time before a member is reached: it is reported as not swept and the invocation fails."""
    b, c = members
    b.grant(60)
    emulator.advance_clock(61)
    listed(sweep_env, c, b)
    sweep_env.setenv("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "1")
    with pytest.raises(SweepFailed) as info:
        invoke(context(timeout=0.001, account_id=sweep_hub.account_id))  # gone after the first listing
    assert info.value.code == "SweepIncomplete" and b.account_id in info.value.details["accounts"]
    assert by_account(info.value.summary)[b.account_id]["error"]["code"] == "DeadlineExceeded"
    assert managed_past_expiry(b) != []


def test_members_are_swept_side_by_side_each_at_its_own_limit(emulator: EmulatorServer, sweep_hub: Owner,
                                                              members: tuple[Owner, Owner],
                                                              sweep_env: pytest.MonkeyPatch) -> None:
    """With per-account throttling, both members are worked on at once and neither loses a grant."""
    b, c = members
    for member in (b, c):
        for _ in range(10):
            member.grant(60, custom=True)
    emulator.advance_clock(61)
    emulator.add_fault(kind="throttle", action="*", per_second=20, per_account=True)
    listed(sweep_env, b, c)
    mark = call_mark(emulator)
    summary = invoke(context(account_id=sweep_hub.account_id), payload={"max_share": 1})
    assert (summary["revoked"], summary["failed"]) == (20, [])
    deletes = [call["account_id"] for call in emulator.calls(mark) if call["action"] == "DeleteRole"]
    first_c, last_b = deletes.index(c.account_id), len(deletes) - 1 - deletes[::-1].index(b.account_id)
    assert first_c < last_b  # interleaved, not one account after the other
    assert {part["account_id"]: part["pacing"] is not None for part in summary["accounts"]} == {
        sweep_hub.account_id: True, b.account_id: True, c.account_id: True}
    for member in (b, c):
        assert managed_past_expiry(member) == [] and orphan_policies(member) == []


def test_orphans_collected_in_each_member_under_one_cap(emulator: EmulatorServer, sweep_hub: Owner,
                                                        members: tuple[Owner, Owner],
                                                        sweep_env: pytest.MonkeyPatch) -> None:
    """Each member's orphans are found through its own role; the deletion cap is the run's, the rest reported."""
    b, c = members
    b_orphan, c_orphan = b.orphan(), c.orphan()
    emulator.advance_clock(901)
    listed(sweep_env, b, c)
    sweep_env.setenv("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "1")
    sweep_env.setenv("ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS", "1")

    first = invoke(context(account_id=sweep_hub.account_id))
    assert first["orphans_deleted"] == 1 and by_account(first)[b.account_id]["orphans_deleted"] == 1
    assert b_orphan not in b.policy_names() and c_orphan in c.policy_names()
    [skipped] = first["orphans_skipped"]
    assert (skipped["account_id"], skipped["policy"]) == (c.account_id, c_orphan)

    second = invoke(context(account_id=sweep_hub.account_id))
    assert (second["orphans_deleted"], second["orphans_skipped"]) == (1, [])
    assert orphan_policies(b) == [] and orphan_policies(c) == []
