"""A small, independent EventBridge event-pattern matcher: the tests' oracle for ``eventRuleFilterPattern``.

Written apart from ``rolegate.eventpattern`` (which the local host uses) so
that the two can disagree when one of them misreads the rules. Supported:
nested patterns mirroring the event, and per field a list of conditions of
which one must hold -- an exact value, ``prefix``, ``suffix``,
``anything-but`` (a value or a list of values) and ``exists``. A field that is
a list in the event matches when any element does. Anything else raises.
"""
from __future__ import annotations

from typing import Any, Mapping

_ABSENT = object()


def _condition(rule: Any, value: Any) -> bool:
    if not isinstance(rule, Mapping):
        return value is not _ABSENT and value == rule
    (operator, operand), = rule.items()
    if operator == "exists":
        return (value is not _ABSENT) == bool(operand)
    if value is _ABSENT:
        return False
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        return value not in excluded
    raise ValueError(f"operator {operator!r} is not supported by this matcher")


def _field(rules: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) and value else [value]
    return any(_condition(rule, candidate) for rule in rules for candidate in candidates)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` passes ``pattern`` (every key of the pattern must hold)."""
    for key, rule in pattern.items():
        value = event.get(key, _ABSENT) if isinstance(event, Mapping) else _ABSENT
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not _field(rule, value):
                return False
        else:
            raise ValueError(f"{key}: a pattern field is a list of conditions or a nested pattern")
    return True
