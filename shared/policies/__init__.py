"""Pure policy layer: principals, trust policies, canonical documents and the linter.

Nothing here imports an SDK or does I/O, so onboarding, remediation and tests
all judge a policy the same way before any cloud call is made.
"""
from shared.policies.document import (
    CONDITION_OPERATORS,
    HASH_CHARS,
    MAX_POLICY_CHARS,
    POLICY_VERSION,
    PolicyDocumentError,
    canonical_json,
    parse_policy,
    policy_hash,
)
from shared.policies.findings import CATALOGUE, SEVERITIES, Finding, Rule, Severity, max_severity
from shared.policies.highrisk import DEFAULT_HIGH_RISK_POLICIES, is_high_risk_system_policy
from shared.policies.lint import is_admin_equivalent, lint_permission_policy, lint_trust_policy
from shared.policies.principals import (
    PRINCIPAL_KINDS,
    AccountPrincipal,
    OidcPrincipal,
    Principal,
    PrincipalError,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
    principal_from_dict,
)
from shared.policies.trust import principal_value, trust_policy, trusted_principals

__all__ = [
    "CATALOGUE",
    "CONDITION_OPERATORS",
    "DEFAULT_HIGH_RISK_POLICIES",
    "HASH_CHARS",
    "MAX_POLICY_CHARS",
    "POLICY_VERSION",
    "PRINCIPAL_KINDS",
    "SEVERITIES",
    "AccountPrincipal",
    "Finding",
    "OidcPrincipal",
    "PolicyDocumentError",
    "Principal",
    "PrincipalError",
    "RolePrincipal",
    "Rule",
    "SamlPrincipal",
    "ServicePrincipal",
    "Severity",
    "UserPrincipal",
    "canonical_json",
    "is_admin_equivalent",
    "is_high_risk_system_policy",
    "lint_permission_policy",
    "lint_trust_policy",
    "max_severity",
    "parse_policy",
    "policy_hash",
    "principal_from_dict",
    "principal_value",
    "trust_policy",
    "trusted_principals",
]
