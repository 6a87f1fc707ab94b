"""Policy documents as data: parsing, walking and a canonical form.

RAM accepts the same policy in many spellings (key order, whitespace, a bare
string or a one-element list, duplicate or reordered actions). Drift detection
and idempotent onboarding need "is this the policy we wrote?" to ignore all of
that, so every comparison goes through ``canonical_json``/``policy_hash``.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Union

from shared.jsontext import canonical, compact

PolicySource = Union[str, bytes, Mapping[str, Any]]

POLICY_VERSION = "1"
# RAM's limit on a custom policy document (older documentation said 2048).
MAX_POLICY_CHARS = 6144
# 64 bits of sha256: enough to tell policies apart, short enough for a tag value.
HASH_CHARS = 16

CONDITION_OPERATORS: tuple[str, ...] = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
    "DateGreaterThan", "DateGreaterThanEquals",
    "Bool", "IpAddress", "NotIpAddress",
)
# Statement elements whose value is a set of strings; order and repetition carry no meaning.
SET_VALUED_ELEMENTS: tuple[str, ...] = ("Action", "NotAction", "Resource", "NotResource")

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class PolicyDocumentError(ValueError):
    """A policy that is not a JSON object; ``path`` (a JSON path) says where it went wrong.

    ``field`` aliases ``path`` so webhook code can report this exactly like a
    ``PrincipalError``.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    @property
    def field(self) -> str:
        return self.path


def json_type(value: Any) -> str:
    """JSON's name for a Python value's type, for messages read by people who wrote JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def json_path(base: str, step: str | int) -> str:
    """Extend a JSON path: ``$.Statement`` + 0 -> ``$.Statement[0]``; odd keys are bracket-quoted."""
    if isinstance(step, int):
        return f"{base}[{step}]"
    if _PLAIN_KEY.match(step):
        return f"{base}.{step}"
    quoted = step.replace("\\", "\\\\").replace("'", "\\'")
    return f"{base}['{quoted}']"


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last duplicate; RAM's reading of such a
    # document is unknown, so it is refused rather than guessed at.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise PolicyDocumentError(f"$..{key}", f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise PolicyDocumentError("$", f"{name} is not valid JSON")


def parse_policy(source: PolicySource) -> dict[str, Any]:
    """A private JSON-object copy of ``source`` (JSON text, UTF-8 bytes or a mapping).

    Mappings are round-tripped through JSON so tuples, NaN or other values RAM
    could never receive are caught here, not in a cloud call.
    """
    if isinstance(source, (bytes, bytearray)):
        try:
            source = bytes(source).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PolicyDocumentError("$", f"policy is not UTF-8 text ({exc.reason})") from None
    if isinstance(source, str):
        try:
            value = json.loads(source, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
        except json.JSONDecodeError as exc:
            raise PolicyDocumentError(
                "$", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    elif isinstance(source, Mapping):
        try:
            value = json.loads(json.dumps(source, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise PolicyDocumentError("$", f"policy is not representable as JSON: {exc}") from None
    else:
        raise PolicyDocumentError("$", f"expected JSON text or an object, got {json_type(source)}")
    if not isinstance(value, dict):
        raise PolicyDocumentError("$", f"a policy must be a JSON object, got {json_type(value)}")
    return value


def statements(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(path, statement)`` pairs; RAM allows ``Statement`` to be one object or a list of them."""
    block = doc.get("Statement")
    if isinstance(block, Mapping):
        return [("$.Statement", block)]
    if isinstance(block, list):
        return [(json_path("$.Statement", i), s) for i, s in enumerate(block)]
    return []


def is_deny(statement: Mapping[str, Any]) -> bool:
    """Whether a statement only takes access away; any other Effect, even a misspelt one, may grant."""
    effect = statement.get("Effect")
    return isinstance(effect, str) and effect.lower() == "deny"


def values_with_paths(value: Any, path: str) -> list[tuple[str, Any]]:
    """A string-or-list element as ``(path, item)`` pairs; a bare value has the element's own path."""
    if isinstance(value, list):
        return [(json_path(path, i), item) for i, item in enumerate(value)]
    return [(path, value)]


def _set_of(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    if len(items) == 1:  # most sets hold one value: nothing to sort or merge
        return list(items)
    by_form = {json.dumps(item, sort_keys=True, ensure_ascii=False): item for item in items}
    return [by_form[form] for form in sorted(by_form)]


def _normalise_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(statement)
    for key in SET_VALUED_ELEMENTS:
        if key in out:
            out[key] = _set_of(out[key])
    principal = out.get("Principal")
    if isinstance(principal, Mapping):
        out["Principal"] = {kind: _set_of(v) for kind, v in principal.items()}
    condition = out.get("Condition")
    if isinstance(condition, Mapping):
        out["Condition"] = {
            op: {k: _set_of(v) for k, v in block.items()} if isinstance(block, Mapping) else block
            for op, block in condition.items()
        }
    return out


def _normalised(doc: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    block = out.get("Statement")
    if isinstance(block, (Mapping, list)):
        items = [block] if isinstance(block, Mapping) else block
        out["Statement"] = _set_of(
            [_normalise_statement(s) if isinstance(s, Mapping) else s for s in items]
        )
    return out


def canonical_json(doc: PolicySource) -> str:
    """One spelling per meaning: sorted keys, no whitespace, sets as sorted unique lists.

    Set-valued positions (Action/NotAction/Resource/NotResource, each Principal
    type, each condition key, and the statements themselves) always become
    lists, so ``"x"`` and ``["x"]`` compare equal. Malformed parts are kept
    as they are, so a broken document still has a stable form to report on.
    """
    normal = _normalised(parse_policy(doc))
    return canonical(normal)


def policy_hash(doc: PolicySource) -> str:
    """First ``HASH_CHARS`` hex digits of the sha256 of ``canonical_json(doc)``."""
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()[:HASH_CHARS]


def submitted_size(source: PolicySource) -> int:
    """Characters RAM would count: text as given; a mapping in the longer of its compact and canonical forms.

    A mapping is still to be sent, and callers send either spelling; the
    canonical one can be longer (bare strings become lists).
    """
    if isinstance(source, (bytes, bytearray)):
        return len(bytes(source).decode("utf-8", errors="replace"))
    if isinstance(source, str):
        return len(source)
    return max(len(compact(source)), len(canonical_json(source)))
