"""Invocation-level behaviour of the remediation function: routing, no loops, limits, garbage, the reply."""
from __future__ import annotations

import copy
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_tea_openapi.exceptions import ClientException

from shared.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from shared.events.actiontrail import ActionTrailEvent, BadEvent, MalformedPayload, load_events
from tests.functions.remediate_support import Lab, fixture_event, only, outcomes
from tests.strategies import r_events

REPLY_KEYS = {"ok", "events", "ignored", "decisions", "ignored_events", "errors", "actions", "capped", "dry_run"}


# ------------------------------------------------------------------ root AccessKey
def test_root_access_key_use_is_reported_critical_and_changes_nothing(remediate_lab: Lab) -> None:
    """A call signed with the root AccessKey: one critical report, no change made for it."""
    lab = remediate_lab
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AliyunOSSReadOnlyAccess", creds=lab.root)

    reply = lab.invoke(event)

    decision = only(reply, "root-access-key")
    assert decision["outcome"] == "reported" and decision["level"] == "critical" and decision["action"] is None
    assert decision["resource"] == f"account/{lab.account_id}"
    assert decision["details"]["access_key_id"] == lab.root["access_key_id"]
    assert lab.role_policies("AppRole") == ["System:AliyunOSSReadOnlyAccess"]


def test_failed_root_call_is_still_reported_but_no_rule_acts_on_it(remediate_lab: Lab) -> None:
    """A refused call changed nothing, but a working root key is still worth the report."""
    lab = remediate_lab
    mark = lab.mark()
    with pytest.raises(ClientException):
        lab.ram().attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
            role_name="Missing", policy_type="System", policy_name="AdministratorAccess"))
    event = lab.events_since(mark, "AttachPolicyToRole")[-1]
    assert event["data"]["errorCode"]

    reply = lab.invoke(event)

    assert [d["rule"] for d in reply["decisions"]] == ["root-access-key"]
    assert reply["decisions"][0]["details"]["error_code"] == event["data"]["errorCode"]


def test_hand_written_root_access_key_event(remediate_lab: Lab) -> None:
    """The fixture CreateAccessKey by the root identity (Ims record) is reported critical."""
    lab = remediate_lab
    decision = only(lab.invoke(fixture_event("root_access_key", owner=lab.account_id)), "root-access-key")
    assert decision["level"] == "critical" and decision["details"]["access_key_id"] == "LTAI4Grootkey0000000"


def test_root_call_of_a_service_no_rule_watches_is_reported_and_changes_nothing(remediate_lab: Lab) -> None:
    """Root-signed ECS StartInstance (what the root trigger delivers): one critical report and no change at all."""
    lab = remediate_lab
    instance = lab.instance()
    before = lab.state()
    mark = lab.mark()
    event = fixture_event("root_start_instance", owner=lab.account_id, instance=instance,
                          key=lab.root["access_key_id"])

    reply = lab.invoke(event)

    assert reply["ok"] and reply["errors"] == [] and reply["ignored_events"] == []
    decision = only(reply, "root-access-key")
    assert len(reply["decisions"]) == 1 and reply["actions"] == 0
    assert (decision["outcome"], decision["level"], decision["action"]) == ("reported", "critical", None)
    assert (decision["event_name"], decision["resource"]) == ("StartInstance", f"account/{lab.account_id}")
    assert decision["details"]["service"] == "Ecs"
    assert decision["details"]["access_key_id"] == lab.root["access_key_id"]
    assert lab.state() == before and lab.instance_role(instance) is None
    assert lab.events_since(mark) == []  # no write call of any kind was made


def test_failed_call_by_anyone_else_is_ignored(remediate_lab: Lab) -> None:
    """errorCode set and not the root key: ignored with the reason, no cloud change."""
    lab = remediate_lab
    mark = lab.mark()
    with pytest.raises(ClientException):
        lab.ram(lab.mallory).attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
            role_name="Missing", policy_type="System", policy_name="AdministratorAccess"))
    event = lab.events_since(mark, "AttachPolicyToRole")[-1]

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and "the call failed" in reply["ignored_events"][0]["reason"]


