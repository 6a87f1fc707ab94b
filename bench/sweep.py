"""Sweep: the revoke function at RAM's default role quota, under latency and throttling, in one and ten accounts.

Setup (no faults): each owner account gets 1,000 managed grants of one to
three policies (every fourth with a custom policy), 300 of them past expiry,
made through ``GrantStore.create`` with the owner's root key. Then every call
is delayed 30 ms and throttled above 50 calls/s, and the revoke handler runs
as deployed (``s.yaml``'s environment and timeout), triggered by its timer
event.

1. One account, the function's own; the throttle is one bucket, as stated:
   ``{"kind": "throttle", "action": "*", "per_second": 50}``.
2. Ten member accounts swept from a hub, which assumes the manager role
   ``RolegateManager`` in each (``ROLEGATE_MEMBERS``; at first the deployed
   ``ROLEGATE_SWEEP_PARALLEL_ACCOUNTS`` of them at a time). RAM's limits are
   per account, so here the throttle keeps one bucket per calling account
   (``"per_account": true``). Should an invocation reach its deadline, the
   next timer firing carries on; the invocations are counted and their wall
   times added.

Measured: revocations and failures (from the handler's summary), calls the
emulator answered ``ok`` and throttled (call log), and the ok-call rate =
ok calls / wall time of the invocations, against the 50/s ceiling. The
minimum number of calls (one ListRoles per 1,000 grants, then per expired
grant ListPoliciesForRole + one detach per policy + one DeletePolicy per
custom policy + DeleteRole; one ListPolicies per 1,000 Rolegate custom
policies for orphans; plus one AssumeRole per member account) is shown
beside the ok calls.

Goals, in each setting: zero failures (all expired grants revoked, nothing
failed) and an ok-call rate >= 85% of the 50/s ceiling -- for ten accounts,
in every account (its ok calls over the span of its own calls), since each
has its own 50/s. Shown beside: the run's aggregate rate against what the
accounts swept at once could take together (parallel x 50/s), and against
all ten limits (500/s).
"""
from __future__ import annotations

import json
import math
import time
from collections import Counter
from datetime import datetime
from typing import Any

from bench.harness import (Emulator, Verdicts, function_environment, header, parser, run_main, scaled, silenced,
                           table)
from bench.scenarios import Revoke, timer_event

COMMAND = "python -m bench sweep"
CEILING = 50.0
LATENCY_MS = 30
MIN_SHARE = 0.85
MAX_INVOCATIONS = 20
FULL_GRANTS, FULL_EXPIRED, ACCOUNTS = 1000, 300, 10


def minimum_calls(scenario: Revoke) -> int:
    """The fewest calls the run allows (see the module docstring), from the grants the setup made."""
    total = 0
    for grants in scenario.fleets.values():
        total += math.ceil(len(grants) / 1000)
        # One ListPolicies page per 1,000 Rolegate custom policies finds those that outlived their grant.
        total += max(1, math.ceil(sum(p.kind == "Custom" for g in grants for p in g.policies) / 1000))
        for grant in grants:
            if grant.expires_at <= datetime.now(grant.expires_at.tzinfo):
                custom = sum(1 for p in grant.policies if p.kind == "Custom")
                total += 2 + len(grant.policies) + custom
    return total + (len(scenario.swept) if scenario.accounts > 1 else 0)


def invoke_until_done(scenario: Revoke) -> tuple[list[dict[str, Any]], float]:
    """Timer invocations until a run leaves nothing for the next one; their summaries and summed wall time."""
    from functions.revoke.index import handler
    from shared.sweep import SweepFailed

    summaries, wall = [], 0.0
    with function_environment(scenario.env):
        for _ in range(MAX_INVOCATIONS):
            started = time.perf_counter()
            with silenced():
                try:
                    summary = handler(json.dumps(timer_event()).encode(), scenario.context)
                except SweepFailed as exc:  # an account not reached in time: the next firing goes on
                    summary = exc.summary
            wall += time.perf_counter() - started
            summaries.append(summary)
            if not summary.get("left_for_next_run") and all(a.get("ok", True) for a in summary.get("accounts", [])):
                break
    return summaries, wall


def account_rates(calls: list[dict[str, Any]], accounts: list[str]) -> list[float]:
    """Each account's ok calls per second over the span of its own calls (the central account's AssumeRole aside)."""
    rates = []
    for account in accounts:
        mine = [c for c in calls if c["account_id"] == account]
        ok = sum(1 for c in mine if c["outcome"] == "ok")
        if len(mine) > 1:
            span = (datetime.fromisoformat(mine[-1]["time"]) - datetime.fromisoformat(mine[0]["time"])).total_seconds()
            rates.append(ok / span if span > 0 else math.nan)
    return rates


