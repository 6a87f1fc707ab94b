"""What a permission statement lets its holder do, as findings: the risk half of the judgment.

How RAM's semantics are read (case, globs, ``NotAction``, conditions never
narrowing what): docs/design/policy-judgment.md.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.policies.document import json_path, values_with_paths
from shared.policies.findings import (
    ADMIN_EQUIVALENT,
    ALLOW_NOT_ACTION,
    ALLOW_NOT_RESOURCE,
    PROTECTED_RESOURCE,
    RAM_FULL_ACCESS,
    SERVICE_WILDCARD,
    WILDCARD_ACTION,
    Finding,
    FindingKind,
)
from shared.policies.glob import compile_glob, fixed_prefix, intersects, matches, subsumes, target, wildcard_match
from shared.policies.paths import EVERY_RESOURCE, PATH_ACTIONS, PATHS, READ_ACTIONS, READ_VERBS, Path
from shared.policies.protected import Protected, ProtectedResource

_SHOWN_CHARS = 120
_RAM_SERVICES = ("ram", "ims")


def _by_service(actions: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for action in actions:
        grouped.setdefault(action.split(":")[0], []).append(action)
    return {service: tuple(names) for service, names in grouped.items()}


_PATH_ACTION_SET = frozenset(PATH_ACTIONS)
_PATH_ACTIONS_BY_SERVICE = _by_service(PATH_ACTIONS)


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def strings(value: Any, path: str) -> list[tuple[str, str]]:
    """String items of a string-or-list element, skipping malformed ones (grammar reports those)."""
    return [(p, v) for p, v in values_with_paths(value, path) if isinstance(v, str)]


# --- actions -----------------------------------------------------------------

def _unbounded(part: str, shortest: int) -> bool:
    """Whether a glob matches every string of at least ``shortest`` characters (only wildcards, one star)."""
    return bool(part) and set(part) <= {"*", "?"} and "*" in part and part.count("?") <= shortest


@dataclass(frozen=True)
class ActionShape:
    """An action pattern split as RAM actions are: ``service:Name`` (exactly one colon)."""

    text: str
    service: str | None  # None: the pattern has no colon, a wildcard stands for it
    name: str | None
    every_action: bool   # matches every action of every service
    service_wide: bool   # a fixed service and any name: ``ecs:*``, ``ecs:?*``
    read_only: bool      # the fixed name starts with a read verb (Get, List...)

    def of_service(self, service: str) -> bool:
        if self.service is None:
            return intersects(compile_glob(self.text), compile_glob(f"{service}:*"))
        return matches(self.service, service)


def _has_glob(text: str) -> bool:
    return "*" in text or "?" in text


@lru_cache(maxsize=4096)
def action_shape(text: str) -> ActionShape:
    if text.count(":") == 1:
        service, name = text.split(":")
        every = _unbounded(service, 1) and _unbounded(name, 1)
        wide = not _has_glob(service) and _unbounded(name, 1)
        return ActionShape(text, service.casefold(), name, every, wide, fixed_prefix(name).startswith(READ_VERBS))
    return ActionShape(text, None, None, _unbounded(text, 3), False, False)


@lru_cache(maxsize=8192)
def _changes(action: str, service: str, ignored: frozenset[str]) -> bool:
    """Whether an Action pattern may match an action of ``service`` that is not a read (nor ``ignored``)."""
    shape = action_shape(action)
    if shape.every_action:
        return True
    if not shape.of_service(service):
        return False
    if shape.service is None or shape.name is None:
        return True
    if not _has_glob(shape.name) and f"{service}:{shape.name.casefold()}" in READ_ACTIONS | ignored:
        return False
    return not shape.read_only


@lru_cache(maxsize=4096)
def _catalogued(pattern: str) -> frozenset[str]:
    """The catalogue's action names an Action pattern matches."""
    folded = pattern.casefold()
    if not _has_glob(folded):
        return frozenset({folded}) & _PATH_ACTION_SET
    shape = action_shape(pattern)
    candidates = PATH_ACTIONS if shape.service is None or _has_glob(shape.service) else \
        _PATH_ACTIONS_BY_SERVICE.get(shape.service, ())
    return frozenset(a for a in candidates if wildcard_match(folded, a))


@lru_cache(maxsize=1024)
def _not_excluded(not_actions: tuple[str, ...]) -> frozenset[str]:
    """The catalogue's action names a NotAction list leaves allowed."""
    folded = [n.casefold() for n in not_actions]
    return frozenset(a for a in PATH_ACTIONS if not any(wildcard_match(n, a) for n in folded))


@lru_cache(maxsize=1024)
def _not_action_changes(not_actions: tuple[str, ...], service: str) -> bool:
    whole = compile_glob(f"{service}:*")
    return not any(subsumes(compile_glob(n), whole) for n in not_actions)


@lru_cache(maxsize=None)
def _path_names(path: Path) -> tuple[tuple[str, str], ...]:
    """A path's actions as (case-folded, as written) pairs."""
    return tuple((a.casefold(), a) for a in path.actions)


# --- statements --------------------------------------------------------------