# ------------------------------------------------------------------------ no loops
def test_the_functions_own_changes_are_ignored(remediate_lab: Lab) -> None:
    """The events of the function's own remediation (recognised from GetCallerIdentity) are ignored."""
    lab = remediate_lab
    grant = lab.grant()
    lab.role("AppRole")
    mark = lab.mark()
    lab.invoke([lab.attach_to_role("AppRole", "AdministratorAccess"),
                lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")])
    own = [e for e in lab.events_since(mark) if e["data"]["userIdentity"].get("userName") == "remediate-fn"]
    assert {e["data"]["eventName"] for e in own} == {"DetachPolicyFromRole", "AttachPolicyToRole"}
    before = lab.state()

    reply = lab.invoke(own)

    assert reply["decisions"] == [] and reply["ignored"] == len(own)
    assert {e["reason"] for e in reply["ignored_events"]} == {"made by this function's own identity"}
    assert lab.state() == before


def test_configured_self_principals_are_ignored(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_SELF_PRINCIPALS names the function's role: any session of it is the function itself."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_SELF_PRINCIPALS", "role/RolegateRemediate")
    monkeypatch.setenv("ROLEGATE_REMEDIATE_SELF_FROM_CALLER", "false")
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")
    event["data"]["userIdentity"] = {"type": "assumed-role", "accountId": lab.account_id,
                                     "userName": "rolegateremediate:fc-session", "accessKeyId": "STS.abc",
                                     "principalId": "3333:fc-session"}

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and reply["ignored_events"][0]["reason"] == "made by this function's own identity"
    assert lab.role_policies("AppRole") == ["System:AdministratorAccess"]


def test_events_of_another_account_are_ignored(remediate_lab: Lab) -> None:
    """An event recorded for another account is not this function's to act on."""
    lab = remediate_lab
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")
    event["data"]["recipientAccountId"] = event["aliyunaccountid"] = lab.partner_id

    reply = lab.invoke(event)

    assert reply["decisions"] == [] and f"account {lab.partner_id}" in reply["ignored_events"][0]["reason"]
    assert lab.role_policies("AppRole") == ["System:AdministratorAccess"]


# ----------------------------------------------------------------- several events
def test_a_list_of_events_is_judged_in_order(remediate_lab: Lab) -> None:
    """One invocation, several events: each is decided or ignored, and the counts add up."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.user("bob")
    grant = lab.grant()
    events = [lab.attach_to_role("AppRole", "AdministratorAccess"),
              lab.attach_to_user("bob", "AliyunRAMFullAccess"),
              lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess"),
              lab.capture(lambda: lab.ram(lab.mallory).create_user(ram_models.CreateUserRequest(user_name="eve")))]

    reply = lab.invoke(events)

    assert set(reply) == REPLY_KEYS
    assert reply["events"] == 4 and reply["ignored"] == 1 and reply["actions"] == 3 and reply["ok"]
    assert [(d["rule"], d["outcome"]) for d in reply["decisions"]] == [
        ("high-risk-policy", "remediated"), ("high-risk-policy", "remediated"), ("grant-tamper", "remediated")]
    assert "no rule watches Ims:CreateUser" in reply["ignored_events"][0]["reason"]


def test_action_cap_limits_changes_per_invocation(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_MAX_ACTIONS=1: the first change is made, the rest are reported as capped."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_MAX_ACTIONS", "1")
    for name in ("R1", "R2", "R3"):
        lab.role(name)
    events = [lab.attach_to_role(name, "AdministratorAccess") for name in ("R1", "R2", "R3")]

    reply = lab.invoke(events)

    assert outcomes(reply) == ["remediated", "capped", "capped"] and reply["capped"] and reply["actions"] == 1
    assert [lab.role_policies(n) for n in ("R1", "R2", "R3")] == [[], ["System:AdministratorAccess"],
                                                                  ["System:AdministratorAccess"]]


def test_raw_data_delivery_of_the_bare_record_is_accepted(remediate_lab: Lab) -> None:
    """With the trigger's RawData schema only ``data`` arrives; it is routed the same way."""
    lab = remediate_lab
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")

    assert outcomes(lab.invoke(event["data"])) == ["remediated"]


# ------------------------------------------------------------------------ garbage
GARBAGE = [
    b"not json at all",
    b"\xff\xfe\x00garbage",
    b"42",
    b'"a string"',
    b"null",
    b"[" * 100_000,
]


@pytest.mark.parametrize("payload", GARBAGE)
def test_unreadable_payload_is_an_error_result_not_an_exception(remediate_lab: Lab, payload: bytes) -> None:
    """Not JSON, not UTF-8, not an event: an error reply, nothing changed."""
    lab = remediate_lab
    before = lab.state()

    reply = lab.invoke(payload, raw=True)

    assert set(reply) == {"ok", "error"} and reply["ok"] is False and reply["error"]["field"] == "event"
    assert reply["error"]["code"] in ("InvalidInput", "MalformedEvent") and lab.state() == before


def test_malformed_items_are_errors_and_wrongly_typed_ones_are_ignored(remediate_lab: Lab) -> None:
    """Missing data / eventName is an error per item; wrong parameter types leave nothing to judge; no traceback."""
    lab = remediate_lab
    lab.role("AppRole")
    lab.ram().attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="AppRole", policy_type="System", policy_name="AdministratorAccess"))
    real = lab.attach_to_role("AppRole", "AliyunOSSReadOnlyAccess")
    wrong_types = copy.deepcopy(real)
    wrong_types["data"]["requestParameters"] = {"RoleName": {"nested": 1}, "PolicyName": ["AdministratorAccess"],
                                                "PolicyType": True}
    wrong_types["data"]["userIdentity"] = "root"
    no_parameters = copy.deepcopy(real)
    no_parameters["data"]["requestParameters"] = ["RoleName", "AppRole"]
    payload = [{"foo": 1}, {"data": "not json"}, {"data": {"eventName": 5}}, {"data": []}, 17, wrong_types,
               no_parameters]
    before = lab.state()

    reply = lab.invoke(payload)

    assert reply["events"] == 7 and reply["ok"] is False
    assert [e["index"] for e in reply["errors"]] == [0, 1, 2, 3, 4]
    assert reply["ignored"] == 2 and reply["decisions"] == []
    assert lab.state() == before


def test_bad_configuration_is_an_error_result(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A misspelt rule name is refused (a rule the operator meant to switch off must not run)."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DISABLED_RULES", "high-risk")
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")

    reply = lab.invoke(event)

    assert reply["ok"] is False and reply["error"]["field"] == "ROLEGATE_REMEDIATE_DISABLED_RULES"
    assert lab.role_policies("AppRole") == ["System:AdministratorAccess"]


# ---------------------------------------------------------------------- the view
def test_event_view_reads_the_documented_variants() -> None:
    """Numbers and strings, JSON-string and flattened lists, flattened tags, data as a JSON string."""
    record = {"eventId": "e1", "eventName": "TagResources", "serviceName": "Ram", "errorCode": "",
              "requestParameters": {"ResourceNames.1": "a", "ResourceNames.2": "b", "Tag.1.Key": "rolegate:x",
                                    "Tag.1.Value": "1", "Tag.2.Key": "team", "MaxItems": 5, "All": False,
                                    "InstanceIds": "[\"i-1\", \"i-2\"]"},
              "userIdentity": {"type": "assumed-role", "userName": "Fn:sess", "accessKeyId": "STS.x"}}
    event = ActionTrailEvent({"id": "env", "data": json.dumps(record)})

    assert event.event_id == "e1" and event.error_code is None and event.service_name == "Ram"
    assert event.param_list("ResourceNames") == ["a", "b"] and event.param_list("InstanceIds") == ["i-1", "i-2"]
    assert event.param_tags() == [("rolegate:x", "1"), ("team", "")]
    assert event.param("MaxItems") == "5" and event.param_int("MaxItems") == 5 and not event.param_bool("All")
    assert event.user_identity.role_name == "Fn" and event.user_identity.session_name == "sess"
    assert event.raw["id"] == "env" and event.data["eventId"] == "e1"


def test_load_events_keeps_going_past_bad_items() -> None:
    """One bad item becomes a BadEvent with its index; only a non-event payload raises."""
    items = load_events(b'[{"data": {"eventName": "X"}}, {"nope": 1}]')
    assert isinstance(items[0], ActionTrailEvent) and items[1] == BadEvent(1, items[1].reason)
    with pytest.raises(MalformedPayload):
        load_events(b"true")


# ------------------------------------------------------------------ notifications
@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback webhook receiver recording what it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_decisions_are_sent_to_the_signed_webhook(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch,
                                                  receiver: tuple[str, list[dict[str, Any]]]) -> None:
    """With ROLEGATE_NOTIFY_URL set, one signed notification carries the invocation's notable decisions."""
    lab = remediate_lab
    url, received = receiver
    monkeypatch.setenv("ROLEGATE_NOTIFY_URL", url)
    monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", "remediation-hook-secret")
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")

    lab.invoke(event)

    assert len(received) == 1
    headers = {k.lower(): v for k, v in received[0]["headers"].items()}
    assert verify("remediation-hook-secret", headers[TIMESTAMP_HEADER.lower()], received[0]["body"],
                  headers[SIGNATURE_HEADER.lower()])
    body = json.loads(received[0]["body"])
    assert body["event"] == "remediation"
    assert [(d["rule"], d["outcome"]) for d in body["data"]["decisions"]] == [("high-risk-policy", "remediated")]


@settings(max_examples=300, deadline=None)
@given(r_events())
def test_event_view_never_raises_on_any_json(raw: Any) -> None:
    """Whatever JSON arrives, loading and reading every property either works or names the item as bad."""
    for item in load_events(json.dumps([raw]).encode()):
        if isinstance(item, BadEvent):
            assert item.reason
            continue
        values = [item.event_id, item.event_name, item.service_name, item.error_code, item.account_id,
                  item.acs_region, item.user_identity.describe(), item.user_identity.role_name, item.summary()]
        values += [item.param(n) for n in ("RoleName", "PolicyType", "All")]
        values += [item.param_list("InstanceIds"), item.param_list("ResourceNames"), item.param_tags(),
                   item.param_bool("All"), item.param_int("RoleName"), item.param_document("RoleName")]
        assert isinstance(item.event_name, str) and item.event_name
