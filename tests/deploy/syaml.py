"""Reading ``s.yaml`` as Serverless Devs would: YAML (anchors merged), then its ``${...}`` variables resolved.

Only the variable forms ``s.yaml`` uses are understood: ``${vars.a.b}``,
``${env('NAME')}`` / ``${env('NAME', 'default')}`` and ``${config('Key')}``.
A value that is one expression keeps the resolved value's type (as
Serverless Devs does); an expression inside a longer string is substituted
as text. Anything else, or an environment variable with no value and no
default, is an error: a deploy would fail or carry a literal ``${...}``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

REPO = Path(__file__).resolve().parents[2]
S_YAML = REPO / "s.yaml"
_EXPR = re.compile(r"\$\{([^}]*)\}")
_CALL = re.compile(r"^(env|config)\(\s*'([^']*)'\s*(?:,\s*'([^']*)'\s*)?\)$")


class UnresolvedVariable(ValueError):
    """A ``${...}`` that cannot be resolved with what the deploying shell provides."""


def load_raw(path: Path = S_YAML) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@dataclass
class Resolver:
    env: Mapping[str, str]
    config: Mapping[str, str]
    variables: Mapping[str, Any] | None = None

    def _lookup(self, expression: str) -> Any:
        expression = expression.strip()
        if expression.startswith("vars."):
            if self.variables is None:
                raise UnresolvedVariable(f"${{{expression}}} used before vars are known")
            value: Any = self.variables
            for part in expression[len("vars."):].split("."):
                if not isinstance(value, Mapping) or part not in value:
                    raise UnresolvedVariable(f"${{{expression}}}: no such variable")
                value = value[part]
            return value
        call = _CALL.match(expression)
        if call is None:
            raise UnresolvedVariable(f"${{{expression}}} is not a form this deployment uses")
        kind, name, default = call.groups()
        source = self.env if kind == "env" else self.config
        if name in source:
            return source[name]
        if default is not None:
            return default
        raise UnresolvedVariable(f"${{{expression}}}: {kind} {name} is not set and has no default")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = _EXPR.fullmatch(value)
        if whole is not None:
            return self.resolve(self._lookup(whole.group(1)))
        return _EXPR.sub(lambda m: str(self.resolve(self._lookup(m.group(1)))), value)


def resolve(document: dict[str, Any], env: Mapping[str, str], config: Mapping[str, str]) -> dict[str, Any]:
    """``document`` with every variable resolved; ``vars`` first (a var may use env, config and other vars)."""
    raw_vars = document.get("vars") or {}
    variables: dict[str, Any] = {}
    pending = dict(raw_vars)
    while pending:  # a var may name another var defined anywhere in the block
        progressed = False
        for key, value in list(pending.items()):
            try:
                variables[key] = Resolver(env, config, variables).resolve(value)
            except UnresolvedVariable:
                continue
            del pending[key]
            progressed = True
        if not progressed:
            Resolver(env, config, variables).resolve(pending)  # raises, naming the culprit
    resolver = Resolver(env, config, variables)
    return {**{k: resolver.resolve(v) for k, v in document.items() if k != "vars"}, "vars": variables}


@dataclass(frozen=True)
class FunctionResource:
    """One fc3 resource of ``s.yaml``; ``name`` is the function's directory under ``functions/``."""

    key: str
    name: str
    props: dict[str, Any]

    @property
    def triggers(self) -> list[dict[str, Any]]:
        return list(self.props.get("triggers") or [])

    def trigger(self, kind: str) -> dict[str, Any]:
        found = self.triggers_of(kind)
        assert len(found) == 1, f"{self.key}: expected one {kind} trigger, found {len(found)}"
        return found[0]

    def triggers_of(self, kind: str) -> list[dict[str, Any]]:
        return [t for t in self.triggers if t.get("triggerType") == kind]

    def named(self, trigger_name: str) -> dict[str, Any]:
        found = [t for t in self.triggers if t.get("triggerName") == trigger_name]
        assert len(found) == 1, f"{self.key}: expected one trigger named {trigger_name}, found {len(found)}"
        return found[0]


def functions(document: dict[str, Any]) -> dict[str, FunctionResource]:
    """The fc3 resources keyed by function name (``code: ./build/<name>``)."""
    out: dict[str, FunctionResource] = {}
    for key, resource in (document.get("resources") or {}).items():
        if resource.get("component") != "fc3":
            continue
        props = resource["props"]
        code = str(props.get("code", ""))
        match = re.fullmatch(r"\./build/([a-z0-9_-]+)/?", code)
        assert match, f"{key}: code must be ./build/<function> (the packaging step's output), not {code!r}"
        out[match.group(1)] = FunctionResource(key, match.group(1), props)
    return out


DEPLOY_ENV = {"ROLEGATE_WEBHOOK_SECRET": "w" * 48}
DEPLOY_CONFIG = {"AccountID": "1234567890123456"}


def resolved(env: Mapping[str, str] = DEPLOY_ENV, config: Mapping[str, str] = DEPLOY_CONFIG) -> dict[str, Any]:
    """``s.yaml`` as deployed from a shell holding ``env``, with credentials of account ``config``."""
    return resolve(load_raw(), env, config)
