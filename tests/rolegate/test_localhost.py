"""The local host: FC 3.0 HTTP trigger mapping, timer schedules from s.yaml, EventBridge delivery, identities."""
from __future__ import annotations

import base64
import dataclasses
import http.client
import json
import os
import threading
import time
import urllib.parse
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from croniter import croniter
from hypothesis import given, settings
from werkzeug.serving import make_server

from rolegate.fcruntime import InvocationError, http_reply, timer_event, trigger_app
from rolegate.localhost import LocalHost
from rolegate.project import DEFAULT_PATTERN, Project, ProjectError, TimerSpec
from rolegate.schedule import Schedule
from rolegate.webhook import request, signed
from shared.events.http import HttpRequest, json_response
from tests import strategies

ACCOUNT = "1234567890123456"
REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ helpers
@contextmanager
def serving(app: Callable[..., Any]) -> Iterator[tuple[str, int]]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.shutdown()
        server.server_close()


def _echo(event: dict[str, Any], request_id: str) -> dict[str, Any]:
    """A handler answering with its event and what the project's own parser reads from it."""
    parsed = HttpRequest.from_event(event)
    return json_response(200, {"event": event, "request_id": request_id, "method": parsed.method,
                               "path": parsed.path, "headers": {k.lower(): v for k, v in parsed.headers.items()},
                               "query": parsed.query, "body": base64.b64encode(parsed.body).decode()})


@pytest.fixture(scope="module")
def echo() -> Iterator[tuple[str, int]]:
    with serving(trigger_app(_echo, ACCOUNT)) as address:
        yield address


