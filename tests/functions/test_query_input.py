"""The query function refuses malformed requests before any cloud call, naming the field at fault."""
from __future__ import annotations

from typing import Any

import pytest

from tests.functions.conftest import Account, FakeContext
from tests.functions.query_support import calls, last_seq, query_direct, query_http

ROLE = "acs:ram::{account}:role/rolegate-reader"


def good_target(account_id: str) -> dict[str, Any]:
    return {"account_id": account_id, "role_name": "rolegate-reader"}


BAD_REQUESTS = [
    ("missing targets", lambda a: {"kind": "functions"}, "targets"),
    ("empty targets", lambda a: {"targets": []}, "targets"),
    ("bad account id", lambda a: {"targets": [{"account_id": "12345", "role_name": "r"}]}, "targets[0].account_id"),
    ("numeric account id", lambda a: {"targets": [{"account_id": 1234567890123456, "role_name": "r"}]},
     "targets[0].account_id"),
    ("both role forms", lambda a: {"targets": [good_target(a), {**good_target(a), "role_arn": ROLE.format(account=a)}]},
     "targets[1].role_name"),
    ("no role at all", lambda a: {"targets": [{"account_id": a}]}, "targets[0].role_name"),
    ("role arn of another account", lambda a: {"targets": [{"account_id": a,
                                                            "role_arn": ROLE.format(account="1" * 16)}]},
     "targets[0].role_arn"),
    ("malformed role arn", lambda a: {"targets": [{"account_id": a, "role_arn": "rolegate-reader"}]},
     "targets[0].role_arn"),
    ("unknown kind", lambda a: {"targets": [good_target(a)], "kind": "layers"}, "kind"),
    ("bad region", lambda a: {"targets": [{**good_target(a), "region": "Hangzhou"}]}, "targets[0].region"),
    ("short external id", lambda a: {"targets": [{**good_target(a), "external_id": "x"}]},
     "targets[0].external_id"),
    ("unknown field", lambda a: {"targets": [good_target(a)], "target": []}, "target"),
    ("unknown target field", lambda a: {"targets": [{**good_target(a), "roleName": "r"}]}, "targets[0].roleName"),
    ("count for functions", lambda a: {"targets": [good_target(a)], "count_functions": True}, "count_functions"),
    ("empty prefix", lambda a: {"targets": [good_target(a)], "prefix": ""}, "prefix"),
    ("not an object", lambda a: [good_target(a)], "$"),
]


@pytest.mark.parametrize("body_for, field", [pytest.param(b, f, id=name) for name, b, f in BAD_REQUESTS])
def test_bad_requests_are_400_naming_the_field_and_call_nothing(emulator: Any, owner: Account, query_env: Any,
                                                                query_context: FakeContext, body_for: Any,
                                                                field: str) -> None:
    """Each malformed request is a 400 whose error names the field; the cloud sees no call at all."""
    since = last_seq(emulator)
    reply = query_http(query_context, body_for(owner.account_id))
    assert reply.status == 400
    assert reply.json["error"]["code"] == "InvalidInput" and reply.json["error"]["field"] == field
    assert reply.json["error"]["message"].startswith(field)
    assert calls(emulator, since) == []


def test_too_many_targets_is_a_400_on_targets(emulator: Any, owner: Account, query_env: Any,
                                              query_context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """More targets than ROLEGATE_QUERY_MAX_TARGETS is refused whole, before any call."""
    monkeypatch.setenv("ROLEGATE_QUERY_MAX_TARGETS", "3")
    since = last_seq(emulator)
    reply = query_http(query_context, {"targets": [good_target(owner.account_id)] * 4})
    assert reply.status == 400 and reply.json["error"]["field"] == "targets"
    assert reply.json["error"]["details"] == {"max_targets": 3}
    assert calls(emulator, since) == []


def test_direct_invocation_returns_the_error_object(emulator: Any, owner: Account, query_env: Any,
                                                    query_context: FakeContext) -> None:
    """Invoked directly, a refused request comes back as {"error": ...} naming the field, with no call made."""
    since = last_seq(emulator)
    reply = query_direct(query_context, {"targets": [{"account_id": "abc", "role_name": "r"}]})
    assert reply["error"]["code"] == "InvalidInput" and reply["error"]["field"] == "targets[0].account_id"
    assert calls(emulator, since) == []


def test_only_post_is_answered(query_env: Any, query_context: FakeContext) -> None:
    """Another method is a 405 that says which method to use."""
    from functions.query import index
    from tests.functions.conftest import Webhook

    reply = Webhook(index.handler, query_context).call("GET", "/", None, signed=False)
    assert reply.status == 405 and reply.headers["Allow"] == "POST"


def test_the_body_must_be_json(query_env: Any, query_context: FakeContext, owner: Account) -> None:
    """A non-JSON content type is 415; a JSON content type with broken JSON is 400 on the body."""
    wrong_type = query_http(query_context, b"targets=1", content_type="application/x-www-form-urlencoded")
    assert wrong_type.status == 415
    broken = query_http(query_context, b'{"targets": [', content_type="application/json")
    assert broken.status == 400 and broken.json["error"]["field"] == "body"


def test_an_oversized_body_is_413(query_env: Any, query_context: FakeContext, owner: Account,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Bodies over ROLEGATE_QUERY_MAX_BODY_BYTES are refused before parsing."""
    monkeypatch.setenv("ROLEGATE_QUERY_MAX_BODY_BYTES", "1024")
    reply = query_http(query_context, {"targets": [good_target(owner.account_id)] * 40})
    assert reply.status == 413


def test_a_broken_setting_is_a_500_naming_the_variable(query_env: Any, query_context: FakeContext, owner: Account,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed deployment setting is the deployment's fault: 500, naming the variable, no guessing."""
    monkeypatch.setenv("ROLEGATE_QUERY_CONCURRENCY", "lots")
    reply = query_http(query_context, {"targets": [good_target(owner.account_id)]})
    assert reply.status == 500 and reply.json["error"]["field"] == "ROLEGATE_QUERY_CONCURRENCY"


def test_missing_credentials_fail_the_request_once(emulator: Any, owner: Account, query_context: FakeContext,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the function's credentials the request is a 500 CredentialsNotFound, not one failure per target."""
    monkeypatch.setenv("ROLEGATE_ENDPOINT", emulator.endpoint)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    monkeypatch.setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
    monkeypatch.setenv("HOME", "/nonexistent")
    reply = query_http(query_context, {"targets": [good_target(owner.account_id)]})
    assert reply.status == 500 and reply.json["error"]["code"] == "CredentialsNotFound"
