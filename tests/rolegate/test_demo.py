"""The demo (``rolegate demo``, the README's first command) walks the whole lifecycle and says when it did not."""
from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.console import Console

from rolegate import demo
from rolegate.cli import main

STEPS = 12


def test_demo_runs_end_to_end_and_exits_zero() -> None:
    """Every step of the lifecycle holds on a fresh local host."""
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("✓") == STEPS and "✗" not in result.stdout
    assert "Every step held" in result.stdout
    for phrase in ("onboards partner B", "assumes the grant's role", "query deployment", "attaches AdministratorAccess",
                   "Remediation takes it off", "past the grant's expiry", "sweep revokes", "can no longer assume",
                   "grants B access in its member M", "lists M's functions", "the hub takes it off in M",
                   "revoked 1 in M"):
        assert phrase in result.stdout


def test_a_failed_step_is_reported_and_exits_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """With remediation in dry-run mode the tampering stays: that step shows ✗, the rest are skipped, exit 1."""
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN", "true")  # read by the remediate function
    monkeypatch.setattr(demo, "REMEDIATION_TIMEOUT", 1.0)
    out = io.StringIO()
    code = demo.run(Console(file=out, emoji=False, highlight=False, soft_wrap=True))
    text = out.getvalue()
    assert code == 1
    assert text.count("✓") == 4 and text.count("✗") == 1
    assert "AdministratorAccess is still attached" in text
    assert text.count("(skipped)") == STEPS - 5
    assert "The demo failed" in text