@dataclass(frozen=True)
class Statement:
    """A non-Deny statement's values, as the risk checks read them."""

    path: str
    actions: tuple[tuple[str, str], ...]  # (path, pattern) of Action; empty with NotAction
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    not_resources: tuple[str, ...] | None

    @classmethod
    def read(cls, statement: Mapping[str, Any], path: str) -> Statement:
        not_actions = statement.get("NotAction")
        not_resources = statement.get("NotResource")
        return cls(
            path,
            tuple(strings(statement.get("Action"), json_path(path, "Action"))) if not_actions is None else (),
            None if not_actions is None else tuple(v for _, v in strings(not_actions, "")),
            tuple(v for _, v in strings(statement.get("Resource"), "")),
            None if not_resources is None else tuple(v for _, v in strings(not_resources, "")),
        )

    def reaches(self, resource: str) -> bool:
        """Whether some resource the statement allows may match target pattern ``resource``."""
        compiled = target(resource)
        if self.not_resources is not None:
            return not any(subsumes(compile_glob(n), compiled) for n in self.not_resources)
        return any(intersects(compile_glob(r), compiled) for r in self.resources)

    def reaches_any(self, path: Path) -> bool:
        return any(self.reaches(t) for t in path.targets)

    @property
    def every_resource(self) -> bool:
        return self.reaches(EVERY_RESOURCE)

    def changes(self, service: str, ignored: frozenset[str] = frozenset()) -> bool:
        """Whether the statement may allow an action of ``service`` that is not a read (nor ``ignored``)."""
        if self.not_actions is not None:
            return _not_action_changes(self.not_actions, service)
        return any(_changes(a, service, ignored) for _, a in self.actions)

    def allows(self, action: str) -> bool:
        if self.not_actions is not None:
            return not any(matches(n, action) for n in self.not_actions)
        return any(matches(a, action) for _, a in self.actions)


def _path_findings(statement: Statement, covered: frozenset[str], where: str, value: str) -> list[Finding]:
    by_rule: dict[FindingKind, tuple[str, list[str]]] = {}
    for path in PATHS:
        names = [a for folded, a in _path_names(path) if folded in covered]
        if names and statement.reaches_any(path):
            source, listed = by_rule.setdefault(path.rule, (path.source, []))
            listed.extend(n for n in names if n not in listed)
    return [rule.at(where, statement=statement.path, source=source, value=value, covered=", ".join(names))
            for rule, (source, names) in by_rule.items()]


def _action_findings(statement: Statement, where: str, action: str) -> list[Finding]:
    shape = action_shape(action)
    shown = f"action {show(action)}"
    if shape.every_action:
        return [WILDCARD_ACTION.at(where, statement=statement.path, value=show(action))]
    if shape.service is not None and _unbounded(shape.name or "", 1) and \
            any(matches(shape.service, ram) for ram in _RAM_SERVICES):
        return [RAM_FULL_ACCESS.at(where, statement=statement.path, value=show(action))]
    findings = _path_findings(statement, _catalogued(action), where, shown)
    if not findings and shape.service_wide:
        findings.append(SERVICE_WILDCARD.at(where, statement=statement.path, value=show(action),
                                            service=shape.service))
    return findings


def _protected_findings(statement: Statement, protected: Protected) -> list[Finding]:
    reached: list[tuple[ProtectedResource, str]] = []
    for resource in protected.resources:
        actions = _reaching_actions(statement, resource)
        if actions and any(statement.reaches(t) for t in resource.targets):
            reached.append((resource, actions))
    if not reached:
        return []
    where = json_path(statement.path, "NotResource" if statement.not_resources is not None else "Resource")
    sources = ", ".join(dict.fromkeys(r.source for r, _ in reached if r.source))
    what = "; ".join(f"{r.label} ({actions} on {r.shown})" for r, actions in reached)
    return [PROTECTED_RESOURCE.at(where, statement=statement.path, source=sources, reached=what)]


def _reaching_actions(statement: Statement, resource: ProtectedResource) -> str:
    """How the statement may act on ``resource``, in words; empty when it may not."""
    services = resource.services
    if not services:
        changing = statement.not_actions is not None or any(not action_shape(a).read_only
                                                            for _, a in statement.actions)
        return "writes" if changing else ""
    ignored = _folded(resource.ignored)
    words = [f"{s} writes" for s in services if statement.changes(s, ignored)]
    words += [r for r in resource.reads if statement.allows(r)]
    return ", ".join(words)


@lru_cache(maxsize=64)
def _folded(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(n.casefold() for n in names)


def statement_risks(raw: Mapping[str, Any], path: str, protected: Protected) -> list[Finding]:
    """Risk findings of one non-Deny permission statement."""
    statement = Statement.read(raw, path)
    findings: list[Finding] = []
    if statement.not_actions is not None:
        findings.append(ALLOW_NOT_ACTION.at(json_path(path, "NotAction"), statement=path,
                                            count=len(statement.not_actions)))
    if statement.not_resources is not None:
        findings.append(ALLOW_NOT_RESOURCE.at(json_path(path, "NotResource"), statement=path))
    unbounded = statement.not_actions is not None or any(action_shape(a).every_action for _, a in statement.actions)
    if unbounded and statement.every_resource:
        what = "every action" if statement.not_actions is None else \
            f"every action but the {len(statement.not_actions)} listed"
        findings.append(ADMIN_EQUIVALENT.at(path, statement=path, what=what))
    if statement.not_actions is not None:
        findings += _path_findings(statement, _not_excluded(statement.not_actions), json_path(path, "NotAction"),
                                   f"NotAction {show(list(statement.not_actions))}")
    for action_path, action in statement.actions:
        findings += _action_findings(statement, action_path, action)
    findings += _protected_findings(statement, protected)
    return findings


__all__ = ["ActionShape", "Statement", "action_shape", "show", "statement_risks", "strings"]
