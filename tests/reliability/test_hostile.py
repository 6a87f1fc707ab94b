"""Hostile input to the functions: never a 5xx, never a traceback, never a change to the cloud.

Each test sets up an owner account holding one live grant and one role
Rolegate does not manage, snapshots it, throws input at a handler, and checks
every reply and the call log as it goes: no reply is a 5xx (the timer
function returns its summary or a refusal instead of raising), no reply body
shows a traceback, no write call reaches the cloud, and at the end the
account is exactly as it was.

* Webhook, without a valid signature (Hypothesis over the whole FC event:
  method, path, headers, query, body, base64 flag, malformed event shapes):
  refused as 400, 401 or 413 without a single cloud call.
* Webhook, validly signed but hostile (mutated create bodies, arbitrary JSON,
  hostile extra headers): any 4xx, or a dry-run plan; bodies are sent as dry
  runs, so even one that happens to be valid must not write.
* A byte- and structure-level fuzzer over a signed event.
* Replayed, tampered (body, path, method, timestamp, signature) and expired
  signatures: 409 ``Replayed`` or 401, and no second write.
* The revoke function's timer event and payload (Hypothesis and known
  troublemakers): a summary or ``{"ok": false}``, nothing revoked.
* The remediation function's EventBridge payload: the documented event of
  each rule, filled in with the account's real names and then mutated
  anywhere, delivered alone, batched or as the bare record, plus arbitrary
  JSON and bytes. The account breaks no rule, and rules judge live state, so
  no event, however forged, may make the function change anything.
"""
from __future__ import annotations

import base64
import io
import json
import random
import string
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.onboard import index as onboard
from tests.emulator.helpers import account_trust, ram_client
from tests.functions.conftest import (
    WEBHOOK_SECRET,
    Account,
    FakeContext,
    FunctionMeta,
    Partner,
    Webhook,
    http_event,
)
from tests.functions.remediate_support import EVENTS_DIR, Lab, fixture_event
from tests.functions.revoke_support import call_mark
from tests.reliability.state import is_write, snapshot
from tests.strategies import (
    hostile_headers,
    hostile_text,
    http_methods,
    http_paths,
    json_values,
    mutated_create_bodies,
    mutated_documents,
    sweep_payloads,
)

HOSTILE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None,
                   derandomize=True, database=None)
UNSIGNED_REFUSALS = {400, 401, 413}


def leaks(text: str) -> bool:
    return "Traceback" in text or 'File "' in text


class Target:
    """An owner account with a live grant and a foreign role, and the checks every hostile call passes."""

    def __init__(self, emulator: Any, owner: Account, partner: Partner, context: FakeContext) -> None:
        self.emulator = emulator
        self.owner = owner
        self.hook = Webhook(onboard.handler, context)
        from shared.onboarding.api import REPLAYS
        REPLAYS.clear()
        reply = self.hook.call("POST", "/grants", self.valid_body(partner))
        assert reply.status == 201, reply.json
        self.grant = reply.json
        ram_client(emulator, owner.root).create_role(ram_models.CreateRoleRequest(
            role_name="ops-break-glass", assume_role_policy_document=account_trust(owner.account_id)))
        self.before = snapshot(emulator, owner.root)

    @staticmethod
    def valid_body(partner: Partner) -> dict[str, Any]:
        return {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
                "policies": [{"name": "AliyunFCReadOnlyAccess"},
                             {"document": {"Version": "1", "Statement": [
                                 {"Effect": "Allow", "Action": "fc:GetFunction", "Resource": "*"}]}}],
                "duration_seconds": 7200}

    def send(self, event: Any) -> tuple[int, str, list[dict[str, Any]]]:
        """One handler call with a raw event; its status, body and the cloud calls it made."""
        mark = call_mark(self.emulator)
        raw = event if isinstance(event, bytes) else json.dumps(event).encode()
        response = onboard.handler(raw, self.hook.context)
        assert isinstance(response, dict) and isinstance(response.get("body"), str), response
        status, body = response["statusCode"], response["body"]
        calls = self.emulator.calls(mark)
        assert status < 500, (status, body)
        assert not leaks(body), body
        assert not [c for c in calls if is_write(c)], calls
        return status, body, calls

    def unchanged(self) -> None:
        assert snapshot(self.emulator, self.owner.root) == self.before


