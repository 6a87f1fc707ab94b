"""Out-of-range numbers and dates, in every field that takes one, are a 4xx naming the field, never a 500.

Each bad value is written into the request as the JSON literal a client would
send (``1e20``, ``NaN``, ``-Infinity``, an integer of 5000 digits, a float where
an integer belongs, ``true``), through the deployed handlers against the
emulator. Nothing may be created or changed: no role, no policy, no moved
expiry, no revocation. A remediation event's time and numbers are never read
as such; however wild (even 5000 digits), they must not stop it being judged.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from emulator import EmulatorServer
from functions.onboard import index
from functions.query import index as query_index
from shared.errors import Unprocessable
from shared.onboarding.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from shared.onboarding.requests import parse_update
from shared.onboarding.settings import OnboardSettings
from tests.functions.conftest import WEBHOOK_SECRET, Account, FakeContext, Partner, Webhook, ram_snapshot
from tests.functions.query_support import calls, last_seq, query_http
from tests.functions.remediate_support import Lab, only
from tests.functions.revoke_support import Owner, call_mark, invoke
from tests.functions.revoke_support import sweep_env, sweep_owner  # noqa: F401 (fixtures)

HUGE = "1" + "0" * 5000  # more digits than Python converts to int
WRITE_ACTIONS = {"CreateRole", "DeleteRole", "UpdateRole", "AttachPolicyToRole", "DetachPolicyFromRole",
                 "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "TagResources",
                 "UntagResources"}

# JSON literals that are wrong wherever an integer number of seconds is expected.
BAD_INTEGERS = {
    "1e20": "1e20", "10**20": str(10 ** 20), "10**30": str(10 ** 30), "10**13": str(10 ** 13),
    "huge": HUGE, "minus-huge": "-" + HUGE, "1e308": "1e308", "1e999": "1e999", "-1": "-1", "0": "0",
    "-10**20": str(-10 ** 20), "NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity",
    "float": "7200.0", "fraction": "7200.5", "true": "true", "false": "false", "string": '"7200"', "null": "null",
}
# Instants outside what a datetime holds once in UTC, far-off, malformed, or not strings at all.
BAD_INSTANTS = {
    "9999+14": '"9999-12-31T23:59:59+14:00"', "9999-14": '"9999-12-31T23:59:59-14:00"',
    "9999Z": '"9999-12-31T23:59:59Z"', "0001+14": '"0001-01-01T00:00:00+14:00"', "0001Z": '"0001-01-01T00:00:00Z"',
    "0001-14": '"0001-01-01T00:00:00-14:00"', "year-10000": '"10000-01-01T00:00:00Z"',
    "offset-25h": '"2030-01-01T00:00:00+25:00"', "naive": '"2030-01-01T00:00:00"', "empty": '""',
    "number": str(10 ** 20), "huge": HUGE, "NaN": "NaN", "Infinity": "Infinity", "true": "true", "float": "1e308",
}
MARKER = "\u0000value\u0000"


def with_literal(document: Any, literal: str) -> str:
    """``document`` as JSON text with its one ``MARKER`` replaced by the raw JSON ``literal``.

    json.dumps cannot write every literal a client may send (5000 digits, for one).
    """
    return json.dumps(document).replace(json.dumps(MARKER), literal)


def literal_body(body: dict[str, Any], field: str, literal: str) -> bytes:
    """``body`` as JSON with ``field`` set to the raw JSON ``literal``."""
    return with_literal({**body, field: MARKER}, literal).encode()


def cases(fields: tuple[str, ...], values: dict[str, str]) -> list[Any]:
    return [pytest.param(f, v, id=f"{f}={name}") for f in fields for name, v in values.items()]


def writes_since(emulator: Any, mark: int) -> list[str]:
    return [c["action"] for c in emulator.calls(mark) if c["action"] in WRITE_ACTIONS]


def assert_names(reply_error: dict[str, Any], field: str) -> None:
    assert reply_error["field"] == field, reply_error
    assert "InternalError" not in json.dumps(reply_error)


# ------------------------------------------------------------------ onboard webhook
@pytest.fixture
def hook(fc_env: Any, fc_context: FakeContext) -> Webhook:
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    return Webhook(index.handler, fc_context)


def grant_body(partner: Partner) -> dict[str, Any]:
    return {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
            "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 7200}


CREATE_CASES = (cases(("duration_seconds", "max_session_duration"), BAD_INTEGERS)
                + cases(("expires_at",), BAD_INSTANTS))


@pytest.mark.parametrize("field, literal", CREATE_CASES)
def test_create_with_an_out_of_range_value_is_4xx_and_creates_nothing(emulator: Any, hook: Webhook, owner: Account,
                                                                      partner: Partner, field: str,
                                                                      literal: str) -> None:
    """POST /grants: 400 or 422 naming the field; the owner's RAM holds nothing new."""
    base = grant_body(partner)
    if field == "expires_at":
        del base["duration_seconds"]
    before, mark = ram_snapshot(emulator, owner), last_seq(emulator)
    reply = hook.call("POST", "/grants", literal_body(base, field, literal))
    assert reply.status in (400, 422), reply.json
    assert_names(reply.json["error"], field)
    assert writes_since(emulator, mark) == [] and ram_snapshot(emulator, owner) == before


