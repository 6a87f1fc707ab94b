"""Growth: the sweep at 100, 1,000 and 10,000 grants and the query at 10, 50 and 200 targets, per grant and per target.

Both functions should cost the same per unit of work whatever the size of
the account or the request, and the emulator must not be what grows.

* Sweep: an owner account of N grants made as ``bench/sweep.py`` makes them
  (``GrantStore.create``; one to three policies, every fourth with a custom
  one), 30% of them past expiry. The emulator's role and custom-policy quotas
  are raised through its admin API where N needs it. The revoke handler runs
  as deployed, from its timer event, with no added latency and no throttle,
  until a run leaves nothing for the next. Figure: wall time of the
  invocations per revoked grant.
* Query: T partner accounts set up as ``bench/fanout.py`` sets them up (six
  FC 3.0 functions each, page size 2: AssumeRole + 3 ListFunctions per
  target), queried at the deployed concurrency with no added latency, each
  run a cold instance (after one one-target invocation has imported what the
  handler imports lazily). Figure: wall time per target.
* Emulator CPU per call, beside each: the emulator process's utime + stime
  (``/proc/<pid>/stat``, all its threads) over the measured invocations,
  divided by the calls its call log holds for them.

Each size runs in a fresh emulator. The smaller sizes are run several times
(a fresh emulator and account for every sweep; the same accounts for every
query): time per unit is the median of the runs, CPU per call all their CPU
over all their calls (the CPU clock ticks every 10 ms, too coarse for one
small run).

Goals: time per revoked grant at the largest sweep within 1.5x of the
smallest's, and per target at the largest query within 1.5x of the
smallest's; the emulator's CPU per call likewise within 1.5x in each series;
every expired grant revoked and every target listed, at every size.
"""
from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from bench.fanout import PAGE_SIZE, PAGES, timed_invocation
from bench.harness import (Emulator, Verdicts, deployed, function_environment, header, parser, run_main, scaled,
                           silenced, table)
from bench.scenarios import Query, Revoke, quiet_setup
from bench.sweep import invoke_until_done
from emulator.services.ram_models import CUSTOM_POLICIES_PER_ACCOUNT

COMMAND = "python -m bench growth"
# Sizes, and runs of each: the smaller sizes repeated so that each serves enough calls to be measured.
SWEEP_SIZES, SWEEP_RUNS = (100, 1000, 10000), (5, 2, 1)
QUERY_SIZES, QUERY_RUNS = (10, 50, 200), (20, 4, 1)
EXPIRED_SHARE = 0.3
MAX_GROWTH = 1.5


# ------------------------------------------------------------ emulator CPU
def emulator_pid() -> int:
    """The emulator this process started (``python -m emulator serve``): one at a time here."""
    mine = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            parent = stat.read_text().rsplit(")", 1)[1].split()[1]
            if parent == mine and b"emulator\0serve" in (stat.parent / "cmdline").read_bytes():
                return int(stat.parent.name)
    raise RuntimeError("no emulator process is a child of this one")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meter:
    """What the emulator served in a block: its calls and the CPU it spent on them."""

    cpu: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def metered(emu: Emulator) -> Iterator[Meter]:
    """Meter the block; the admin calls that read the call log fall outside the CPU window."""
    pid, meter = emulator_pid(), Meter()
    mark = emu.mark()
    before = cpu_seconds(pid)
    yield meter
    meter.cpu = cpu_seconds(pid) - before
    meter.calls = emu.calls(mark)


# ---------------------------------------------------------------- points
def ratio(value: float, reference: float) -> float:
    return value / reference if reference else math.nan


@dataclass
class Run:
    """One measured run: ``units`` done (grants revoked, targets listed) of ``expected``, in ``wall`` seconds."""

    wall: float
    units: int
    expected: int
    meter: Meter
    failed: int = 0
    invocations: int = 1

    @property
    def ms_per_unit(self) -> float:
        return ratio(self.wall, self.units) * 1000


@dataclass
class Point:
    """Every run of one size: time per unit is their median; CPU per call, all their CPU over all their calls.

    The emulator's CPU clock ticks every 10 ms, so a small run's CPU is only
    resolved when its runs are added up.
    """

    size: int
    runs: list[Run]
    setup_s: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return all(r.units == r.expected and not r.failed for r in self.runs)

    @property
    def ms_per_unit(self) -> float:
        return statistics.median(r.ms_per_unit for r in self.runs)

    @property
    def calls(self) -> int:
        return sum(len(r.meter.calls) for r in self.runs)

    @property
    def cpu(self) -> float:
        return sum(r.meter.cpu for r in self.runs)

    @property
    def cpu_ms_per_call(self) -> float:
        return ratio(self.cpu, self.calls) * 1000

    def row(self, first: "Point") -> tuple[Any, ...]:
        done = f"{sum(r.units for r in self.runs)}/{sum(r.expected for r in self.runs)}"
        return (f"{self.size:,}", len(self.runs), done, sum(r.failed for r in self.runs),
                max(r.invocations for r in self.runs), f"{statistics.median(r.wall for r in self.runs):.2f}",
                f"{self.ms_per_unit:.2f}", f"{ratio(self.ms_per_unit, first.ms_per_unit):.2f}x", self.calls,
                f"{self.cpu:.2f}", f"{self.cpu_ms_per_call:.2f}",
                f"{ratio(self.cpu_ms_per_call, first.cpu_ms_per_call):.2f}x", f"{self.setup_s:.0f}")


