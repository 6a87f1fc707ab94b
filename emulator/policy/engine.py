"""Evaluating permission policies: explicit Deny wins, then any Allow, else an implicit deny.

Documents reach the engine already checked by :mod:`emulator.policy_grammar` (RAM
refuses malformed ones at write time, STS a malformed session policy), so the
engine reads them leniently: whatever it cannot understand grants nothing.
"""
from __future__ import annotations

from typing import Any, Iterable, Literal, Mapping

from .conditions import condition_holds, normalize_context
from .patterns import as_list, wildcard_match

Decision = Literal["Allow", "Deny", "ImplicitDeny"]


def statements(document: Any) -> list[dict[str, Any]]:
    """The statements of a document; ``Statement`` may be one object or a list."""
    if not isinstance(document, dict):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def _any_match(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    return any(wildcard_match(str(p), value, ignore_case=ignore_case) for p in as_list(patterns))


def _covers(statement: Mapping[str, Any], key: str, value: str, *, ignore_case: bool) -> bool:
    """``key`` lists what the statement covers, ``Not<key>`` everything but; with neither it covers nothing."""
    if key in statement:
        return _any_match(statement[key], value, ignore_case=ignore_case)
    if f"Not{key}" in statement:
        return not _any_match(statement[f"Not{key}"], value, ignore_case=ignore_case)
    return False


def action_matches(statement: Mapping[str, Any], action: str) -> bool:
    """``Action``/``NotAction``, case-insensitive."""
    return _covers(statement, "Action", action, ignore_case=True)


def resource_matches(statement: Mapping[str, Any], resource: str) -> bool:
    """``Resource``/``NotResource``, case-sensitive."""
    return _covers(statement, "Resource", resource, ignore_case=False)


def evaluate(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
             context: Mapping[str, Any]) -> Decision:
    """The decision of a set of policies for one action on one resource.

    ``context`` maps condition keys (any case) to a value or list of values.
    """
    ctx = normalize_context(context)
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not (action_matches(statement, action) and resource_matches(statement, resource)):
                continue
            if not condition_holds(statement.get("Condition"), ctx):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "Allow" if allowed else "ImplicitDeny"
