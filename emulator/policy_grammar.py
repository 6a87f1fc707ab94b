"""The grammar RAM enforces on policy documents, checked before anything is stored.

A malformed document is refused with ``MalformedPolicyDocument`` at write
time, so stored documents are known to be well formed. The emulator's own
reading of the grammar, independent of the project's: docs/design/emulator.md.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .errors import CloudError

_CONDITION_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool", "IpAddress", "NotIpAddress", "Null",
})
_SET_PREFIXES = ("ForAnyValue:", "ForAllValues:")
_ACTION = re.compile(r"^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_.-]+)$")
# "*" (anyone) is accepted so that risky roles can be staged for detection tests;
# whether the live service refuses it is unverified.
_RAM_PRINCIPAL = re.compile(r"^(\*|\d+|acs:ram::\d+:(root|user/[^/\s]+|role/[^/\s]+))$")
_SERVICE_PRINCIPAL = re.compile(r"^(\d+@)?[a-z0-9][a-z0-9.-]*\.aliyuncs\.com$")
_FEDERATED_PRINCIPAL = re.compile(r"^acs:ram::\d+:(saml-provider|oidc-provider)/[A-Za-z0-9._-]+$")
_PRINCIPAL_KINDS = {"RAM": _RAM_PRINCIPAL, "Service": _SERVICE_PRINCIPAL, "Federated": _FEDERATED_PRINCIPAL}
TRUST_ACTION = "sts:AssumeRole"


def malformed(problem: str) -> CloudError:
    return CloudError("MalformedPolicyDocument", f"The policy document is malformed: {problem}", 400)


def validate_permission_policy(text: str) -> dict[str, Any]:
    """Parse and check an identity (permission) policy; return the parsed document."""
    doc = _document(text)
    for index, statement in enumerate(_statements(doc), start=1):
        where = f"Statement[{index}]"
        _statement_keys(statement, where, allowed={"Sid", "Effect", "Action", "NotAction", "Resource",
                                                   "NotResource", "Condition"},
                        forbidden={"Principal": "Principal is only allowed in a trust policy"})
        _effect(statement, where)
        _one_of(statement, where, "Action", "NotAction", _check_action)
        _one_of(statement, where, "Resource", "NotResource", _check_resource)
        _condition(statement, where)
    return doc


def validate_trust_policy(text: str) -> dict[str, Any]:
    """Parse and check a role trust policy (AssumeRolePolicyDocument); return the parsed document."""
    doc = _document(text)
    for index, statement in enumerate(_statements(doc), start=1):
        where = f"Statement[{index}]"
        _statement_keys(statement, where, allowed={"Sid", "Effect", "Action", "Principal", "Condition"},
                        forbidden={"Resource": "Resource is not allowed in a trust policy",
                                   "NotResource": "NotResource is not allowed in a trust policy",
                                   "NotAction": "NotAction is not allowed in a trust policy",
                                   "NotPrincipal": "NotPrincipal is not allowed in a trust policy"})
        _effect(statement, where)
        for action in _string_list(statement.get("Action"), f"{where}.Action"):
            if action != TRUST_ACTION:
                raise malformed(f"{where}.Action must be \"{TRUST_ACTION}\" in a trust policy, not \"{action}\"")
        _principal(statement.get("Principal"), f"{where}.Principal")
        _condition(statement, where)
    # ledger: RAM-TRUST-GRAMMAR, RAM-TRUST-DENY-ONLY
    # Every trust policy the documentation shows lets someone in: an Allow statement naming the trusted
    # entity. A document of Deny statements only is shown valid nowhere, so it is refused here rather
    # than have code depend on RAM accepting it.
    if not any(s.get("Effect") == "Allow" for s in _statements(doc)):
        raise malformed("a trust policy needs an Allow statement naming who may assume the role")
    return doc


# ----------------------------------------------------------------- helpers
def _document(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except (TypeError, ValueError) as err:
        raise malformed(f"not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise malformed("the document must be a JSON object")
    extra = set(doc) - {"Version", "Statement"}
    if extra:
        raise malformed(f"unknown top-level element {sorted(extra)[0]}")
    if doc.get("Version") != "1":
        raise malformed("Version must be the string \"1\"")
    statements = _statements(doc)
    if not statements:
        raise malformed("Statement must be a statement object or a non-empty list of them")
    for index, statement in enumerate(statements, start=1):
        if not isinstance(statement, dict):
            raise malformed(f"Statement[{index}] must be a JSON object")
    return doc


def _statements(doc: dict[str, Any]) -> list[Any]:
    """The statements of a document: ``Statement`` may be one object or a list of them."""
    value = doc.get("Statement")
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []


def _statement_keys(statement: dict[str, Any], where: str, *, allowed: set[str],
                    forbidden: dict[str, str]) -> None:
    for key in statement:
        if key in forbidden:
            raise malformed(f"{where}: {forbidden[key]}")
        if key not in allowed:
            raise malformed(f"{where} has unknown element {key}")


def _effect(statement: dict[str, Any], where: str) -> None:
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise malformed(f"{where}.Effect must be \"Allow\" or \"Deny\"")


def _string_list(value: Any, where: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise malformed(f"{where} must be a string or a non-empty list of strings")
    for item in items:
        if not isinstance(item, str) or not item:
            raise malformed(f"{where} must contain only non-empty strings")
    return items


def _one_of(statement: dict[str, Any], where: str, key: str, negated: str, check: Any) -> None:
    present = [k for k in (key, negated) if k in statement]
    if len(present) != 1:
        raise malformed(f"{where} must have exactly one of {key} or {negated}")
    name = present[0]
    for item in _string_list(statement[name], f"{where}.{name}"):
        check(item, f"{where}.{name}")


def _check_action(action: str, where: str) -> None:
    if not _ACTION.match(action):
        raise malformed(f"{where} has an invalid action \"{action}\" (expected service:Action)")


def _check_resource(resource: str, where: str) -> None:
    if resource != "*" and not resource.startswith("acs:"):
        raise malformed(f"{where} has an invalid resource \"{resource}\" (expected * or acs:...)")


def _condition(statement: dict[str, Any], where: str) -> None:
    if "Condition" not in statement:
        return
    block = statement["Condition"]
    if not isinstance(block, dict) or not block:
        raise malformed(f"{where}.Condition must be a non-empty JSON object")
    for operator, clauses in block.items():
        base = operator
        for prefix in _SET_PREFIXES:
            if base.startswith(prefix):
                base = base[len(prefix):]
        if base.endswith("IfExists") and base != "IfExists":
            base = base[: -len("IfExists")]
        if base not in _CONDITION_OPERATORS:
            raise malformed(f"{where}.Condition has an unknown operator {operator}")
        if not isinstance(clauses, dict) or not clauses:
            raise malformed(f"{where}.Condition.{operator} must be a non-empty JSON object")
        for key, value in clauses.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, (str, int, float, bool)) for v in values):
                raise malformed(f"{where}.Condition.{operator}.{key} must be a value or a non-empty list of values")


def _principal(principal: Any, where: str) -> None:
    if not isinstance(principal, dict) or not principal:
        raise malformed(f"{where} must be a JSON object with RAM, Service or Federated")
    for kind, value in principal.items():
        pattern = _PRINCIPAL_KINDS.get(kind)
        if pattern is None:
            raise malformed(f"{where} has an unknown principal type {kind} (expected RAM, Service or Federated)")
        for item in _string_list(value, f"{where}.{kind}"):
            if not pattern.match(item):
                raise malformed(f"{where}.{kind} has an invalid principal \"{item}\"")
