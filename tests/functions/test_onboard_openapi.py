"""The OpenAPI description stays true to the code: routes, operation ids, request schemas, errors."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import yaml
from jsonschema import Draft202012Validator

from shared.onboarding.api import ROUTES
from shared.onboarding.requests import CREATE_SCHEMA, SCHEMA_DIR, UPDATE_SCHEMA, load_schema
from tests.functions.conftest import REPO

SPEC_PATH = REPO / "functions" / "onboard" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def test_spec_is_openapi_3_1(spec: dict[str, Any]) -> None:
    """The document declares OpenAPI 3.1 (JSON Schema 2020-12 dialect for its schemas)."""
    assert spec["openapi"].startswith("3.1.")


def test_every_route_is_described_and_every_description_is_served(spec: dict[str, Any]) -> None:
    """The router's (method, path) set equals the spec's, and operationIds name the serving operation."""
    served = {(r.method, r.template): r.operation for r in ROUTES}
    described = {(m, p): op["operationId"] for m, p, op in operations(spec)}
    assert described == served


def test_request_schemas_are_the_ones_the_function_validates_with(spec: dict[str, Any]) -> None:
    """The spec embeds shared/onboarding/schemas/*.json unchanged, and references them from the operations."""
    schemas = spec["components"]["schemas"]
    assert schemas["CreateGrantRequest"] == load_schema(CREATE_SCHEMA)
    assert schemas["UpdateGrantRequest"] == load_schema(UPDATE_SCHEMA)
    bodies = {(m, p): op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for m, p, op in operations(spec) if "requestBody" in op}
    assert bodies == {("POST", "/grants"): "#/components/schemas/CreateGrantRequest",
                      ("PATCH", "/grants/{grant_id}"): "#/components/schemas/UpdateGrantRequest",
                      ("PATCH", "/accounts/{account_id}/grants/{grant_id}"): "#/components/schemas/UpdateGrantRequest"}
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == [CREATE_SCHEMA, UPDATE_SCHEMA]


def test_every_schema_in_the_spec_is_valid_json_schema(spec: dict[str, Any]) -> None:
    """Each component schema passes the 2020-12 meta-schema."""
    for schema in spec["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    """No dangling $ref anywhere in the document."""
    refs = set(_refs(spec))
    assert refs
    for ref in refs:
        assert ref.startswith("#/") and _resolve(spec, ref) is not None, ref


def test_every_operation_documents_the_errors_any_request_can_get(spec: dict[str, Any]) -> None:
    """401, 405, 413, 500, 502 and 503 can answer any route; body-taking routes add 400, 409, 415 and 422."""
    for method, path, operation in operations(spec):
        codes = set(operation["responses"])
        assert {"401", "405", "413", "500", "502", "503"} <= codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "409", "415", "422"} <= codes, (method, path)
        if "{grant_id}" in path:
            assert "404" in codes, (method, path)


def test_schema_files_are_plain_json_with_the_2020_12_dialect() -> None:
    """The files are what both the function and the spec load; they must stay self-contained."""
    for path in SCHEMA_DIR.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert not list(_refs(schema)), path
