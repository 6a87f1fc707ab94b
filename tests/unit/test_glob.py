"""Glob intersection and subsumption: the questions the judgment asks of two patterns."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policies.glob import compile_glob, fixed_prefix, intersects, matches, subsumes, target, wildcard_match

ANY_ROLE = target("acs:ram:{field}:{field}:role/{free}{name}")
UNPINNED_ROLE = target("acs:ram:{field}:{field}:role/{name}{free}{name}")


@pytest.mark.parametrize("pattern", [
    "acs:ram::*:role/?*", "acs:ram::*:role/*?", "acs:ram::*:r?le/*", "acs:ram::*:*/*", "acs:*am:*:*:role/*",
    "acs:ram::*:role/*admin*", "*", "acs:*", "acs:ram:*:*:*", "ACS:RAM::*:ROLE/*",
])
def test_patterns_that_may_name_any_role(pattern: str) -> None:
    """Wildcards anywhere (service, type, name) leave the role's name open."""
    assert intersects(compile_glob(pattern), ANY_ROLE)
    assert intersects(compile_glob(pattern), UNPINNED_ROLE)


@pytest.mark.parametrize("pattern, unpinned", [
    ("acs:ram::1234567890123456:role/partner-app", False),
    ("acs:ram:*:*:role/rolegatesweeper", False),  # any account, but one name: pinned
    ("acs:ram::*:role/partner-*", True),          # confined to the partner- names, not pinned
    ("acs:oss:*:*:bucket/*", False),
    ("acs:ram::*:user/*", False),
])
def test_patterns_confined_by_fixed_characters(pattern: str, unpinned: bool) -> None:
    """Fixed leading characters confine the name; only a name without any wildcard is pinned."""
    assert not intersects(compile_glob(pattern), ANY_ROLE)
    assert intersects(compile_glob(pattern), UNPINNED_ROLE) is unpinned


def test_case_is_ignored_and_free_characters_cannot_be_written() -> None:
    """Everything compares case-folded; a NUL in policy text is no free character."""
    assert matches("RAM:Create*", "ram:createuser")
    assert not intersects(compile_glob("acs:ram::1:role/\x00x"), ANY_ROLE)


@pytest.mark.parametrize("outer, inner, expected", [
    ("fc:*", "fc:*", True), ("f*", "fc:*", True), ("*", "acs:fc:*:*:functions/x", True),
    ("fc:Get*", "fc:*", False), ("fc:?*", "fc:*", False), ("*:*", "?*:?*", True),
])
def test_subsumption(outer: str, inner: str, expected: bool) -> None:
    """Whether one pattern covers all of another (used for NotAction and NotResource)."""
    assert subsumes(compile_glob(outer), compile_glob(inner)) is expected


def test_fixed_prefix() -> None:
    assert (fixed_prefix("Get*"), fixed_prefix("*"), fixed_prefix("Describe?x"), fixed_prefix("Run")) == \
        ("get", "", "describe", "run")


_PATTERNS = st.text("ab*?", max_size=3)


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


@given(_PATTERNS, _PATTERNS)
def test_intersection_agrees_with_brute_force(first: str, second: str) -> None:
    """Two globs intersect exactly when they share a string no longer than their fixed tokens together.

    Every step of a shortest common string moves past a non-star token of one pattern, so enumerating
    strings up to that length over the patterns' letters and one other letter decides the question.
    """
    longest = sum(c != "*" for c in first + second)
    words = [""]
    shared = False
    for _ in range(longest + 1):
        if any(_regex(first).fullmatch(w) and _regex(second).fullmatch(w) for w in words):
            shared = True
            break
        words = [w + c for w in words for c in "abc"]
    assert intersects(compile_glob(first), compile_glob(second)) is shared


@given(st.text("ab*?", max_size=6), st.text("ab", max_size=8))
def test_wildcard_match_agrees_with_a_regular_expression(pattern: str, text: str) -> None:
    """The regex-free matcher used against the catalogue's action names gives the textbook answer."""
    assert wildcard_match(pattern, text) is (_regex(pattern).fullmatch(text) is not None)
    assert matches(pattern.upper(), text) is wildcard_match(pattern, text)
