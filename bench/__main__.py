"""``python -m bench [name ...] [--scale S]``: run the benchmarks (all by default), each in its own process.

Each benchmark prints its tables and one PASS/FAIL line per goal; this
runner adds a summary and exits non-zero when any goal failed (or a
benchmark could not run).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.harness import PYTHON, REPO, base_env, machine, table

# Quickest first, so a broken setup shows early.
BENCHMARKS = ("call_economy", "cold_start", "webhook", "memory", "fanout", "sweep", "growth", "organization")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", metavar="name",
                   help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full workloads (e.g. 0.1)")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)
    print(f"Rolegate benchmarks: {', '.join(names)}  (scale {args.scale:g})")
    print(f"machine: {machine()}")
    print(flush=True)
    rows = []
    for name in names:
        started = time.perf_counter()
        code = subprocess.call([PYTHON, "-m", f"bench.{name}", "--scale", str(args.scale)], cwd=REPO,
                               env=base_env())
        rows.append((name, "PASS" if code == 0 else f"FAIL (exit {code})", f"{time.perf_counter() - started:.0f}"))
        print(flush=True)
    print(table(("benchmark", "result", "seconds"), rows))
    return 0 if all(r[1] == "PASS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
