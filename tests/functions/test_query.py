"""The query function end to end against the emulator (authorization on).

The function runs in partner account B as a RAM user holding exactly
deploy/policies/query.json, and looks into owner accounts through the roles
they granted B. What the cloud saw is read back from the emulator's call log.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from alibabacloud_sts20150401 import models as sts_models

from shared.clients import ClientFactory
from shared.credentials import Credentials
from tests.emulator.helpers import create_user_with_policy, sts_client
from tests.functions.conftest import QUERY_SESSION, Account, FakeContext, Partner, function_policy
from tests.functions.query_support import (EXTERNAL_ID, calls, last_seq, make_functions, make_services,
                                           onboard_grant, query_direct, query_http, session_arn, target,
                                           trusting_role)


@pytest.fixture
def grant(emulator: Any, owner: Account, partner: Partner, query_env: Any, query_assumer: Any,
          monkeypatch: pytest.MonkeyPatch) -> str:
    """The seeds' grant: A's role trusting B (with an ExternalId) holding AliyunFCReadOnlyAccess, via onboarding."""
    return onboard_grant(emulator, owner, partner.account_id, monkeypatch)


# ------------------------------------------------------------------ the scenario
def test_partner_lists_owner_functions_through_the_onboarded_grant(emulator: Any, owner: Account, partner: Partner,
                                                                   grant: str, query_context: FakeContext) -> None:
    """B's function assumes A's role (ExternalId, session name, 3600 s) and lists A's functions with their facts."""
    make_functions(emulator, owner, ["billing", "orders", "reports"])
    since = last_seq(emulator)

    reply = query_http(query_context, {"targets": [target(owner, grant)]})

    assert reply.status == 200
    [result] = reply.json["results"]
    assert result["ok"] is True and result["account_id"] == owner.account_id and result["kind"] == "functions"
    assert [item["name"] for item in result["items"]] == ["billing", "orders", "reports"]
    assert result["items"][1] == {
        "name": "orders", "runtime": "python3.12", "memory_mb": 256, "timeout_seconds": 31,
        "role": f"acs:ram::{owner.account_id}:role/aliyunfcdefaultrole",
        "last_modified": result["items"][1]["last_modified"], "description": "orders in cn-hangzhou"}
    assert result["items"][1]["last_modified"].endswith("Z")
    [assume] = calls(emulator, since, "AssumeRole")
    assert assume["caller"] == f"acs:ram::{partner.account_id}:user/query-fn" and assume["outcome"] == "ok"
    assert assume["params"]["RoleArn"] == grant and assume["params"]["RoleSessionName"] == "rolegate-query"
    assert assume["params"]["ExternalId"] == EXTERNAL_ID and assume["params"]["DurationSeconds"] == "3600"
    [listed] = calls(emulator, since, "ListFunctions")
    assert listed["product"] == "fc3" and listed["params"]["limit"] == "100"
    assert listed["caller"] == session_arn(owner.account_id, grant)
    assert result["caller"] == f"acs:ram::{owner.account_id}:role/{grant.rsplit('/', 1)[1].lower()}/{QUERY_SESSION}"
    assert isinstance(reply.json["duration_ms"], (int, float))


def test_the_caller_is_the_session_arn_sts_answered(emulator: Any, owner: Account, grant: str, query_env: Any,
                                                   query_context: FakeContext) -> None:
    """A result names its caller by STS's AssumedRoleUser.Arn, on the first call and from the warm cache alike."""
    make_functions(emulator, owner, ["solo"])
    answered = sts_client(emulator, query_env).assume_role(sts_models.AssumeRoleRequest(
        role_arn=grant, role_session_name=QUERY_SESSION, external_id=EXTERNAL_ID)).body.assumed_role_user.arn
    assert answered != session_arn(owner.account_id, grant)  # STS spells it otherwise than the fallback

    first = query_http(query_context, {"targets": [target(owner, grant)]})
    since = last_seq(emulator)
    warm = query_http(query_context, {"targets": [target(owner, grant)]})

    assert calls(emulator, since, "AssumeRole") == []
    assert first.json["results"][0]["caller"] == warm.json["results"][0]["caller"] == answered


