"""Warm webhook: 200 sequential grant creates through the onboard handler in one instance, against the bare SDK.

One onboard instance (this process, the function's deployed environment)
answers one create first (its cold start is the cold-start benchmark's
subject), then 200 signed ``POST /grants`` requests one after another, each
a new grant of one system policy. The floor, in the same process, makes each
create's calls with the stock SDK and one RAM client kept across requests
(CreateRole with the record in its tags, AttachPolicyToRole), with nothing
else: no signature check, validation, judgment, logging or retries. Requests
alternate between the two sides, so both see the same machine.

Goal: the handler's median within 1.2x of the floor's. Also shown: p95 and
the calls per request of each side.
"""
from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from typing import Any

from bench import floors
from bench.harness import Emulator, Verdicts, function_environment, header, parser, run_main, scaled, silenced, table
from bench.scenarios import Onboard, quiet_setup

COMMAND = "python -m bench webhook"
FULL_REQUESTS = 200
MAX_RATIO = 1.2


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    requests = scaled(FULL_REQUESTS, args.scale, 5)
    header("Warm webhook", args.scale, f"{COMMAND} --scale {args.scale:g}  (requests={requests})")
    verdicts = Verdicts("webhook")
    scenario = Onboard("webhook", "onboard", "onboard", creates=requests + 1)
    with Emulator() as emu:
        quiet_setup(scenario, emu)
        handler_events = [e.encode() for e in scenario.handler_events()]
        floor_events = [json.loads(e) for e in scenario.floor_events()]
        from alibabacloud_ram20150501 import models
        from alibabacloud_ram20150501.client import Client
        from alibabacloud_tea_openapi.models import Config

        from functions.onboard.index import handler

        times: dict[str, list[float]] = {"handler": [], "floor": []}
        calls: dict[str, Counter[str]] = {"handler": Counter(), "floor": Counter()}
        statuses: Counter[Any] = Counter()
        with function_environment(scenario.env):
            env = scenario.env
            ram = Client(Config(access_key_id=env["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                                access_key_secret=env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], endpoint=emu.endpoint,
                                protocol="http", region_id="cn-hangzhou"))
            with silenced():
                handler(handler_events[0], scenario.context)  # the instance's first request: not measured
                floors.create(ram, models, floor_events[0])
            for i in range(1, requests + 1):
                for side in (("handler", "floor") if i % 2 else ("floor", "handler")):
                    mark = emu.mark()
                    started = time.perf_counter()
                    if side == "handler":
                        with silenced():
                            reply = handler(handler_events[i], scenario.context)
                        elapsed = time.perf_counter() - started
                        statuses[reply.get("statusCode") if isinstance(reply, dict) else None] += 1
                    else:
                        floors.create(ram, models, floor_events[i])
                        elapsed = time.perf_counter() - started
                    times[side].append(elapsed * 1000)
                    calls[side].update(c["action"] for c in emu.calls(mark))
    h, f = times["handler"], times["floor"]
    rows = [(side, f"{statistics.median(v):.2f}", f"{p95(v):.2f}", f"{min(v):.2f}", f"{max(v):.2f}",
             f"{sum(calls[side].values()) / len(v):.1f}") for side, v in times.items()]
    print(f"{requests} sequential creates (one system policy each), one warm instance; milliseconds per request")
    print(table(("side", "median", "p95", "fastest", "slowest", "calls per request"), rows))
    print(f"handler / floor: median {statistics.median(h) / statistics.median(f):.2f}x, p95 {p95(h) / p95(f):.2f}x")
    verdicts.check("every create answered 201", statuses == Counter({201: requests}), repr(dict(statuses)))
    verdicts.check(f"median within {MAX_RATIO}x of the bare SDK",
                   statistics.median(h) <= MAX_RATIO * statistics.median(f),
                   f"{statistics.median(h):.2f} ms vs {statistics.median(f):.2f} ms = "
                   f"{statistics.median(h) / statistics.median(f):.2f}x")
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
