"""Sweeping several owner accounts in one run: each through its member role, each reported on its own."""
from __future__ import annotations

import pytest

from emulator import EmulatorServer
from shared.sweep import SweepFailed
from tests.functions.revoke_support import (Owner, call_mark, context, invoke, managed_past_expiry, member_role,
                                            orphan_policies, setup_owner)
from tests.functions.revoke_support import sweep_env, sweep_owner  # noqa: F401 (fixtures)


@pytest.fixture
def members(emulator: EmulatorServer, sweep_owner: Owner) -> tuple[Owner, Owner]:
    """Two member accounts whose RolegateSweeper role trusts the function's account."""
    out = []
    for _ in range(2):
        member = setup_owner(emulator)
        member_role(emulator, member, sweep_owner.account_id)
        out.append(member)
    return out[0], out[1]


def by_account(summary: dict) -> dict[str, dict]:
    return {part["account_id"]: part for part in summary["accounts"]}


def test_two_member_accounts_swept_in_one_run(emulator: EmulatorServer, sweep_owner: Owner,
                                              members: tuple[Owner, Owner],
                                              sweep_env: pytest.MonkeyPatch) -> None:
    """Expired grants go in both members, through an assumed role each; the function's own account is not listed."""
    b, c = members
    b_expired = [b.grant(60, custom=True).role_name for _ in range(2)]
    b.grant(100_000)
    c_expired = c.grant(60).role_name
    c.grant(100_000)
    own = sweep_owner.grant(60).role_name
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{b.account_id},{c.account_id}")
    mark = call_mark(emulator)

    summary = invoke(context(account_id=sweep_owner.account_id))
    parts = by_account(summary)
    assert list(parts) == [b.account_id, c.account_id]
    assert (parts[b.account_id]["examined"], parts[b.account_id]["revoked"]) == (3, 2)
    assert (parts[c.account_id]["examined"], parts[c.account_id]["revoked"]) == (2, 1)
    assert (summary["examined"], summary["revoked"], summary["ok"]) == (5, 3, True)
    assert not set(b_expired) & b.role_names() and c_expired not in c.role_names()
    assert own in sweep_owner.role_names()  # not listed, not swept
    for member in (b, c):
        assert managed_past_expiry(member) == [] and orphan_policies(member) == []
    assumed = [c["params"]["RoleArn"] for c in emulator.calls(mark) if c["action"] == "AssumeRole"]
    assert sorted(assumed) == sorted(f"acs:ram::{m.account_id}:role/RolegateSweeper" for m in (b, c))
    deletes = {c["caller"] for c in emulator.calls(mark) if c["action"] == "DeleteRole"}
    assert all("assumed-role/RolegateSweeper/rolegate-revoke" in caller for caller in deletes)
    # Each member's grants are proven with that member's own record key, read through its sweeper role.
    assert summary["unreadable_records"] == [] and summary["disarmed"] == []
    key_reads = {c["caller"] for c in emulator.calls(mark) if c["action"] == "GetSecretValue"}
    assert len(key_reads) == 2 and all("assumed-role/RolegateSweeper/rolegate-revoke" in c for c in key_reads)


def test_unreachable_account_does_not_stop_the_others(emulator: EmulatorServer, sweep_owner: Owner,
                                                      members: tuple[Owner, Owner],
                                                      sweep_env: pytest.MonkeyPatch) -> None:
    """An account without the member role is reported and fails the invocation; the others are swept.

    The function's own account, when listed, is swept with its own credentials.
    """
    b, _ = members
    stranger = setup_owner(emulator)
    b.grant(60)
    stranger.grant(60)
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{stranger.account_id},{sweep_owner.account_id},{b.account_id}")
    mark = call_mark(emulator)
    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_owner.account_id))
    assert info.value.code == "SweepIncomplete" and info.value.details["accounts"] == [stranger.account_id]
    parts = by_account(info.value.summary)
    assert parts[stranger.account_id]["error"]["action"] == "AssumeRole"
    assert parts[sweep_owner.account_id]["revoked"] == 1 and parts[b.account_id]["revoked"] == 1
    assert managed_past_expiry(stranger) != []
    assumed = [c["params"]["RoleArn"] for c in emulator.calls(mark) if c["action"] == "AssumeRole"]
    assert not [arn for arn in assumed if sweep_owner.account_id in arn]


