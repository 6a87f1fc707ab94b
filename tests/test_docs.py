"""The documentation says what the code does: every setting the code reads is documented, and only those."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\bROLEGATE_[A-Z0-9_]+\b")


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for folder in ("shared", "functions"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"[\"'](ROLEGATE_[A-Z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    return names


def test_every_setting_the_code_reads_is_documented_and_nothing_else():
    documented = set(NAME.findall((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")))
    read = _read_by_code()
    assert read, "the scan found no settings at all"
    assert read - documented == set(), "read by the code but not documented"
    assert documented - read == set(), "documented but read by no code"
