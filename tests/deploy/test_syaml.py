"""``s.yaml`` stays honest: valid fc3 props, the code's real settings, working triggers, one role per function."""
from __future__ import annotations

import copy
import importlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_fc20230330 import models as fc3_models
from alibabacloud_ram20150501 import models as ram_models
from croniter import croniter

from emulator import EmulatorServer
from rolegate import package
from shared.grants.naming import MANAGED_PREFIX
from tests.deploy import syaml
from tests.deploy.behaviours import TYPICAL, Cell
from tests.deploy.envreads import recording, static_reads
from tests.deploy.patterns import matches
from tests.deploy.samples import DOCUMENTED_SHAPE, RAM_USER, ROOT_SIGNED, UNRELATED
from tests.emulator.helpers import (
    create_instance,
    create_user_with_policy,
    ecs_client,
    events,
    fc3_client,
    ram_client,
    service_trust,
)
from tests.functions.conftest import function_policy as policy

# The fc3 component's own schema (devsapp/fc3 src/schema.json), read from the reference copy kept beside the
# repository and checked against deploy/fc3-schema.source.json, which names its commit, version and digest.
SCHEMA_SOURCE = json.loads((syaml.REPO / "deploy" / "fc3-schema.source.json").read_text())
SCHEMA_PATH = (syaml.REPO / SCHEMA_SOURCE["reference_copy"]).resolve()  # relative to the repository
SCHEMA = json.loads(SCHEMA_PATH.read_text()) if SCHEMA_PATH.is_file() else {}
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
# The copy lives outside the repository (it is the component's file, not ours): where a checkout has no
# reference copy beside it, the checks that need the schema say so instead of failing on a missing file.
needs_schema = pytest.mark.skipif(not SCHEMA_PATH.is_file(),
                                  reason=f"the fc3 component's schema is not beside the repository: {SCHEMA_PATH}")
DOCUMENT = syaml.resolved()
FUNCTIONS = syaml.functions(DOCUMENT)
RAW_FUNCTIONS = syaml.functions(syaml.load_raw())
NAMES = sorted(FUNCTIONS)
# Read by the code but never deployed: ROLEGATE_ENDPOINT sends every SDK call to the local emulator, and
# ROLEGATE_CLOCK chooses between its clock and the machine's.
NOT_DEPLOYED = {"ROLEGATE_ENDPOINT", "ROLEGATE_CLOCK"}
MAX_ENV_BYTES = 4096


