"""The compiled request validators: up to date with their schemas, and agreeing with jsonschema on every body.

``shared.schema`` accepts a body on the compiled validator's word alone, so a
body it accepts that ``jsonschema`` would refuse is an input check lost. The
agreement is checked on thousands of bodies made by mutating valid ones at
every path (deleting, adding and replacing members with awkward values).
"""
from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from rolegate import validators
from shared import schema
from shared.errors import InvalidInput
from shared.onboarding import requests

PARTNER = "5555666677778888"
DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fc:ListFunctions", "Resource": "*"}]}
VALID: dict[str, list[dict[str, Any]]] = {
    "create_grant": [
        {"partner_account_id": PARTNER, "principal": {"type": "account", "external_id": "ext-1234"},
         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600},
        {"partner_account_id": PARTNER, "principal": {"type": "user", "name": "alice"},
         "policies": [{"document": DOC}, {"name": "AliyunECSReadOnlyAccess",
                                                             "resource_group_id": "rg-acfm1234"}],
         "expires_at": "2031-01-01T00:00:00Z", "requester": "ops@example.com", "ticket": "CHG-1"},
        {"partner_account_id": PARTNER, "principal": {"type": "role", "name": "ci-deployer"},
         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 900, "max_session_duration": 7200,
         "role_name": "rolegate-ci", "dry_run": True, "idempotency_key": "key-0001"},
        {"partner_account_id": PARTNER, "principal": {"type": "saml", "provider": "corp-idp"},
         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600},
        {"partner_account_id": PARTNER, "principal": {"type": "oidc", "provider": "gh", "issuer": "https://t.example",
                                                     "audiences": ["sts.aliyuncs.com"], "subjects": ["repo:a/b"]},
         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600},
        {"partner_account_id": PARTNER, "principal": {"type": "service", "service": "fc.aliyuncs.com"},
         "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600},
    ],
    "update_grant": [{"duration_seconds": 3600}, {"expires_at": "2031-01-01T00:00:00+08:00"}],
    "query_request": [
        {"targets": [{"account_id": PARTNER, "role_name": "rolegate-fc-reader", "external_id": "ext-1234",
                      "region": "cn-hangzhou"}], "kind": "functions", "prefix": "app-"},
        {"targets": [{"account_id": PARTNER, "role_arn": f"acs:ram::{PARTNER}:role/reader"}], "kind": "services"},
    ],
}
AWKWARD: list[Any] = [
    None, True, False, 0, -1, 1, 3600, 3600.0, 3600.5, 1e20, 10 ** 30, float("nan"), float("inf"), "", " ", "x",
    "*", PARTNER, PARTNER + "\n", "1234", "a" * 65, "a" * 2000, "rolegate-x", "https://x", "http://x",
    "2031-01-01T00:00:00Z", "fc.aliyuncs.com", "evil.example.com", "account", "user", "role", "saml", "oidc",
    "service", "functions", [], [None], ["a"], ["*"], {}, {"name": "x"}, {"type": "user"}, {"type": "account"},
    "caf\u00e9", "line\nbreak", "\u0000",
]
MUTATIONS_PER_BODY = 400


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into ``value`` (dict keys and list indexes), the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, prefix + (i,))
    return found


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def mutate(body: dict[str, Any], rng: random.Random) -> Any:
    """``body`` with one to three members deleted, added or replaced by an awkward value."""
    out = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(paths(out))
        if not path:
            return rng.choice(AWKWARD) if rng.random() < 0.05 else out
        parent: Any = out
        for part in path[:-1]:
            parent = parent[part]
        last, choice = path[-1], rng.random()
        if choice < 0.3 and isinstance(parent, dict):
            del parent[last]
        elif choice < 0.45 and isinstance(parent, dict):
            parent[rng.choice(["extra", "name", "type", "document", "external_id", "expires_at",
                               "duration_seconds", "region", "role_arn"])] = rng.choice(AWKWARD)
        else:
            parent[last] = copy.deepcopy(rng.choice(AWKWARD))
    return out


def accepts(check: Any, body: Any) -> bool:
    try:
        check(body)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(validators.SCHEMAS))
def test_a_checkout_holds_no_compiled_validator_so_none_can_be_stale(name: str) -> None:
    """Packages get theirs at build time (tests/deploy); a module left in the checkout would shadow the schema."""
    assert not (validators.ROOT / "shared" / "validators" / f"{name}.py").exists()


@pytest.mark.parametrize("name", sorted(validators.SCHEMAS))
def test_compiled_validator_agrees_with_jsonschema_on_mutated_bodies(name: str) -> None:
    """Same verdict on every body, except the compiled one also refuses a pattern matched before a final newline."""
    path = validators.ROOT / validators.SCHEMAS[name]
    compiled = schema.compiled_for(path)
    reference = Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))
    rng = random.Random(name)
    seen = {True: 0, False: 0}
    for valid in VALID[name]:
        assert accepts(compiled, valid) and reference.is_valid(valid), valid
        for _ in range(MUTATIONS_PER_BODY):
            body = mutate(valid, rng)
            fast, slow = accepts(compiled, body), reference.is_valid(body)
            if slow and not fast:
                assert any(isinstance(v, str) and v.endswith("\n") for v in leaves(body)), body
                continue
            assert fast == slow, body
            seen[fast] += 1
    assert min(seen.values()) > 0.1 * sum(seen.values()), seen  # both verdicts were exercised


def test_a_value_matching_a_pattern_only_before_a_final_newline_is_refused_naming_the_field() -> None:
    """jsonschema's ``$`` matches before a trailing newline; an account id with one is still a 400 on that field."""
    body = {**VALID["create_grant"][0], "partner_account_id": PARTNER + "\n"}
    with pytest.raises(InvalidInput) as refused:
        requests.validate(body, requests.CREATE_SCHEMA)
    assert refused.value.field == "partner_account_id"