@pytest.fixture(autouse=True)
def strict_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Log lines go to a strict UTF-8 pipe, as on Function Compute (pytest's capture would forgive bad text)."""
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict"))


@pytest.fixture
def target(emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account, partner: Partner) -> Iterator[Target]:
    """The account under attack; after the test (every Hypothesis example of it), it must be as it was."""
    attacked = Target(emulator, owner, partner, fc_context)
    yield attacked
    attacked.unchanged()


# ------------------------------------------------------------------ unsigned events
@st.composite
def fc_events(draw: st.DrawFn) -> Any:
    """An FC HTTP trigger event with any field hostile or missing, or not an event at all."""
    shape = draw(st.sampled_from(["event", "event", "event", "raw", "json"]))
    if shape == "raw":
        return draw(st.binary(max_size=200))
    if shape == "json":
        return json.dumps(draw(json_values)).encode()
    event = http_event("POST", "/grants", b"{}", headers={"Content-Type": "application/json"})
    http = event["requestContext"]["http"]
    http["method"] = draw(http_methods)
    http["path"] = draw(http_paths)
    event["headers"] = draw(hostile_headers)
    event["queryParameters"] = draw(st.dictionaries(hostile_text, hostile_text | json_values, max_size=3))
    body = draw(st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), json_values))
    encoded = draw(st.booleans())
    event["isBase64Encoded"] = encoded
    event["body"] = base64.b64encode(body).decode() if encoded else body.decode("utf-8", "replace")
    for _ in range(draw(st.integers(min_value=0, max_value=2))):  # break the event's own shape
        where = draw(st.sampled_from([event, event["requestContext"], http]))
        key = draw(st.sampled_from(sorted(where)) | hostile_text)
        if draw(st.booleans()):
            where.pop(key, None)
        else:
            where[key] = draw(json_values)
    return event


@settings(HOSTILE, max_examples=120)
@given(event=fc_events())
def test_unsigned_events_are_refused_without_a_cloud_call(target: Target, event: Any) -> None:
    """Whatever the event holds, without the secret the answer is 400/401/413 and the cloud is not called."""
    status, body, calls = target.send(event)
    assert status in UNSIGNED_REFUSALS, (status, body)
    assert calls == []


NO_UTF8 = {  # a lone surrogate, legal in a JSON string (\ud800), has no UTF-8 form
    "body": lambda e: e.update(body="{\ud800}"),
    "path": lambda e: e["requestContext"]["http"].update(path="/grants\ud800"),
    "method": lambda e: e["requestContext"]["http"].update(method="POST\ud800"),
    "header": lambda e: e["headers"].update({"X-Rolegate-Signature": "sha256=\ud800"}),
    "query": lambda e: e.update(queryParameters={"partner": "\udfff"}),
}


@pytest.mark.parametrize("where", sorted(NO_UTF8))
def test_text_without_a_utf8_form_is_refused(target: Target, partner: Partner, where: str) -> None:
    """A lone surrogate anywhere in the event: a 4xx, and the log line about it is still written."""
    event = target.hook.event("POST", "/grants", Target.valid_body(partner) | {"dry_run": True})
    NO_UTF8[where](event)
    status, text, calls = target.send(event)
    assert 400 <= status < 500 and calls == [], text


def test_huge_unsigned_body_is_refused_before_the_signature_check(target: Target) -> None:
    """A body over the limit is a 413 whatever else the request says."""
    status, body, calls = target.send(http_event("POST", "/grants", b"x" * (64 * 1024 + 1)))
    assert status == 413 and calls == [], body
    target.unchanged()


# ------------------------------------------------------------------- signed input
def signed_dry_run(target: Target, method: str, path: str, body: Any, headers: dict[str, Any] | None = None) -> Any:
    if isinstance(body, dict):
        body = {**body, "dry_run": True}  # a body that happens to be valid must still not write
    event = target.hook.event(method, path, body)
    event["headers"].update(headers or {})
    return event


@settings(HOSTILE, max_examples=60)
@given(data=st.data())
def test_signed_hostile_bodies_never_fail_or_write(target: Target, partner: Partner, data: st.DataObject) -> None:
    """Mutated and arbitrary bodies, correctly signed: 4xx or a dry-run plan, never a 5xx or a write."""
    valid = Target.valid_body(partner)
    method, path = data.draw(st.sampled_from([("POST", "/grants"), ("PATCH", f"/grants/{target.grant['grant_id']}"),
                                              ("PATCH", "/grants/g-aaaaaaaaaaaa")]))
    body = data.draw(mutated_create_bodies(valid) | json_values)
    status, _, _ = target.send(signed_dry_run(target, method, path, body))
    assert status < 500


