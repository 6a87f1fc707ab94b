"""What the repository declares about its four functions, read from ``s.yaml`` when it is there.

The local host runs each function as ``s deploy`` would configure it: handler,
timeout, memory, environment variables, the timer's cron expression and
payload, and the filter pattern of each enabled EventBridge trigger (an event
reaches the function when it passes any of them). A function or trigger that
``s.yaml`` does not (yet) describe gets the defaults below, so the host also
runs from a checkout without one.

Only the Serverless Devs variables that can be known locally are resolved:
``${vars.<name>}`` and ``${env('NAME')}`` / ``${env('NAME', 'default')}``;
anything else (``${config('AccountID')}``, outputs of other resources) is left
as written, and an environment variable whose value still holds ``${`` is not
applied.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rolegate.eventpattern import load_pattern
from rolegate.schedule import DEFAULT_CRON, Schedule

FUNCTIONS = ("onboard", "revoke", "query", "remediate")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT = 60  # without s.yaml; FC's own default (3 s) is for functions that say nothing at all
FC_DEFAULT_TIMEOUT = 3
DEFAULT_PATTERN = {"type": [{"suffix": ":ActionTrail:ApiCall"}]}
_VAR = re.compile(r"\$\{\s*vars\.([A-Za-z0-9_]+)\s*\}")
_ENV = re.compile(r"""\$\{\s*env\(\s*['"]?([A-Za-z0-9_]+)['"]?\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}""")
_ROLE_NAME = re.compile(r"(?:^|role/)([A-Za-z0-9.@_-]{1,64})$")


class ProjectError(ValueError):
    """``s.yaml`` says something the local host cannot run."""


@dataclass(frozen=True)
class TimerSpec:
    name: str
    schedule: Schedule
    payload: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class FunctionSpec:
    """One function as deployed: ``name`` is the repository's (``functions/<name>``)."""

    name: str
    function_name: str
    handler: str = "index.handler"
    timeout: int = DEFAULT_TIMEOUT
    memory: int = 512
    role_name: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    timers: tuple[TimerSpec, ...] = ()
    event_patterns: tuple[dict[str, Any], ...] = ()

    @property
    def module(self) -> str:
        """The Python module holding the handler, e.g. ``functions.onboard.index``."""
        return f"functions.{self.name}.{self.handler.rsplit('.', 1)[0]}"

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def default_spec(name: str) -> FunctionSpec:
    timers = (TimerSpec("sweep", Schedule.parse(DEFAULT_CRON)),) if name == "revoke" else ()
    patterns = (DEFAULT_PATTERN,) if name == "remediate" else ()
    return FunctionSpec(name, f"rolegate-{name}", timers=timers, event_patterns=patterns)


@dataclass(frozen=True)
class Project:
    root: Path
    functions: dict[str, FunctionSpec]
    source: Path | None = None  # the s.yaml read, if any

    @classmethod
    def load(cls, root: Path = REPO_ROOT) -> "Project":
        path = root / "s.yaml"
        specs = {name: default_spec(name) for name in FUNCTIONS}
        if not path.is_file():
            return cls(root, specs)
        import yaml

        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ProjectError(f"{path} is not valid YAML: {exc}") from None
        variables = {str(k): str(v) for k, v in (document.get("vars") or {}).items() if not isinstance(v, dict)}
        for key, resource in (document.get("resources") or {}).items():
            props = _resolve((resource or {}).get("props") or {}, variables)
            name = _function_of(str(key), props)
            if name is not None:
                specs[name] = _spec(name, props, path)
        return cls(root, specs, path)

    def policy_path(self, name: str) -> Path:
        return self.root / "deploy" / "policies" / f"{name}.json"

    def policy(self, name: str) -> dict[str, Any] | None:
        """The function's own RAM policy, or None while the repository has none for it."""
        path = self.policy_path(name)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def has_code(self, name: str) -> bool:
        spec = self.functions[name]
        return (self.root / "functions" / name / f"{spec.handler.rsplit('.', 1)[0]}.py").is_file()


def _resolve(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, variables) for v in value]
    if not isinstance(value, str):
        return value
    value = _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) if m.group(2) is not None else m.group(0)),
                    value)


def _function_of(key: str, props: dict[str, Any]) -> str | None:
    """Which of our functions a resource deploys: by its code path, else its key or function name."""
    code = props.get("code")
    code_path = code.get("src") if isinstance(code, dict) else code
    if isinstance(code_path, str):
        for name in FUNCTIONS:
            if re.search(rf"(^|/)functions/{name}(/|$)", code_path.replace("\\", "/")):
                return name
    for candidate in (key, str(props.get("functionName", ""))):
        for name in FUNCTIONS:
            if candidate == name or candidate.endswith(("-" + name, "_" + name)):
                return name
    return None


def _spec(name: str, props: dict[str, Any], path: Path) -> FunctionSpec:
    triggers = props.get("triggers") or []
    timers: list[TimerSpec] = []
    patterns: list[dict[str, Any]] = []
    for trigger in triggers:
        kind = trigger.get("triggerType")
        config = trigger.get("triggerConfig") or {}
        where = f"{path.name}: {name} trigger {trigger.get('triggerName')!r}"
        try:
            if kind == "timer":
                timers.append(TimerSpec(str(trigger.get("triggerName") or "timer"),
                                        Schedule.parse(str(config.get("cronExpression", ""))),
                                        str(config.get("payload") or ""), bool(config.get("enable", True))))
            elif kind == "eventbridge" and config.get("triggerEnable", True):
                raw = config.get("eventRuleFilterPattern")
                patterns.append(load_pattern(raw) if raw else DEFAULT_PATTERN)
        except ValueError as exc:
            raise ProjectError(f"{where}: {exc}") from None
    role = props.get("role")
    match = _ROLE_NAME.search(role) if isinstance(role, str) and role != "auto" else None
    environment = {str(k): str(v) for k, v in (props.get("environmentVariables") or {}).items()
                   if "${" not in str(v)}
    defaults = default_spec(name)
    return FunctionSpec(
        name=name,
        function_name=str(props.get("functionName") or f"rolegate-{name}"),
        handler=str(props.get("handler") or "index.handler"),
        timeout=int(props.get("timeout") or FC_DEFAULT_TIMEOUT),
        memory=int(props.get("memorySize") or 512),
        role_name=match.group(1) if match else None,
        environment=environment,
        timers=tuple(timers) or defaults.timers,
        event_patterns=tuple(patterns) or defaults.event_patterns,
    )


__all__ = ["DEFAULT_PATTERN", "FUNCTIONS", "FunctionSpec", "Project", "ProjectError",
           "TimerSpec", "default_spec"]
