"""Every cloud call of every state-changing operation, failed every way the cloud fails, converges.

For each operation -- create through the onboarding webhook, revoke, and each
remediation rule that changes something -- the test first runs it cleanly and
reads the calls it made from the emulator's call log; the matrix below must
list exactly those calls, so a new call in the code is a failing test until it
is covered. Then, for each call (a step), each failure class and each phase:

* ``before``: the cloud refuses the call, nothing changes;
* ``after``: the cloud applies the call but the answer is lost (writes only:
  a read whose answer is lost is a read that failed).

The operation is run with the fault injected, the fault is cleared, and the
operation is run again. The account's full state (roles, users, custom
policies, attachments, tags and, for the ECS rule, instance roles; read with
the root key) must then be exactly the state of the clean run ("done"), with
nothing orphaned. Before the rerun, an operation that answered success must
already have left exactly that state, and a create that failed must have left
nothing behind (it rolls back) -- unless the cloud's answer was a lie no client
can see through, or a timed-out call of the create landed after its rollback
(only a rerun repairs that).

Failure classes, each where the call can really meet it: throttling
(``Throttling.User``, 400, carrying a retry-after; only "before", and with
retries off, as when the retry-after is longer than a function may wait, so
the throttle surfaces instead of being absorbed), 5xx (``ServiceUnavailable``
503 before, ``InternalError`` 500 after; absorbed by a retry where the call is
safe to repeat), timeout (latency beyond ``ROLEGATE_READ_TIMEOUT_MS``: "after"
lets the delayed call land late, after the client gave up, "before" makes it
fail after the delay), not-found (``EntityNotExist.*``, ECS ``*.NotFound``) and
conflict (``EntityAlreadyExists.*``, ``DeleteConflict.*``). Latency rules apply
to every call of an action, so a timeout targets an action's first occurrence
and delays its repeats too.

Revoke is the revoke function's sweep, its pacer included: its last call lists
the account's grant custom policies, to collect any a fault left without their
role. Restore is exercised through the grant-tamper rule, on a grant whose trust
policy, policy set and custom policy document were all changed by hand.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from functions.onboard import index as onboard
from shared.clients import ClientFactory, clear_cache
from shared.credentials import Credentials
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.lifecycle import GrantStore
from shared.policies.principals import UserPrincipal
from shared.ram import RamGateway
from shared.remediation.quarantine import release
from shared.sweep.run import SweepFailed
from tests.emulator.helpers import account_trust, record_keyring
from tests.functions.conftest import Account, FakeContext, FunctionMeta, Partner, Webhook
from tests.functions.remediate_support import Lab, fixture_event
from tests.reliability.state import audit, difference, is_write, same_state, snapshot

READ_TIMEOUT_MS = 60
LATENCY_MS = 150
SYSTEM_POLICY = "AliyunFCReadOnlyAccess"
CUSTOM_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["fc:GetFunction", "fc:ListFunctions"],
                                             "Resource": "*"}]}
WIDE_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}

# The answers each call can really meet, besides throttling, 5xx and timeouts (absent: no such answer exists).
NOT_FOUND = {
    "ram:GetRole": "EntityNotExist.Role", "ram:ListTagResources": "EntityNotExist.Role",
    "ram:ListPoliciesForRole": "EntityNotExist.Role", "ram:UpdateRole": "EntityNotExist.Role",
    "ram:DeleteRole": "EntityNotExist.Role", "ram:TagResources": "EntityNotExist.Role",
    "ram:AttachPolicyToRole": "EntityNotExist.Policy", "ram:DetachPolicyFromRole": "EntityNotExist.Role.Policy",
    "ram:GetPolicy": "EntityNotExist.Policy", "ram:ListPolicyVersions": "EntityNotExist.Policy",
    "ram:DeletePolicy": "EntityNotExist.Policy", "ram:SetDefaultPolicyVersion": "EntityNotExist.Policy.Version",
    "ecs:DescribeInstanceRamRole": "InvalidInstanceId.NotFound",
    "ecs:DetachInstanceRamRole": "InvalidInstanceId.NotFound",
}
CONFLICT = {
    "ram:CreateRole": "EntityAlreadyExists.Role", "ram:CreatePolicy": "EntityAlreadyExists.Policy",
    "ram:AttachPolicyToRole": "EntityAlreadyExists.Role.Policy", "ram:DeleteRole": "DeleteConflict.Role.Policy",
    "ram:DeletePolicy": "DeleteConflict.Policy.Version",
}


# ------------------------------------------------------------------- failure classes
@dataclass(frozen=True)
class Step:
    target: str  # product:Action
    occurrence: int
    write: bool

    def __str__(self) -> str:
        return f"{self.target.split(':')[1]}#{self.occurrence}"


def steps(*names: str) -> tuple[Step, ...]:
    """Steps in call order: ``[product:]Action``, ``+`` marking a write; repeats count occurrences."""
    out: list[Step] = []
    for name in names:
        target = name.rstrip("+") if ":" in name else "ram:" + name.rstrip("+")
        out.append(Step(target, sum(1 for s in out if s.target == target), name.endswith("+")))
    return tuple(out)


def step_list(calls: list[dict[str, Any]]) -> tuple[Step, ...]:
    return steps(*(f"{c['product']}:{c['action']}" + ("+" if is_write(c) else "") for c in calls))


@dataclass(frozen=True)
class Failure:
    name: str

    def applies(self, step: Step, phase: str) -> bool:
        if self.name == "throttle":
            return phase == "before"  # flow control refuses a call; it never answers one it ran
        if self.name == "timeout":
            # A latency rule cannot single out a repeat; and a read that times out is the same surfaced
            # transient failure as a throttled one (nothing can land late), so only writes are timed out.
            return step.write and step.occurrence == 0
        if self.name == "not-found":
            return step.target in NOT_FOUND
        if self.name == "conflict":
            return step.target in CONFLICT
        return True

    def rules(self, step: Step, phase: str) -> list[dict[str, Any]]:
        """Fault rules making the step's call fail this way, in ``phase``."""
        if self.name == "timeout":
            rules: list[dict[str, Any]] = [{"kind": "latency", "action": step.target, "delay_ms": LATENCY_MS}]
            if phase == "before":  # the delayed call then fails too: it never takes effect
                rules.append({"kind": "error", "action": step.target, "code": "ServiceUnavailable", "status": 503,
                              "times": None, "phase": "before"})
            return rules
        code, status = self.answer(step.target, phase)
        return [{"kind": "error", "action": step.target, "code": code, "status": status, "after": step.occurrence,
                 "times": 1, "phase": phase}]

    def answer(self, target: str, phase: str) -> tuple[str, int]:
        if self.name == "throttle":
            return "Throttling.User", 400
        if self.name == "5xx":
            return ("ServiceUnavailable", 503) if phase == "before" else ("InternalError", 500)
        if self.name == "not-found":
            return NOT_FOUND[target], 404
        return CONFLICT[target], 409

    @property
    def cloud_lies(self) -> bool:
        """A 4xx answer about existence is believed; a false one may mislead a single run (not the rerun)."""
        return self.name in ("not-found", "conflict")


