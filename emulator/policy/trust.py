"""Role trust policies: who may assume a role, and on which conditions.

The caller is a plain dict built with :func:`trust_caller`; the principal
forms accepted and how names compare: docs/design/emulator.md.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from .conditions import condition_holds, normalize_context
from .engine import action_matches, statements
from .patterns import as_list, wildcard_match

ASSUME_ROLE = "sts:AssumeRole"
_RAM_ARN = re.compile(r"^acs:ram::([^:]*):(root|(user|role)/(.+))$", re.IGNORECASE)
_FEDERATED_ARN = re.compile(r"^acs:ram::([^:]*):(saml-provider|oidc-provider)/(.+)$", re.IGNORECASE)


def trust_caller(principal_type: str, account_id: str, name: str, **conditions: Any) -> dict[str, Any]:
    """The ``caller_context`` for :func:`trust_allows`; condition keys go in ``conditions``
    (use a dict splat for keys with a colon: ``trust_caller(..., **{"sts:ExternalId": x})``)."""
    return {"principal": {"type": principal_type, "account_id": account_id, "name": name}, **conditions}


def describe(principal: Mapping[str, str]) -> str:
    """The caller as an ARN-like string, for logs."""
    kind, account, name = principal.get("type", ""), principal.get("account_id", ""), principal.get("name", "")
    if kind == "service":
        return f"service {name}"
    return f"acs:ram::{account}:{kind}/{name}"


def _account_matches(pattern: str, account: str) -> bool:
    return pattern == "*" or pattern == account


def _ram_admits(value: str, caller: Mapping[str, str]) -> bool:
    if caller.get("type") not in ("user", "role"):
        return False
    if value == "*":
        return True
    if value.isdigit():
        return value == caller.get("account_id")
    match = _RAM_ARN.match(value)
    if not match or not _account_matches(match.group(1), caller.get("account_id", "")):
        return False
    if match.group(2).lower() == "root":
        return True
    return (match.group(3).lower() == caller["type"]
            and wildcard_match(match.group(4), caller.get("name", ""), ignore_case=True))


def _service_admits(value: str, caller: Mapping[str, str]) -> bool:
    if caller.get("type") != "service":
        return False
    if value == "*":
        return True
    account, _, service = value.rpartition("@")
    if account and account != caller.get("account_id"):
        return False
    return service.lower() == caller.get("name", "").lower()


def _federated_admits(value: str, caller: Mapping[str, str]) -> bool:
    if caller.get("type") not in ("saml-provider", "oidc-provider"):
        return False
    match = _FEDERATED_ARN.match(value)
    return bool(match and _account_matches(match.group(1), caller.get("account_id", ""))
                and match.group(2).lower() == caller["type"]
                and match.group(3).lower() == caller.get("name", "").lower())


_ADMITTERS = {"ram": _ram_admits, "service": _service_admits, "federated": _federated_admits}


def principal_admits(principal: Any, caller: Mapping[str, str]) -> bool:
    """Whether a statement's ``Principal`` element names ``caller``."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        admits = _ADMITTERS.get(str(kind).lower())
        if admits and any(admits(str(v), caller) for v in as_list(values)):
            return True
    return False


def trust_verdict(trust_policy: Mapping[str, Any], caller_context: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the trust policy lets the caller assume the role, and why (for the call log)."""
    caller = caller_context.get("principal") or {}
    context = normalize_context({k: v for k, v in caller_context.items() if k != "principal"})
    allowed, named = False, False
    for statement in statements(trust_policy):
        if not action_matches(statement, ASSUME_ROLE) or not principal_admits(statement.get("Principal"), caller):
            continue
        named = named or statement.get("Effect") == "Allow"
        if not condition_holds(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False, f"trust policy explicitly denies {describe(caller)}"
        if statement.get("Effect") == "Allow":
            allowed = True
    if allowed:
        return True, f"trust policy admits {describe(caller)}"
    if named:
        return False, f"trust policy names {describe(caller)} but its conditions do not hold"
    return False, f"trust policy does not name {describe(caller)}"


def trust_allows(trust_policy: Mapping[str, Any], caller_context: Mapping[str, Any]) -> bool:
    """Whether ``caller_context`` (see :func:`trust_caller`) may assume a role with this trust policy."""
    return trust_verdict(trust_policy, caller_context)[0]
