"""Glob patterns as RAM reads them, and the questions the judgment asks of two of them.

Whether two patterns share a string (:func:`intersects`), one covers another
(:func:`subsumes`), one matches a name (:func:`matches`); the token form and
the catalogue's *free* character: docs/design/policy-judgment.md.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

Token = tuple[bool, bool, frozenset[str]]
Pattern = tuple[Token, ...]

FREE = "\x00"  # the free character of target patterns; policy text never keeps one (see compile_glob)
_ANY: tuple[bool, frozenset[str]] = (True, frozenset())
_NO_FREE_IN_TEXT = "\ufffd"
_MARKERS = {
    "{field}": (True, True, frozenset(":")),    # any run inside one ARN field
    "{name}": (True, True, frozenset(":/")),    # any run of the characters a name may hold
    "{free}": (False, False, frozenset(FREE)),  # one character no fixed character can match
}


def _literal(char: str) -> Token:
    return (False, False, frozenset(char))


@lru_cache(maxsize=4096)
def compile_glob(text: str) -> Pattern:
    """A policy's pattern (an action or a resource) as tokens: ``*`` and ``?`` are wildcards, the rest literal."""
    tokens: list[Token] = []
    for char in text.casefold().replace(FREE, _NO_FREE_IN_TEXT):
        if char == "*":
            if not (tokens and tokens[-1] == (True, *_ANY)):  # ** is *
                tokens.append((True, *_ANY))
        elif char == "?":
            tokens.append((False, *_ANY))
        else:
            tokens.append(_literal(char))
    return tuple(tokens)


@lru_cache(maxsize=512)
def target(text: str) -> Pattern:
    """A catalogue pattern: glob syntax plus ``{field}``, ``{name}`` and ``{free}`` (see the module docstring)."""
    tokens: list[Token] = []
    rest = text.casefold()
    while rest:
        marker = next((m for m in _MARKERS if rest.startswith(m)), None)
        if marker is not None:
            tokens.append(_MARKERS[marker])
            rest = rest[len(marker):]
            continue
        tokens.extend(compile_glob(rest[0]))
        rest = rest[1:]
    return tuple(tokens)


def _meet(first: tuple[bool, frozenset[str]], second: tuple[bool, frozenset[str]]) -> bool:
    """Whether two character sets share a character (the alphabet is unbounded)."""
    (neg1, set1), (neg2, set2) = first, second
    if neg1 and neg2:
        return True
    if neg1:
        return not set2 <= set1
    if neg2:
        return not set1 <= set2
    return bool(set1 & set2)


def _within(inner: tuple[bool, frozenset[str]], outer: tuple[bool, frozenset[str]]) -> bool:
    """Whether every character of ``inner`` is in ``outer``."""
    (neg_in, set_in), (neg_out, set_out) = inner, outer
    if neg_out and not set_out:
        return True
    if not neg_in and not neg_out:
        return set_in <= set_out
    if not neg_in:
        return not set_in & set_out
    if not neg_out:
        return False
    return set_out <= set_in


def _is_literal(pattern: Pattern) -> bool:
    return all(not star and not neg and len(chars) == 1 for star, neg, chars in pattern)


@lru_cache(maxsize=512)
def _regex(pattern: Pattern) -> re.Pattern[str]:
    parts = []
    for star, neg, chars in pattern:
        if neg and not chars:
            body = "."
        elif not neg and len(chars) == 1:
            body = re.escape(next(iter(chars)))
        else:
            body = "[" + ("^" if neg else "") + "".join(re.escape(c) for c in sorted(chars)) + "]"
        parts.append(body + ("*" if star else ""))
    return re.compile("".join(parts), re.DOTALL)


def matcher(pattern: str) -> re.Pattern[str]:
    """A compiled regular expression for a policy pattern; match it against case-folded text."""
    return _regex(compile_glob(pattern))


@lru_cache(maxsize=16384)
def intersects(first: Pattern, second: Pattern) -> bool:
    """Whether some string matches both patterns (a real intersection of two globs, not a guess)."""
    if _is_literal(first):
        return _regex(second).fullmatch("".join(next(iter(t[2])) for t in first)) is not None
    if _is_literal(second):
        return _regex(first).fullmatch("".join(next(iter(t[2])) for t in second)) is not None
    end = (len(first), len(second))

    def moves(i: int, j: int) -> Iterator[tuple[int, int]]:
        a = first[i] if i < end[0] else None
        b = second[j] if j < end[1] else None
        if a is not None and a[0]:
            yield i + 1, j
        if b is not None and b[0]:
            yield i, j + 1
        if a is not None and b is not None and _meet(a[1:], b[1:]):
            yield (i if a[0] else i + 1, j if b[0] else j + 1)

    return _reaches(end, moves)


@lru_cache(maxsize=16384)
def subsumes(outer: Pattern, inner: Pattern) -> bool:
    """Whether ``outer`` matches every string ``inner`` matches (sufficient test: token by token)."""
    end = (len(outer), len(inner))

    def moves(i: int, j: int) -> Iterator[tuple[int, int]]:
        if i == end[0]:
            return
        star, *chars = outer[i]
        b = inner[j] if j < end[1] else None
        if star:
            yield i + 1, j
            if b is not None and _within(b[1:], (chars[0], chars[1])):
                yield i, j + 1
        elif b is not None and not b[0] and _within(b[1:], (chars[0], chars[1])):
            yield i + 1, j + 1

    return _reaches(end, moves)


def _reaches(end: tuple[int, int], moves: Callable[[int, int], Iterator[tuple[int, int]]]) -> bool:
    """Whether the walk over two token sequences gets from (0, 0) to ``end`` (the worklist both tests share)."""
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        if state == end:
            return True
        seen.add(state)
        todo.extend(step for step in moves(*state) if step != state)
    return False


def matches(pattern: str, text: str) -> bool:
    """Whether a policy pattern matches a plain string (case-insensitive)."""
    return wildcard_match(pattern.casefold(), text.casefold())


def wildcard_match(pattern: str, text: str) -> bool:
    """``*``/``?`` matching of already case-folded strings, without building a regular expression.

    The usual two-pointer walk: on a mismatch after a ``*``, that star takes
    one more character and the walk resumes behind it.
    """
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]):
            p += 1
            t += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def fixed_prefix(pattern: str) -> str:
    """The case-folded characters before the first wildcard."""
    folded = pattern.casefold()
    cut = min((i for i in (folded.find("*"), folded.find("?")) if i >= 0), default=len(folded))
    return folded[:cut]


__all__ = ["FREE", "Pattern", "compile_glob", "fixed_prefix", "intersects", "matcher", "matches", "subsumes",
           "target", "wildcard_match"]