FAILURES = [Failure(n) for n in ("throttle", "5xx", "timeout", "not-found", "conflict")]

@dataclass
class Reply:
    status: int
    body: str


# ------------------------------------------------------------------ the worlds
class Setting:
    """What the convergence check needs from a test's world."""

    emulator: Any
    owner_id: str
    root: dict[str, Any]
    monkeypatch: pytest.MonkeyPatch
    ecs_region: str | None = None

    def snap(self) -> dict[str, Any]:
        return snapshot(self.emulator, self.root, self.ecs_region)

    def keyring(self) -> Any:
        """The account's record key, which proves the records snapshots are compared by."""
        return record_keyring(self.emulator, self.root)

    def mark(self) -> int:
        calls = self.emulator.calls()
        return calls[-1]["seq"] if calls else 0

    def op_calls(self, since: int) -> list[dict[str, Any]]:
        """RAM and ECS calls made after ``since`` by anyone but the root key used for set-up and snapshots."""
        root = f"acs:ram::{self.owner_id}:root"
        return [c for c in self.emulator.calls(since) if c["product"] in ("ram", "ecs") and c["caller"] != root]


class Onboarding(Setting):
    """The owner account with the onboarding function deployed (``fc_env``) and the revoke function's identity."""

    def __init__(self, emulator: Any, owner: Account, partner: Partner, monkeypatch: pytest.MonkeyPatch,
                 context: FakeContext, sweeper: dict[str, Any]) -> None:
        self.emulator, self.owner_id, self.root = emulator, owner.account_id, owner.root
        self.partner = partner
        self.sweeper = sweeper
        self.monkeypatch = monkeypatch
        self.hook = Webhook(onboard.handler, context)
        self.grant: Grant | None = None
        self.create_body: dict[str, Any] = {}

    def root_store(self) -> GrantStore:
        """Set-up and undo work with the root key, through Rolegate's own client factory."""
        key = Credentials(self.root["access_key_id"], self.root["access_key_secret"])
        return GrantStore(ClientFactory(key).ram(), self.owner_id, record_keyring(self.emulator, self.root),
                          now=self.emulator.world.clock.now)

    def new_grant(self, lifetime: timedelta) -> Grant:
        """A grant with one system and one custom policy, starting a second ago on the emulator's clock."""
        now = self.emulator.world.clock.now().replace(microsecond=0)
        grant_id = new_grant_id()
        return Grant(
            grant_id=grant_id, owner_account_id=self.owner_id, partner_account_id=self.partner.account_id,
            principal=UserPrincipal(self.partner.account_id, "Alice"),
            policies=(PolicyRef(SYSTEM_POLICY, PolicyRef.SYSTEM),
                      PolicyRef(custom_policy_name(grant_id, 0), PolicyRef.CUSTOM, document=CUSTOM_DOC)),
            role_name=role_name_for(self.partner.account_id, grant_id), max_session_duration=3600,
            created_at=now - timedelta(seconds=1), expires_at=now + lifetime)

    def webhook(self, method: str, path: str, body: Any = None) -> Reply:
        from shared.onboarding.api import REPLAYS
        REPLAYS.clear()  # a rerun is a new request as far as the replay cache is concerned
        event = self.hook.event(method, path, body)
        response = onboard.handler(json.dumps(event).encode(), self.hook.context)
        return Reply(response["statusCode"], response["body"])

    def sweep(self) -> Reply:
        from functions.revoke.index import handler

        event = {"triggerTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "triggerName": "revoke-sweep", "payload": ""}
        context = FakeContext(account_id=self.owner_id, function=FunctionMeta(name="revoke"))
        with self.monkeypatch.context() as env:
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", self.sweeper["access_key_id"])
            env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", self.sweeper["access_key_secret"])
            try:
                summary = handler(json.dumps(event).encode(), context)
            except SweepFailed as exc:  # the invocation is marked failed; the next run takes over
                return Reply(503, json.dumps({**exc.to_dict(), "summary": exc.summary}, default=str))
        incomplete = not summary.get("ok", True) or summary.get("failed")
        return Reply(503 if incomplete else 200, json.dumps(summary, default=str))


class Guarded(Setting):
    """The owner account with the remediation function deployed (``remediate_lab``) and mallory at work."""

    def __init__(self, lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lab = lab
        self.emulator, self.owner_id, self.root = lab.emulator, lab.account_id, lab.root
        self.monkeypatch = monkeypatch
        self.event: dict[str, Any] = {}
        self.rule = ""
        self.grant: Grant | None = None
        self.instance = ""
        # The function knows who it is from its first invocation on: warm that cache outside the matrix.
        lab.invoke(fixture_event("root_access_key", owner=lab.account_id))

    def remediate(self) -> Reply:
        reply = self.lab.invoke(self.event)
        text = json.dumps(reply, default=str)
        mine = [d["outcome"] for d in reply["decisions"] if d["rule"] == self.rule]
        done = reply["ok"] and mine and all(o in ("remediated", "already_compliant") for o in mine)
        return Reply(200 if done else 503, text)

    def tamper_grant(self) -> dict[str, Any]:
        """What a console user might do to a grant: widen its trust, swap its policies, edit its custom one."""
        assert self.grant is not None
        lab, name = self.lab, self.grant.role_name
        custom = self.grant.policies[1].name
        lab.update_trust(name, account_trust(lab.partner_id))
        lab.detach_from_role(name, "AliyunECSReadOnlyAccess")
        ram = lab.ram(lab.mallory)
        versions = ram.list_policy_versions(ram_models.ListPolicyVersionsRequest(
            policy_name=custom, policy_type="Custom")).body.policy_versions.policy_version
        if len(versions) == 1:
            ram.create_policy_version(ram_models.CreatePolicyVersionRequest(
                policy_name=custom, policy_document=json.dumps(WIDE_DOC), set_as_default=True))
        else:
            ram.set_default_policy_version(ram_models.SetDefaultPolicyVersionRequest(
                policy_name=custom, version_id="v2"))
        return lab.attach_to_role(name, "AliyunOSSReadOnlyAccess")


# --------------------------------------------------------------------- operations
@dataclass(frozen=True)
class Operation:
    """A state-changing operation: how to reach its starting state, run it, and undo a clean run."""

    name: str
    steps: tuple[Step, ...]
    prepare: Callable[[Any], None]
    run: Callable[[Any], Reply]
    undo: Callable[[Any], None]
    succeeded: Callable[[Reply], bool] = lambda reply: 200 <= reply.status < 300
    env: dict[str, str] = field(default_factory=dict)


def _prepare_create(world: Onboarding) -> None:
    """Nothing exists yet; the request is fixed now (an absolute expiry), so every run asks the same."""
    expires = world.emulator.world.clock.now().replace(microsecond=0) + timedelta(days=1)
    world.create_body = {"partner_account_id": world.partner.account_id,
                         "principal": {"type": "user", "name": "Alice"},
                         "policies": [{"name": SYSTEM_POLICY}, {"document": CUSTOM_DOC}],
                         "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "requester": "ops@company-a.example"}


def _revoke_created(world: Onboarding) -> None:
    grants = json.loads(world.webhook("GET", "/grants").body)["grants"]
    assert len(grants) == 1, grants
    world.root_store().revoke(grants[0]["role_name"])


def _prepare_expired(world: Onboarding) -> None:
    world.grant = world.new_grant(timedelta(seconds=900))
    world.root_store().create(world.grant)
    world.emulator.advance_clock(1000)


def _recreate(world: Onboarding) -> None:
    """The expired grant again, its custom policy as old as the first time: past the sweep's orphan grace."""
    assert world.grant is not None
    world.root_store().create(world.grant)
    world.emulator.advance_clock(1000)


def _prepare_high_risk(world: Guarded) -> None:
    world.lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    world.event = world.lab.attach_to_role("AppRole", "AdministratorAccess")


def _prepare_tampered_grant(world: Guarded) -> None:
    world.grant = world.lab.grant(custom=True)
    world.event = world.tamper_grant()


def _prepare_widened_trust(world: Guarded) -> None:
    world.lab.role("VendorRole")
    world.event = world.lab.update_trust("VendorRole", account_trust(world.lab.partner_id))


def _prepare_instance_role(world: Guarded) -> None:
    world.lab.role("AdminRole", policies=(("System", "AdministratorAccess"),))
    world.instance = world.lab.instance()
    world.event = world.lab.attach_instance_role(world.instance, "AdminRole")


ONBOARDING = {
    "create": Operation(
        "create",
        steps("CreateRole+", "CreatePolicy+", "AttachPolicyToRole+", "AttachPolicyToRole+"),
        _prepare_create, lambda w: w.webhook("POST", "/grants", w.create_body), _revoke_created,
    ),
    "sweep": Operation(
        "sweep",
        steps("ListRoles", "ListPoliciesForRole", "DetachPolicyFromRole+", "DetachPolicyFromRole+",
              "DeletePolicy+", "DeleteRole+", "ListPolicies"),
        _prepare_expired, lambda w: w.sweep(), _recreate,
    ),
}
REMEDIATION = {
    "high-risk-policy": Operation(
        "high-risk-policy", steps("GetRole", "ListTagResources", "ListPoliciesForRole", "DetachPolicyFromRole+"),
        _prepare_high_risk, Guarded.remediate, lambda w: w.lab.attach_to_role("AppRole", "AdministratorAccess"),
    ),
    "grant-tamper": Operation(
        "grant-tamper",
        steps("GetRole", "ListTagResources", "UpdateRole+", "ListPoliciesForRole",
              "DetachPolicyFromRole+", "GetPolicy", "ListPolicyVersions", "SetDefaultPolicyVersion+",
              "AttachPolicyToRole+"),
        _prepare_tampered_grant, Guarded.remediate, lambda w: w.tamper_grant(),
    ),
    "trust-widened": Operation(
        "trust-widened", steps("GetRole", "ListTagResources", "TagResources+", "UpdateRole+"),
        _prepare_widened_trust, Guarded.remediate, lambda w: release(RamGateway(w.lab.ram()), "VendorRole"),
        env={"ROLEGATE_QUARANTINE_ACTION": "deny-trust"},
    ),
    "instance-role": Operation(
        "instance-role", steps("ecs:DescribeInstanceRamRole", "ListPoliciesForRole", "ecs:DetachInstanceRamRole+"),
        _prepare_instance_role, Guarded.remediate,
        lambda w: w.lab.attach_instance_role(w.instance, "AdminRole"),
    ),
}


def cases(operations: dict[str, Operation]) -> list[Any]:
    """(operation, step, failure class, phases): both phases of a write share one test and one clean run."""
    out = []
    for op in operations.values():
        for step in op.steps:
            for failure in FAILURES:
                phases = [p for p in (("before", "after") if step.write else ("before",)) if failure.applies(step, p)]
                if phases:
                    out.append(pytest.param(op.name, step, failure, tuple(phases),
                                            id=f"{op.name}-{step}-{failure.name}-{'+'.join(phases)}"))
    return out


# ------------------------------------------------------------------------- check
def converges(world: Setting, op: Operation, step: Step, failure: Failure, phases: tuple[str, ...]) -> None:
    """Clean run (the reference) and undo; then per phase a faulted run and a rerun, ending exactly as the clean run."""
    for name, value in op.env.items():
        world.monkeypatch.setenv(name, value)
    op.prepare(world)
    mark = world.mark()
    clean = op.run(world)
    assert op.succeeded(clean), clean
    assert step in step_list(world.op_calls(mark)), "the targeted call is not made by a clean run"
    assert any(s.write for s in step_list(world.op_calls(mark))), "the clean run changed nothing"
    done = world.snap()
    op.undo(world)
    # The starting state again ("never happened"), needed to judge a failed create; a faulty undo fails the
    # final check anyway.
    start = world.snap() if op.name == "create" else None
    for index, phase in enumerate(phases):
        if index:
            op.undo(world)  # back to the start for the next phase
        fault_then_rerun(world, op, step, failure, phase, start, done)


def fault_then_rerun(world: Setting, op: Operation, step: Step, failure: Failure, phase: str,
                     start: dict[str, Any] | None, done: dict[str, Any]) -> None:
    if failure.name == "timeout":
        world.monkeypatch.setenv("ROLEGATE_READ_TIMEOUT_MS", str(READ_TIMEOUT_MS))
        world.monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "2")
    if failure.name == "throttle":  # as when the retry-after is longer than a function may wait: it surfaces
        world.monkeypatch.setenv("ROLEGATE_RETRY_MAX_ATTEMPTS", "1")
    clear_cache()
    for rule in failure.rules(step, phase):
        world.emulator.add_fault(**rule)
    mark = world.mark()
    first = op.run(world)
    if failure.name == "timeout":
        time.sleep(LATENCY_MS / 1000 + 0.1)  # let delayed calls land: the late write is part of the test
    fired = [r for r in world.emulator.admin("GET", "/_emulator/faults")["faults"]
             if r["kind"] == "error" and r["fired"]]
    world.emulator.clear_faults()
    world.monkeypatch.delenv("ROLEGATE_READ_TIMEOUT_MS", raising=False)
    world.monkeypatch.delenv("ROLEGATE_RETRY_MAX_ATTEMPTS", raising=False)
    clear_cache()
    hit = [c for c in world.op_calls(mark) if f"{c['product']}:{c['action']}" == step.target]
    assert fired or (failure.name == "timeout" and hit), f"{phase}: the fault never fired"
    assert first.status != 500 and "Traceback" not in first.body and 'File "' not in first.body, (phase, first)

    # A success answer means done, whatever happened underneath; a failed create has rolled back, unless a
    # timed-out write of it landed after the rollback (only the rerun repairs that).
    expected = done if op.succeeded(first) else start if op.name == "create" and failure.name != "timeout" else None
    if expected is not None and not failure.cloud_lies:
        middle = world.snap()
        assert same_state(middle, expected, world.owner_id, world.keyring()), (
            phase, first, difference(middle, expected, world.owner_id, world.keyring()))

    again = op.run(world)
    assert op.succeeded(again), (phase, again)
    final = world.snap()
    keyring = world.keyring()
    assert same_state(final, done, world.owner_id, keyring), (phase, first, again,
                                                             difference(final, done, world.owner_id, keyring))
    assert audit(final, world.owner_id, keyring) == [], phase


# ------------------------------------------------------------------------- tests
@pytest.fixture
def onboarding(emulator: Any, fc_env: Any, fc_context: FakeContext, owner: Account, partner: Partner,
               revoke_identity: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Onboarding:
    return Onboarding(emulator, owner, partner, monkeypatch, fc_context, revoke_identity)


@pytest.fixture
def guarded(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Guarded:
    return Guarded(remediate_lab, monkeypatch)


def _clean_run_calls(world: Setting, op: Operation) -> list[dict[str, Any]]:
    for name, value in op.env.items():
        world.monkeypatch.setenv(name, value)
    op.prepare(world)
    mark = world.mark()
    reply = op.run(world)
    assert op.succeeded(reply), reply
    calls = world.op_calls(mark)
    assert all(c["outcome"] == "ok" for c in calls), calls
    return calls


@pytest.mark.parametrize("name", sorted(ONBOARDING))
def test_matrix_lists_every_call_of_a_clean_onboarding_run(onboarding: Onboarding, name: str) -> None:
    """The steps faulted below are exactly the RAM calls a clean create or sweep makes, in order."""
    calls = _clean_run_calls(onboarding, ONBOARDING[name])
    assert step_list(calls) == ONBOARDING[name].steps, [c["action"] for c in calls]


@pytest.mark.parametrize("name", sorted(REMEDIATION))
def test_matrix_lists_every_call_of_a_clean_remediation(guarded: Guarded, name: str) -> None:
    """The steps faulted below are exactly the RAM and ECS calls a clean remediation makes, in order."""
    guarded.rule = name
    calls = _clean_run_calls(guarded, REMEDIATION[name])
    assert step_list(calls) == REMEDIATION[name].steps, [f"{c['product']}:{c['action']}" for c in calls]


def test_root_access_key_rule_changes_nothing_so_has_no_steps(guarded: Guarded) -> None:
    """The one rule without a remedy reports a root key's use without a single RAM or ECS call."""
    guarded.event, guarded.rule = fixture_event("root_access_key", owner=guarded.owner_id), "root-access-key"
    before, mark = guarded.snap(), guarded.mark()
    reply = json.loads(guarded.remediate().body)
    assert [d["outcome"] for d in reply["decisions"]] == ["reported"]
    assert guarded.op_calls(mark) == [] and guarded.snap() == before


@pytest.mark.parametrize("name,step,failure,phases", cases(ONBOARDING))
def test_onboarding_converges_after_a_fault(onboarding: Onboarding, name: str, step: Step, failure: Failure,
                                            phases: tuple[str, ...]) -> None:
    """Fault one call of a create or revoke, run again: the account ends exactly as after a clean run."""
    converges(onboarding, ONBOARDING[name], step, failure, phases)


@pytest.mark.parametrize("name,step,failure,phases", cases(REMEDIATION))
def test_remediation_converges_after_a_fault(guarded: Guarded, name: str, step: Step, failure: Failure,
                                             phases: tuple[str, ...]) -> None:
    """Fault one call of a remediation, deliver the event again: the account ends exactly as after a clean run."""
    guarded.rule = name
    if name == "instance-role":
        guarded.ecs_region = "cn-hangzhou"
    converges(guarded, REMEDIATION[name], step, failure, phases)
