"""Organization: a hub sweeping 50 members of 1,000 grants each, each at its own RAM limit, and onboarding into 50.

The world: a hub account, where the functions run (RAM users holding their
deployed policy, the statement that lets them assume the members' manager
roles and ResourceManager ``ListAccounts``) and the record key lives, manages
a Resource Directory of M members (``ROLEGATE_MEMBERS=resource-directory``).
Each member holds the manager role ``RolegateManager``, trusting the hub and
holding the revoke and onboard policies, and 1,000 grants made as
``bench/sweep.py`` makes them (one to three policies, every fourth with a
custom one, 300 past expiry), sealed with the hub's record key and bound to
the member. The emulator's role quota is raised to 1,001 per account for the
manager role.

1. Sweep: every call is delayed 30 ms and throttled above 50 calls/s, one
   bucket per calling account (RAM's limits are per account). The revoke
   handler runs as deployed (its timer event, ``s.yaml``'s environment and
   300 s timeout) in one warm instance, fired again while a run leaves work
   for the next (or a member for lack of time), at most 20 times. Figures:
   each member's ok calls over the span of its own calls, the widest the
   sweep went (``parallel_accounts``), invocations and their wall time.
2. Per grant: the same sweep of one member (a fresh emulator), beside the
   M members: the function's CPU (this process's, where the handler runs)
   per revoked grant, and the calls per revoked grant.
3. Onboarding: two onboard instances, each a fresh interpreter
   (``bench.child``), each creating two grants in every member through the
   signed webhook (``account_id``), one member after the other and then again.

Goals: every expired grant revoked, none failed; every member swept at >= 85%
of its own 50/s (the sweep widening as far as the function's timeout needs);
the sweep done in one invocation, or each invocation that ran out of time
leaving only accounts it had not started, finished by the next; per grant,
CPU and calls at M members within 1.2x of one member's; onboarding: every
create answered 201 and each instance assuming each member's manager role
exactly once.

``--quick`` runs 3 members of 40 grants (12 expired) in well under 30 s.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from bench.harness import (WEBHOOK_SECRET, Creds, Emulator, FakeContext, Verdicts, create_grants, fleet,
                           function_env, function_timeout, function_user, header, parser, record_keyring,
                           role_trusting, run_main, scaled, silenced, table)
from bench.scenarios import (MANAGER_ROLE, RAM_ROLE_QUOTA, Scenario, dumps, grant_body, http_event, hub_policy,
                             manager_policy, run_child)
from bench.sweep import CEILING, LATENCY_MS, MIN_SHARE, account_rates, invoke_until_done

COMMAND = "python -m bench organization"
MAX_COST_GROWTH = 1.2
FULL_MEMBERS, FULL_GRANTS, FULL_EXPIRED = 50, 1000, 300
QUICK_MEMBERS, QUICK_GRANTS, QUICK_EXPIRED = 3, 40, 12
CREATES_PER_MEMBER = 2


# ------------------------------------------------------------------- the world
@dataclass
class Organization:
    """A hub and its members in one emulator; ``fleets``: each member's grants, when it was given any."""

    emu: Emulator
    hub: Creds
    partner: str
    members: list[Creds]
    fleets: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, emu: Emulator, members: int, grants: int, expired: int) -> "Organization":
        hub = emu.create_account("hub")
        partner = emu.create_account("partner")["account_id"]
        keyring = record_keyring(emu, hub)  # the one record key, as `rolegate keys init` leaves it in the hub
        made = [emu.create_account(f"member-{i}") for i in range(members)]
        emu.admin("POST", "/_emulator/resource-directory", {"management_account_id": hub["account_id"],
                                                           "member_account_ids": [m["account_id"] for m in made]})
        if grants + 2 > RAM_ROLE_QUOTA:  # + the manager role, + the directory's access role
            emu.settings(quotas={"roles_per_account": grants + 2})
        org = cls(emu, hub, partner, made)
        now = emu.now().replace(microsecond=0)
        for member in made:
            role_trusting(emu, member, MANAGER_ROLE, hub["account_id"], custom_policy=manager_policy())
            if grants:
                org.fleets[member["account_id"]] = fleet(member["account_id"], partner, grants, expired, now)
                create_grants(emu, member, org.fleets[member["account_id"]], keyring=keyring)
        return org

    def env(self, function: str, **settings: str) -> dict[str, str]:
        identity = function_user(self.emu, self.hub, f"fc-{function}", hub_policy(function))
        return function_env(self.emu, identity, function, ROLEGATE_MEMBERS="resource-directory", **settings)

    def context(self, function: str) -> FakeContext:
        return FakeContext.of(self.hub["account_id"], function, function_timeout(function))

    @property
    def member_ids(self) -> list[str]:
        return [m["account_id"] for m in self.members]