@settings(HOSTILE, max_examples=40)
@given(headers=hostile_headers, method_path=st.sampled_from([("POST", "/grants"), ("GET", "/grants"),
                                                              ("GET", "/grants/g-aaaaaaaaaaaa"),
                                                              ("DELETE", "/grants/g-aaaaaaaaaaaa")]))
def test_signed_requests_with_hostile_headers_never_fail_or_write(target: Target, partner: Partner,
                                                                  headers: dict[str, Any],
                                                                  method_path: tuple[str, str]) -> None:
    """Extra, repeated or re-cased headers on a signed request: refused or served, never a 5xx or a write."""
    method, path = method_path
    body = Target.valid_body(partner) if method == "POST" else None
    target.send(signed_dry_run(target, method, path, body, headers))


def mutate(rng: random.Random, raw: bytes) -> bytes:
    """One to four edits: flip a bit, cut a span, repeat a span, or splice in a troublesome token."""
    tokens = [b'"', b"\\", b"\\ud800", b"{", b"}", b"[", b"]", b",", b":", b"null", b"1e999", b"NaN", b"\x00",
              "\u00e9".encode(), b'"dry_run":false,', b"[" * 5000]
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(data) or 1)
        kind = rng.randrange(4)
        if kind == 0 and data:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del data[at:at + rng.randint(1, 16)]
        elif kind == 2:
            data[at:at] = data[at:at + rng.randint(1, 16)]
        else:
            data[at:at] = rng.choice(tokens)
    return bytes(data)


def test_fuzzed_signed_events_never_fail_or_write(target: Target, partner: Partner) -> None:
    """200 byte-level mutations of a signed dry-run create and of its decoded fields: no 5xx, no write."""
    rng = random.Random(20240607)
    base = signed_dry_run(target, "POST", "/grants", Target.valid_body(partner))
    raw = json.dumps(base).encode()
    for _ in range(150):
        target.send(mutate(rng, raw))
    for _ in range(50):  # mutate decoded string fields: the JSON stays valid, the contents do not
        event = json.loads(raw)
        holder, key = rng.choice([(event, "body"), (event["headers"], "X-Rolegate-Timestamp"),
                                  (event["headers"], "X-Rolegate-Signature"), (event["headers"], "Content-Type"),
                                  (event["requestContext"]["http"], "path"),
                                  (event["requestContext"]["http"], "method")])
        holder[key] = mutate(rng, str(holder[key]).encode()).decode("utf-8", "replace")
        target.send(event)
    target.unchanged()


# ------------------------------------------------------- replay, tamper, expiry
def test_replayed_requests_are_refused_and_write_nothing(target: Target, partner: Partner) -> None:
    """The same signed POST or DELETE twice: the second is 409 Replayed and makes no call.

    (The DELETE leaves the grant's role as a powerless tombstone: the state it makes is the new baseline.)
    """
    body = {**Target.valid_body(partner), "principal": {"type": "account", "external_id": "replay-test"}}
    event = target.hook.event("POST", "/grants", body)
    first = onboard.handler(json.dumps(event).encode(), target.hook.context)
    assert first["statusCode"] == 201
    target.before = snapshot(target.emulator, target.owner.root)
    status, text, calls = target.send(event)
    assert status == 409 and json.loads(text)["error"]["code"] == "Replayed" and calls == []
    target.unchanged()
    delete = target.hook.event("DELETE", f"/grants/{json.loads(first['body'])['grant_id']}")
    assert onboard.handler(json.dumps(delete).encode(), target.hook.context)["statusCode"] == 200
    target.before = snapshot(target.emulator, target.owner.root)
    status, text, calls = target.send(delete)
    assert status == 409 and calls == []
    target.unchanged()


def _last_hex_changed(signature: str) -> str:
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


def _signed_elsewhere(event: dict[str, Any]) -> dict[str, str]:
    """The same request's headers, signed with another secret at the same second."""
    other = Webhook(onboard.handler, None, "another-secret-0123456789")
    stamp = int(event["headers"]["X-Rolegate-Timestamp"])
    return other.event("POST", "/grants", json.loads(event["body"]), timestamp=stamp)["headers"]


