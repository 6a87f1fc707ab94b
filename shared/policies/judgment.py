"""The one judgment of a policy's risk, for onboarding, remediation and ``rolegate lint``.

:func:`judge` rates a permission policy; :func:`judge_system_grant` decides
whether a grant may name a system policy; :func:`high_risk_reason` is
remediation's question (docs/design/policy-judgment.md).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.policies.document import PolicySource
from shared.policies.findings import SEVERITIES, Finding, Severity, max_severity, severity_rank
from shared.policies.lint import lint_permission_policy
from shared.policies.protected import NOTHING_PROTECTED, Protected

SYSTEM_DIR = Path(__file__).parent / "system"
REFUSE_FROM: Severity = "high"          # onboarding refuses a custom document with a finding this bad
NEVER_GRANTED_FROM: Severity = "critical"  # no allow-list entry lets a system policy through from here
REMEDIATE_FROM: Severity = "critical"   # remediation takes back a policy rated this bad
ACCESS_LEVELS = ("read", "write")


@dataclass(frozen=True)
class Judgment:
    """The findings of one document, in document order."""

    findings: tuple[Finding, ...]

    @property
    def worst(self) -> Severity | None:
        return max_severity(self.findings)

    def at_least(self, severity: Severity) -> list[Finding]:
        floor = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) >= floor]


def judge(document: PolicySource, protected: Protected = NOTHING_PROTECTED) -> Judgment:
    """Rate a permission policy document (JSON text, bytes or a mapping); never raises on bad input."""
    return Judgment(tuple(lint_permission_policy(document, protected)))


# --- system policies ---------------------------------------------------------

@dataclass(frozen=True)
class SystemPolicy:
    """A system policy's published document, with where it was read and how sure that is."""

    name: str
    access: str  # "read" or "write", as the policy's own description says
    document: Mapping[str, Any]
    source: str
    verified: bool
    version: str | None = None
    updated: str | None = None
    note: str = ""

    @property
    def read_only(self) -> bool:
        return self.access == "read"


@lru_cache(maxsize=1)
def _files() -> dict[str, Path]:
    return {p.stem.casefold(): p for p in SYSTEM_DIR.glob("*.json")}


@lru_cache(maxsize=128)
def system_policy(name: str) -> SystemPolicy | None:
    """The catalogued system policy ``name`` (any letter case), or None when Rolegate does not know it."""
    path = _files().get(name.casefold())
    if path is None:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return SystemPolicy(data["name"], data["access"], data["document"], data["source"], data["verified"],
                        data.get("version"), data.get("updated"), data.get("reason") or data.get("note", ""))


def system_policy_names() -> list[str]:
    """Names of every catalogued system policy, sorted."""
    return sorted(p.stem for p in _files().values())


@lru_cache(maxsize=256)
def _judge_system(name: str, protected: Protected) -> Judgment | None:
    policy = system_policy(name)
    return None if policy is None else judge(policy.document, protected)


@dataclass(frozen=True)
class SystemVerdict:
    """Whether a grant may name a system policy; ``findings`` are the reasons or, when granted, the warnings."""

    name: str
    granted: bool
    code: str | None
    message: str
    findings: tuple[Finding, ...] = ()


def _listed(name: str, names: Iterable[str]) -> bool:
    wanted = name.casefold()
    return any(wanted == n.casefold() for n in names)


def judge_system_grant(name: str, *, allowed: Iterable[str] = (), denied: Iterable[str] = (),
                       protected: Protected = NOTHING_PROTECTED) -> SystemVerdict:
    """Decide a system policy a grant names, under a deployment's allow-list and deny-list.

    ``denied`` names are refused outright; a non-empty ``allowed`` list is
    exhaustive; the policy's published document is judged like a custom one.
    """
    allowed = tuple(allowed)
    if _listed(name, denied):
        return SystemVerdict(name, False, "PolicyDenied", f"system policy {name} is never granted to partners")
    policy = system_policy(name)
    judgment = None if policy is None else _judge_system(policy.name, protected)
    never = [] if judgment is None else judgment.at_least(NEVER_GRANTED_FROM)
    if never:
        return SystemVerdict(name, False, "PolicyDenied",
                             f"system policy {name} has {len(never)} critical finding(s) and is never granted",
                             tuple(never))
    listed = _listed(name, allowed)
    if allowed and not listed:
        return SystemVerdict(name, False, "PolicyNotAllowed",
                             f"system policy {name} is not in this deployment's allow-list")
    if policy is None or judgment is None:
        if listed:
            return SystemVerdict(name, True, None, f"system policy {name} is allow-listed by name")
        return SystemVerdict(name, False, "PolicyNotAllowed",
                             f"system policy {name} is not in Rolegate's catalogue of system policies, so its "
                             "document cannot be judged; list it in ROLEGATE_ALLOWED_POLICIES to grant it anyway")
    serious = judgment.at_least(REFUSE_FROM)
    if not listed and (serious or not policy.read_only):
        why = "grants write access" if not policy.read_only else f"has {len(serious)} high finding(s)"
        return SystemVerdict(name, False, "PolicyNotAllowed",
                             f"system policy {name} {why}; list it in ROLEGATE_ALLOWED_POLICIES to grant it",
                             tuple(serious))
    return SystemVerdict(name, True, None, f"system policy {name} may be granted", judgment.findings)


# --- remediation -------------------------------------------------------------

def high_risk_reason(kind: str, name: str, document: PolicySource | None = None,
                     extra_names: Iterable[str] = ()) -> str | None:
    """Why an attached policy must be taken back, or None.

    ``kind`` is ``System`` or ``Custom``; a custom policy's default-version
    ``document`` is judged, a system policy's published one. ``extra_names``
    are system policies a deployment rates high-risk by name.
    """
    if kind.casefold() == "system":
        if _listed(name, extra_names):
            return "system policy on ROLEGATE_HIGH_RISK_POLICIES"
        judgment = _judge_system(name, NOTHING_PROTECTED)
        what = f"system policy {name}"
    else:
        judgment = None if document is None else judge(document)
        what = f"custom policy {name}"
    if judgment is None:
        return None
    critical = judgment.at_least(REMEDIATE_FROM)
    if not critical:
        return None
    return f"{what} is rated critical: " + "; ".join(f"{f.id} {f.message}" for f in critical)


__all__ = ["ACCESS_LEVELS", "Judgment", "NEVER_GRANTED_FROM", "REFUSE_FROM", "REMEDIATE_FROM", "SEVERITIES",
           "SystemPolicy", "SystemVerdict", "high_risk_reason", "judge", "judge_system_grant", "system_policy",
           "system_policy_names"]