def sweep_run(grants: int) -> tuple[Run, float, str]:
    """A fresh emulator and account of ``grants`` grants, swept; the run, its setup time, what was raised."""
    expired = max(1, round(grants * EXPIRED_SHARE))
    scenario = Revoke(f"{grants} grants", "revoke", "revoke", accounts=1, per_run=0, fleet_size=grants,
                      fleet_expired=expired)
    custom = math.ceil(grants / 4) + 1  # every fourth grant's policy, and the function's own
    with Emulator() as emu:
        started = time.perf_counter()
        if custom > CUSTOM_POLICIES_PER_ACCOUNT:
            emu.settings(quotas={"custom_policies_per_account": custom})
        with silenced():
            scenario.setup(emu)
        setup_s = time.perf_counter() - started
        with metered(emu) as meter:
            summaries, wall = invoke_until_done(scenario)
    raised = [f"{scenario.role_quota} roles"] if scenario.role_quota else []
    if custom > CUSTOM_POLICIES_PER_ACCOUNT:
        raised.append(f"{custom} custom policies")
    run = Run(wall, sum(s.get("revoked", 0) for s in summaries), expired, meter,
              sum(len(s.get("failed", [])) for s in summaries), len(summaries))
    return run, setup_s, ", ".join(raised)


def sweep_point(grants: int, repeats: int) -> Point:
    runs, setups, raised = [], [], ""
    for _ in range(repeats):
        run, setup_s, raised = sweep_run(grants)
        runs.append(run)
        setups.append(setup_s)
    return Point(grants, runs, statistics.median(setups), raised)


def query_point(targets: int, repeats: int) -> Point:
    """``targets`` partner accounts in a fresh emulator, queried ``repeats`` times, each a cold instance."""
    scenario = Query(f"{targets} targets", "query", "query", targets=targets, per_target=PAGES * PAGE_SIZE,
                     page_size=PAGE_SIZE)
    runs = []
    with Emulator() as emu:
        started = time.perf_counter()
        quiet_setup(scenario, emu)
        setup_s = time.perf_counter() - started
        with function_environment(scenario.env):  # imports what the handler imports lazily
            timed_invocation(scenario, {**scenario.request(), "targets": scenario.request()["targets"][:1]})
        for _ in range(repeats):
            with function_environment(scenario.env), metered(emu) as meter:
                reply, wall = timed_invocation(scenario)
            listed = sum(1 for t in reply.get("results", []) if t.get("ok")
                         and len(t.get("items", [])) == scenario.per_target)
            runs.append(Run(wall, listed, targets, meter))
    return Point(targets, runs, setup_s)


# ---------------------------------------------------------------- report
def judge(verdicts: Verdicts, series: str, unit: str, points: list[Point]) -> None:
    first, last = points[0], points[-1]
    verdicts.check(f"{series}: every {unit} done at every size", all(p.ok for p in points),
                   "; ".join(f"{p.size:,}: {sum(r.units for r in p.runs)}/{sum(r.expected for r in p.runs)}, "
                             f"failed {sum(r.failed for r in p.runs)}" for p in points))
    growth = ratio(last.ms_per_unit, first.ms_per_unit)
    verdicts.check(f"{series}: time per {unit} at {last.size:,} within {MAX_GROWTH}x of that at {first.size:,}",
                   growth <= MAX_GROWTH,
                   f"{last.ms_per_unit:.2f} ms vs {first.ms_per_unit:.2f} ms = {growth:.2f}x")
    cpu = ratio(last.cpu_ms_per_call, first.cpu_ms_per_call)
    verdicts.check(f"{series}: emulator CPU per call at {last.size:,} within {MAX_GROWTH}x of that at "
                   f"{first.size:,}", cpu <= MAX_GROWTH,
                   f"{last.cpu_ms_per_call:.2f} ms vs {first.cpu_ms_per_call:.2f} ms = {cpu:.2f}x")


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    sweeps = [scaled(n, args.scale, 4) for n in SWEEP_SIZES]
    queries = [scaled(n, args.scale, 2) for n in QUERY_SIZES]
    concurrency = deployed("query").environment["ROLEGATE_QUERY_CONCURRENCY"]
    header("Growth", args.scale, f"{COMMAND} --scale {args.scale:g}")
    verdicts = Verdicts("growth")
    columns = ("runs", "done", "failed", "invocations", "wall s", "ms per {}", "x smallest", "calls",
               "emulator CPU s", "emulator CPU ms per call", "x smallest", "setup s")

    started = time.perf_counter()
    swept = [sweep_point(n, runs) for n, runs in zip(sweeps, SWEEP_RUNS)]
    print(f"Sweep: {EXPIRED_SHARE:.0%} of the grants expired; no added latency, no throttle "
          f"({time.perf_counter() - started:.0f} s)")
    print(table(("grants", *columns[:5], columns[5].format("revoked grant"), *columns[6:]),
                [p.row(swept[0]) for p in swept]))
    for p in swept:
        if p.note:
            print(f"({p.size:,} grants: the emulator's quotas were raised to {p.note} per account)")
    print("(done, failed, calls, emulator CPU: all runs of a size together; wall s and ms per revoked grant: "
          "medians of its runs)")

    started = time.perf_counter()
    queried = [query_point(n, runs) for n, runs in zip(queries, QUERY_RUNS)]
    print()
    print(f"Query: AssumeRole + {PAGES} x ListFunctions of {PAGE_SIZE} per target; concurrency {concurrency} "
          f"(as s.yaml deploys it); no added latency ({time.perf_counter() - started:.0f} s)")
    print(table(("targets", *columns[:5], columns[5].format("target"), *columns[6:]),
                [p.row(queried[0]) for p in queried]))

    judge(verdicts, "sweep", "revoked grant", swept)
    judge(verdicts, "query", "target", queried)
    return verdicts.finish()


if __name__ == "__main__":
    run_main(main)