@pytest.mark.parametrize("field, literal", cases(("duration_seconds",), BAD_INTEGERS)
                         + cases(("expires_at",), BAD_INSTANTS))
@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_patch_with_an_out_of_range_value_is_4xx_and_keeps_the_expiry(emulator: Any, hook: Webhook, owner: Account,
                                                                      partner: Partner, field: str, literal: str,
                                                                      dry_run: bool) -> None:
    """PATCH /grants/{id}: 400 or 422 naming the field; the grant's expiry and RAM are as they were."""
    grant = hook.call("POST", "/grants", grant_body(partner)).json
    path = f"/grants/{grant['grant_id']}"
    before, mark = ram_snapshot(emulator, owner), last_seq(emulator)
    reply = hook.call("PATCH", path, literal_body({"dry_run": dry_run}, field, literal))
    assert reply.status in (400, 422), reply.json
    assert_names(reply.json["error"], field)
    assert writes_since(emulator, mark) == [] and ram_snapshot(emulator, owner) == before
    assert hook.call("GET", path).json["expires_at"] == grant["expires_at"]


@pytest.mark.parametrize("stamp", ["1" + "0" * 30, str(10 ** 20), "-1", "-" + "9" * 11, "1e30", "1.5e9", "NaN",
                                   "Infinity", "0x7fffffff", "\uff11\uff12\uff13", HUGE, "0", "999999999999"])
def test_out_of_range_signature_timestamp_is_401_naming_the_header(emulator: Any, hook: Webhook, owner: Account,
                                                                   partner: Partner, stamp: str) -> None:
    """X-Rolegate-Timestamp, however large, negative or non-decimal (and signed with it): 401 naming the header."""
    raw = json.dumps(grant_body(partner)).encode()
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(WEBHOOK_SECRET, stamp, "POST", "/grants", raw)}
    before, mark = ram_snapshot(emulator, owner), last_seq(emulator)
    reply = hook.call("POST", "/grants", raw, signed=False, headers=headers)
    assert reply.status == 401, reply.json
    assert_names(reply.json["error"], TIMESTAMP_HEADER)
    assert writes_since(emulator, mark) == [] and ram_snapshot(emulator, owner) == before


@pytest.mark.parametrize("name, value", [("partner", str(10 ** 20)), ("partner", "1e15"), ("partner", "NaN"),
                                         ("partner", "-" + "1" * 15), ("partner", HUGE),
                                         ("limit", str(10 ** 30)), ("max_items", "-1"), ("page_token", "1e999")])
def test_list_with_an_out_of_range_query_parameter_is_400_naming_it(hook: Webhook, name: str, value: str) -> None:
    """GET /grants takes only ``partner`` (a 16-digit id); anything numeric-looking beside it is a 400 naming it."""
    reply = hook.call("GET", "/grants", query={name: value})
    assert reply.status == 400, reply.json
    assert_names(reply.json["error"], name)


def test_a_lifetime_past_the_year_9999_is_422_not_an_overflow() -> None:
    """A clock at the end of what a datetime holds: the sum overflows, and that is ExpiryOutOfRange."""
    settings = OnboardSettings(owner_account_id="1111222233334444", webhook_secret="x" * 32,
                               max_grant_seconds=10 ** 9)
    now = datetime(9999, 12, 31, 22, 0, 0, tzinfo=timezone.utc)
    with pytest.raises(Unprocessable) as refused:
        parse_update({"duration_seconds": 7200}, settings, now)
    assert (refused.value.code, refused.value.field) == ("ExpiryOutOfRange", "duration_seconds")