def test_without_an_arn_from_sts_the_caller_is_spelt_from_the_request(
        emulator: Any, owner: Account, grant: str, query_context: FakeContext, query_assumer: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A session whose AssumeRole answer named no AssumedRoleUser is still attributed, as the audit log spells it."""
    make_functions(emulator, owner, ["solo"])
    assume = query_assumer.assume
    monkeypatch.setattr(query_assumer, "assume",
                        lambda *args, **kwargs: dataclasses.replace(assume(*args, **kwargs), assumed_role_arn=None))

    reply = query_http(query_context, {"targets": [target(owner, grant)]})

    assert reply.json["results"][0]["caller"] == session_arn(owner.account_id, grant)


def test_direct_invocation_answers_the_reply_object(emulator: Any, owner: Account, grant: str,
                                                    query_context: FakeContext) -> None:
    """Invoked with the request as its event, the function returns the same reply, not an HTTP response."""
    make_functions(emulator, owner, ["solo"])
    reply = query_direct(query_context, {"targets": [target(owner, grant)], "prefix": "so"})
    assert set(reply) == {"results", "duration_ms"}
    assert [i["name"] for i in reply["results"][0]["items"]] == ["solo"]


def test_functions_are_fc3_functions_only_beside_fc2_services(emulator: Any, owner: Account, grant: str,
                                                              query_context: FakeContext) -> None:
    """kind functions asks ListFunctions for fcVersion v3: without it FC 3.0 lists FC 2.0 functions as well."""
    make_functions(emulator, owner, ["modern"])
    make_services(emulator, owner, {"legacy": 2})
    since = last_seq(emulator)

    reply = query_http(query_context, {"targets": [target(owner, grant)], "kind": "functions"})

    [result] = reply.json["results"]
    assert result["ok"] is True and [i["name"] for i in result["items"]] == ["modern"]
    [listed] = calls(emulator, since, "ListFunctions")
    assert listed["product"] == "fc3" and listed["params"]["fcVersion"] == "v3"


def test_services_list_fc2_with_function_counts_only_on_request(emulator: Any, owner: Account, grant: str,
                                                               query_context: FakeContext) -> None:
    """kind services lists FC 2.0 services; counting their functions costs calls, so it happens only when asked."""
    make_services(emulator, owner, {"alpha": 2, "beta": 0, "other": 1})
    since = last_seq(emulator)

    plain = query_http(query_context, {"targets": [target(owner, grant)], "kind": "services", "prefix": "a"})
    [result] = plain.json["results"]
    assert result["ok"] is True and result["kind"] == "services"
    assert result["items"] == [{"name": "alpha", "description": "the alpha service", "role": None,
                                "internet_access": True, "last_modified": result["items"][0]["last_modified"]}]
    [listed] = calls(emulator, since, "ListServices")
    assert listed["product"] == "fc2" and calls(emulator, since, "ListFunctions") == []

    counted = query_http(query_context, {"targets": [target(owner, grant)], "kind": "services",
                                         "count_functions": True})
    items = counted.json["results"][0]["items"]
    assert {i["name"]: i["function_count"] for i in items} == {"alpha": 2, "beta": 0, "other": 1}


def test_each_target_lists_its_own_region(emulator: Any, owner: Account, grant: str,
                                          query_context: FakeContext) -> None:
    """The region travels with each target: the same role lists Shanghai and Hangzhou separately."""
    make_functions(emulator, owner, ["east"], region="cn-hangzhou")
    make_functions(emulator, owner, ["shanghai-1", "shanghai-2"], region="cn-shanghai")
    reply = query_http(query_context, {"targets": [target(owner, grant, region="cn-shanghai"),
                                                   target(owner, grant)]})
    shanghai, hangzhou = reply.json["results"]
    assert (shanghai["region"], hangzhou["region"]) == ("cn-shanghai", "cn-hangzhou")
    assert [i["name"] for i in shanghai["items"]] == ["shanghai-1", "shanghai-2"]
    assert [i["name"] for i in hangzhou["items"]] == ["east"]


def test_fc_clients_carry_the_region_the_way_each_endpoint_expects() -> None:
    """The cloud reads the region from the account's FC host; under an endpoint override it travels as a header."""
    key = Credentials("LTAIexample", "secret")
    cloud = ClientFactory(key, region="cn-shanghai", endpoint="")
    assert cloud.fc3("1234567890123456")._endpoint == "1234567890123456.cn-shanghai.fc.aliyuncs.com"
    assert cloud.fc2("1234567890123456")._endpoint == "1234567890123456.cn-shanghai.fc.aliyuncs.com"
    assert cloud.fc3("1234567890123456")._global_parameters is None
    local = ClientFactory(key, region="cn-shanghai", endpoint="127.0.0.1:9")
    for client in (local.fc3("1234567890123456"), local.fc2("1234567890123456")):
        assert client._endpoint == "127.0.0.1:9"
        assert client._global_parameters.headers == {"x-acs-region-id": "cn-shanghai"}


# ---------------------------------------------------------------------- failures
def test_each_failure_says_why_and_leaves_the_others_alone(emulator: Any, owner: Account, partner: Partner,
                                                           grant: str, query_context: FakeContext,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No FC permission, wrong ExternalId, untrusted caller, missing role: own messages, cloud codes, request ids."""
    make_functions(emulator, owner, ["kept"])
    no_fc = onboard_grant(emulator, owner, partner.account_id, monkeypatch, policy="AliyunOSSReadOnlyAccess")
    other = emulator.create_account("company-c")["account_id"]
    untrusted = trusting_role(emulator, owner, other, "rolegate-for-c")
    since = last_seq(emulator)

    reply = query_http(query_context, {"targets": [
        target(owner, no_fc),
        target(owner, grant, external_id="not-the-agreed-id"),
        target(owner, untrusted),
        {"account_id": owner.account_id, "role_name": "rolegate-never-made", "external_id": EXTERNAL_ID},
        target(owner, grant),
    ]})

    assert reply.status == 200
    no_perm, wrong_id, not_trusted, missing, fine = reply.json["results"]
    assert fine["ok"] is True and [i["name"] for i in fine["items"]] == ["kept"]
    assert no_perm["ok"] is False and no_perm["error"]["code"] == "NoPermission"
    assert no_perm["error"]["action"] == "ListFunctions"
    assert no_perm["error"]["message"] == (f"the role {no_fc} was assumed but may not list functions in "
                                           "cn-hangzhou: it lacks fc:ListFunctions")
    for refused in (wrong_id, not_trusted):  # STS answers both with the same bare NoPermission
        assert refused["ok"] is False and refused["error"]["code"] == "NoPermission"
        assert refused["error"]["action"] == "AssumeRole"
        assert "the trust policy does not admit this caller or the ExternalId does not match" in \
            refused["error"]["message"]
        assert refused["role_arn"] in refused["error"]["message"]
    assert missing["error"]["code"] == "EntityNotExist.Role"
    assert missing["error"]["message"] == f"the role acs:ram::{owner.account_id}:role/rolegate-never-made does " \
                                          "not exist"
    by_request = {c["request_id"]: c for c in calls(emulator, since)}
    for failed in (no_perm, wrong_id, not_trusted, missing):
        seen = by_request[failed["error"]["request_id"]]
        assert seen["outcome"] == failed["error"]["code"] and seen["action"] == failed["error"]["action"]


def test_a_role_without_fc2_permission_names_list_services(emulator: Any, owner: Account, partner: Partner,
                                                           query_env: Any, query_assumer: Any,
                                                           query_context: FakeContext,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """For services, the missing permission named is fc:ListServices, with FC 2.0's code and request id."""
    no_fc = onboard_grant(emulator, owner, partner.account_id, monkeypatch, policy="AliyunOSSReadOnlyAccess")
    reply = query_http(query_context, {"targets": [target(owner, no_fc)], "kind": "services"})
    error = reply.json["results"][0]["error"]
    assert (error["code"], error["action"]) == ("NoPermission", "ListServices") and error["request_id"]
    assert error["message"].endswith("may not list services in cn-hangzhou: it lacks fc:ListServices")


def test_a_grant_needing_an_external_id_says_so_when_none_is_given(emulator: Any, owner: Account, grant: str,
                                                                   query_context: FakeContext) -> None:
    """Without an ExternalId, the refusal names the missing ExternalId as a possible reason."""
    reply = query_http(query_context, {"targets": [{"account_id": owner.account_id, "role_arn": grant}]})
    error = reply.json["results"][0]["error"]
    assert error["code"] == "NoPermission"
    assert "it requires an ExternalId and none was given" in error["message"]


def test_a_role_outside_the_function_policy_is_refused_by_sts(emulator: Any, owner: Account, partner: Partner,
                                                              query_env: Any, query_assumer: Any,
                                                              query_context: FakeContext) -> None:
    """deploy/policies/query.json allows sts:AssumeRole on rolegate-* roles only; others fail, trusted or not."""
    outside = trusting_role(emulator, owner, partner.account_id, "partner-reader")
    since = last_seq(emulator)
    reply = query_http(query_context, {"targets": [target(owner, outside)]})
    assert reply.json["results"][0]["error"]["code"] == "NoPermission"
    [assume] = calls(emulator, since, "AssumeRole")
    assert "sts:AssumeRole" in (assume["detail"] or "")


# ------------------------------------------------------------------ scale, paging
def test_paging_reads_every_page(emulator: Any, owner: Account, grant: str, query_context: FakeContext,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page size of 2, five functions (and five services) take three pages each and none is lost."""
    monkeypatch.setenv("ROLEGATE_QUERY_PAGE_SIZE", "2")
    names = [f"fn-{i:02d}" for i in range(5)]
    make_functions(emulator, owner, names)
    make_services(emulator, owner, {f"svc-{i}": 0 for i in range(5)})
    since = last_seq(emulator)

    functions = query_http(query_context, {"targets": [target(owner, grant)]})
    services = query_http(query_context, {"targets": [target(owner, grant)], "kind": "services"})

    assert [i["name"] for i in functions.json["results"][0]["items"]] == names
    assert [i["name"] for i in services.json["results"][0]["items"]] == [f"svc-{i}" for i in range(5)]
    for action in ("ListFunctions", "ListServices"):
        pages = calls(emulator, since, action)
        assert [p["params"]["limit"] for p in pages] == ["2", "2", "2"]
        assert "nextToken" not in pages[0]["params"]
        assert all(p["params"]["nextToken"] for p in pages[1:])


def test_twenty_targets_with_one_broken(emulator: Any, partner: Partner, query_env: Any, query_assumer: Any,
                                        query_context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty owner accounts queried at once: nineteen answer, the broken one fails alone, order is kept."""
    monkeypatch.setenv("ROLEGATE_QUERY_CONCURRENCY", "6")
    targets = []
    for i in range(20):
        made = emulator.create_account(f"owner-{i}")
        account = Account(made["account_id"], {**made})
        role = trusting_role(emulator, account, partner.account_id, "rolegate-reader")
        make_functions(emulator, account, [f"app-{i}"])
        targets.append(target(account, role if i != 13 else role.replace("rolegate-reader", "rolegate-gone")))

    reply = query_http(query_context, {"targets": targets})

    results = reply.json["results"]
    assert [r["account_id"] for r in results] == [t["account_id"] for t in targets]
    assert [r["ok"] for r in results] == [i != 13 for i in range(20)]
    assert results[13]["error"]["code"] == "EntityNotExist.Role"
    assert all([item["name"] for item in r["items"]] == [f"app-{i}"] for i, r in enumerate(results) if i != 13)


def test_a_warm_instance_reuses_role_sessions(emulator: Any, owner: Account, grant: str,
                                              query_context: FakeContext) -> None:
    """The second invocation makes no AssumeRole call: the cached session is still far from expiry."""
    make_functions(emulator, owner, ["cached"])
    body = {"targets": [target(owner, grant), target(owner, grant, region="cn-shanghai")]}
    first_seq = last_seq(emulator)
    query_http(query_context, body)
    assert len(calls(emulator, first_seq, "AssumeRole")) == 1  # both targets share one session

    since = last_seq(emulator)
    again = query_http(query_context, body)

    assert [r["ok"] for r in again.json["results"]] == [True, True]
    assert calls(emulator, since, "AssumeRole") == []
    assert len(calls(emulator, since, "ListFunctions")) == 2


def test_an_expiring_session_is_renewed(emulator: Any, owner: Account, grant: str,
                                        query_context: FakeContext) -> None:
    """Once the cached session is within five minutes of expiry, the next invocation assumes the role again."""
    query_http(query_context, {"targets": [target(owner, grant)]})
    emulator.advance_clock(3600 - 200)
    since = last_seq(emulator)
    reply = query_http(query_context, {"targets": [target(owner, grant)]})
    assert reply.json["results"][0]["ok"] is True
    assert len(calls(emulator, since, "AssumeRole")) == 1


def test_a_warm_invocation_reads_the_clock_once_for_all_targets(emulator: Any, owner: Account, grant: str,
                                                                query_context: FakeContext,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Judging many cached sessions costs one read of the emulator's clock per invocation, not one per target."""
    from shared import clock

    body = {"targets": [target(owner, grant), target(owner, grant, region="cn-shanghai")]}
    query_http(query_context, body)
    reads: list[str] = []
    real = clock._emulator_now
    monkeypatch.setattr(clock, "_emulator_now", lambda endpoint: reads.append(endpoint) or real(endpoint))
    since = last_seq(emulator)
    again = query_http(query_context, body)
    assert [r["ok"] for r in again.json["results"]] == [True, True]
    assert calls(emulator, since, "AssumeRole") == []
    assert len(reads) == 1


# ---------------------------------------------------------------------- deadline
def test_slow_targets_fail_at_the_deadline_and_the_rest_answer(emulator: Any, partner: Partner, query_env: Any,
                                                               query_assumer: Any, query_context: FakeContext,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ListFunctions takes 0.8 s; with one per page, the two ten-page targets miss a 4 s deadline.

    The one-page targets have over 3 s to spare, so a busy machine does not fail them."""
    monkeypatch.setenv("ROLEGATE_QUERY_DEADLINE_SECONDS", "4")
    monkeypatch.setenv("ROLEGATE_QUERY_PAGE_SIZE", "1")
    targets = []
    for i in range(4):
        made = emulator.create_account(f"owner-{i}")
        account = Account(made["account_id"], {**made})
        targets.append(target(account, trusting_role(emulator, account, partner.account_id, "rolegate-reader")))
        make_functions(emulator, account, [f"fn-{n}" for n in range(1 if i % 2 == 0 else 10)])
    emulator.add_fault(kind="latency", action="fc3:ListFunctions", delay_ms=800)
    since = last_seq(emulator)

    reply = query_http(query_context, {"targets": targets})

    results = reply.json["results"]
    assert reply.status == 200
    assert [r["ok"] for r in results] == [True, False, True, False]
    listed = calls(emulator, since, "ListFunctions")
    # Side by side: each of the four targets made its first call before any made a second one.
    assert {c["account_id"] for c in listed[:4]} == {t["account_id"] for t in targets}
    # The deadline, not the last page, ended the slow ones: neither read its ten pages.
    for slow in (targets[1], targets[3]):
        assert 1 <= sum(c["account_id"] == slow["account_id"] for c in listed) < 10
    assert [i["name"] for i in results[0]["items"]] == ["fn-0"]
    for failed in (results[1], results[3]):
        assert failed["error"]["code"] == "DeadlineExceeded"
        assert failed["error"]["message"].startswith("the query's deadline (4 s) was reached before ")


def test_the_deadline_never_outlasts_the_function(emulator: Any, owner: Account, grant: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A 2 s function timeout caps the 25 s default: the margin (2 s, at most half the timeout) leaves 1 s."""
    emulator.add_fault(kind="latency", action="fc3:ListFunctions", delay_ms=5000)
    context = FakeContext(account_id=owner.account_id)
    context.function.timeout = 2
    since = last_seq(emulator)
    reply = query_http(context, {"targets": [target(owner, grant)]})
    error = reply.json["results"][0]["error"]
    assert error["code"] == "DeadlineExceeded" and error["message"].startswith("the query's deadline (1 s)")
    assert calls(emulator, since, "ListFunctions") == []  # answered while the 5 s call was still running


# --------------------------------------------------------------------------- logs
def test_one_log_line_per_target_and_one_per_invocation(emulator: Any, owner: Account, grant: str,
                                                        query_context: FakeContext,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """query_target per target and one query_invocation with the counts, all under the invocation's request id."""
    capsys.readouterr()
    query_http(query_context, {"targets": [target(owner, grant), target(owner, grant + "x")]})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    per_target = [line for line in lines if line["event"] == "query_target"]
    [summary] = [line for line in lines if line["event"] == "query_invocation"]
    assert [line["ok"] for line in per_target] == [True, False]
    assert per_target[1]["error_code"] == "EntityNotExist.Role" and per_target[1]["cloud_request_id"]
    assert {line["request_id"] for line in per_target + [summary]} == {query_context.request_id}
    assert (summary["mode"], summary["targets"], summary["ok"], summary["failed"], summary["status"]) == \
        ("http", 2, 1, 1, 200)
    assert "secret" not in json.dumps(lines).lower().replace("[redacted]", "")


def test_the_function_policy_is_only_assume_role() -> None:
    """The query function's own role may assume grant roles and do nothing else."""
    policy = function_policy("query")
    assert policy["Statement"] == [{"Sid": "AssumeGrantRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Resource": "acs:ram::*:role/rolegate-*"}]


def test_a_user_without_the_policy_gets_no_session(emulator: Any, owner: Account, partner: Partner, grant: str,
                                                   query_context: FakeContext,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The trust policy alone is not enough: B's identity also needs sts:AssumeRole, which query.json gives."""
    bare = create_user_with_policy(emulator, partner.root, "no-policy", None)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", bare["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", bare["access_key_secret"])
    reply = query_http(query_context, {"targets": [target(owner, grant)]})
    assert reply.json["results"][0]["error"]["code"] == "NoPermission"


def test_throttling_is_reported_as_such(emulator: Any, owner: Account, grant: str, query_context: FakeContext,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A throttled AssumeRole (after the retries, here none) fails its target with the cloud's code and cause."""
    monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "1")
    emulator.add_fault(kind="error", action="AssumeRole", code="Throttling.User", status=400, times=1)
    reply = query_http(query_context, {"targets": [target(owner, grant)]})
    error = reply.json["results"][0]["error"]
    assert error["code"] == "Throttling.User" and error["action"] == "AssumeRole"
    assert error["message"] == "AssumeRole was throttled by the cloud, also after retrying; try again later"
    assert error["request_id"]