TAMPERINGS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "body": lambda e: e.update(body=e["body"].replace("7200", "7201")),
    "path": lambda e: e["requestContext"]["http"].update(path="/grants/"),
    "method": lambda e: e["requestContext"]["http"].update(method="PATCH"),
    "timestamp": lambda e: e["headers"].update(
        {"X-Rolegate-Timestamp": str(int(e["headers"]["X-Rolegate-Timestamp"]) - 1)}),
    "signature": lambda e: e["headers"].update(
        {"X-Rolegate-Signature": _last_hex_changed(e["headers"]["X-Rolegate-Signature"])}),
    "no signature": lambda e: e["headers"].pop("X-Rolegate-Signature"),
    "other secret": lambda e: e["headers"].update(_signed_elsewhere(e)),
}


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_tampered_requests_are_refused_without_a_call(target: Target, partner: Partner, how: str) -> None:
    """Any change to what was signed, or a signature under another secret: 401 and no cloud call."""
    event = target.hook.event("POST", "/grants", Target.valid_body(partner) | {"ticket": "CHG-3"})
    TAMPERINGS[how](event)
    status, text, calls = target.send(event)
    assert status == 401, text
    assert calls == []
    target.unchanged()


# A future stamp comes closer to the window while the request is handled, so it stands 30 s out: a busy machine
# must not let it in. A past one only gets older, so one second out stays outside.
@pytest.mark.parametrize("skew", [-301, 330, -86400, 10 ** 9])
def test_expired_or_future_signatures_are_refused(target: Target, partner: Partner, skew: int) -> None:
    """A correctly signed request stamped outside the five-minute window: 401 SignatureExpired, no call."""
    event = target.hook.event("POST", "/grants", Target.valid_body(partner) | {"ticket": "CHG-4"},
                              timestamp=int(time.time()) + skew)
    status, text, calls = target.send(event)
    assert status == 401 and json.loads(text)["error"]["code"] == "SignatureExpired", text
    assert calls == []
    target.unchanged()


def test_the_secret_never_appears_in_a_reply(target: Target, partner: Partner) -> None:
    """Refusals explain themselves without echoing the secret or the expected signature."""
    event = target.hook.event("POST", "/grants", Target.valid_body(partner))
    expected = event["headers"]["X-Rolegate-Signature"]
    event["headers"]["X-Rolegate-Signature"] = "sha256=" + "0" * 64
    _, text, _ = target.send(event)
    assert WEBHOOK_SECRET not in text and expected[7:] not in text


# ------------------------------------------------------------------ timer payloads
@pytest.fixture
def sweeper(target: Target, emulator: Any, revoke_identity: dict[str, Any],
            monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], dict[str, Any]]:
    """The revoke handler, running as a user holding deploy/policies/revoke.json."""
    from functions.revoke.index import handler

    user = revoke_identity
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", user["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", user["access_key_secret"])
    target.before = snapshot(emulator, target.owner.root)
    context = FakeContext(account_id=target.owner.account_id, function=FunctionMeta(name="revoke"))

    def invoke(event: Any) -> dict[str, Any]:
        mark = call_mark(emulator)
        raw = event if isinstance(event, bytes) else json.dumps(event).encode()
        reply = handler(raw, context)
        assert isinstance(reply, dict), reply
        text = json.dumps(reply, default=str)
        assert not leaks(text), text
        assert not [c for c in emulator.calls(mark) if is_write(c)]
        assert reply.get("revoked", 0) == 0 and reply.get("failed", []) == [], reply
        return reply

    return invoke


def timer_event(payload: str) -> dict[str, Any]:
    return {"triggerTime": "2030-01-01T00:00:00Z", "triggerName": "revoke-sweep", "payload": payload}


@settings(HOSTILE, max_examples=40)
@given(payload=sweep_payloads, shape=st.sampled_from(["timer-json", "timer-text", "direct", "raw"]),
       noise=st.binary(max_size=64))
def test_hostile_timer_events_revoke_nothing(target: Target, sweeper: Callable[[Any], dict[str, Any]],
                                             payload: Any, shape: str, noise: bytes) -> None:
    """Any payload: a sweep summary or a refusal, never an exception, and the live grant survives."""
    if shape == "timer-json":
        event: Any = timer_event(json.dumps(payload))
    elif shape == "timer-text":
        event = timer_event(noise.decode("utf-8", "replace"))
    elif shape == "direct":
        event = payload
    else:
        event = noise
    reply = sweeper(event)
    assert reply.get("ok") in (True, False)
    target.unchanged()


