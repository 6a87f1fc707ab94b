"""The corpus of policy documents (``policy_corpus.json``): every path, near misses, and the system policies.

Each case says whether the judgment must refuse the document (a high or
critical finding; for a system policy, a refusal under default settings) or
let it pass, and which findings must be among those it reports.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.policies.findings import CATALOGUE
from shared.policies.judgment import judge, judge_system_grant, system_policy_names, REFUSE_FROM
from shared.policies.protected import Protected

CORPUS = json.loads((Path(__file__).with_name("policy_corpus.json")).read_text(encoding="utf-8"))["cases"]
PROTECTED = Protected.rolegate()


def verdict_of(case: dict[str, Any]) -> tuple[str, set[str]]:
    if "system" in case:
        verdict = judge_system_grant(case["system"], protected=PROTECTED)
        ids = {f.id for f in judge(_document(case["system"]), PROTECTED).findings}
        return ("pass" if verdict.granted else "refuse"), ids
    judgment = judge(case["document"], PROTECTED)
    return ("refuse" if judgment.at_least(REFUSE_FROM) else "pass"), {f.id for f in judgment.findings}


def _document(name: str) -> Any:
    from shared.policies.judgment import system_policy

    return system_policy(name).document


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus_case(case: dict[str, Any]) -> None:
    verdict, ids = verdict_of(case)
    assert verdict == case["verdict"], (case["about"], sorted(ids))
    assert set(case["ids"]) <= ids, (case["about"], sorted(ids))
    if case["verdict"] == "pass" and not case["ids"] and "system" not in case:
        assert ids == set(), "a near miss expected clean has findings"


def test_corpus_is_large_and_covers_every_risk_rule_and_system_policy() -> None:
    assert len(CORPUS) >= 150
    named = {i for case in CORPUS for i in case["ids"]}
    risk_rules = {r for r in CATALOGUE if r.startswith("RG1") and not r.startswith("RG10")}
    assert risk_rules <= named, risk_rules - named
    assert {c["system"] for c in CORPUS if "system" in c} == set(system_policy_names())
    assert sum(c["verdict"] == "pass" for c in CORPUS) >= 50