def run_setting(label: str, accounts: int, grants: int, expired: int, per_account: bool,
                verdicts: Verdicts) -> tuple[Any, ...]:
    """Set up one setting in a fresh emulator, sweep it under faults, judge it; its table row."""
    scenario = Revoke(label, "revoke", "revoke", accounts=accounts, per_run=0, fleet_size=grants,
                      fleet_expired=expired)
    with Emulator() as emu:
        started = time.perf_counter()
        with silenced():
            scenario.setup(emu)
        setup_s = time.perf_counter() - started
        emu.add_fault(kind="latency", action="*", delay_ms=LATENCY_MS)
        emu.add_fault(kind="throttle", action="*", per_second=CEILING, **({"per_account": True} if per_account else {}))
        mark = emu.mark()
        summaries, wall = invoke_until_done(scenario)
        calls = emu.calls(mark)
    outcomes = Counter("ok" if c["outcome"] == "ok" else c["outcome"] for c in calls)
    ok_calls = outcomes["ok"]
    throttled = sum(n for o, n in outcomes.items() if o.startswith("Throttling"))
    revoked = sum(s.get("revoked", 0) for s in summaries)
    failed = [f for s in summaries for f in s.get("failed", [])]
    rate = ok_calls / wall if wall else 0.0
    expected = accounts * expired
    rates = account_rates(calls, [a["account_id"] for a in scenario.swept])
    at_once = min(accounts, int(scenario.env.get("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "1"))) if accounts > 1 else 1
    verdicts.check(f"{label}: zero failures", revoked == expected and not failed,
                   f"revoked {revoked}/{expected}, failed {len(failed)}, invocations {len(summaries)}")
    if accounts == 1:
        verdicts.check(f"{label}: ok-call rate >= {MIN_SHARE:.0%} of {CEILING:g}/s", rate >= MIN_SHARE * CEILING,
                       f"{ok_calls} ok calls in {wall:.1f} s = {rate:.1f}/s = {rate / CEILING:.0%}")
    else:
        slowest = min(rates) if rates else 0.0
        verdicts.check(f"{label}: ok-call rate >= {MIN_SHARE:.0%} of {CEILING:g}/s in every account",
                       slowest >= MIN_SHARE * CEILING,
                       f"slowest account {slowest:.1f}/s = {slowest / CEILING:.0%}; all accounts together "
                       f"{rate:.1f}/s = {rate / (CEILING * at_once):.0%} of {at_once} x {CEILING:g}/s")
    if scenario.role_quota:
        print(f"({label}: the emulator's role quota was raised to {scenario.role_quota} per account, making room "
              f"for the manager role beside {grants} grants)")
    last = summaries[-1]
    pacing = last.get("pacing") or (last.get("accounts") or [{}])[0].get("pacing")
    return (label, f"{accounts}x{grants}", expected, revoked, len(failed), len(summaries), f"{wall:.1f}",
            ok_calls, minimum_calls(scenario), throttled, f"{rate:.1f}",
            f"{min(rates):.1f}-{max(rates):.1f}" if rates else "-", at_once,
            f"{rate / (CEILING * at_once):.0%}", f"{rate / (CEILING * accounts):.0%}", f"{setup_s:.0f}",
            json.dumps(pacing) if pacing else "-")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=ACCOUNTS, help="member accounts in the second setting")
    args = p.parse_args(argv)
    grants, expired = scaled(FULL_GRANTS, args.scale, 2), scaled(FULL_EXPIRED, args.scale, 1)
    header("Sweep", args.scale, f"{COMMAND} --scale {args.scale:g}")
    print(f"{grants} grants per account, {expired} expired; +{LATENCY_MS} ms per call, throttle {CEILING:g} calls/s")
    verdicts = Verdicts("sweep")
    rows = [run_setting("1 account", 1, grants, expired, False, verdicts),
            run_setting(f"{args.accounts} accounts", args.accounts, grants, expired, True, verdicts)]
    print(table(("setting", "grants", "expired", "revoked", "failed", "invocations", "wall s", "ok calls",
                 "min calls", "throttled", "ok/s", "per account ok/s", "at once", "of at-once limits",
                 "of all limits", "setup s"), [r[:-1] for r in rows]))
    print()
    for r in rows:
        print(f"pacer ({r[0]}, first account of the last invocation): {r[-1]}")
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