def test_guard_is_per_account(emulator: EmulatorServer, sweep_owner: Owner, members: tuple[Owner, Owner],
                              sweep_env: pytest.MonkeyPatch) -> None:
    """A mass expiry in one account blocks that account only; the other is swept, the invocation fails."""
    b, c = members
    for _ in range(7):
        b.grant(60)
    c.grant(60)
    c.grant(100_000)
    emulator.advance_clock(61)
    before_b = b.state()
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{b.account_id},{c.account_id}")
    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_owner.account_id))
    assert info.value.code == "SweepBlocked"
    parts = by_account(info.value.summary)
    assert parts[b.account_id]["blocked"]["expired"] == 7 and parts[c.account_id]["revoked"] == 1
    assert b.state() == before_b


def test_revocation_cap_spans_all_accounts(emulator: EmulatorServer, sweep_owner: Owner,
                                           members: tuple[Owner, Owner], sweep_env: pytest.MonkeyPatch) -> None:
    """max_revocations is per run, not per account."""
    b, c = members
    for member in (b, c):
        member.grant(60)
        member.grant(70)
        member.grant(100_000)
    emulator.advance_clock(71)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{b.account_id},{c.account_id}")
    summary = invoke(context(account_id=sweep_owner.account_id), payload={"max_revocations": 3})
    assert (summary["revoked"], summary["left_for_next_run"]) == (3, 1)


def test_accounts_not_started_before_the_deadline_are_reported(emulator: EmulatorServer, sweep_owner: Owner,
                                                               members: tuple[Owner, Owner],
                                                               sweep_env: pytest.MonkeyPatch) -> None:
    """Out of time before an account is reached: it is reported as not swept and the invocation fails."""
    b, c = members
    b.grant(60)
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{c.account_id},{b.account_id}")
    sweep_env.setenv("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "1")
    with pytest.raises(SweepFailed) as info:
        invoke(context(timeout=0.001, account_id=sweep_owner.account_id))  # gone after the first listing
    assert info.value.code == "SweepIncomplete" and b.account_id in info.value.details["accounts"]
    assert by_account(info.value.summary)[b.account_id]["error"]["code"] == "DeadlineExceeded"
    assert managed_past_expiry(b) != []


def test_accounts_are_swept_side_by_side_each_at_its_own_limit(emulator: EmulatorServer, sweep_owner: Owner,
                                                               members: tuple[Owner, Owner],
                                                               sweep_env: pytest.MonkeyPatch) -> None:
    """With per-account throttling, both members are worked on at once and neither loses a grant."""
    b, c = members
    for member in (b, c):
        for _ in range(10):
            member.grant(60, custom=True)
    emulator.advance_clock(61)
    emulator.add_fault(kind="throttle", action="*", per_second=20, per_account=True)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{b.account_id},{c.account_id}")
    mark = call_mark(emulator)
    summary = invoke(context(account_id=sweep_owner.account_id), payload={"max_share": 1})
    assert (summary["revoked"], summary["failed"]) == (20, [])
    deletes = [call["account_id"] for call in emulator.calls(mark) if call["action"] == "DeleteRole"]
    first_c, last_b = deletes.index(c.account_id), len(deletes) - 1 - deletes[::-1].index(b.account_id)
    assert first_c < last_b  # interleaved, not one account after the other
    for member in (b, c):
        assert managed_past_expiry(member) == [] and orphan_policies(member) == []


def test_orphans_collected_in_each_member_under_one_cap(emulator: EmulatorServer, sweep_owner: Owner,
                                                        members: tuple[Owner, Owner],
                                                        sweep_env: pytest.MonkeyPatch) -> None:
    """Each member's orphans are found through its own role; the deletion cap is the run's, the rest reported."""
    b, c = members
    b_orphan, c_orphan = b.orphan(), c.orphan()
    emulator.advance_clock(901)
    sweep_env.setenv("ROLEGATE_SWEEP_ACCOUNTS", f"{b.account_id},{c.account_id}")
    sweep_env.setenv("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "1")
    sweep_env.setenv("ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS", "1")

    first = invoke(context(account_id=sweep_owner.account_id))
    assert first["orphans_deleted"] == 1 and by_account(first)[b.account_id]["orphans_deleted"] == 1
    assert b_orphan not in b.policy_names() and c_orphan in c.policy_names()
    [skipped] = first["orphans_skipped"]
    assert (skipped["account_id"], skipped["policy"]) == (c.account_id, c_orphan)

    second = invoke(context(account_id=sweep_owner.account_id))
    assert (second["orphans_deleted"], second["orphans_skipped"]) == (1, [])
    assert orphan_policies(b) == [] and orphan_policies(c) == []
