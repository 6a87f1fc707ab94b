"""``rolegate verify``: is a deployment's configuration one the functions can run with?

Run it with the function's environment (``--env-file``, or exported) and
credentials of the same identity. Checks, each passed, failed or noted:

1. every ``ROLEGATE_*`` variable set is one Rolegate reads (a misspelt name is
   silently ignored by the functions, which is worse than an error);
2. each function's settings parse (the same ``from_env`` the function calls),
   and so do the notification settings;
3. credentials resolve, and STS ``GetCallerIdentity`` answers with them (in the
   owner account, when one is configured);
4. each function's RAM policy file parses and lints clean. A function whose
   job needs a capability the linter flags as high risk (onboard must attach
   policies; remediate must re-attach, restore trust and restore policy
   versions) passes with that finding noted, and only with those; any other
   high or critical finding, and any grammar finding, fails.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from shared.errors import RolegateError
from shared.policies import lint_permission_policy
from shared.policies.findings import severity_rank

from rolegate.operator import OperatorSession
from rolegate.project import FUNCTIONS, REPO_ROOT, Project

_VARIABLE = re.compile(r"\bROLEGATE_[A-Z0-9_]*[A-Z0-9]\b")
# Findings a function's policy carries by design, and why.
EXPECTED_FINDINGS: dict[str, dict[str, str]] = {
    "onboard": {"RG133": "creating a grant means attaching its policies"},
    "remediate": {"RG133": "restoring a grant re-attaches its recorded policies",
                  "RG135": "restoring a grant rewrites its trust policy back",
                  "RG136": "restoring a grant's custom policy sets its recorded version as default"},
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    noted: bool = False  # passed, with something worth reading


def known_variables(root: Path = REPO_ROOT) -> set[str]:
    """Every ``ROLEGATE_*`` name the deployed code mentions (its settings read each one it documents),
    and those ``s.yaml`` reads when deploying (``ROLEGATE_DEPLOY_REGION``, ...)."""
    sources = [*(root / "shared").rglob("*.py"), *(root / "functions").rglob("*.py"), root / "s.yaml"]
    names: set[str] = set()
    for path in sources:
        if path.is_file():
            names.update(_VARIABLE.findall(path.read_text(encoding="utf-8")))
    return names


def _settings_loaders(context: Any) -> dict[str, Callable[[], Any]]:
    from shared.onboarding.settings import OnboardSettings
    from shared.query.settings import QuerySettings
    from shared.remediation.settings import RemediationSettings
    from shared.sweep.settings import SweepSettings

    return {"onboard": lambda: OnboardSettings.from_env(context), "revoke": SweepSettings.from_env,
            "query": QuerySettings.from_env, "remediate": RemediationSettings.from_env}


def _attempt(name: str, action: Callable[[], str]) -> Check:
    try:
        return Check(name, True, action())
    except RolegateError as exc:
        return Check(name, False, f"{exc.code}: {exc.message}")


def check_policy(function: str, path: Path) -> Check:
    name = f"policy {path.name}"
    if not path.is_file():
        return Check(name, False, f"{path} is missing")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return Check(name, False, f"not JSON: {exc}")
    expected = EXPECTED_FINDINGS.get(function, {})
    findings = lint_permission_policy(document)
    bad = [f for f in findings if f.id.startswith("RG0") or
           (severity_rank(f.severity) >= severity_rank("high") and f.id not in expected)]
    if bad:
        return Check(name, False, "; ".join(f"{f.id} {f.severity} at {f.path}: {f.message}" for f in bad))
    noted = sorted({f.id for f in findings if f.id in expected})
    if noted:
        return Check(name, True, "needed by design: " + "; ".join(f"{i} ({expected[i]})" for i in noted),
                     noted=True)
    return Check(name, True, f"{len(document.get('Statement', []))} statement(s), no findings")


def verify(functions: tuple[str, ...], session: OperatorSession, project: Project | None = None) -> list[Check]:
    project = project or Project.load()
    checks: list[Check] = []
    unknown = sorted(n for n in os.environ if n.startswith("ROLEGATE_") and n not in known_variables(project.root))
    checks.append(Check("variables", not unknown,
                        f"not read by Rolegate (misspelt?): {', '.join(unknown)}" if unknown
                        else "every ROLEGATE_* variable set is one Rolegate reads"))
    identity: dict[str, Any] = {}

    def credentials() -> str:
        creds = session.credentials
        return f"AccessKey {creds.access_key_id}" + (" (STS session)" if creds.is_sts else "")

    def caller() -> str:
        body = session.caller_identity()
        identity["account_id"] = str(body.account_id)
        return f"{body.arn} in account {body.account_id}"

    checks.append(_attempt("credentials", credentials))
    if checks[-1].ok:
        checks.append(_attempt("GetCallerIdentity", caller))
        owner = session.configured_owner
        if identity and owner and owner != identity["account_id"]:
            checks.append(Check("owner account", False, f"configured owner {owner} is not the credentials' "
                                                        f"account {identity['account_id']}"))
    context = SimpleNamespace(account_id=identity.get("account_id"))
    loaders = _settings_loaders(context)
    for function in functions:
        checks.append(_attempt(f"settings {function}", lambda f=function: _describe(loaders[f]())))
    checks.append(_attempt("settings notify", _notify))
    for function in functions:
        checks.append(check_policy(function, project.policy_path(function)))
    return checks


def _notify() -> str:
    from shared.notify import NotifySettings

    settings = NotifySettings.from_env()
    return f"notifications to {settings!r}" if settings.url else "notifications off"


def _describe(settings: Any) -> str:
    return type(settings).__name__ + " read"


__all__ = ["Check", "EXPECTED_FINDINGS", "FUNCTIONS", "check_policy", "known_variables", "verify"]
