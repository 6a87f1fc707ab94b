"""Wildcard patterns as RAM policies use them: ``*`` is any run of characters, ``?`` exactly one.

Actions compare case-insensitively (``ram:getrole`` is ``ram:GetRole``), as RAM's
policy-element page says of Action values; resources and ``StringLike`` values
compare case-sensitively. For resources that is the emulator's choice, which no
page confirms (docs/cloud-fidelity.md, RAM-AUTH-ARN-CASE).
"""
from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern`` in full."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


def as_list(value: object) -> list[object]:
    """Policy elements are a single value or a list of them; this makes them a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]
