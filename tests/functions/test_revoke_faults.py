"""The sweep under injected errors, throttling and latency: it converges and it stops in time."""
from __future__ import annotations


import pytest

from emulator import EmulatorServer
from tests.functions.revoke_support import (Owner, call_mark, context, invoke, managed_past_expiry,
                                            orphan_policies)
from tests.functions.revoke_support import sweep_env, sweep_owner  # noqa: F401 (fixtures)

ALL = {"max_share": 1}  # these tests expire whole fleets on purpose


def expired_fleet(owner: Owner, emulator: EmulatorServer, count: int) -> list[str]:
    names = [owner.grant(60, custom=i % 2 == 0).role_name for i in range(count)]
    emulator.advance_clock(61)
    return names


def assert_converged(owner: Owner) -> None:
    """Nothing left behind: no managed role past its expiry, no grant policy without its role."""
    assert managed_past_expiry(owner) == []
    assert orphan_policies(owner) == []


def test_errors_and_throttling_mid_sweep_then_convergence(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """5xx answers and a 20 calls/s throttle during the sweep; whatever is left, the next run finishes."""
    expired_fleet(sweep_owner, emulator, 12)
    emulator.add_fault(kind="error", action="DeleteRole", code="InternalError", status=500, times=3, after=2)
    emulator.add_fault(kind="throttle", action="*", per_second=20)
    first = invoke(payload=ALL)
    assert first["pacing"]["throttled"] > 0 and first["pacing"]["slowdowns"] > 0
    assert first["revoked"] + len(first["failed"]) == 12
    emulator.clear_faults()
    second = invoke(payload=ALL)
    assert second["failed"] == [] and first["revoked"] + second["revoked"] == 12
    assert_converged(sweep_owner)


def test_half_revoked_grants_are_finished_by_the_next_run(emulator: EmulatorServer, sweep_owner: Owner,
                                                          sweep_env: pytest.MonkeyPatch) -> None:
    """DeleteRole failing for good leaves roles stripped but present; the next run deletes them."""
    sweep_env.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "2")
    names = expired_fleet(sweep_owner, emulator, 6)
    emulator.add_fault(kind="error", action="DeleteRole", code="InternalError", status=500, times=1000)
    emulator.add_fault(kind="error", action="DetachPolicyFromRole", code="ServiceUnavailable", status=503,
                       times=2, phase="after")  # lost responses: the detach happened, the caller saw a 503
    first = invoke(payload=ALL)
    assert first["revoked"] == 0 and len(first["failed"]) == 6
    assert {f["code"] for f in first["failed"]} == {"InternalError"}
    assert all(f["retryable"] and f["grant_id"] and f["role"] in names for f in first["failed"])
    state = sweep_owner.state()
    assert all(state["roles"][name][1] == [] for name in names)  # access already removed
    assert not [p for p in state["policies"] if p.startswith("rolegate-g-")]
    emulator.clear_faults()
    second = invoke(payload=ALL)
    assert (second["revoked"], second["failed"]) == (6, [])
    assert_converged(sweep_owner)


def test_one_failing_grant_does_not_stop_the_others(emulator: EmulatorServer, sweep_owner: Owner,
                                                    sweep_env: pytest.MonkeyPatch) -> None:
    """With one worker, the first grant's DeleteRole is refused; the rest are revoked and the refusal is not
    repeated (it says the request itself is wrong), then the next run finishes it."""
    sweep_env.setenv("ROLEGATE_SWEEP_CONCURRENCY", "1")
    names = expired_fleet(sweep_owner, emulator, 5)
    emulator.add_fault(kind="error", action="DeleteRole", code="NoPermission", status=403, times=1)
    mark = call_mark(emulator)
    summary = invoke(payload=ALL)
    assert (summary["revoked"], [f["code"] for f in summary["failed"]]) == (4, ["NoPermission"])
    deletes = [c["params"]["RoleName"] for c in emulator.calls(mark) if c["action"] == "DeleteRole"]
    assert sorted(deletes) == sorted(names)  # each asked once: the refused one is not tried again
    assert "retryable" not in summary["failed"][0] and summary["failed"][0]["role"] == deletes[0]
    assert summary["ok"] is True  # per-grant failures are retried next run, not an invocation failure
    assert invoke(payload=ALL)["revoked"] == 1
    assert_converged(sweep_owner)


def test_a_transient_failure_gets_a_second_try_after_the_others(emulator: EmulatorServer, sweep_owner: Owner,
                                                              sweep_env: pytest.MonkeyPatch) -> None:
    """A grant whose call retries are used up by a transient error is tried again once the rest are done."""
    sweep_env.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "2")
    sweep_env.setenv("ROLEGATE_SWEEP_CONCURRENCY", "1")
    names = expired_fleet(sweep_owner, emulator, 4)
    emulator.add_fault(kind="error", action="DeleteRole", code="ServiceUnavailable", status=503, times=2)
    mark = call_mark(emulator)
    summary = invoke(payload=ALL)
    assert (summary["revoked"], summary["failed"]) == (4, [])
    deletes = [(c["params"]["RoleName"], c["outcome"]) for c in emulator.calls(mark) if c["action"] == "DeleteRole"]
    first = deletes[0][0]
    assert deletes[:2] == [(first, "ServiceUnavailable")] * 2  # both attempts of the first grant's first try
    assert deletes[-1] == (first, "ok")  # its second try, after the others
    assert sorted(name for name, outcome in deletes if outcome == "ok") == sorted(names)
    assert_converged(sweep_owner)


def test_deadline_stops_new_revocations_and_the_next_run_finishes(emulator: EmulatorServer, sweep_owner: Owner,
                                                                  sweep_env: pytest.MonkeyPatch) -> None:
    """A 2 s function with slow DeleteRole stops starting revocations in time and reports the rest."""
    sweep_env.setenv("ROLEGATE_SWEEP_CONCURRENCY", "2")
    sweep_env.setenv("ROLEGATE_SWEEP_SAFETY_MARGIN_SECONDS", "1")
    expired_fleet(sweep_owner, emulator, 16)
    emulator.add_fault(kind="latency", action="DeleteRole", delay_ms=250)
    mark = call_mark(emulator)
    first = invoke(context(timeout=2), payload=ALL)
    assert first["left_for_next_run"] > 0 and first["failed"] == []
    assert first["revoked"] + first["left_for_next_run"] == 16
    # Every revocation it started, it finished and counted: none was abandoned half-way when time ran out.
    deleted = [c for c in emulator.calls(mark) if c["action"] == "DeleteRole" and c["outcome"] == "ok"]
    assert len(deleted) == first["revoked"]
    emulator.clear_faults()
    second = invoke(context(timeout=60), payload=ALL)
    assert (second["revoked"], second["left_for_next_run"]) == (first["left_for_next_run"], 0)
    assert_converged(sweep_owner)


def test_sweep_under_a_throttle_loses_nothing(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """Under a 50 calls/s throttle and no configured ceiling, every grant is revoked and nothing fails.

    How close the sweep keeps to the limit is a speed figure, measured side by
    side in ``bench/sweep.py``; timing it here would fail on a busy machine.
    """
    expired_fleet(sweep_owner, emulator, 75)
    emulator.add_fault(kind="throttle", action="*", per_second=50)
    summary = invoke(payload=ALL)
    assert (summary["revoked"], summary["failed"]) == (75, [])
    assert_converged(sweep_owner)
