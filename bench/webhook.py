"""Warm webhook: sequential grant creates through the deployed onboard package, against the bare SDK.

What is measured is what is deployed: the onboard function's built package
on the runtime's interpreter (``python3.12 -I -S``, nothing on the path but
``build/onboard``, as the cold-start benchmark runs it), one instance
answering requests one after another. Each instance's first request is its
cold start (the cold-start benchmark's subject) and is not counted; the
next ``PER_INSTANCE`` are, each a signed ``POST /grants`` of a new grant of
one system policy, timed around the handler call inside the instance.

The floor is the stock SDK in its own package on the same interpreter, run
the same way (``bench.floors.onboard_warm``): one RAM client kept across
requests, CreateRole with the record in its tags, then AttachPolicyToRole,
and nothing else (no signature check, validation, judgment, logging or
retries). Instances alternate between the two sides, so both see the same
machine.

Goal: the handler's median within 1.2x of the floor's. Also shown: p95 and
the calls per request of each side.
"""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from bench.harness import Emulator, Verdicts, header, parser, run_main, runtime, scaled, table
from bench.scenarios import Onboard, quiet_setup, run_child

COMMAND = "python -m bench webhook"
FULL_REQUESTS = 200
PER_INSTANCE = 20
MAX_RATIO = 1.2


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    requests = scaled(FULL_REQUESTS, args.scale, PER_INSTANCE)
    instances = -(-requests // PER_INSTANCE)
    header("Warm webhook", args.scale, f"{COMMAND} --scale {args.scale:g}  (requests={requests})")
    verdicts = Verdicts("webhook")
    rt = runtime(["onboard"])
    per_side = 1 + instances * (PER_INSTANCE + 1)  # one for the warm-up instance
    scenario = Onboard("webhook", "onboard", "onboard-warm", creates=per_side)
    times: dict[str, list[float]] = {"handler": [], "floor": []}
    calls = {"handler": 0, "floor": 0}  # the cloud calls of the counted (warm) requests
    statuses: Counter[Any] = Counter()
    with Emulator() as emu:
        quiet_setup(scenario, emu)
        events = {"handler": scenario.handler_events(), "floor": scenario.floor_events()}
        # A one-request instance a side: fills the page cache, and counts a first request's calls.
        first_calls = {side: len(run_child(emu, scenario, side, runtime=rt, events=events[side][:1]).calls)
                       for side in times}
        for i in range(instances):
            chunk = slice(1 + i * (PER_INSTANCE + 1), 1 + (i + 1) * (PER_INSTANCE + 1))
            for side in (("handler", "floor") if i % 2 == 0 else ("floor", "handler")):
                run = run_child(emu, scenario, side, runtime=rt, events=events[side][chunk])
                times[side] += run.invoke_ms[1:]
                calls[side] += len(run.calls) - first_calls[side]
                if side == "handler":
                    statuses.update(r.get("statusCode") if isinstance(r, dict) else None for r in run.results[1:])
    h, f = times["handler"], times["floor"]
    rows = [(side, f"{statistics.median(v):.2f}", f"{p95(v):.2f}", f"{min(v):.2f}", f"{max(v):.2f}",
             f"{calls[side] / len(v):.1f}") for side, v in times.items()]
    print(f"{len(h)} sequential creates a side (one system policy each), {instances} warm instances a side "
          f"on Python {rt.version}; milliseconds per request")
    print(table(("side", "median", "p95", "fastest", "slowest", "calls per request"), rows))
    print(f"handler / floor: median {statistics.median(h) / statistics.median(f):.2f}x, p95 {p95(h) / p95(f):.2f}x")
    verdicts.check("every create answered 201", statuses == Counter({201: len(h)}), repr(dict(statuses)))
    verdicts.check(f"median within {MAX_RATIO}x of the bare SDK",
                   statistics.median(h) <= MAX_RATIO * statistics.median(f),
                   f"{statistics.median(h):.2f} ms vs {statistics.median(f):.2f} ms = "
                   f"{statistics.median(h) / statistics.median(f):.2f}x")
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
