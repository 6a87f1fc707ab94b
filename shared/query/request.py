"""A query request: checked in full before any cloud call, then turned into targets.

Shape is judged by ``query_request.json`` (400, ``field`` is the JSON path such
as ``targets[3].account_id``); what the schema cannot say is judged here: a
target names exactly one of ``role_name`` and ``role_arn``, a role ARN names
the target's own account, ``count_functions`` only goes with ``services``, and
the number of targets stays within the deployment's limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import schema
from shared.errors import InvalidInput
from shared.query.settings import QuerySettings

SCHEMA_PATH = Path(__file__).with_name("query_request.json")
KINDS = ("functions", "services")


@dataclass(frozen=True)
class Target:
    """One account to look into and the role that opens it."""

    account_id: str
    role_arn: str
    region: str
    external_id: str | None = None

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[1]


@dataclass(frozen=True)
class QueryRequest:
    targets: tuple[Target, ...]
    kind: str = "functions"
    prefix: str | None = None
    count_functions: bool = False


def _check_shape(body: Any) -> None:
    schema.validate(body, SCHEMA_PATH)


def _target(raw: dict[str, Any], index: int, default_region: str) -> Target:
    where = f"targets[{index}]"
    account = raw["account_id"]
    if ("role_name" in raw) == ("role_arn" in raw):
        raise InvalidInput(f"{where}.role_name: give exactly one of role_name and role_arn",
                           field=f"{where}.role_name")
    if "role_arn" in raw:
        role_arn = raw["role_arn"]
        if role_arn.split(":")[3] != account:
            raise InvalidInput(f"{where}.role_arn: names another account than account_id {account}",
                               field=f"{where}.role_arn")
    else:
        role_arn = f"acs:ram::{account}:role/{raw['role_name']}"
    return Target(account, role_arn, raw.get("region", default_region), raw.get("external_id"))


def parse_query(body: Any, settings: QuerySettings) -> QueryRequest:
    """The request in ``body`` (parsed JSON), or ``InvalidInput`` naming the first field at fault."""
    _check_shape(body)
    raw_targets = body["targets"]
    if len(raw_targets) > settings.max_targets:
        raise InvalidInput(f"targets: at most {settings.max_targets} targets per request", field="targets",
                           details={"max_targets": settings.max_targets})
    kind = body.get("kind", "functions")
    if body.get("count_functions") and kind != "services":
        raise InvalidInput("count_functions: only applies to kind services", field="count_functions")
    targets = tuple(_target(raw, i, settings.default_region) for i, raw in enumerate(raw_targets))
    return QueryRequest(targets, kind, body.get("prefix"), bool(body.get("count_functions", False)))


__all__ = ["KINDS", "QueryRequest", "Target", "parse_query"]