# ----------------------------------------------------------------------- sweep
@dataclass
class Swept:
    """One sweep of an organization under the per-account throttle, and what it cost."""

    members: int
    expected: int
    summaries: list[dict[str, Any]]
    wall: float
    cpu: float
    calls: list[dict[str, Any]]
    rates: list[float]
    setup_s: float

    @property
    def revoked(self) -> int:
        return sum(s.get("revoked", 0) for s in self.summaries)

    @property
    def failed(self) -> int:
        return sum(len(s.get("failed", [])) for s in self.summaries)

    @property
    def ok_calls(self) -> int:
        return sum(1 for c in self.calls if c["outcome"] == "ok")

    @property
    def throttled(self) -> int:
        return sum(1 for c in self.calls if c["outcome"].startswith("Throttling"))

    @property
    def widest(self) -> int:
        return max((s.get("parallel_accounts", 1) for s in self.summaries), default=1)

    @property
    def cpu_ms_per_grant(self) -> float:
        return self.cpu * 1000 / self.revoked if self.revoked else math.nan

    @property
    def calls_per_grant(self) -> float:
        return self.ok_calls / self.revoked if self.revoked else math.nan

    def clean_continuations(self) -> bool:
        """Every run but the last stopped only for time (accounts left unstarted), and the last left nothing."""
        *earlier, last = self.summaries
        for summary in earlier:
            errors = [a.get("error") for a in summary.get("accounts", []) if a.get("error")]
            if any(e.get("code") != "DeadlineExceeded" for e in errors) or summary.get("failed"):
                return False
        return not last.get("left_for_next_run") and all(a.get("ok", True) for a in last.get("accounts", []))

    def row(self, label: str) -> tuple[Any, ...]:
        return (label, self.members, f"{self.revoked}/{self.expected}", self.failed, len(self.summaries),
                f"{self.wall:.1f}", self.widest, self.ok_calls, self.throttled,
                f"{min(self.rates):.1f}-{max(self.rates):.1f}" if self.rates else "-",
                f"{self.cpu_ms_per_grant:.2f}", f"{self.calls_per_grant:.2f}", f"{self.setup_s:.0f}")


def sweep(members: int, grants: int, expired: int) -> Swept:
    """A fresh emulator and organization, swept under the throttle until nothing is left."""
    with Emulator() as emu:
        started = time.perf_counter()
        with silenced():
            org = Organization.build(emu, members, grants, expired)
            env, context = org.env("revoke"), org.context("revoke")
        setup_s = time.perf_counter() - started
        emu.add_fault(kind="latency", action="*", delay_ms=LATENCY_MS)
        emu.add_fault(kind="throttle", action="*", per_second=CEILING, per_account=True)
        mark = emu.mark()
        cpu = time.process_time()
        summaries, wall = invoke_until_done(SimpleNamespace(env=env, context=context))
        cpu = time.process_time() - cpu
        calls = emu.calls(mark)
    return Swept(members, members * expired, summaries, wall, cpu, calls, account_rates(calls, org.member_ids),
                 setup_s)


