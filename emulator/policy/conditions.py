"""The Condition block: operators of the five documented families, ``Null``, ``...IfExists`` and the set prefixes.

An operator the engine does not know never holds, so it grants nothing; how
absent and multi-valued keys are read: docs/design/emulator.md.
"""
from __future__ import annotations

import ipaddress
import operator
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from .patterns import as_list, wildcard_match

Context = Mapping[str, list[str]]
Compare = Callable[[str, str], bool]


def text(value: Any) -> str:
    """A policy or context value as the string it is compared as (JSON booleans are ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def normalize_context(context: Mapping[str, Any]) -> dict[str, list[str]]:
    """Request context keyed by lower-cased key name (keys are case-insensitive), each a list of strings."""
    out: dict[str, list[str]] = {}
    for key, value in context.items():
        if value is None:
            continue
        out[key.lower()] = [text(v) for v in as_list(value) if v is not None]
    return out


def _numeric(op: Callable[[float, float], bool]) -> Compare:
    def compare(actual: str, expected: str) -> bool:
        try:
            return op(float(actual), float(expected))
        except ValueError:
            return False
    return compare


def parse_time(value: str) -> datetime | None:
    """ISO 8601 (``Z`` or offset; a bare date or naive time is UTC) or epoch seconds."""
    try:
        return datetime.fromtimestamp(float(value), timezone.utc)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _date(op: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(actual: str, expected: str) -> bool:
        left, right = parse_time(actual), parse_time(expected)
        return left is not None and right is not None and op(left, right)
    return compare


def _ip_in(actual: str, expected: str) -> bool:
    try:
        return ipaddress.ip_address(actual.strip()) in ipaddress.ip_network(expected.strip(), strict=False)
    except ValueError:
        return False


POSITIVE: dict[str, Compare] = {
    "StringEquals": operator.eq,
    "StringEqualsIgnoreCase": lambda a, e: a.casefold() == e.casefold(),
    "StringLike": lambda a, e: wildcard_match(e, a),
    "NumericEquals": _numeric(operator.eq),
    "NumericLessThan": _numeric(operator.lt),
    "NumericLessThanEquals": _numeric(operator.le),
    "NumericGreaterThan": _numeric(operator.gt),
    "NumericGreaterThanEquals": _numeric(operator.ge),
    "DateEquals": _date(operator.eq),
    "DateLessThan": _date(operator.lt),
    "DateLessThanEquals": _date(operator.le),
    "DateGreaterThan": _date(operator.gt),
    "DateGreaterThanEquals": _date(operator.ge),
    "Bool": lambda a, e: a.lower() == e.lower(),
    "IpAddress": _ip_in,
}

# Each negated operator is "not (the positive one matched any value)".
NEGATED: dict[str, str] = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}

BASE_OPERATORS = frozenset(POSITIVE) | frozenset(NEGATED) | {"Null"}
SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")


def parse_operator(op: str) -> tuple[str, str, bool] | None:
    """Split ``ForAllValues:StringLikeIfExists`` into (set prefix, base operator, if-exists); None if unknown."""
    prefix = next((p for p in SET_PREFIXES if op.startswith(p)), "")
    base = op[len(prefix):]
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    return (prefix, base, if_exists) if base in BASE_OPERATORS else None


def _value_holds(base: str, actual: str, expected: list[str]) -> bool:
    """One request value against the policy values: positive = matches some, negated = matches none."""
    if base in NEGATED:
        compare = POSITIVE[NEGATED[base]]
        return not any(compare(actual, e) for e in expected)
    return any(POSITIVE[base](actual, e) for e in expected)


def _key_holds(op: str, expected: list[str], actual: list[str] | None) -> bool:
    parsed = parse_operator(op)
    if parsed is None:
        return False
    prefix, base, if_exists = parsed
    if base == "Null":  # "true": the key must be absent; "false": present
        return any((e.lower() == "true") == (actual is None) for e in expected)
    if not actual:
        if prefix == "ForAllValues:" or if_exists:
            return True
        return base in NEGATED and prefix != "ForAnyValue:"
    if prefix == "ForAllValues:" or (base in NEGATED and not prefix):
        return all(_value_holds(base, a, expected) for a in actual)
    return any(_value_holds(base, a, expected) for a in actual)


def condition_holds(condition: Any, context: Context) -> bool:
    """Whether every operator/key pair of a statement's ``Condition`` holds for ``context``.

    ``context`` must come from :func:`normalize_context` (lower-cased keys, string lists).
    """
    if condition is None:
        return True
    if not isinstance(condition, dict):
        return False
    for op, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, values in block.items():
            expected = [text(v) for v in as_list(values)]
            if not _key_holds(str(op), expected, context.get(str(key).lower())):
                return False
    return True
