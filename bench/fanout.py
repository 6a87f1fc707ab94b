"""Fan-out query: 200 partner accounts, each AssumeRole plus three pages of ListFunctions, 50 ms added per call.

Every partner account holds ``3 x page size`` FC 3.0 functions (page size 2,
set through ``ROLEGATE_QUERY_PAGE_SIZE``) and the role ``rolegate-fc-reader``
trusting the central account. The query handler runs in this process with
the concurrency chosen here (``ROLEGATE_QUERY_CONCURRENCY``); its other
settings are the defaults.

* cold: an instance's first invocation of the request: session and client
  caches empty (modules already imported by a one-target invocation before,
  since import costs are the cold-start benchmark's subject);
  ideal = ceil(targets / concurrency) x 4 calls x 50 ms, the time the calls'
  latency alone would take with that many workers.
* warm: the same request again in the same instance; it must make no
  AssumeRole call (call log); ideal = ceil(targets / concurrency) x 3 x 50 ms.
* baseline: :mod:`bench.seed_query`, the published sample's approach (new
  STS and FC clients per target, one target after another), same targets.
* control (not a goal): the baseline's per-target loop on a thread pool of
  the same concurrency -- the same calls through the bare SDK -- showing how
  far this machine and emulator allow the ideal to be approached at all.
* deployed concurrency (not a goal): a cold invocation with the concurrency
  ``s.yaml`` deploys (10), against its own ideal.

Goals: cold wall time within 1.3x of its ideal; at least 10x faster than the
baseline; no AssumeRole in the warm invocation.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.harness import (Emulator, Verdicts, deployed, function_environment, header, parser, run_main, scaled,
                           silenced, table)
from bench.scenarios import READER_ROLE, Query, quiet_setup

COMMAND = "python -m bench fanout"
LATENCY_MS = 50
PAGES = 3
PAGE_SIZE = 2
FULL_TARGETS = 200
DEFAULT_CONCURRENCY = 20
MAX_OVER_IDEAL = 1.3
MIN_SPEEDUP = 10.0


def timed_invocation(scenario: Query, request: dict[str, Any] | None = None) -> tuple[dict[str, Any], float]:
    from functions.query.index import handler

    started = time.perf_counter()
    with silenced():
        reply = handler(json.dumps(request or scenario.request()).encode(), scenario.context)
    return reply, time.perf_counter() - started


def ideal_seconds(targets: int, concurrency: int, calls_per_target: int) -> float:
    return math.ceil(targets / concurrency) * calls_per_target * LATENCY_MS / 1000


def timed_baseline(emu: Emulator, targets: list[dict[str, str]], workers: int
                   ) -> tuple[dict[str, list[str]], float, Counter[str]]:
    """The seed-style loop over ``targets`` (one by one, or one target per task on ``workers`` threads)."""
    from bench.seed_query import list_functions_sequentially

    def loop(some: list[dict[str, str]]) -> dict[str, list[str]]:
        return list_functions_sequentially(some, PAGE_SIZE, endpoint=emu.endpoint,
                                           access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                                           access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])

    mark = emu.mark()
    started = time.perf_counter()
    if workers == 1:
        found = loop(targets)
    else:
        found = {}
        with ThreadPoolExecutor(workers) as pool:
            for part in pool.map(lambda target: loop([target]), targets):
                found.update(part)
    elapsed = time.perf_counter() - started
    return found, elapsed, Counter(c["action"] for c in emu.calls(mark))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help="ROLEGATE_QUERY_CONCURRENCY for the measured invocations")
    args = p.parse_args(argv)
    targets = scaled(FULL_TARGETS, args.scale, 2)
    header("Fan-out query", args.scale, f"{COMMAND} --scale {args.scale:g} --concurrency {args.concurrency}")
    scenario = Query("fanout", "query", "query", targets=targets, per_target=PAGES * PAGE_SIZE,
                     page_size=PAGE_SIZE, concurrency=args.concurrency)
    ideal_cold = ideal_seconds(targets, args.concurrency, 1 + PAGES)
    ideal_warm = ideal_seconds(targets, args.concurrency, PAGES)
    deployed_concurrency = int(deployed("query").environment.get("ROLEGATE_QUERY_CONCURRENCY", "10"))
    verdicts = Verdicts("fanout")
    with Emulator() as emu:
        quiet_setup(scenario, emu)
        emu.add_fault(kind="latency", action="*", delay_ms=LATENCY_MS)
        with function_environment(scenario.env):  # imports what the handler imports lazily
            timed_invocation(scenario, {**scenario.request(), "targets": scenario.request()["targets"][:1]})
        with function_environment({**scenario.env, "ROLEGATE_QUERY_CONCURRENCY": str(deployed_concurrency)}):
            at_deployed, at_deployed_s = timed_invocation(scenario)
        with function_environment(scenario.env):
            mark = emu.mark()
            cold, cold_s = timed_invocation(scenario)
            cold_calls = Counter(c["action"] for c in emu.calls(mark))
            mark = emu.mark()
            warm, warm_s = timed_invocation(scenario)
            warm_calls = Counter(c["action"] for c in emu.calls(mark))
            targets_arns = [{"account_id": a, "role_arn": f"acs:ram::{a}:role/{READER_ROLE}"}
                            for a in scenario.partners]
            baseline, baseline_s, baseline_calls = timed_baseline(emu, targets_arns, 1)
            _, control_s, control_calls = timed_baseline(emu, targets_arns, args.concurrency)
    ideal_deployed = ideal_seconds(targets, deployed_concurrency, 1 + PAGES)
    same = all(sorted(i["name"] for i in r["items"]) == sorted(baseline.get(r["account_id"], []))
               for r in cold.get("results", []))
    print(f"{targets} targets x (AssumeRole + {PAGES} x ListFunctions of {PAGE_SIZE}); +{LATENCY_MS} ms per call; "
          f"concurrency {args.concurrency}")
    print(table(("run", "wall s", "ideal s", "x ideal", "AssumeRole", "ListFunctions", "all targets ok"), [
        ("cold invocation", f"{cold_s:.2f}", f"{ideal_cold:.2f}", f"{cold_s / ideal_cold:.2f}x",
         cold_calls["AssumeRole"], cold_calls["ListFunctions"], scenario.handler_ok([cold])),
        ("warm invocation", f"{warm_s:.2f}", f"{ideal_warm:.2f}", f"{warm_s / ideal_warm:.2f}x",
         warm_calls["AssumeRole"], warm_calls["ListFunctions"], scenario.handler_ok([warm])),
        ("baseline: sequential, new clients per target", f"{baseline_s:.2f}", "-", "-",
         baseline_calls["AssumeRole"], baseline_calls["ListFunctions"], same),
        (f"control: the baseline's loop on {args.concurrency} threads", f"{control_s:.2f}", f"{ideal_cold:.2f}",
         f"{control_s / ideal_cold:.2f}x", control_calls["AssumeRole"], control_calls["ListFunctions"], "-"),
        (f"cold invocation at the deployed concurrency ({deployed_concurrency})", f"{at_deployed_s:.2f}",
         f"{ideal_deployed:.2f}", f"{at_deployed_s / ideal_deployed:.2f}x", "-", "-",
         scenario.handler_ok([at_deployed])),
    ]))
    print(f"cold invocation vs the control (same calls, bare SDK, same concurrency): {cold_s / control_s:.2f}x")
    print(f"\nspeed-up of the cold invocation over the baseline: {baseline_s / cold_s:.1f}x")
    verdicts.check("cold invocation lists every target", scenario.handler_ok([cold]) and same,
                   f"{len(cold.get('results', []))} targets, same functions as the baseline: {same}")
    verdicts.check(f"cold wall time within {MAX_OVER_IDEAL}x of ideal", cold_s <= MAX_OVER_IDEAL * ideal_cold,
                   f"{cold_s:.2f} s vs ideal {ideal_cold:.2f} s = {cold_s / ideal_cold:.2f}x")
    verdicts.check(f"at least {MIN_SPEEDUP:g}x faster than the sequential baseline",
                   baseline_s >= MIN_SPEEDUP * cold_s, f"{baseline_s:.2f} s vs {cold_s:.2f} s = "
                                                       f"{baseline_s / cold_s:.1f}x")
    verdicts.check("warm invocation makes no AssumeRole call",
                   warm_calls["AssumeRole"] == 0 and scenario.handler_ok([warm]),
                   f"{warm_calls['AssumeRole']} AssumeRole, {warm_calls['ListFunctions']} ListFunctions")
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