# ------------------------------------------------------------------ query function
QUERY_FIELDS = {
    "targets": lambda a, v: {"targets": v},
    "targets[0]": lambda a, v: {"targets": [v]},
    "targets[0].account_id": lambda a, v: {"targets": [{"account_id": v, "role_name": "rolegate-reader"}]},
    "targets[0].role_name": lambda a, v: {"targets": [{"account_id": a, "role_name": v}]},
    "targets[0].role_arn": lambda a, v: {"targets": [{"account_id": a, "role_arn": v}]},
    "targets[0].external_id": lambda a, v: {"targets": [{"account_id": a, "role_name": "r", "external_id": v}]},
    "targets[0].region": lambda a, v: {"targets": [{"account_id": a, "role_name": "r", "region": v}]},
    "kind": lambda a, v: {"targets": [{"account_id": a, "role_name": "r"}], "kind": v},
    "prefix": lambda a, v: {"targets": [{"account_id": a, "role_name": "r"}], "prefix": v},
    "count_functions": lambda a, v: {"targets": [{"account_id": a, "role_name": "r"}], "kind": "services",
                                     "count_functions": v},
}
QUERY_VALUES = {"10**20": str(10 ** 20), "huge": HUGE, "minus-huge": "-" + HUGE, "1e308": "1e308",
                "NaN": "NaN", "Infinity": "Infinity", "-1": "-1", "float": "1.0"}


def query_body(account: str, field: str, literal: str) -> bytes:
    return with_literal(QUERY_FIELDS[field](account, MARKER), literal).encode()


@pytest.mark.parametrize("field, literal", cases(tuple(QUERY_FIELDS), QUERY_VALUES))
def test_query_with_an_out_of_range_value_is_400_naming_the_field(emulator: Any, owner: Account, query_env: Any,
                                                                  query_context: FakeContext, field: str,
                                                                  literal: str) -> None:
    """Over HTTP and invoked directly: a 400 naming the field, and the cloud sees no call."""
    raw = query_body(owner.account_id, field, literal)
    since = last_seq(emulator)
    reply = query_http(query_context, raw)
    assert reply.status == 400, reply.json
    assert_names(reply.json["error"], field)
    direct = query_index.handler(raw, query_context)
    assert direct["error"]["code"] == "InvalidInput" and direct["error"]["field"] == field
    assert calls(emulator, since) == []


# ------------------------------------------------------------------ revoke timer
COUNT_OPTIONS = ("grace_seconds", "max_revocations", "warn_within_seconds")
TIMER_CASES = (cases(COUNT_OPTIONS, {k: v for k, v in BAD_INTEGERS.items() if k != "0"})
               + cases(("max_share",), {**BAD_INTEGERS, "just-over-1": "1.0000001"})
               + cases(("dry_run",), {k: v for k, v in BAD_INTEGERS.items() if k not in ("true", "false")}))


@pytest.mark.parametrize("field, literal", TIMER_CASES)
def test_timer_payload_with_an_out_of_range_option_is_refused_and_revokes_nothing(
        emulator: EmulatorServer, sweep_owner: Owner, field: str, literal: str) -> None:
    """Each option, as the timer's payload or as the whole event: InvalidInput naming it, nothing revoked."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    options = with_literal({field: MARKER}, literal)
    before, mark = sweep_owner.state(), call_mark(emulator)
    for result in (invoke(payload=options), invoke(raw=options.encode())):
        assert result["ok"] is False and result["error"]["code"] == "InvalidInput", result
        assert result["error"]["field"] == field
    assert writes_since(emulator, mark) == [] and sweep_owner.state() == before


@pytest.mark.parametrize("trigger_time", ['"9999-12-31T23:59:59-14:00"', '"0001-01-01T00:00:00+14:00"', HUGE, "NaN",
                                          "1e999", '"yesterday"'])
def test_timer_metadata_is_not_read_so_a_wild_trigger_time_still_sweeps(emulator: EmulatorServer,
                                                                        sweep_owner: Owner,
                                                                        trigger_time: str) -> None:
    """``triggerTime`` is FC's, not an option: whatever it holds, the sweep runs on the cloud's own clock."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    raw = '{"triggerName": "revoke-sweep", "payload": "", "triggerTime": %s}' % trigger_time
    assert invoke(raw=raw.encode())["revoked"] == 1


# ------------------------------------------------------------------ remediation events
@pytest.mark.parametrize("event_time", ['"9999-12-31T23:59:59-14:00"', '"0001-01-01T00:00:00+14:00"', HUGE, "NaN",
                                        "-1e999", '"2030-13-45T99:99:99Z"'])
def test_remediation_event_with_a_wild_time_and_numbers_is_still_judged(remediate_lab: Lab, event_time: str) -> None:
    """eventTime and numeric parameters out of any range: the event is judged as usual, no error, no crash."""
    lab = remediate_lab
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.attach_to_role("AppRole", "AdministratorAccess")
    event["data"]["eventTime"] = MARKER
    event["data"]["requestParameters"].update(MaxItems=1e308, Marker=10 ** 20, DurationSeconds=float("nan"))
    reply = lab.invoke(with_literal(event, event_time).encode(), raw=True)
    assert reply["errors"] == [], reply
    assert only(reply, "high-risk-policy")["outcome"] == "remediated"
    assert lab.role_policies("AppRole") == ["System:AliyunOSSReadOnlyAccess"]
