"""The fidelity ledger (docs/cloud-fidelity.md) is complete enough to trust, and the emulator points into it.

Every entry names where the emulator implements it, what relies on it, and a
source (a page, an SDK model or a repository path) or an explicit
**unverified** with what would verify it; every ``# ledger: ID`` comment in
``emulator/`` names an entry that exists.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "docs" / "cloud-fidelity.md"
ENTRY_ID = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+"
HEADING = re.compile(rf"^### ({ENTRY_ID})[ \t]*$", re.M)
COMMENT = re.compile(r"#\s*ledger:\s*(.+)$")
MIN_ENTRIES = 40


def entries() -> dict[str, str]:
    """Entry id -> its text (up to the next heading of any level)."""
    text = LEDGER.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for match in HEADING.finditer(text):
        end = re.compile(r"^#{1,3} ", re.M).search(text, match.end())
        body = text[match.end():end.start() if end else len(text)]
        assert match.group(1) not in found, f"{match.group(1)} appears twice"
        found[match.group(1)] = body
    return found


def field(body: str, name: str) -> str | None:
    """The text of the ``- **<name>:**`` bullet, continuation lines included."""
    match = re.search(rf"^- \*\*{re.escape(name)}:\*\*(.*?)(?=^- \*\*|\Z)", body, re.M | re.S)
    return match.group(1).strip() if match else None


def has_source(text: str) -> bool:
    """A URL, or a repository or SDK path in backquotes (``owner/repo:path``, ``.../models/x.py``)."""
    return "https://" in text or re.search(r"`[^`\s]*/[^`\s]*`", text) is not None


LEDGER_ENTRIES = entries()


def test_the_ledger_lists_at_least_forty_behaviours() -> None:
    assert len(LEDGER_ENTRIES) >= MIN_ENTRIES, sorted(LEDGER_ENTRIES)


@pytest.mark.parametrize("entry", sorted(LEDGER_ENTRIES))
def test_each_entry_names_emulator_reliance_and_a_source_or_says_unverified(entry: str) -> None:
    body = LEDGER_ENTRIES[entry]
    for name in ("Emulator", "Relied on by", "Source"):
        assert field(body, name), f"{entry} has no **{name}:** line"
    source = field(body, "Source") or ""
    unverified = "**unverified**" in source
    assert has_source(source) or unverified, f"{entry}: no page, SDK model or repository path, and not marked unverified"
    if source.startswith("**unverified**"):
        assert "**To verify:**" in source, f"{entry} is unverified but says nothing of what would verify it"


def ledger_comments() -> list[tuple[str, int, str]]:
    """(file, line, id) of every ``# ledger: ID[, ID...]`` comment in the emulator."""
    found = []
    for path in sorted((ROOT / "emulator").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = COMMENT.search(line)
            if match:
                for entry in re.split(r"[,\s]+", match.group(1).strip()):
                    if entry:
                        found.append((str(path.relative_to(ROOT)), number, entry))
    return found


def test_every_ledger_comment_in_the_emulator_names_an_entry() -> None:
    comments = ledger_comments()
    assert len(comments) >= MIN_ENTRIES, "the emulator's rules should point to their entries"
    unknown = [f"{where}:{line} {entry}" for where, line, entry in comments if entry not in LEDGER_ENTRIES]
    assert unknown == []


def test_ledger_comments_are_well_formed() -> None:
    """Only entry ids follow ``# ledger:`` (a typo such as a lower-case id would silently point nowhere)."""
    bad = [f"{where}:{line} {entry!r}" for where, line, entry in ledger_comments()
           if not re.fullmatch(ENTRY_ID, entry)]
    assert bad == []