def _errors(props: dict[str, Any]) -> list[str]:
    """What fc3's schema finds wrong: the props as a whole, then each trigger's config against the definition
    of its type (the schema itself accepts any trigger config one of its definitions does, so a lax one
    hides a bad eventbridge config), then props the schema does not know (fc3 would ignore a misspelt one)."""
    found = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(props)]
    kinds = SCHEMA_SOURCE["trigger_config_definitions"]
    for index, trigger in enumerate(props.get("triggers") or []):
        definition = kinds.get(trigger.get("triggerType"))
        if definition is None:
            found.append(f"triggers/{index}: unknown trigger type {trigger.get('triggerType')!r}")
            continue
        typed = jsonschema.Draft7Validator({"definitions": SCHEMA["definitions"], "$ref": f"#/definitions/{definition}"})
        found += [f"triggers/{index}/triggerConfig/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                  for e in typed.iter_errors(trigger.get("triggerConfig"))]
    found += [f"{key}: not a prop of fc3" for key in sorted(set(props) - set(SCHEMA.get("properties", {})))]
    return found


# ----------------------------------------------------------------- the document
def test_s_yaml_is_a_serverless_devs_3_fc3_application() -> None:
    """edition 3.0.0, every resource an fc3 function, one per functions/<name>/, distinct names."""
    raw = syaml.load_raw()
    assert str(raw["edition"]) == "3.0.0" and raw["name"]
    assert all(r["component"] == "fc3" for r in raw["resources"].values())
    assert NAMES == package.function_names()
    names = [f.props["functionName"] for f in FUNCTIONS.values()]
    assert len(set(names)) == len(names)


def test_deploy_time_values_come_from_vars_or_the_environment() -> None:
    """Region, account and secrets are variables in the text; nothing account-specific is written down."""
    for function in RAW_FUNCTIONS.values():
        props = function.props
        assert props["region"] == ("${vars.remediate_region}" if function.name == "remediate" else "${vars.region}")
        assert props["role"].startswith("acs:ram::${vars.account_id}:role/")
        for name, value in props["environmentVariables"].items():
            assert isinstance(value, str) and value.startswith("${"), f"{function.name}.{name} is hard-coded"
    secret = RAW_FUNCTIONS["onboard"].props["environmentVariables"]["ROLEGATE_WEBHOOK_SECRET"]
    assert secret == "${env('ROLEGATE_WEBHOOK_SECRET')}"  # no default: a deploy without it fails


def test_a_missing_webhook_secret_stops_the_deployment() -> None:
    """Without ROLEGATE_WEBHOOK_SECRET in the deploying shell the document cannot be resolved."""
    with pytest.raises(syaml.UnresolvedVariable, match="ROLEGATE_WEBHOOK_SECRET"):
        syaml.resolved(env={})


@needs_schema
def test_the_fc3_schema_is_the_components_own() -> None:
    """The schema read is devsapp/fc3's src/schema.json at the recorded commit (its digest), a draft-07 schema."""
    import hashlib

    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SOURCE["sha256"]
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert set(SCHEMA_SOURCE["trigger_config_definitions"]) == set(SCHEMA["definitions"]["ITriggerType"]["enum"])


@needs_schema
@pytest.mark.parametrize("name", NAMES)
def test_props_validate_against_the_fc3_schema(name: str) -> None:
    """The resolved props of each function satisfy fc3's schema, each trigger that of its type."""
    assert _errors(FUNCTIONS[name].props) == []


@needs_schema
def test_the_schema_refuses_what_fc3_refuses() -> None:
    """An eventbridge trigger without eventSourceParameters or runOptions (what s.yaml once had), documented
    limits (memory, timeout), a missing handler and a misspelt prop are all reported."""
    base = FUNCTIONS["remediate"].props

    def broken(change: Any) -> list[str]:
        props = copy.deepcopy(base)
        change(props)
        return _errors(props)

    assert broken(lambda p: p["triggers"][-1]["triggerConfig"]["eventSourceConfig"].pop("eventSourceParameters"))
    assert broken(lambda p: p["triggers"][-1]["triggerConfig"].pop("runOptions"))
    assert broken(lambda p: p["triggers"][-1]["triggerConfig"]["eventSinkConfig"].pop("deliveryOption"))
    assert broken(lambda p: p.update(memorySize=100)) and broken(lambda p: p.update(memorySize=1000))
    assert broken(lambda p: p.update(timeout=0)) and broken(lambda p: p.update(timeout=86401))
    assert broken(lambda p: p.pop("handler"))
    assert broken(lambda p: p.update(memorysize=512))
    assert broken(lambda p: p["triggers"].append({"triggerName": "t", "triggerType": "timer",
                                                  "triggerConfig": {"cronExpression": "0 * * * * *"}}))


@pytest.mark.parametrize("name", NAMES)
def test_handler_resolves_to_a_callable_of_the_functions_code(name: str) -> None:
    """``handler: index.handler`` names a module file of functions/<name>/ and a callable in it."""
    module_name, _, attribute = FUNCTIONS[name].props["handler"].rpartition(".")
    assert (syaml.REPO / "functions" / name / f"{module_name}.py").is_file()
    module = importlib.import_module(f"functions.{name}.{module_name}")
    assert callable(getattr(module, attribute))


def test_runtime_is_the_one_the_packages_are_built_for() -> None:
    """Every function runs on pythonX.Y, the version `rolegate package` installs dependencies for."""
    assert {f.props["runtime"] for f in FUNCTIONS.values()} == {f"python{package.DEFAULT_PYTHON}"}


# ---------------------------------------------------------------------- roles
def test_each_function_runs_as_its_own_role() -> None:
    """role = acs:ram::<account>:role/fc-rolegate-<fn>: one per function, outside the grants' rolegate- names."""
    roles = {}
    for name, function in FUNCTIONS.items():
        assert function.props["role"] == f"acs:ram::{syaml.DEPLOY_CONFIG['AccountID']}:role/fc-rolegate-{name}"
        roles[name] = function.props["role"].rsplit("/", 1)[1]
        assert not roles[name].lower().startswith(MANAGED_PREFIX)
        assert (syaml.REPO / "deploy" / "policies" / f"{name}.json").is_file()
    assert len(set(roles.values())) == len(roles)


# -------------------------------------------------------------- environment
@pytest.mark.parametrize("name", NAMES)
def test_environment_fits_function_compute(name: str) -> None:
    """Variable names are letters/digits/underscore, none starts with FC_, and all of them fit in 4 KB."""
    env = FUNCTIONS[name].props["environmentVariables"]
    assert all(not k.startswith("FC_") and k[0].isalpha() for k in env)
    size = sum(len(k.encode()) + len(v.encode()) for k, v in env.items())
    assert size <= MAX_ENV_BYTES, f"{name}: {size} bytes of environment"


TRACED: dict[str, set[str]] = {}


@pytest.fixture
def traced_reads(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ROLEGATE_* variables a function reads while doing its typical job with its real policy."""
    def trace(name: str) -> set[str]:
        if name not in TRACED:
            with recording(monkeypatch) as recorder:
                outcome = TYPICAL[name](Cell(emulator, monkeypatch, name).deploy(policy(name)))
            assert outcome.ok, f"{name}: the typical behaviour failed: {outcome.text}"
            TRACED[name] = {k for k in recorder.read if k.startswith("ROLEGATE_")}
        return TRACED[name]
    return trace


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_read_is_declared_and_every_declared_one_is_read(name: str, traced_reads: Any) -> None:
    """The function's environmentVariables are exactly the ROLEGATE_* variables the function reads."""
    read = traced_reads(name) - NOT_DEPLOYED
    declared = set(FUNCTIONS[name].props["environmentVariables"])
    assert sorted(read - declared) == [], f"{name} reads these but s.yaml does not set them"
    assert sorted(declared - read) == [], f"{name} never reads these, yet s.yaml sets them"


def test_every_setting_in_the_code_is_read_by_some_function(traced_reads: Any) -> None:
    """Each ROLEGATE_* name the code asks the environment for is read by at least one deployed function."""
    in_code = {k for k in static_reads() if k.startswith("ROLEGATE_")}
    assert in_code, "the static scan found nothing: it no longer recognises how settings are read"
    traced = set().union(*(traced_reads(n) for n in NAMES))
    assert sorted(in_code - traced - NOT_DEPLOYED) == []


def test_runtime_variables_are_left_to_the_runtime() -> None:
    """FC_* and ALIBABA_CLOUD_* (account, region, timeout, role credentials) come from FC, never from s.yaml."""
    provided = {k for k in static_reads() if not k.startswith("ROLEGATE_")}
    assert provided and all(k.startswith(("FC_", "ALIBABA_CLOUD_")) for k in provided)
    for function in FUNCTIONS.values():
        assert not provided & set(function.props["environmentVariables"])


# ------------------------------------------------------------------- triggers
def test_http_trigger_auth() -> None:
    """onboard: anonymous (the function checks its own HMAC); query: function (FC checks the caller's signature)."""
    assert FUNCTIONS["onboard"].trigger("http")["triggerConfig"]["authType"] == "anonymous"
    assert FUNCTIONS["query"].trigger("http")["triggerConfig"]["authType"] == "function"
    assert FUNCTIONS["query"].trigger("http")["triggerConfig"]["methods"] == ["POST"]


def fc_cron(expression: str) -> tuple[str, Any]:
    """(6-field cron, zone) of an FC timer expression: seconds first, UTC unless ``CRON_TZ=<zone> `` leads."""
    zone: Any = timezone.utc
    text = expression.strip()
    if text.startswith("CRON_TZ="):
        name, _, text = text[len("CRON_TZ="):].partition(" ")
        zone = ZoneInfo(name)
    fields = text.split()
    assert len(fields) == 6, f"{expression!r}: FC cron has six fields, seconds first"
    assert croniter.is_valid(" ".join(fields), second_at_beginning=True), expression
    return " ".join(fields), zone


def firings(expression: str, start: datetime, count: int) -> list[datetime]:
    cron, zone = fc_cron(expression)
    schedule = croniter(cron, start.astimezone(zone), second_at_beginning=True)
    return [schedule.get_next(datetime).astimezone(timezone.utc) for _ in range(count)]


def test_cron_reading_honours_seconds_and_cron_tz() -> None:
    """The reading used below: seconds come first, CRON_TZ shifts the zone, five fields are refused."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert firings("0 0 4 * * *", start, 1) == [datetime(2026, 1, 1, 4, tzinfo=timezone.utc)]
    assert firings("CRON_TZ=Asia/Shanghai 0 0 4 * * *", start, 1) == [datetime(2026, 1, 1, 20, tzinfo=timezone.utc)]
    with pytest.raises(AssertionError):
        fc_cron("*/10 * * * *")


def test_revoke_timer_fires_every_ten_minutes_with_a_payload_the_sweep_accepts() -> None:
    """6-field cron every 10 minutes on the minute; the payload string parses as the sweep's options."""
    from shared.sweep.options import options_from_event

    config = FUNCTIONS["revoke"].trigger("timer")["triggerConfig"]
    assert config["enable"] is True
    times = firings(config["cronExpression"], datetime(2026, 3, 1, 0, 3, 7, tzinfo=timezone.utc), 4)
    assert times[0] == datetime(2026, 3, 1, 0, 10, tzinfo=timezone.utc)
    assert {b - a for a, b in zip(times, times[1:])} == {timedelta(minutes=10)}
    event = {"triggerTime": "2026-03-01T00:10:00Z", "triggerName": "revoke-timer", "payload": config["payload"]}
    assert options_from_event(json.dumps(event).encode()) == {}


def test_eventbridge_triggers_come_last() -> None:
    """fc3 skips the triggers after an unchanged eventbridge trigger, so none may follow one."""
    for function in FUNCTIONS.values():
        kinds = [t["triggerType"] for t in function.triggers]
        first = next((i for i, k in enumerate(kinds) if k == "eventbridge"), len(kinds))
        assert all(k == "eventbridge" for k in kinds[first:]), f"{function.name}: {kinds}"


WATCHED_TRIGGER = "remediate-actiontrail"
ROOT_TRIGGER = "remediate-root-calls"
DEFAULT_BUS_RULE_LIMIT = 10  # rules for Alibaba Cloud service events on one account's default bus


def remediate_pattern(trigger_name: str = WATCHED_TRIGGER) -> dict[str, Any]:
    return json.loads(FUNCTIONS["remediate"].named(trigger_name)["triggerConfig"]["eventRuleFilterPattern"])


def remediate_patterns() -> list[dict[str, Any]]:
    return [json.loads(t["triggerConfig"]["eventRuleFilterPattern"])
            for t in FUNCTIONS["remediate"].triggers_of("eventbridge")]


def invocations(event: dict[str, Any]) -> int:
    """How often the deployed triggers invoke remediate for ``event``: each trigger is a rule of its own."""
    return sum(matches(pattern, event) for pattern in remediate_patterns())


def test_trigger_names_are_distinct_within_each_function() -> None:
    """fc3 addresses a trigger by its name, so two of one function must never share one."""
    for function in FUNCTIONS.values():
        names = [t["triggerName"] for t in function.triggers]
        assert len(set(names)) == len(names), f"{function.name}: {names}"


def test_remediation_listens_through_two_default_bus_rules() -> None:
    """The watched calls and the root's calls: two enabled Default-source triggers delivering CloudEvents."""
    triggers = FUNCTIONS["remediate"].triggers_of("eventbridge")
    assert [t["triggerName"] for t in triggers] == [WATCHED_TRIGGER, ROOT_TRIGGER]
    for trigger in triggers:
        config = trigger["triggerConfig"]
        assert config["triggerEnable"] is True and config["asyncInvocationType"] is False
        assert config["eventSourceConfig"] == {"eventSourceType": "Default", "eventSourceParameters": {}}
        assert config["eventSinkConfig"]["deliveryOption"]["eventSchema"] == "CloudEvents"
        assert config["runOptions"] == {"mode": "event-driven"}  # one event an invocation, the Default source's mode


def test_remediation_runs_where_rams_events_arrive() -> None:
    """RAM's events reach only the default bus of the site's RAM event region, so remediation has a region of
    its own: cn-hangzhou by default (the China site), anything given, whatever the other functions' region."""
    from shared.site import CHINA, INTERNATIONAL

    assert FUNCTIONS["remediate"].props["region"] == CHINA.ram_event_region
    international = syaml.functions(syaml.resolved(env={**syaml.DEPLOY_ENV, "ROLEGATE_SITE": "international",
                                                        "ROLEGATE_REMEDIATE_REGION": INTERNATIONAL.ram_event_region,
                                                        "ROLEGATE_DEPLOY_REGION": "cn-shanghai"}))
    assert international["remediate"].props["region"] == "ap-southeast-1"
    assert international["remediate"].props["environmentVariables"]["ROLEGATE_SITE"] == "international"
    assert {f.props["region"] for n, f in international.items() if n != "remediate"} == {"cn-shanghai"}


def test_the_deployment_stays_within_the_default_bus_rule_limit() -> None:
    """Every Default-source trigger is one rule on the default bus, which allows ten for cloud-service events."""
    rules = [t for f in FUNCTIONS.values() for t in f.triggers_of("eventbridge")
             if t["triggerConfig"]["eventSourceConfig"]["eventSourceType"] == "Default"]
    assert len(rules) == 2 and len(rules) <= DEFAULT_BUS_RULE_LIMIT


# ActionTrail events reach EventBridge as <service>:ActionTrail:ApiCall or :ConsoleOperation (the documented
# form; RAM's page lists both). No pattern names a source: RAM's source literal is shown by no page.
ACTIONTRAIL_TYPES = [{"suffix": ":ActionTrail:ApiCall"}, {"suffix": ":ActionTrail:ConsoleOperation"}]


def test_remediation_pattern_passes_exactly_what_the_rules_watch() -> None:
    """API calls and console operations of the services a rule watches (by serviceName; RAM's as Ram or Ims),
    of precisely the event names a rule watches, not by root; no source."""
    from shared.events.actiontrail import UserIdentity
    from shared.remediation.rules import RULES

    pattern = remediate_pattern()
    watched = {pair for rule in RULES for pair in rule.watched}
    assert sorted(pattern["data"]["eventName"]) == sorted({name for _, name in watched})
    services = pattern["data"]["serviceName"]
    assert {"ram" if s.lower() in ("ram", "ims") else s.lower() for s in services} == {f for f, _ in watched}
    assert {"Ram", "Ims"} <= set(services)
    assert "source" not in pattern and pattern["type"] == ACTIONTRAIL_TYPES
    assert pattern["data"]["userIdentity"] == {"type": [{"anything-but": UserIdentity.ROOT}]}


def test_root_pattern_passes_api_calls_of_any_service_signed_by_root() -> None:
    """No source, no service and no event name: every API call or console operation of the root identity."""
    from shared.events.actiontrail import UserIdentity

    assert remediate_pattern(ROOT_TRIGGER) == {"type": ACTIONTRAIL_TYPES,
                                               "data": {"userIdentity": {"type": [UserIdentity.ROOT]}}}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_SHAPE))