# ------------------------------------------------------------------ onboarding
@dataclass
class Onboarding(Scenario):
    """``CREATES_PER_MEMBER`` grants in every member, one member after the other, then round again."""

    org: Organization | None = None

    def setup(self, emu: Emulator) -> None:
        assert self.org is not None
        self.env = self.org.env("onboard", ROLEGATE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        self.context = self.org.context("onboard")

    def handler_events(self) -> list[str]:
        assert self.org is not None
        hub = self.org.hub["account_id"]
        return [dumps(http_event("POST", "/grants", {**grant_body(self.org.partner), "account_id": member}, hub))
                for _ in range(CREATES_PER_MEMBER) for member in self.org.member_ids]

    def handler_ok(self, results: list[Any]) -> bool:
        return [r.get("statusCode") if isinstance(r, dict) else None for r in results] == \
            [201] * (CREATES_PER_MEMBER * len(self.org.member_ids if self.org else []))


def onboard(members: int) -> list[tuple[Any, ...]]:
    """Two fresh onboard instances creating grants in every member; per instance: creates, AssumeRole by role."""
    rows = []
    with Emulator() as emu:
        with silenced():
            org = Organization.build(emu, members, 0, 0)
            scenario = Onboarding("onboarding", "onboard", "onboard", org=org)
            scenario.setup(emu)
        for instance in (1, 2):
            run = run_child(emu, scenario, "handler")
            assumed = Counter(c["params"].get("RoleArn") for c in run.calls if c["action"] == "AssumeRole")
            statuses = Counter(r.get("statusCode") if isinstance(r, dict) else None for r in run.results)
            once = sorted(assumed.values()) == [1] * members and set(assumed) == {
                f"acs:ram::{m}:role/{MANAGER_ROLE}" for m in org.member_ids}
            rows.append((f"instance {instance}", len(run.results), dict(statuses).get(201, 0), sum(assumed.values()),
                         members, "yes" if once else "no", f"{sum(run.invoke_ms) / 1000:.1f}", run.ok and once))
    return rows


# ---------------------------------------------------------------------- report
class Goals(Verdicts):
    """The benchmark's goals, each printed PASS or MISS."""

    def finish(self) -> int:
        print()
        for goal, passed, measured in self.goals:
            print(f"{'PASS' if passed else 'MISS'}  {self.name}: {goal} -- {measured}")
        return 0 if all(p for _, p, _ in self.goals) else 1


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_MEMBERS} members of {QUICK_GRANTS} grants ({QUICK_EXPIRED} expired): under 30 s")
    p.add_argument("--members", type=int, default=0, help=f"members (default {FULL_MEMBERS})")
    args = p.parse_args(argv)
    if args.quick:
        members, grants, expired = QUICK_MEMBERS, QUICK_GRANTS, QUICK_EXPIRED
    else:
        members = FULL_MEMBERS
        grants, expired = scaled(FULL_GRANTS, args.scale, 10), scaled(FULL_EXPIRED, args.scale, 3)
    members = args.members or members
    command = f"{COMMAND} --quick" if args.quick else f"{COMMAND} --scale {args.scale:g}"
    header("Organization", args.scale, command)
    print(f"{members} members of {grants} grants, {expired} expired each; +{LATENCY_MS} ms per call, throttle "
          f"{CEILING:g} calls/s per account")
    goals = Goals("organization")

    many = sweep(members, grants, expired)
    one = sweep(1, grants, expired)
    print(table(("sweep", "members", "revoked", "failed", "invocations", "wall s", "widest", "ok calls",
                 "throttled", "per member ok/s", "CPU ms per grant", "calls per grant", "setup s"),
                [one.row("1 member"), many.row(f"{members} members")]))
    slowest = min(many.rates) if many.rates else 0.0
    goals.check("every expired grant revoked, none failed", many.revoked == many.expected and not many.failed
                and one.revoked == one.expected and not one.failed,
                f"{members} members: {many.revoked}/{many.expected}, failed {many.failed}; "
                f"1 member: {one.revoked}/{one.expected}, failed {one.failed}")
    goals.check(f"every member swept at >= {MIN_SHARE:.0%} of its own {CEILING:g}/s",
                slowest >= MIN_SHARE * CEILING,
                f"slowest {slowest:.1f}/s = {slowest / CEILING:.0%}, widest {many.widest} at once")
    goals.check("done in one invocation, or continued cleanly by the next", many.clean_continuations(),
                f"{len(many.summaries)} invocation(s), {many.wall:.1f} s, timeout {function_timeout('revoke')} s")
    for name, at_many, at_one in (("CPU", many.cpu_ms_per_grant, one.cpu_ms_per_grant),
                                  ("calls", many.calls_per_grant, one.calls_per_grant)):
        growth = at_many / at_one if at_one else math.nan
        goals.check(f"{name} per revoked grant at {members} members within {MAX_COST_GROWTH}x of 1 member's",
                    growth <= MAX_COST_GROWTH, f"{at_many:.2f} vs {at_one:.2f} = {growth:.2f}x")

    print()
    rows = onboard(members)
    print(f"Onboarding: {CREATES_PER_MEMBER} creates in each of {members} members per fresh instance")
    print(table(("instance", "creates", "201", "AssumeRole", "members", "once per member", "invocations s"),
                [r[:-1] for r in rows]))
    goals.check("onboarding: every create 201, one AssumeRole per member per instance", all(r[-1] for r in rows),
                "; ".join(f"{r[0]}: {r[2]}/{r[1]} created, {r[3]} AssumeRole for {r[4]} members" for r in rows))
    return goals.finish()


if __name__ == "__main__":
    run_main(main)