@pytest.mark.parametrize("event", [
    b"", b"null", b"[]", b"\xff\xfe", b'{"payload": 1}', b'{"max_share": NaN}', b'{"grace_seconds": 1e999}',
    json.dumps(timer_event("[" * 5000 + "]" * 5000)).encode(), b"[" * 5000 + b"]" * 5000,
    json.dumps(timer_event('{"dry_run": "false"}')).encode(),
], ids=["empty", "null", "list", "not-utf8", "payload-number", "nan", "huge", "deep-payload", "deep-event",
        "string-bool"])
def test_known_troublesome_timer_events(target: Target, sweeper: Callable[[Any], dict[str, Any]],
                                        event: bytes) -> None:
    """Edge cases of the timer event: each answered, none raising, nothing revoked."""
    sweeper(event)
    target.unchanged()


# ------------------------------------------------------------- EventBridge events
@dataclass
class Guarded:
    """A compliant account watched by the remediation function, and the documented events with its names."""

    lab: Lab
    before: dict[str, Any]
    templates: dict[str, dict[str, Any]]

    def invoke(self, payload: Any) -> dict[str, Any]:
        mark = call_mark(self.lab.emulator)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        reply = self.lab.invoke(raw, raw=True)
        assert isinstance(reply, dict) and "ok" in reply, reply
        text = json.dumps(reply, default=str)
        assert not leaks(text), text
        assert not [c for c in self.lab.emulator.calls(mark) if is_write(c)]
        assert not [d for d in reply.get("decisions", []) if d["outcome"] in ("remediated", "capped")], reply
        return reply


@pytest.fixture
def guarded(remediate_lab: Lab) -> Guarded:
    lab = remediate_lab
    grant = lab.grant(custom=True)
    lab.user("intern")
    lab.role("WebRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    instance = lab.instance()
    names = {"owner": lab.account_id, "role": grant.role_name, "policy": grant.policies[0].name, "user": "intern",
             "instance": instance, "region": "cn-hangzhou", "key": lab.root["access_key_id"]}
    templates = {}
    for path in sorted(EVENTS_DIR.glob("*.json")):  # every documented event, present and future
        wanted = string.Template(path.read_text()).get_identifiers()
        templates[path.stem] = fixture_event(path.stem, **{k: names.get(k, f"unknown-{k}") for k in wanted})
    return Guarded(lab, snapshot(lab.emulator, lab.root, "cn-hangzhou"), templates)


@settings(HOSTILE, max_examples=60)
@given(data=st.data())
def test_forged_eventbridge_events_change_nothing(guarded: Guarded, data: st.DataObject) -> None:
    """Any mutation of any rule's event, in any delivery shape: a reply, never an exception or a change."""
    template = guarded.templates[data.draw(st.sampled_from(sorted(guarded.templates)))]
    event = data.draw(mutated_documents(template))
    shape = data.draw(st.sampled_from(["single", "batch", "raw-data", "junk"]))
    if shape == "batch":
        payload: Any = [event, data.draw(mutated_documents(template))]
    elif shape == "raw-data":
        payload = event.get("data", event) if isinstance(event, dict) else event
    elif shape == "junk":
        payload = data.draw(json_values | st.binary(max_size=100))
    else:
        payload = event
    guarded.invoke(payload)


def test_every_documented_event_as_delivered_changes_nothing_here(guarded: Guarded) -> None:
    """The unmutated events, one by one and all at once: judged on live state, all compliant."""
    for event in guarded.templates.values():
        reply = guarded.invoke(event)
        assert reply["decisions"] and not reply["ignored_events"], reply  # each reached its rule
    guarded.invoke(list(guarded.templates.values()))
    assert snapshot(guarded.lab.emulator, guarded.lab.root, "cn-hangzhou") == guarded.before


@pytest.mark.parametrize("payload", [b"", b"null", b"\xff", b"[" * 5000 + b"]" * 5000, b'{"data": []}',
                                     b'[{"data": {"eventName": "AttachPolicyToRole"}}]', b"1e999"],
                         ids=["empty", "null", "not-utf8", "deep", "data-list", "bare-name", "huge-number"])
def test_known_troublesome_eventbridge_payloads(guarded: Guarded, payload: bytes) -> None:
    """Payloads that are not events: answered with errors in the reply, nothing raised or changed."""
    guarded.invoke(payload)
    assert snapshot(guarded.lab.emulator, guarded.lab.root, "cn-hangzhou") == guarded.before
