"""Pure policy layer: principals, trust policies, canonical documents and the linter.

Nothing here imports an SDK or does I/O, so onboarding, remediation and tests
all judge a policy the same way before any cloud call is made.

The names below are loaded from their modules on first access, so importing
one module of the package (``shared.policies.principals`` for a grant's
record, say) does not also load the linter and its catalogue: every function's
cold start pays only for the parts it uses.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "shared.policies.document": ("CONDITION_OPERATORS", "HASH_CHARS", "MAX_POLICY_CHARS", "POLICY_VERSION",
                                 "PolicyDocumentError", "canonical_json", "parse_policy", "policy_hash"),
    "shared.policies.findings": ("CATALOGUE", "SEVERITIES", "Finding", "Rule", "Severity", "max_severity"),
    "shared.policies.highrisk": ("DEFAULT_HIGH_RISK_POLICIES", "is_high_risk_system_policy"),
    "shared.policies.lint": ("is_admin_equivalent", "lint_permission_policy", "lint_trust_policy"),
    "shared.policies.principals": ("PRINCIPAL_KINDS", "AccountPrincipal", "OidcPrincipal", "Principal",
                                   "PrincipalError", "RolePrincipal", "SamlPrincipal", "ServicePrincipal",
                                   "UserPrincipal", "principal_from_dict"),
    "shared.policies.trust": ("principal_value", "trust_policy", "trusted_principals"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

