"""Trust policies: built from one principal, read back as a set of principal values.

The builder is the only place a trust policy is written, so every role Rolegate
creates trusts exactly the principal its grant names. ``trusted_principals``
reads any trust policy (including hand-edited ones) so a change that adds or
widens a principal can be seen by comparing two sets.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.policies.document import (
    POLICY_VERSION,
    PolicyDocumentError,
    PolicySource,
    canonical_json,
    is_deny,
    json_path,
    parse_policy,
    statements,
    values_with_paths,
)
from shared.policies.principals import (
    AccountPrincipal,
    OidcPrincipal,
    Principal,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
    role_arn,
)
from shared.site import CHINA, Site

ASSUME_ROLE = "sts:AssumeRole"
EXTERNAL_ID_KEY = "sts:ExternalId"
SAML_RECIPIENT_KEY = "saml:recipient"  # its value is the site's SAML endpoint: Site.saml_recipient
OIDC_ISSUER_KEY = "oidc:iss"
OIDC_AUDIENCE_KEY = "oidc:aud"
OIDC_SUBJECT_KEY = "oidc:sub"
PRINCIPAL_TYPES: tuple[str, ...] = ("RAM", "Service", "Federated")


class PrincipalEntry(NamedTuple):
    """One value of a statement's Principal: its type (``RAM``/``Service``/``Federated``/``*``)."""

    kind: str
    value: Any
    path: str


# The ExternalId that the trust for nobody both requires and forbids.
NOBODY_EXTERNAL_ID = "rolegate-admits-nobody"
# What Rolegate wrote for "nobody" before: one Deny and no Allow, with a "*" RAM principal. No page shows
# that form valid, so it is no longer written; it is still recognised on roles that carry it.
LEGACY_NOBODY_TRUST: dict[str, Any] = {
    "Version": "1",
    "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"RAM": ["*"]}}],
}
_ROOT_ARN = re.compile(r"^acs:ram::([0-9]{16}):root\Z")


def nobody_trust(owner_account_id: str) -> dict[str, Any]:
    """A trust policy no caller can satisfy, for quarantined roles, revoked grants' tombstones and disarmed roles.

    Every element has the form the documentation shows valid: one Allow of
    ``sts:AssumeRole`` to the owner account's own RAM identities
    (``acs:ram::<owner>:root``, the form of RAM's trust-policy examples) under a
    ``Condition`` with two operators on ``sts:ExternalId``, ``StringEquals`` and
    ``StringNotEquals`` (RAM's documented string operators). The operators of a
    condition block must all hold ("A condition block is satisfied only if all
    of its conditions are satisfied", RAM's policy elements), and no
    ExternalId both equals and differs from the same value; without an
    ExternalId ``StringEquals`` already fails. So no request is admitted, and
    nothing outside the owner account is even named. Only an administrator of
    the owner account can change the role's trust again.
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": ASSUME_ROLE,
            "Principal": {"RAM": [f"acs:ram::{owner_account_id}:root"]},
            "Condition": {"StringEquals": {EXTERNAL_ID_KEY: NOBODY_EXTERNAL_ID},
                          "StringNotEquals": {EXTERNAL_ID_KEY: NOBODY_EXTERNAL_ID}},
        }],
    }


def admits_nobody(doc: PolicySource) -> bool:
    """Whether ``doc`` is Rolegate's trust for nobody (of any account), or the Deny-only form written before."""
    try:
        parsed = parse_policy(doc)
    except PolicyDocumentError:  # unreadable: not ours
        return False
    if canonical_json(parsed) == canonical_json(LEGACY_NOBODY_TRUST):
        return True
    found = [s for _, s in statements(parsed)]
    principal = found[0].get("Principal") if len(found) == 1 and isinstance(found[0], Mapping) else None
    values = principal.get("RAM") if isinstance(principal, Mapping) else None
    values = [values] if isinstance(values, str) else values
    match = _ROOT_ARN.match(values[0]) if isinstance(values, list) and len(values) == 1 \
        and isinstance(values[0], str) else None
    return match is not None and canonical_json(parsed) == canonical_json(nobody_trust(match.group(1)))