def test_pattern_matches_documented_actiontrail_events(name: str) -> None:
    """Hand-composed events in the documented envelope + record shape reach the function, once."""
    assert matches(remediate_pattern(), DOCUMENTED_SHAPE[name])
    assert invocations(DOCUMENTED_SHAPE[name]) == 1


@pytest.mark.parametrize("name", sorted(UNRELATED))
def test_pattern_ignores_unrelated_events(name: str) -> None:
    """Other services, reads, unwatched names and sign-in events invoke nothing."""
    assert invocations(UNRELATED[name]) == 0


@pytest.mark.parametrize("name", sorted(ROOT_SIGNED))
def test_root_signed_calls_of_any_service_reach_the_function_once(name: str) -> None:
    """A root-signed ECS, OSS or RAM write passes the root trigger, and only it (no double invocation)."""
    event = ROOT_SIGNED[name]
    assert matches(remediate_pattern(ROOT_TRIGGER), event)
    assert not matches(remediate_pattern(), event)
    assert invocations(event) == 1


def test_the_same_calls_by_a_ram_user_pass_only_where_a_rule_watches_them() -> None:
    """The root trigger keys on the identity alone: the RAM user's twin of each root sample passes it never."""
    for name, event in ROOT_SIGNED.items():
        twin = copy.deepcopy(event)
        twin["data"]["userIdentity"] = dict(RAM_USER)
        assert not matches(remediate_pattern(ROOT_TRIGGER), twin), name
        assert invocations(twin) == (1 if name.endswith("(watched)") else 0), name


