"""``python -m bench.judgment``: how long the judgment of one policy document takes, over the test corpus.

Every document of ``tests/unit/policy_corpus.json`` (custom documents and the
published system policies) is judged as onboarding judges it, with Rolegate's
own resources protected. Two figures:

* *first pass*: every cache of the judgment emptied first, so each pattern is
  compiled and compared for the first time (what a new function instance pays);
* *repeated*: the mean over ``--rounds`` further passes (a warm instance).

Goal: under 1 ms per document on the first pass.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from shared.policies import glob, judgment, paths, risk
from shared.policies.protected import Protected

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "unit" / "policy_corpus.json"
GOAL_MS = 1.0
_CACHED = (glob.compile_glob, glob.target, glob._regex, glob.intersects, glob.subsumes, paths._targets,
           risk.action_shape, risk._changes, risk._catalogued, risk._not_excluded, risk._not_action_changes,
           risk._path_names, risk._folded, judgment._judge_system, judgment.system_policy,
           judgment._files)


def documents() -> list[Any]:
    cases = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    return [judgment.system_policy(c["system"]).document if "system" in c else c["document"] for c in cases]


def clear_caches() -> None:
    for cached in _CACHED:
        cached.cache_clear()


def one_pass(docs: list[Any], protected: Protected) -> float:
    started = time.perf_counter()
    for document in docs:
        judgment.judge(document, protected)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.judgment", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="repeated passes to average")
    parser.add_argument("--scale", type=float, default=1.0, help="accepted for symmetry with the other benchmarks")
    args = parser.parse_args(argv)
    docs = documents()
    protected = Protected.rolegate()
    clear_caches()
    first = one_pass(docs, protected) / len(docs) * 1000
    rounds = max(1, int(args.rounds * min(args.scale, 1.0)) or 1)
    repeated = sum(one_pass(docs, protected) for _ in range(rounds)) / rounds / len(docs) * 1000
    print(f"judgment of one policy document, {len(docs)} documents of the corpus")
    print(f"  first pass (caches empty): {first:.3f} ms per document")
    print(f"  repeated ({rounds} passes):  {repeated:.3f} ms per document")
    ok = first < GOAL_MS
    print(f"{'PASS' if ok else 'FAIL'}  judgment: first pass {first:.3f} ms per document (goal < {GOAL_MS:g} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