def principal_value(principal: Principal) -> str:
    """The string a trust policy uses to name ``principal`` (an ARN or a service name)."""
    match principal:
        case AccountPrincipal(account_id=account):
            return f"acs:ram::{account}:root"
        case UserPrincipal(account_id=account, user_name=name):
            return f"acs:ram::{account}:user/{name}"
        case RolePrincipal(account_id=account, role_name=name):
            return role_arn(account, name)
        case SamlPrincipal(account_id=account, provider_name=name):
            return f"acs:ram::{account}:saml-provider/{name}"
        case OidcPrincipal(account_id=account, provider_name=name):
            return f"acs:ram::{account}:oidc-provider/{name}"
        case ServicePrincipal(service=service):
            return service
    raise TypeError(f"not a principal: {principal!r}")


def _principal_type(principal: Principal) -> str:
    if isinstance(principal, ServicePrincipal):
        return "Service"
    if isinstance(principal, (SamlPrincipal, OidcPrincipal)):
        return "Federated"
    return "RAM"


def _condition(principal: Principal, site: Site) -> dict[str, Any] | None:
    match principal:
        case AccountPrincipal(external_id=str() as external_id):
            return {"StringEquals": {EXTERNAL_ID_KEY: external_id}}
        case SamlPrincipal():
            return {"StringEquals": {SAML_RECIPIENT_KEY: site.saml_recipient}}
        case OidcPrincipal(issuer=issuer, audiences=audiences, subjects=subjects):
            equals: dict[str, Any] = {OIDC_ISSUER_KEY: issuer, OIDC_AUDIENCE_KEY: list(audiences)}
            if subjects:
                equals[OIDC_SUBJECT_KEY] = list(subjects)
            return {"StringEquals": equals}
    return None


def trust_policy(principal: Principal, site: Site = CHINA) -> dict[str, Any]:
    """The trust policy letting exactly ``principal`` assume a role, with the conditions its kind needs.

    ``site`` gives a SAML principal its recipient (each Alibaba Cloud site has
    its own SAML endpoint); the deployed code passes ``shared.config.site()``.
    An account principal without an external id gets no condition at all; the
    linter reports that (RG103) and onboarding decides whether to accept it.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": ASSUME_ROLE,
        "Principal": {_principal_type(principal): [principal_value(principal)]},
    }
    condition = _condition(principal, site)
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def principal_entries(principal: Any, path: str) -> list[PrincipalEntry]:
    """Every value of a ``Principal`` element with its path.

    A bare ``"*"`` has kind ``*``; any other bare string has kind ``""``.
    Values under unknown types are included (kind as written) so a malformed
    principal is still visible to whoever compares trust sets.
    """
    if isinstance(principal, str):
        return [PrincipalEntry("*" if principal == "*" else "", principal, path)]
    if not isinstance(principal, Mapping):
        return []
    entries: list[PrincipalEntry] = []
    for kind, values in principal.items():
        for value_path, value in values_with_paths(values, json_path(path, kind)):
            entries.append(PrincipalEntry(kind, value, value_path))
    return entries


def trusted_principals(doc: PolicySource) -> list[str]:
    """Sorted, distinct principal values of every non-Deny statement (``"*"`` included).

    A statement with a misspelt Effect is counted: when looking for widened
    trust, over-reporting is the safe error. Unparseable input has no
    principals to offer and raises ``PolicyDocumentError``.
    """
    found: set[str] = set()
    for path, statement in statements(parse_policy(doc)):
        if isinstance(statement, Mapping) and not is_deny(statement):
            principal = statement.get("Principal")
            for entry in principal_entries(principal, json_path(path, "Principal")):
                if isinstance(entry.value, str):
                    found.add(entry.value)
    return sorted(found)

