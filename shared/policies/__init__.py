"""Pure policy layer: principals, trust policies, canonical documents and the one judgment of risk.

Nothing here imports an SDK or does I/O, so onboarding, remediation and tests
all judge a policy the same way before any cloud call is made.

The names below are loaded from their modules on first access, so importing
one module of the package (``shared.policies.principals`` for a grant's
record, say) does not also load the linter and its catalogue: every function's
cold start pays only for the parts it uses.
"""
from __future__ import annotations

from shared.lazy import lazy_exports

_EXPORTS = {
    "shared.policies.document": ("CONDITION_OPERATORS", "HASH_CHARS", "MAX_POLICY_CHARS", "POLICY_VERSION",
                                 "PolicyDocumentError", "canonical_json", "parse_policy", "policy_hash"),
    "shared.policies.findings": ("CATALOGUE", "SEVERITIES", "Finding", "FindingKind", "Severity", "max_severity"),
    "shared.policies.judgment": ("Judgment", "SystemPolicy", "SystemVerdict", "high_risk_reason", "judge",
                                 "judge_system_grant", "system_policy", "system_policy_names"),
    "shared.policies.lint": ("lint_permission_policy", "lint_trust_policy"),
    "shared.policies.principals": ("PRINCIPAL_KINDS", "AccountPrincipal", "OidcPrincipal", "Principal",
                                   "PrincipalError", "RolePrincipal", "SamlPrincipal", "ServicePrincipal",
                                   "UserPrincipal", "principal_from_dict"),
    "shared.policies.protected": ("NOTHING_PROTECTED", "Protected", "ProtectedResource"),
    "shared.policies.trust": ("principal_value", "trust_policy", "trusted_principals"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
