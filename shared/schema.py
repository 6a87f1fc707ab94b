"""JSON Schema validation of request bodies, with one wording of problems for every API.

Every handler that takes a JSON body checks it against a schema file before any
cloud call, and answers 400 naming the field as a dotted path
(``policies[2].name``). Messages never echo the submitted value, since a body
may carry secrets. A valid body is accepted by the schema's compiled validator
(``shared.validators``); ``jsonschema`` is loaded only to word a refusal.
"""
from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.errors import InvalidInput
from shared.lazy import load

if TYPE_CHECKING:  # jsonschema is imported by the first validation, not by the modules that import this one
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

MAX_REPORTED_PROBLEMS = 10
_LIMITS = {"minimum": "at least", "maximum": "at most", "minLength": "at least", "maxLength": "at most",
           "minItems": "at least", "maxItems": "at most"}
_UNITS = {"minLength": " characters", "maxLength": " characters", "minItems": " items", "maxItems": " items"}


@lru_cache(maxsize=None)
def load_schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator_for(path: Path) -> Draft202012Validator:
    return load("jsonschema").Draft202012Validator(load_schema(path))


def field_path(parts: Any) -> str:
    """``["policies", 0, "name"]`` as ``policies[0].name``; the empty path is ``$`` (the body)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "$"


def _join(base: str, name: str) -> str:
    return name if base == "$" else f"{base}.{name}"


def describe(error: ValidationError, one_of: tuple[str, str] | None = None) -> tuple[str, str]:
    """(field, message) for one schema error.

    ``one_of`` is the (field, message) to report when the body fails a
    top-level ``oneOf`` (such as "exactly one of duration_seconds and
    expires_at"), which jsonschema cannot word for a person.
    """
    where = field_path(error.absolute_path)
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = next((p for p in expected if p not in error.instance), expected[0])
        return _join(where, missing), f"{missing} is required"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = extra[0] if extra else "?"
        return _join(where, name), f"unknown field {name}"
    if kind == "not" and isinstance(expected, dict) and "required" in expected:
        name = expected["required"][0]
        return _join(where, name), f"{name} is not allowed here"
    if kind == "oneOf" and where == "$" and one_of is not None:
        return one_of
    if kind == "type":
        return where, f"must be of type {expected}"
    if kind in ("enum", "const"):
        choices = expected if isinstance(expected, list) else [expected]
        return where, "must be one of " + ", ".join(map(str, choices))
    if kind == "pattern":
        return where, f"is malformed (expected to match {expected})"
    if kind in _LIMITS:
        return where, f"must be {_LIMITS[kind]} {expected}{_UNITS.get(kind, '')}"
    return where, f"is invalid ({kind})"


@lru_cache(maxsize=None)
def compiled_for(path: Path) -> Any:
    """The compiled validator of the schema at ``path`` (``shared/validators/<stem>.py``)."""
    return importlib.import_module(f"shared.validators.{path.stem}").validate


def validate(body: Any, schema_path: Path, *, one_of: tuple[str, str] | None = None) -> None:
    """Raise ``InvalidInput`` naming the most relevant problem; the first few problems go in ``details``."""
    try:
        compiled_for(schema_path)(body)
        return
    except ValueError as refusal:  # the compiled validators raise ValueErrors (shared.validators.violation)
        first = refusal
    best_match = load("jsonschema.exceptions").best_match
    errors = sorted(validator_for(schema_path).iter_errors(body),
                    key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if not errors:  # stricter than jsonschema (a pattern's $ before a final newline): refused all the same
        where = field_path(getattr(first, "path", []))
        raise InvalidInput(f"{where}: is invalid", field=where, details={"problems": [
            {"field": where, "message": "is invalid"}]})
    field_name, message = describe(best_match(errors), one_of)
    problems = [dict(zip(("field", "message"), describe(e, one_of))) for e in errors[:MAX_REPORTED_PROBLEMS]]
    raise InvalidInput(f"{field_name}: {message}", field=field_name, details={"problems": problems})


__all__ = ["compiled_for", "describe", "field_path", "load_schema", "validate", "validator_for"]
