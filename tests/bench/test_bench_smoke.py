"""The benchmark scripts still run end to end and print their tables, at a tiny scale.

Timings and goals are not judged here (a shared machine makes them noise at
this scale); a benchmark that ran may exit 1 for a failed goal, never with a
traceback or without its table.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def run_bench(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode in (0, 1), (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def verdict_lines(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("PASS  ", "FAIL  ")) and f" {name}: " in line]


@pytest.mark.parametrize("args, title, columns, goals", [
    (("bench.call_economy", "--only", "query"), "== Call economy", ("case", "calls", "minimum", "extra calls"), 2),
    (("bench.cold_start", "--scale", "0.01", "--only", "query: 1 target, functions"), "== Cold start",
     ("scenario", "spawn to reply", "floor", "ratio", "cpu ratio"), 2),
    (("bench.webhook", "--scale", "0.01"), "== Warm webhook", ("side", "median", "p95", "calls per request"), 2),
    (("bench.memory", "--scale", "0.01", "--only", "revoke"), "== Memory",
     ("workload", "peak RSS MB", "floor MB", "fits 128 MB"), 1),
    (("bench.fanout", "--scale", "0.01"), "== Fan-out query", ("run", "wall s", "ideal s", "AssumeRole"), 4),
    (("bench.sweep", "--scale", "0.01", "--accounts", "2"), "== Sweep",
     ("setting", "revoked", "failed", "ok calls", "min calls", "throttled", "ok/s"), 4),
])
def test_benchmark_prints_its_table_and_verdicts(args: tuple[str, ...], title: str, columns: tuple[str, ...],
                                                 goals: int) -> None:
    """Each benchmark runs at a tiny scale, prints its title, a table with its columns and one line per goal."""
    output = run_bench(*args)
    name = args[0].split(".", 1)[1]
    assert title in output
    assert any(all(column in line for column in columns) for line in output.splitlines()), output[-3000:]
    assert len(verdict_lines(output, name)) == goals, output[-3000:]


def test_growth_prints_a_table_per_series() -> None:
    """The growth benchmark prints the sweep by grants and the query by targets, each with the emulator's CPU."""
    output = run_bench("bench.growth", "--scale", "0.01")
    assert "== Growth" in output
    lines = output.splitlines()
    for first, per_unit in (("grants", "ms per revoked grant"), ("targets", "ms per target")):
        assert any(line.startswith(first) and per_unit in line and "emulator CPU ms per call" in line
                   for line in lines), output[-3000:]
    assert len(verdict_lines(output, "growth")) == 6, output[-3000:]


def test_organization_quick_prints_the_sweep_and_onboarding_tables_and_six_goals() -> None:
    """``--quick``: three members swept and onboarded into; each goal printed PASS or MISS."""
    output = run_bench("bench.organization", "--quick")
    assert "== Organization" in output and "3 members of 40 grants, 12 expired each" in output
    lines = output.splitlines()
    for columns in (("sweep", "members", "revoked", "widest", "per member ok/s", "CPU ms per grant"),
                    ("instance", "creates", "AssumeRole", "once per member")):
        assert any(all(column in line for column in columns) for line in lines), output[-3000:]
    goals = [line for line in lines if line.startswith(("PASS  organization: ", "MISS  organization: "))]
    assert len(goals) == 6, output[-3000:]


def test_runner_rejects_an_unknown_benchmark() -> None:
    """``python -m bench`` names the benchmarks it knows instead of running something else."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    done = subprocess.run([sys.executable, "-m", "bench", "no-such-bench"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "call_economy" in done.stderr and "sweep" in done.stderr
