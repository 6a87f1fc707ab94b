"""Memory: peak RSS of each function on the benchmarks' workloads, against Function Compute's smallest size (128 MB).

Each workload runs in a fresh interpreter (``bench.child``) that imports the
handler and invokes it, then reads its own peak RSS (``VmHWM``; not
``ru_maxrss``, which on Linux carries the parent's peak across ``execve``);
the emulator runs in another process, so only the function is counted. Beside it, the floor of the same
workload (:mod:`bench.floors`: the bare SDK calls, in its own accounts)
shows what the SDKs alone take. No latency or throttling is injected: they
change how long a workload takes, not what it holds.

Workloads:

* onboard: 20 grant creations (5 with a custom policy) in an account holding
  980 grants, then ``GET /grants`` listing all 1,000 (RAM's default role quota);
* revoke: the sweep benchmark's account (1,000 grants, 300 expired);
* query: the fan-out benchmark's request (200 targets, 3 pages each, 20
  workers), invoked twice in the same instance;
* remediate: 10 tampered-grant events, then 10 instance-role events, one
  invocation each.

Goal: every function's peak RSS fits in 128 MB.
"""
from __future__ import annotations

from typing import Callable

from bench.harness import (FC_MEMORY_FLOOR_MB, Emulator, Verdicts, compile_sources, header, parser, run_main,
                           scaled, table)
from bench.scenarios import Onboard, Query, Remediate, Revoke, Scenario, quiet_setup, run_child

COMMAND = "python -m bench memory"


def workloads(scale: float) -> list[Callable[[], Scenario]]:
    fleet, expired = scaled(1000, scale, 2), scaled(300, scale, 1)
    creates, events = scaled(20, scale, 2), scaled(10, scale, 1)
    return [
        lambda: Onboard(f"onboard: {creates} creates + list {fleet}", "onboard", "onboard", creates=creates,
                        custom=max(1, creates // 4), list_all=True, fleet_size=max(0, fleet - creates)),
        lambda: Revoke(f"revoke: sweep {expired} of {fleet}", "revoke", "revoke", per_run=0, fleet_size=fleet,
                       fleet_expired=expired),
        lambda: Query(f"query: {scaled(200, scale, 2)} targets x 3 pages, twice", "query", "query",
                      targets=scaled(200, scale, 2), per_target=6, page_size=2, concurrency=20, invocations=2),
        lambda: Remediate(f"remediate: grant-tamper x{events}", "remediate", "remediate-grant", events=events),
        lambda: Remediate(f"remediate: instance-role x{events}", "remediate", "remediate-instance",
                          case="instance-role", events=events),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], only=True).parse_args(argv)
    header("Memory", args.scale, f"{COMMAND} --scale {args.scale:g}")
    verdicts = Verdicts("memory")
    rows = []
    compile_sources()  # compiling is not what a deployed function does (its package ships bytecode)
    with Emulator() as emu:
        for make in workloads(args.scale):
            if args.only not in make().name:
                continue
            runs = {}
            for kind in ("handler", "floor"):
                scenario = make()  # each side in its own accounts, so both find the same work to do
                quiet_setup(scenario, emu)
                runs[kind] = run_child(emu, scenario, kind)
                if not runs[kind].ok:
                    raise RuntimeError(f"{scenario.name}: the {kind} run failed: {str(runs[kind].results)[:1500]}")
            handler_mb, floor_mb = runs["handler"].maxrss_kb / 1024, runs["floor"].maxrss_kb / 1024
            fits = handler_mb < FC_MEMORY_FLOOR_MB
            rows.append((scenario.name, f"{handler_mb:.1f}", f"{floor_mb:.1f}", f"{handler_mb / floor_mb:.2f}x",
                         "yes" if fits else "NO", f"{FC_MEMORY_FLOOR_MB - handler_mb:.1f}",
                         len(runs["handler"].calls)))
            verdicts.check(f"{scenario.name}: fits in {FC_MEMORY_FLOOR_MB} MB", fits,
                           f"peak RSS {handler_mb:.1f} MB (floor {floor_mb:.1f} MB)")
    print(table(("workload", "peak RSS MB", "floor MB", "ratio", f"fits {FC_MEMORY_FLOOR_MB} MB", "headroom MB",
                 "cloud calls"), rows))
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