def test_pattern_matches_the_events_the_emulator_delivers(emulator: EmulatorServer) -> None:
    """Every event of real SDK calls invokes remediate once when a rule watches it or root signed it, else never."""
    from shared.remediation.rules import RULES

    account = emulator.create_account("company-a")
    root = dict(account)
    actor = create_user_with_policy(emulator, root, "operator", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:*", "ecs:*"], "Resource": "*"}]})
    ram = ram_client(emulator, actor)
    ram.create_role(ram_models.CreateRoleRequest(role_name="AppRole", assume_role_policy_document=service_trust()))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(role_name="AppRole", policy_type="System",
                                                                   policy_name="AliyunOSSReadOnlyAccess"))
    ram.update_role(ram_models.UpdateRoleRequest(role_name="AppRole", new_max_session_duration=7200))
    ram.create_user(ram_models.CreateUserRequest(user_name="unwatched"))
    instance = create_instance(emulator, account["account_id"])
    ecs_client(emulator, actor).attach_instance_ram_role(ecs_models.AttachInstanceRamRoleRequest(
        region_id="cn-hangzhou", ram_role_name="AppRole", instance_ids=json.dumps([instance])))
    ram_client(emulator, root).attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="AppRole", policy_type="System", policy_name="AliyunECSReadOnlyAccess"))
    fc3_client(emulator, root).create_function(fc3_models.CreateFunctionRequest(body=fc3_models.CreateFunctionInput(
        function_name="by-root", runtime="python3.12", handler="index.handler")))

    from shared.events.actiontrail import ActionTrailEvent
    from shared.remediation.rules import service_family

    watched = {pair for rule in RULES for pair in rule.watched}
    delivered = events(emulator)
    kinds = {(e["data"]["serviceName"], e["data"]["userIdentity"]["type"]) for e in delivered}
    assert {("Ram", "root-account"), ("Fc", "root-account"), ("Ram", "ram-user"), ("Ecs", "ram-user")} <= kinds
    for event in delivered:
        data = event["data"]
        family = service_family(ActionTrailEvent(event))
        expected = data["userIdentity"]["type"] == "root-account" or (family, data["eventName"]) in watched
        assert invocations(event) == int(expected), event


def test_oracle_agrees_with_the_local_hosts_matcher() -> None:
    """The local host filters events with rolegate.eventpattern; on every sample both matchers agree."""
    from rolegate import eventpattern

    anonymous = copy.deepcopy(DOCUMENTED_SHAPE["AttachPolicyToRole"])
    del anonymous["data"]["userIdentity"]  # an absent field passes no condition but exists:false
    samples = [*DOCUMENTED_SHAPE.values(), *UNRELATED.values(), *ROOT_SIGNED.values(), anonymous]
    for pattern in remediate_patterns():
        for event in samples:
            assert eventpattern.matches(eventpattern.load_pattern(json.dumps(pattern)), event) == \
                matches(pattern, event)
