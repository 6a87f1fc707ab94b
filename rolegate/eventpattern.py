"""EventBridge event patterns: which events a rule hands to its function.

A pattern mirrors the event's nesting; at each leaf it lists conditions, and
the field matches when any condition does (when the field is a list, when any
element does). A condition is a literal (equality) or one of ``prefix``,
``suffix``, ``anything-but`` (a value, a list, or ``{"prefix": ...}``),
``exists``, ``numeric`` (``[">", 0, "<=", 5]``) and ``cidr``. Every key of the
pattern must match, and an event must carry every field the pattern names:
only ``{"exists": false}`` matches a field that is absent (``anything-but``
does not). The local host filters ActionTrail events with the rules written
in ``s.yaml``, so the function sees what the deployed triggers would pass to it.
"""
from __future__ import annotations

import ipaddress
import json
import operator
from collections.abc import Mapping
from typing import Any, Callable

_MISSING = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class PatternError(ValueError):
    """A pattern EventBridge would refuse."""


def load_pattern(text: str | Mapping[str, Any]) -> dict[str, Any]:
    """A pattern from its JSON text (as ``eventRuleFilterPattern`` holds it), checked once."""
    pattern = json.loads(text) if isinstance(text, str) else dict(text)
    if not isinstance(pattern, dict):
        raise PatternError("an event pattern is a JSON object")
    _check(pattern, "$")
    return pattern


def _check(pattern: Mapping[str, Any], where: str) -> None:
    for key, rule in pattern.items():
        path = f"{where}.{key}"
        if isinstance(rule, Mapping):
            _check(rule, path)
        elif isinstance(rule, list):
            for condition in rule:
                if isinstance(condition, Mapping):
                    _check_condition(condition, path)
        else:
            raise PatternError(f"{path} must be a list of conditions or a nested pattern")


def _check_condition(condition: Mapping[str, Any], where: str) -> None:
    if len(condition) != 1:
        raise PatternError(f"{where}: a condition object has exactly one operator")
    name, value = next(iter(condition.items()))
    if name not in ("prefix", "suffix", "anything-but", "exists", "numeric", "cidr"):
        raise PatternError(f"{where}: unknown operator {name!r}")
    if name == "numeric" and (not isinstance(value, list) or len(value) % 2
                              or any(op not in _NUMERIC_OPS for op in value[::2])):
        raise PatternError(f"{where}: numeric takes pairs of operator and number")


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` passes ``pattern`` (a pattern from :func:`load_pattern`)."""
    if not isinstance(event, Mapping):
        return False
    for key, rule in pattern.items():
        value = event.get(key, _MISSING)
        if isinstance(rule, Mapping):
            if not matches(rule, value):
                return False
        elif not any(_condition(c, value) for c in rule):
            return False
    return True


def _condition(condition: Any, value: Any) -> bool:
    if isinstance(condition, Mapping):
        name, operand = next(iter(condition.items()))
        if name == "exists":
            return (value is not _MISSING) == bool(operand)
        if value is _MISSING:  # only exists:false matches an absent field; anything-but needs one to judge
            return False
        values = value if isinstance(value, list) else [value]
        return any(_operator(name, operand, v) for v in values)
    if value is _MISSING:
        return False
    return condition in value if isinstance(value, list) else condition == value


def _operator(name: str, operand: Any, value: Any) -> bool:
    if name == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if name == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if name == "anything-but":
        if isinstance(operand, Mapping):
            return not _operator(*next(iter(operand.items())), value)
        return value not in (operand if isinstance(operand, list) else [operand])
    if name == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return all(_NUMERIC_OPS[op](value, bound) for op, bound in zip(operand[::2], operand[1::2]))
    try:  # cidr
        return ipaddress.ip_address(value) in ipaddress.ip_network(operand, strict=False)
    except (TypeError, ValueError):
        return False


__all__ = ["PatternError", "load_pattern", "matches"]
