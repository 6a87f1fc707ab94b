"""Static checks for trust and permission policies: grammar RAM would reject, trust that reaches too far.

Permission risks are in ``risk.py``; every finding comes from a rule in
``findings.CATALOGUE`` (docs/design/policy-judgment.md).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from shared.policies.document import (
    CONDITION_OPERATORS,
    MAX_POLICY_CHARS,
    POLICY_VERSION,
    PolicyDocumentError,
    PolicySource,
    is_deny,
    json_path,
    json_type,
    parse_policy,
    statements,
    submitted_size,
    values_with_paths,
)
from shared.policies.findings import (
    ANY_ACCOUNT_PRINCIPAL,
    BAD_ACTION,
    BAD_CONDITION_KEY,
    BAD_CONDITION_VALUE,
    BAD_EFFECT,
    BAD_PRINCIPAL_VALUE,
    BAD_RESOURCE,
    BAD_STATEMENT_BLOCK,
    BAD_VALUE_LIST,
    BAD_VERSION,
    CONDITION_NOT_OBJECT,
    CONFLICTING_ELEMENTS,
    DUPLICATE_ENTRY,
    MISSING_ELEMENT,
    NOT_AN_OBJECT,
    OIDC_WITHOUT_AUDIENCE,
    PRINCIPAL_IN_PERMISSION_POLICY,
    PRINCIPAL_NOT_OBJECT,
    ROOT_WITHOUT_EXTERNAL_ID,
    SAML_WITHOUT_RECIPIENT,
    STATEMENT_NOT_OBJECT,
    TOO_LARGE,
    TRUST_ACTION_NOT_ASSUME_ROLE,
    UNKNOWN_KEY,
    UNKNOWN_OPERATOR,
    WILDCARD_NAME_PRINCIPAL,
    WILDCARD_PRINCIPAL,
    Finding,
)
from shared.policies.protected import NOTHING_PROTECTED, Protected
from shared.policies.risk import show as _show
from shared.policies.risk import statement_risks
from shared.policies.risk import strings as _strings
from shared.policies.trust import (
    ASSUME_ROLE,
    EXTERNAL_ID_KEY,
    OIDC_AUDIENCE_KEY,
    OIDC_ISSUER_KEY,
    PRINCIPAL_TYPES,
    SAML_RECIPIENT_KEY,
    PrincipalEntry,
    principal_entries,
)

POLICY_KEYS = ("Version", "Statement")
PERMISSION_STATEMENT_KEYS = ("Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
TRUST_STATEMENT_KEYS = ("Sid", "Effect", "Action", "Principal", "Condition")
EFFECTS = ("Allow", "Deny")

_ACTION_RE = re.compile(r"[A-Za-z0-9*?][A-Za-z0-9*?-]*:[A-Za-z0-9_*?]+\Z")
_CONDITION_KEY_RE = re.compile(r"[A-Za-z0-9-]+:\S+\Z")
_RAM_ARN_RE = re.compile(r"acs:ram::(?P<account>[^:]+):(?P<name>.+)\Z")
_RAM_NAME_RE = re.compile(r"(root|(user|role)/.+)\Z")
_FEDERATED_NAME_RE = re.compile(r"(saml-provider|oidc-provider)/.+\Z")
_SERVICE_RE = re.compile(r"([0-9]+@)?[a-z0-9*?-]+(\.[a-z0-9*?-]+)*\.aliyuncs\.com\Z")
_SHOWN_CHARS = 120

ItemCheck = Callable[[str, str], "Finding | None"]


def _only_stars(text: str) -> bool:
    return bool(text) and set(text) == {"*"}


def _has_glob(text: str) -> bool:
    return "*" in text or "?" in text


# --- grammar -----------------------------------------------------------------

def _check_action(value: str, path: str) -> Finding | None:
    if value == "*" or _ACTION_RE.match(value):
        return None
    return BAD_ACTION.at(path, value=_show(value))


def _check_resource(value: str, path: str) -> Finding | None:
    parts = value.split(":", 4)
    if value == "*" or (len(parts) == 5 and parts[0] == "acs" and parts[1] and parts[4]):
        return None
    return BAD_RESOURCE.at(path, value=_show(value))


def _check_principal_value(kind: str, value: str, path: str) -> Finding | None:
    if value == "*":
        return None
    if kind == "Service":
        valid = _SERVICE_RE.match(value) is not None
    else:
        arn = _RAM_ARN_RE.match(value)
        name_re = _RAM_NAME_RE if kind == "RAM" else _FEDERATED_NAME_RE
        valid = arn is not None and name_re.match(arn.group("name")) is not None
    return None if valid else BAD_PRINCIPAL_VALUE.at(path, value=_show(value), kind=kind)


def _string_set(value: Any, path: str, key: str, check: ItemCheck) -> list[Finding]:
    if isinstance(value, str):
        items = [(path, value)]
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        items = values_with_paths(value, path)
    else:
        return [BAD_VALUE_LIST.at(path, key=key, value=_show(value))]
    findings: list[Finding] = []
    seen: set[str] = set()
    for item_path, item in items:
        problem = check(item, item_path)
        if problem is not None:
            findings.append(problem)
        if item in seen:
            findings.append(DUPLICATE_ENTRY.at(item_path, key=key, value=_show(item)))
        seen.add(item)
    return findings


def _required(statement: Mapping[str, Any], path: str, key: str, check: ItemCheck) -> list[Finding]:
    if key not in statement:
        return [MISSING_ELEMENT.at(path, where="statement", key=key)]
    return _string_set(statement[key], json_path(path, key), key, check)


def _one_of(statement: Mapping[str, Any], path: str, key: str, not_key: str, check: ItemCheck) -> list[Finding]:
    present = [k for k in (key, not_key) if k in statement]
    if not present:
        return [MISSING_ELEMENT.at(path, where="statement", key=key)]
    findings = [CONFLICTING_ELEMENTS.at(path, first=key, second=not_key)] if len(present) == 2 else []
    for k in present:
        findings.extend(_string_set(statement[k], json_path(path, k), k, check))
    return findings


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float))


def _check_condition_values(key: str, value: Any, path: str) -> list[Finding]:
    if _is_scalar(value):
        return []
    if not isinstance(value, list) or not value or not all(_is_scalar(v) for v in value):
        return [BAD_CONDITION_VALUE.at(path, key=_show(key), value=_show(value))]
    findings: list[Finding] = []
    seen: set[str] = set()
    for item_path, item in values_with_paths(value, path):
        form = json.dumps(item)
        if form in seen:
            findings.append(DUPLICATE_ENTRY.at(item_path, key=_show(key), value=_show(item)))
        seen.add(form)
    return findings


def _check_condition(statement: Mapping[str, Any], path: str) -> list[Finding]:
    if "Condition" not in statement:
        return []
    condition_path = json_path(path, "Condition")
    condition = statement["Condition"]
    if not isinstance(condition, Mapping) or not condition:
        return [CONDITION_NOT_OBJECT.at(condition_path, key="Condition", value=_show(condition))]
    findings: list[Finding] = []
    for operator, block in condition.items():
        operator_path = json_path(condition_path, operator)
        if operator not in CONDITION_OPERATORS:
            findings.append(UNKNOWN_OPERATOR.at(operator_path, value=_show(operator)))
        if not isinstance(block, Mapping) or not block:
            findings.append(CONDITION_NOT_OBJECT.at(operator_path, key=operator, value=_show(block)))
            continue
        for key, value in block.items():
            key_path = json_path(operator_path, key)
            if not _CONDITION_KEY_RE.match(key):
                findings.append(BAD_CONDITION_KEY.at(key_path, value=_show(key)))
            findings.extend(_check_condition_values(key, value, key_path))
    return findings


def _check_principal(statement: Mapping[str, Any], path: str) -> list[Finding]:
    if "Principal" not in statement:
        return [MISSING_ELEMENT.at(path, where="statement", key="Principal")]
    principal_path = json_path(path, "Principal")
    principal = statement["Principal"]
    if principal == "*":
        return []
    if not isinstance(principal, Mapping) or not principal:
        return [PRINCIPAL_NOT_OBJECT.at(principal_path, value=_show(principal))]
    findings: list[Finding] = []
    for kind, values in principal.items():
        kind_path = json_path(principal_path, kind)
        if kind in PRINCIPAL_TYPES:
            findings.extend(_string_set(values, kind_path, kind, partial(_check_principal_value, kind)))
        else:
            findings.append(UNKNOWN_KEY.at(kind_path, key=_show(kind), where="Principal"))
    return findings


def _check_statement_basics(
    statement: Mapping[str, Any], path: str, allowed: tuple[str, ...], where: str
) -> list[Finding]:
    findings: list[Finding] = []
    for key in statement:
        if key in allowed:
            continue
        if key == "Principal":
            findings.append(PRINCIPAL_IN_PERMISSION_POLICY.at(json_path(path, key)))
        else:
            findings.append(UNKNOWN_KEY.at(json_path(path, key), key=_show(key), where=where))
    if "Effect" not in statement:
        findings.append(MISSING_ELEMENT.at(path, where="statement", key="Effect"))
    elif statement["Effect"] not in EFFECTS:
        findings.append(BAD_EFFECT.at(json_path(path, "Effect"), value=_show(statement["Effect"])))
    return findings


def _check_document(doc: Mapping[str, Any]) -> list[Finding]:
    findings = [
        UNKNOWN_KEY.at(json_path("$", key), key=_show(key), where="the policy")
        for key in doc if key not in POLICY_KEYS
    ]
    if "Version" not in doc:
        findings.append(MISSING_ELEMENT.at("$", where="the policy", key="Version"))
    elif doc["Version"] != POLICY_VERSION:
        findings.append(BAD_VERSION.at("$.Version", value=_show(doc["Version"])))
    block = doc.get("Statement")
    if "Statement" not in doc:
        findings.append(MISSING_ELEMENT.at("$", where="the policy", key="Statement"))
    elif not isinstance(block, Mapping) and not (isinstance(block, list) and block):
        findings.append(BAD_STATEMENT_BLOCK.at("$.Statement", value=_show(block)))
    return findings


# --- risk --------------------------------------------------------------------

def _string_equals_keys(condition: Any) -> set[str]:
    """Lower-cased keys that StringEquals pins to at least one non-empty value."""
    block = condition.get("StringEquals") if isinstance(condition, Mapping) else None
    if not isinstance(block, Mapping):
        return set()
    return {
        key.lower() for key, value in block.items()
        if (isinstance(value, str) and value)
        or (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value))
    }


def _principal_risk(entry: PrincipalEntry, pinned: set[str]) -> Finding | None:
    value = entry.value
    if not isinstance(value, str):
        return None
    shown = _show(value)
    arn = _RAM_ARN_RE.match(value)
    if value == "*" or (arn is not None and _only_stars(arn.group("account")) and arn.group("name") == "root"):
        return WILDCARD_PRINCIPAL.at(entry.path, value=shown)
    if arn is None or entry.kind == "Service":
        return WILDCARD_PRINCIPAL.at(entry.path, value=shown) if _has_glob(value) else None
    account, name = arn.group("account"), arn.group("name")
    if _has_glob(account):
        return ANY_ACCOUNT_PRINCIPAL.at(entry.path, value=shown)
    if _has_glob(name):
        return WILDCARD_NAME_PRINCIPAL.at(entry.path, value=shown)
    if name == "root" and EXTERNAL_ID_KEY.lower() not in pinned:
        return ROOT_WITHOUT_EXTERNAL_ID.at(entry.path, value=shown)
    if name.startswith("saml-provider/") and SAML_RECIPIENT_KEY.lower() not in pinned:
        return SAML_WITHOUT_RECIPIENT.at(entry.path, value=shown)
    if name.startswith("oidc-provider/"):
        missing = [k for k in (OIDC_ISSUER_KEY, OIDC_AUDIENCE_KEY) if k.lower() not in pinned]
        if missing:
            return OIDC_WITHOUT_AUDIENCE.at(entry.path, value=shown, missing=" and ".join(missing))
    return None


def _trust_risks(statement: Mapping[str, Any], path: str) -> list[Finding]:
    findings = [
        TRUST_ACTION_NOT_ASSUME_ROLE.at(action_path, value=_show(action))
        for action_path, action in _strings(statement.get("Action"), json_path(path, "Action"))
        if action.lower() != ASSUME_ROLE.lower()
    ]
    pinned = _string_equals_keys(statement.get("Condition"))
    for entry in principal_entries(statement.get("Principal"), json_path(path, "Principal")):
        finding = _principal_risk(entry, pinned)
        if finding is not None:
            findings.append(finding)
    return findings


# --- entry points ------------------------------------------------------------

def _check_permission_statement(statement: Mapping[str, Any], path: str,
                                protected: Protected = NOTHING_PROTECTED) -> list[Finding]:
    findings = _check_statement_basics(statement, path, PERMISSION_STATEMENT_KEYS, "statement")
    findings += _one_of(statement, path, "Action", "NotAction", _check_action)
    findings += _one_of(statement, path, "Resource", "NotResource", _check_resource)
    findings += _check_condition(statement, path)
    if not is_deny(statement):
        findings += statement_risks(statement, path, protected)
    return findings


def _check_trust_statement(statement: Mapping[str, Any], path: str) -> list[Finding]:
    findings = _check_statement_basics(statement, path, TRUST_STATEMENT_KEYS, "trust statement")
    findings += _required(statement, path, "Action", _check_action)
    findings += _check_principal(statement, path)
    findings += _check_condition(statement, path)
    if not is_deny(statement):
        findings += _trust_risks(statement, path)
    return findings


def _lint(
    source: PolicySource,
    check_statement: Callable[[Mapping[str, Any], str], list[Finding]],
    size_limit: int | None,
) -> list[Finding]:
    try:
        doc = parse_policy(source)
    except PolicyDocumentError as exc:
        return [NOT_AN_OBJECT.at(exc.path, reason=exc.message)]
    findings = _check_document(doc)
    size = submitted_size(source)
    if size_limit is not None and size > size_limit:
        findings.append(TOO_LARGE.at("$", size=size, limit=size_limit))
    for path, statement in statements(doc):
        if isinstance(statement, Mapping):
            findings.extend(check_statement(statement, path))
        else:
            findings.append(STATEMENT_NOT_OBJECT.at(path, kind=json_type(statement)))
    return findings


def lint_permission_policy(doc: PolicySource, protected: Protected = NOTHING_PROTECTED) -> list[Finding]:
    """Findings for a permission (identity) policy, in document order; [] when clean.

    Text that is not a JSON object yields a single RG001 finding instead of an
    exception, so callers can treat every input the same way. ``protected``
    (nothing by default) are resources a statement must not reach (RG150).
    Callers judge through ``shared.policies.judgment.judge``, which calls this.
    """
    return _lint(doc, partial(_check_permission_statement, protected=protected), MAX_POLICY_CHARS)


def lint_trust_policy(doc: PolicySource) -> list[Finding]:
    """Findings for a role trust policy (no size check: RAM's trust-policy limit is not documented)."""
    return _lint(doc, _check_trust_statement, None)