def raw_call(address: tuple[str, int], method: str, target: str, headers: list[tuple[str, str]],
             body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One request with headers exactly as listed (repeats included), as http.client sends them."""
    conn = http.client.HTTPConnection(*address, timeout=10)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------- HTTP trigger mapping
def test_request_becomes_the_documented_event(echo: tuple[str, int]) -> None:
    """Method, raw and decoded path, comma-joined query values, text body and request context are as FC gives them."""
    status, headers, raw = raw_call(echo, "POST", "/grants/a%20b?b=2&a=1&a=3",
                                    [("Content-Type", "application/json"), ("User-Agent", "probe/1")], b'{"x":1}')
    seen = json.loads(raw)
    event = seen["event"]
    assert status == 200
    assert event["version"] == "v1"
    assert event["rawPath"] == "/grants/a%20b"
    assert event["body"] == '{"x":1}' and event["isBase64Encoded"] is False
    assert event["queryParameters"] == {"a": "1,3", "b": "2"}
    context = event["requestContext"]
    assert context["accountId"] == ACCOUNT
    assert context["http"] == {"method": "POST", "path": "/grants/a b", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "probe/1"}
    assert context["requestId"] == seen["request_id"] == headers["x-fc-request-id"]
    assert context["timeEpoch"].isdigit() and abs(int(context["timeEpoch"]) / 1000 - time.time()) < 60
    assert datetime.strptime(context["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert seen["path"] == "/grants/a b" and seen["method"] == "POST"


def test_repeated_headers_arrive_comma_joined(echo: tuple[str, int]) -> None:
    """A header sent twice is one entry whose values are joined by ',' (FC's documented form)."""
    _, _, raw = raw_call(echo, "GET", "/", [("X-Multi", "one"), ("X-Multi", "two"), ("X-Single", "a b")])
    seen = json.loads(raw)
    assert seen["event"]["headers"]["X-Multi"] == "one,two"
    assert seen["headers"]["x-multi"] == "one,two" and seen["headers"]["x-single"] == "a b"


def test_binary_body_is_base64_encoded(echo: tuple[str, int]) -> None:
    """Bytes that are not UTF-8 travel as base64 with isBase64Encoded, and decode back to the same bytes."""
    body = b"\xff\x00\xfe binary"
    _, _, raw = raw_call(echo, "PUT", "/blob", [("Content-Type", "application/octet-stream")], body)
    seen = json.loads(raw)
    assert seen["event"]["isBase64Encoded"] is True
    assert base64.b64decode(seen["event"]["body"]) == body
    assert base64.b64decode(seen["body"]) == body


@settings(max_examples=40, deadline=None)
@given(headers=strategies.header_value_lists.flatmap(
           lambda values: strategies.header_names.map(lambda name: (name, values))),
       query=strategies.query_value_lists.flatmap(
           lambda values: strategies.query_names.map(lambda name: (name, values))),
       body=strategies.request_bodies)
def test_round_trip_keeps_headers_query_and_body(echo: tuple[str, int], headers: tuple[str, list[str]],
                                                 query: tuple[str, list[str]], body: bytes) -> None:
    """Whatever is sent, the handler reads back the same body bytes, joined header values and query values."""
    name, values = headers
    key, query_values = query
    target = "/p?" + urllib.parse.urlencode([(key, v) for v in query_values])
    _, _, raw = raw_call(echo, "POST", target, [(name, v) for v in values], body)
    seen = json.loads(raw)
    assert base64.b64decode(seen["body"]) == body
    assert seen["headers"][name.lower()] == ",".join(values)
    assert seen["query"][key] == ",".join(query_values)


def test_reply_maps_status_headers_and_base64_body() -> None:
    """The handler's statusCode, headers and (base64) body become the HTTP answer."""
    reply = http_reply({"statusCode": 418, "headers": {"X-Tea": "green"}, "isBase64Encoded": True,
                        "body": base64.b64encode(b"\x00\x01").decode()})
    assert (reply.status, reply.headers, reply.body) == (418, [("X-Tea", "green")], b"\x00\x01")
    assert http_reply({"statusCode": 204, "headers": {}, "body": None}).body == b""
    plain = http_reply({"ok": True})
    assert (plain.status, json.loads(plain.body)) == (200, {"ok": True})


def test_a_handler_that_raises_is_a_502_with_the_error_type() -> None:
    """An unhandled error never looks like a reply of the function: 502 and X-Fc-Error-Type."""
    def boom(event: dict[str, Any], request_id: str) -> Any:
        raise InvocationError("ValueError", "bad thing")

    with serving(trigger_app(boom, ACCOUNT)) as address:
        status, headers, raw = raw_call(address, "GET", "/", [])
    assert status == 502 and headers["x-fc-error-type"] == "UnhandledInvocationError"
    assert json.loads(raw) == {"errorMessage": "bad thing", "errorType": "ValueError"}


def test_timer_event_shape() -> None:
    """The timer event carries triggerTime (UTC, seconds), triggerName and the payload string verbatim."""
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert timer_event("sweep", '{"dry_run": true}', when) == {
        "triggerTime": "2030-01-02T03:04:05Z", "triggerName": "sweep", "payload": '{"dry_run": true}'}


# --------------------------------------------------------------- s.yaml
def _timer_triggers(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for r in (document.get("resources") or {}).values() for t in (r.get("props") or {}).get("triggers", [])
            if t.get("triggerType") == "timer"]


def test_timer_schedule_is_read_from_syaml() -> None:
    """The revoke timer runs on exactly the cron expression and payload written in s.yaml."""
    written = _timer_triggers(yaml.safe_load((REPO / "s.yaml").read_text()))[0]
    timer = Project.load(REPO).functions["revoke"].timers[0]
    assert timer.name == written["triggerName"]
    assert timer.schedule.expression == written["triggerConfig"]["cronExpression"]
    assert timer.payload == written["triggerConfig"].get("payload", "")
    cron = written["triggerConfig"]["cronExpression"]
    start = datetime(2030, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    if not cron.startswith(("CRON_TZ=", "@")):  # plain UTC cron: check the firing against croniter itself
        expected = croniter(cron, start, second_at_beginning=True).get_next(datetime)
        assert timer.schedule.next_after(start) == expected


def _project(tmp_path: Path, text: str) -> Project:
    (tmp_path / "s.yaml").write_text(text)
    return Project.load(tmp_path)


REVOKE_WITH_TIMER = """
vars:
  region: cn-shanghai
resources:
  revoke:
    component: fc3
    props:
      region: ${{vars.region}}
      functionName: rolegate-revoke
      code: ./build/revoke
      handler: index.handler
      timeout: 120
      role: acs:ram::${{config('AccountID')}}:role/fc-rolegate-revoke
      environmentVariables:
        ROLEGATE_REGION: ${{vars.region}}
        ROLEGATE_SWEEP_GRACE_SECONDS: ${{env('ROLEGATE_TEST_GRACE', '30')}}
        ROLEGATE_WEBHOOK_SECRET: ${{env('ROLEGATE_TEST_UNSET_SECRET')}}
      triggers:
        - triggerName: nightly
          triggerType: timer
          triggerConfig:
            cronExpression: '{cron}'
            enable: true
            payload: '{{"grace_seconds": 60}}'
"""


def test_cron_tz_and_seconds_field_are_honoured(tmp_path: Path) -> None:
    """'CRON_TZ=Asia/Shanghai 30 0 4 * * *' fires at 04:00:30 Shanghai time, i.e. 20:00:30 UTC the day before."""
    project = _project(tmp_path, REVOKE_WITH_TIMER.format(cron="CRON_TZ=Asia/Shanghai 30 0 4 * * *"))
    timer = project.functions["revoke"].timers[0]
    assert (timer.name, timer.payload) == ("nightly", '{"grace_seconds": 60}')
    fire = timer.schedule.next_after(datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc))
    assert fire == datetime(2030, 1, 1, 20, 0, 30, tzinfo=timezone.utc)


def test_syaml_settings_are_resolved_like_serverless_devs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """${vars.x} and ${env('X', 'default')} resolve; role name and timeout are taken; unresolvable values dropped."""
    monkeypatch.setenv("ROLEGATE_TEST_GRACE", "45")
    spec = _project(tmp_path, REVOKE_WITH_TIMER.format(cron="0 0 * * * *")).functions["revoke"]
    assert spec.environment == {"ROLEGATE_REGION": "cn-shanghai", "ROLEGATE_SWEEP_GRACE_SECONDS": "45"}
    assert (spec.role_name, spec.timeout, spec.function_name) == ("fc-rolegate-revoke", 120, "rolegate-revoke")


@pytest.mark.parametrize("cron", ["*/5 * * * *", "0 61 * * * *", "CRON_TZ=Mars/Olympus 0 0 * * * *"])
def test_schedules_fc_refuses_are_refused(tmp_path: Path, cron: str) -> None:
    """Five-field cron, out-of-range fields and unknown zones are configuration errors, not silent guesses."""
    with pytest.raises(ProjectError, match="nightly"):
        _project(tmp_path, REVOKE_WITH_TIMER.format(cron=cron))


def test_every_interval_schedule() -> None:
    """'@every 1h30m' fires ninety minutes after the previous firing."""
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert Schedule.parse("@every 1h30m").next_after(start) == datetime(2030, 1, 1, 1, 30, tzinfo=timezone.utc)


def test_without_syaml_the_defaults_apply(tmp_path: Path) -> None:
    """A checkout without s.yaml still runs: the sweep every five minutes, every ActionTrail call to remediate."""
    project = Project.load(tmp_path)
    assert project.source is None
    assert project.functions["revoke"].timers[0].schedule.expression == "0 */5 * * * *"
    assert project.functions["remediate"].event_patterns == (DEFAULT_PATTERN,)


# ----------------------------------------------------------- the host itself
@pytest.fixture(scope="module")
def host() -> Iterator[LocalHost]:
    """One local host for the module, its sweep timer made to fire every second in dry-run mode."""
    project = Project.load(REPO)
    revoke = project.functions["revoke"]
    fast = dataclasses.replace(revoke, timers=(TimerSpec("tick", Schedule.parse("@every 1s"), '{"dry_run": true}'),))
    saved = os.environ.get("ROLEGATE_LOG_LEVEL")
    os.environ["ROLEGATE_LOG_LEVEL"] = "error"
    try:
        with LocalHost(Project(project.root, {**project.functions, "revoke": fast}, project.source)) as running:
            yield running
    finally:
        if saved is None:
            os.environ.pop("ROLEGATE_LOG_LEVEL", None)
        else:
            os.environ["ROLEGATE_LOG_LEVEL"] = saved


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_timer_invokes_revoke_on_schedule(host: LocalHost) -> None:
    """The scheduled tick invokes the revoke handler with the timer event, whose payload it obeys."""
    assert wait_for(lambda: any(r.trigger == "timer:tick" for r in host.history))
    tick = next(r for r in host.history if r.trigger == "timer:tick")
    assert tick.ok, tick.error
    assert tick.result["dry_run"] is True
    assert [a["account_id"] for a in tick.result["accounts"]] == [host.world.owner_id, host.world.member_id]


def test_each_function_acts_as_its_own_role(host: LocalHost) -> None:
    """Calls made by the webhook are signed by the onboard role's session (in member M, by its session of M's
    manager role); the host's environment is left clean."""
    since = host.emulator.calls()[-1]["seq"]
    reply = signed(host.url("onboard"), host.webhook_secret, "GET", "/grants")
    assert reply.status == 200 and reply.body["count"] == 0
    callers = {c["account_id"]: c["caller"] for c in host.emulator.calls(since) if c["action"] == "ListRoles"}
    role = host.functions["onboard"].identity.role_name
    assert f":assumed-role/{role}/" in callers[host.world.owner_id], callers
    assert ":assumed-role/RolegateManager/" in callers[host.world.member_id], callers
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" not in os.environ


def test_context_carries_the_function_and_its_credentials(host: LocalHost) -> None:
    """The invocation context has the request id, the function's meta, region, account and role session."""
    hosted = host.functions["revoke"]
    creds = hosted.identity.session(host.emulator.world)
    context = host.context(hosted, "1-abc", creds)
    assert context.request_id == "1-abc" and context.account_id == host.world.owner_id
    assert (context.function.name, context.function.timeout, context.function.memory) == \
        (hosted.spec.function_name, hosted.spec.timeout, hosted.spec.memory)
    assert context.region == "cn-hangzhou"
    assert context.credentials.access_key_id == creds.access_key_id and context.credentials.security_token


def test_the_host_provisions_the_record_key_and_hands_it_to_every_function(host: LocalHost) -> None:
    """The owner's record-key secret exists (made as `rolegate keys init` makes it), every function is told its
    name, and the operator of the CLI profile may read it (`rolegate --local grants` signs and proves records)."""
    from shared.kms import DEFAULT_SECRET_NAME, KmsKeyring, init_secret

    world = host.world
    assert world.record_key_secret == DEFAULT_SECRET_NAME
    for hosted in host.functions.values():
        creds = hosted.identity.session(host.emulator.world)
        assert host.environment(hosted, creds)["ROLEGATE_RECORD_KEY_SECRET"] == world.record_key_secret

    def kms(key: Any) -> Any:
        return key.clients(host.endpoint).kms()

    assert init_secret(kms(world.owner_root), world.record_key_secret)[1] is False  # already made
    assert KmsKeyring(kms(world.operator), world.record_key_secret).signing_key().key_id
    for name in ("onboard", "revoke", "remediate"):
        session = host.functions[name].identity.session(host.emulator.world)
        assert KmsKeyring(kms(session), world.record_key_secret).signing_key().key_id
    profile = host.profile()
    assert profile["ROLEGATE_RECORD_KEY_SECRET"] == world.record_key_secret
    assert profile["ALIBABA_CLOUD_ACCESS_KEY_ID"] == world.operator.access_key_id


def _event(source: str, name: str, account: str, identity: str = "ram-user") -> dict[str, Any]:
    caller = {"type": identity, "accountId": account, "accessKeyId": "LTAI0000000000000000"}
    if identity == "ram-user":
        caller["userName"] = "mallory"
    return {"id": f"evt-{name}-{identity}", "source": source, "specversion": "1.0",
            "type": f"{source[4:]}:ActionTrail:ApiCall", "aliyunaccountid": account,
            "data": {"eventName": name, "serviceName": source[4:].capitalize(), "eventRW": "Write",
                     "userIdentity": caller, "requestParameters": {}, "recipientAccountId": account}}


def test_events_endpoint_filters_and_delivers(host: LocalHost) -> None:
    """POST /events takes one CloudEvent or a list; only events passing a trigger's pattern reach remediate."""
    owner = host.world.owner_id
    matching = _event("acs.ram", "UpdateRole", owner)
    other = _event("acs.oss", "PutObject", owner)
    reply = request("POST", host.url("control") + "/events", [matching, other])
    assert reply.status == 200
    assert [d["id"] for d in reply.body["delivered"]] == ["evt-UpdateRole-ram-user"]
    assert reply.body["filtered_out"] == ["evt-PutObject-ram-user"]
    single = request("POST", host.url("control") + "/events", matching)
    assert single.status == 200 and len(single.body["delivered"]) == 1
    assert request("POST", host.url("control") + "/events", b"not json").status == 400
    assert request("POST", host.url("control") + "/timers/nope").status == 404


def test_both_remediation_triggers_are_read_from_syaml() -> None:
    """Each EventBridge trigger of s.yaml's remediate function becomes one pattern of the host, in order."""
    written = [json.loads(t["triggerConfig"]["eventRuleFilterPattern"])
               for t in yaml.safe_load((REPO / "s.yaml").read_text())["resources"]["rolegate_remediate"]["props"]
               ["triggers"] if t["triggerType"] == "eventbridge"]
    assert len(written) == 2
    assert list(Project.load(REPO).functions["remediate"].event_patterns) == written


def test_root_signed_calls_of_any_service_reach_remediate_once(host: LocalHost) -> None:
    """Root-signed OSS, ECS and RAM calls pass the root trigger, one invocation each, and are reported critical."""
    owner = host.world.owner_id
    events = [_event("acs.oss", "PutObject", owner, "root-account"),
              _event("acs.ecs", "StartInstance", owner, "root-account"),
              _event("acs.ram", "UpdateRole", owner, "root-account")]
    reply = request("POST", host.url("control") + "/events", events)
    assert reply.status == 200 and reply.body["filtered_out"] == []
    assert [d["id"] for d in reply.body["delivered"]] == [e["id"] for e in events]
    for delivered in reply.body["delivered"]:
        assert delivered["ok"], delivered["error"]
        [decision] = [d for d in delivered["result"]["decisions"] if d["rule"] == "root-access-key"]
        assert (decision["outcome"], decision["level"]) == ("reported", "critical")


def test_forwarder_delivers_only_the_owner_accounts_events(host: LocalHost) -> None:
    """ActionTrail events of company A reach remediate; company B's never do (another account's bus)."""
    from alibabacloud_ram20150501 import models

    assert host.forwarder.wait_idle()
    before = host.forwarder.stats()["delivered"]
    partner = host.world.partner_root.stock_ram(host.endpoint)
    partner.create_role(models.CreateRoleRequest(role_name="b-local", assume_role_policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Principal": {"Service": ["ecs.aliyuncs.com"]}}]})))
    assert host.forwarder.wait_idle()
    assert host.forwarder.stats()["delivered"] == before
    owner = host.world.operator.stock_ram(host.endpoint)
    owner.create_role(models.CreateRoleRequest(role_name="a-local", assume_role_policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Principal": {"Service": ["ecs.aliyuncs.com"]}}]})))
    assert wait_for(lambda: host.forwarder.stats()["delivered"] == before + 1)
    last = [r for r in host.history if r.function == "remediate"][-1]
    assert last.ok, last.error


def test_forwarder_delivers_the_roots_calls_of_unwatched_apis(host: LocalHost) -> None:
    """A root-signed call no rule watches by name (RAM CreateUser) is forwarded, and the root key reported."""
    from alibabacloud_ram20150501 import models

    assert host.forwarder.wait_idle()
    before = host.forwarder.stats()["delivered"]
    host.world.owner_root.stock_ram(host.endpoint).create_user(models.CreateUserRequest(user_name="by-root"))
    assert wait_for(lambda: host.forwarder.stats()["delivered"] == before + 1)
    last = [r for r in host.history if r.function == "remediate"][-1]
    assert last.ok, last.error
    [decision] = last.result["decisions"]
    assert (decision["rule"], decision["outcome"], decision["level"]) == ("root-access-key", "reported", "critical")
    assert decision["details"]["access_key_id"] == host.world.owner_root.access_key_id
