"""The functions' own RAM policies pass the judgment a grant's policy gets, but for the exceptions written down."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rolegate.cli import main
from rolegate.verify import DEFAULT_EXCEPTIONS, failing, load_exceptions, split_excepted
from shared.policies.findings import CATALOGUE
from shared.policies.judgment import judge
from shared.policies.protected import Protected

POLICIES = Path(__file__).resolve().parents[2] / "deploy" / "policies"
FILES = sorted(p.name for p in POLICIES.glob("*.json"))


def test_every_function_policy_is_listed() -> None:
    assert FILES == ["onboard.json", "query.json", "remediate.json", "revoke.json"]


@pytest.mark.parametrize("name", FILES)
def test_policy_has_nothing_high_beyond_its_written_exceptions(name: str) -> None:
    """Judged with Rolegate's own resources protected, only justified findings remain, and they are excepted."""
    document = json.loads((POLICIES / name).read_text())
    findings = list(judge(document, Protected.rolegate()).findings)
    kept, excepted = split_excepted(findings, document, load_exceptions(DEFAULT_EXCEPTIONS, name))
    assert failing(kept, "high") == [], [f"{f.id} {f.path}: {f.message}" for f in failing(kept, "high")]
    assert all(e.why for _, e in excepted)


def test_exceptions_name_real_rules_and_real_files() -> None:
    data = json.loads(DEFAULT_EXCEPTIONS.read_text())
    assert set(data) - {"about"} <= set(FILES)
    for entries in (v for k, v in data.items() if k != "about"):
        for entry in entries:
            assert entry["finding"] in CATALOGUE and ":" in entry["action"] and entry["why"]
            assert set(entry) <= {"finding", "action", "sid", "why"}


@pytest.mark.parametrize("name", FILES)
def test_rolegate_lint_passes_the_deployed_policies(name: str) -> None:
    """`rolegate lint deploy/policies/<fn>.json` exits 0 with its exceptions and 1 without them."""
    path = str(POLICIES / name)
    assert CliRunner().invoke(main, ["lint", path]).exit_code == 0
    assert CliRunner().invoke(main, ["lint", path, "--no-exceptions"]).exit_code == 1
