"""The exceptions the compiled validators raise, in place of fastjsonschema's (not deployed)."""
from __future__ import annotations

import re
from typing import Any

_PARTS = re.compile(r"[.\[\]]+")


class JsonSchemaValueException(ValueError):
    """A body breaks ``rule`` of ``definition`` at ``name`` (``data.policies[2].name``)."""

    def __init__(self, message: str, value: Any = None, name: str | None = None, definition: Any = None,
                 rule: str | None = None) -> None:
        super().__init__(message)
        self.message, self.value, self.name, self.definition, self.rule = message, value, name, definition, rule

    @property
    def path(self) -> list[str | int]:
        """Where in the body, without the leading ``data``; list indexes as ints."""
        parts = [p for p in _PARTS.split(self.name or "") if p][1:]
        return [int(p) if p.isdigit() else p for p in parts]


class JsonSchemaValuesException(ValueError):
    """Several problems at once (raised only when compiled without fast-fail, which these are not)."""

    def __init__(self, errors: list[JsonSchemaValueException]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
