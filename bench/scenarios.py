"""Each function's workload, set up in the emulator, as events for the handler and for its floor.

A scenario makes the accounts and identities it needs (``setup``), puts the
state one run consumes in place (``prepare``: e.g. an expired grant for a
sweep to revoke), and gives the events of one run for the handler and for
the floor (:mod:`bench.floors`). ``handler_ok``/``floor_ok`` tell a run that
did its job from one that failed, so no figure is reported for a failed run.

Sizes are parameters: the cold-start benchmark uses one small run per
scenario, the memory benchmark the full workloads of the other benchmarks.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.harness import (CUSTOM_DOCUMENT, PYTHON, REGION, REPO, WEBHOOK_SECRET, Creds, Emulator, FakeContext,
                           Runtime, base_env, create_grants, deployed, ecs_client, fc2_client, fc3_client, fleet,
                           function_env, function_timeout, function_user, make_grant, ram_client, record_keyring,
                           repo_policy, role_trusting, silenced)

READER_ROLE = "rolegate-fc-reader"
MANAGER_ROLE = "RolegateManager"  # what a hub's functions assume in each member (shared/members.py)
INSTANCE_ROLE = "bench-instance-admin"
EXTRA_POLICY = "AliyunFCReadOnlyAccess"  # attached to a grant behind Rolegate's back
RAM_ROLE_QUOTA = 1000  # RAM's default number of roles per account
EVERYTHING = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}




# ------------------------------------------------------------------------ a hub
def hub_policy(function: str) -> dict[str, Any]:
    """The function's deployed policy and the hub's (``deploy/roles.sh --hub``): the members' manager roles."""
    policy, hub = repo_policy(function), json.loads((REPO / "deploy" / "hub-policy.json").read_text())
    return {**policy, "Statement": [*policy["Statement"], *hub["Statement"]]}


def manager_policy() -> dict[str, Any]:
    """What a member's manager role holds (``rolegate members enroll``, ``deploy/roles.sh --manager``)."""
    return json.loads((REPO / "deploy" / "manager-policy.json").read_text())


# ----------------------------------------------------------------------- events
def http_event(method: str, path: str, body: Any, account_id: str) -> dict[str, Any]:
    """The FC HTTP trigger event of a request to the onboarding webhook, signed with its secret."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from rolegate.fcruntime import http_event as fc_http_event, new_request_id
    from shared.onboarding.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

    raw = json.dumps(body).encode() if body is not None else b""
    stamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(WEBHOOK_SECRET, stamp, method, path, raw)}
    if raw:
        headers["Content-Type"] = "application/json"
    request = Request(EnvironBuilder(method=method, path=path, data=raw, headers=headers).get_environ())
    return fc_http_event(request, account_id=account_id, request_id=new_request_id())


def timer_event() -> dict[str, Any]:
    """The revoke function's timer event, with the payload its trigger is deployed with."""
    from rolegate.fcruntime import timer_event as fc_timer_event

    timer = deployed("revoke").timers[0]
    return fc_timer_event(timer.name, timer.payload, datetime.now(timezone.utc))


def grant_body(partner: str, *, system: tuple[str, ...] = ("AliyunECSReadOnlyAccess",),
               custom: int = 0) -> dict[str, Any]:
    """A POST /grants body: an account principal with a fresh ExternalId (so a new grant), the policies, one hour."""
    policies: list[dict[str, Any]] = [{"name": name} for name in system]
    policies += [{"document": CUSTOM_DOCUMENT} for _ in range(custom)]
    return {"partner_account_id": partner,
            "principal": {"type": "account", "external_id": f"bench-{uuid.uuid4().hex[:12]}"},
            "policies": policies, "duration_seconds": 3600}


def dumps(event: Any) -> str:
    return json.dumps(event)


# -------------------------------------------------------------------- scenarios
@dataclass
class Scenario:
    """Base: one function's workload; subclasses fill in the accounts and events."""

    name: str
    function: str
    floor: str
    env: dict[str, str] = field(default_factory=dict)
    context: FakeContext | None = None

    def setup(self, emu: Emulator) -> None:
        raise NotImplementedError

    def prepare(self, emu: Emulator) -> None:
        """State one run consumes; called before every run (handler or floor)."""

    def handler_events(self) -> list[str]:
        raise NotImplementedError

    def floor_events(self) -> list[str]:
        raise NotImplementedError

    def handler_ok(self, results: list[Any]) -> bool:
        raise NotImplementedError

    def floor_ok(self, results: list[Any]) -> bool:
        return all(isinstance(r, dict) and "raised" not in r for r in results)


def _status(result: Any) -> int | None:
    return result.get("statusCode") if isinstance(result, dict) else None


@dataclass
class Onboard(Scenario):
    """Webhook requests: ``creates`` grants (the last ``custom`` of them with a custom policy), then GET /grants.

    ``fleet_size`` grants are made beforehand, so the listing has that many to read.
    """

    creates: int = 1
    custom: int = 0
    list_all: bool = False
    fleet_size: int = 0
    owner: Creds = field(default_factory=dict)
    partner: str = ""

    def setup(self, emu: Emulator) -> None:
        self.owner = emu.create_account("owner")
        self.partner = emu.create_account("partner")["account_id"]
        record_keyring(emu, self.owner)  # the record key, as `rolegate keys init` leaves it
        identity = function_user(emu, self.owner, "fc-onboard", repo_policy("onboard"))
        self.env = function_env(emu, identity, "onboard", ROLEGATE_WEBHOOK_SECRET=WEBHOOK_SECRET)
        self.context = FakeContext.of(self.owner["account_id"], "onboard", function_timeout("onboard"))
        if self.fleet_size:
            now = emu.now().replace(microsecond=0)
            create_grants(emu, self.owner, fleet(self.owner["account_id"], self.partner, self.fleet_size, 0, now))

    def handler_events(self) -> list[str]:
        owner = self.owner["account_id"]
        events = [dumps(http_event("POST", "/grants", grant_body(
            self.partner, custom=1 if i >= self.creates - self.custom else 0), owner)) for i in range(self.creates)]
        if self.list_all:
            events.append(dumps(http_event("GET", "/grants", None, owner)))
        return events

    def floor_events(self) -> list[str]:
        from shared.grants.proof import RecordKey, StaticKeyring
        from shared.grants.tags import grant_to_tags
        from shared.policies.document import canonical_json
        from shared.policies.trust import trust_policy

        keyring = StaticKeyring(RecordKey("floor", bytes(32)))  # the floor writes tags of a signed record's size
        now = datetime.now(timezone.utc).replace(microsecond=0)
        events = []
        for i in range(self.creates):
            custom = 1 if i >= self.creates - self.custom else 0
            grant = make_grant(self.owner["account_id"], self.partner, system=1, custom=custom,
                               expires_at=now + timedelta(hours=1), created_at=now)
            events.append(dumps({
                "role_name": grant.role_name, "trust": canonical_json(trust_policy(grant.principal)),
                "description": grant.description or "", "tags": [(t["Key"], t["Value"]) for t in grant_to_tags(grant, keyring, written_at=now)],
                "custom": [(p.name, canonical_json(p.document)) for p in grant.policies if p.kind == "Custom"],
                "policies": [(p.kind, p.name) for p in grant.policies]}))
        if self.list_all:
            events.append(dumps({"list": True}))
        return events

    def handler_ok(self, results: list[Any]) -> bool:
        created = [_status(r) for r in results[:self.creates]]
        listed = [_status(r) for r in results[self.creates:]]
        return created == [201] * self.creates and all(s == 200 for s in listed)


@dataclass
class Revoke(Scenario):
    """The timer sweep of one account (the function's own) or of a hub's ``accounts`` members, through a role.

    ``prepare`` makes ``per_run`` expired grants in each swept account before
    every run, on top of the ``fleet_size`` grants (``fleet_expired`` of them
    expired) made once by ``setup``. Members' grants are sealed with the hub's
    record key. A member holds the manager role too; when that takes it past
    RAM's default role quota, the emulator's quota is raised by what is needed
    (``role_quota``).
    """

    accounts: int = 1
    per_run: int = 1
    fleet_size: int = 0
    fleet_expired: int = 0
    central: Creds = field(default_factory=dict)
    swept: list[Creds] = field(default_factory=list)
    partner: str = ""
    fleets: dict[str, list[Any]] = field(default_factory=dict)
    role_quota: int = 0  # when raised above RAM's default to make room for the manager role
    keyring: Any = None

    def setup(self, emu: Emulator) -> None:
        self.central = emu.create_account("central")
        self.partner = emu.create_account("partner")["account_id"]
        self.keyring = record_keyring(emu, self.central)
        settings: dict[str, str] = {}
        if self.accounts == 1:
            self.swept = [self.central]
            identity = function_user(emu, self.central, "fc-revoke", repo_policy("revoke"))
        else:
            self.swept = [emu.create_account(f"member-{i}") for i in range(self.accounts)]
            for member in self.swept:
                role_trusting(emu, member, MANAGER_ROLE, self.central["account_id"], custom_policy=manager_policy())
            settings["ROLEGATE_MEMBERS"] = ",".join(m["account_id"] for m in self.swept)
            identity = function_user(emu, self.central, "fc-revoke", hub_policy("revoke"))
        self.env = function_env(emu, identity, "revoke", **settings)
        self.context = FakeContext.of(self.central["account_id"], "revoke", function_timeout("revoke"))
        roles = self.fleet_size + self.per_run + (1 if self.accounts > 1 else 0)  # + the manager role
        if roles > RAM_ROLE_QUOTA:
            emu.settings(quotas={"roles_per_account": roles})
            self.role_quota = roles
        if self.fleet_size:
            now = emu.now().replace(microsecond=0)
            for owner in self.swept:
                grants = fleet(owner["account_id"], self.partner, self.fleet_size, self.fleet_expired, now)
                create_grants(emu, owner, grants, keyring=self.keyring)
                self.fleets[owner["account_id"]] = grants

    def prepare(self, emu: Emulator) -> None:
        now = emu.now().replace(microsecond=0)
        for owner in self.swept:
            create_grants(emu, owner, [make_grant(owner["account_id"], self.partner, system=1, custom=0,
                                                  expires_at=now - timedelta(minutes=5),
                                                  created_at=now - timedelta(hours=1))
                                       for _ in range(self.per_run)], keyring=self.keyring)

    @property
    def expected(self) -> int:
        return self.accounts * (self.per_run + self.fleet_expired)

    def handler_events(self) -> list[str]:
        return [dumps(timer_event())]

    def floor_events(self) -> list[str]:
        if self.accounts == 1:
            return [dumps({})]
        return [dumps({"accounts": [m["account_id"] for m in self.swept], "role_name": MANAGER_ROLE})]

    def handler_ok(self, results: list[Any]) -> bool:
        summary = results[0] if results else {}
        return isinstance(summary, dict) and summary.get("revoked") == self.expected and not summary.get("failed")

    def floor_ok(self, results: list[Any]) -> bool:
        return bool(results) and isinstance(results[0], dict) and results[0].get("revoked") == self.expected


@dataclass
class Query(Scenario):
    """A direct query of ``targets`` partner accounts, each holding ``per_target`` functions (or FC 2.0 services).

    Every partner has the role ``rolegate-fc-reader`` trusting the central
    account, with AliyunFCReadOnlyAccess. ``invocations`` runs of the same
    request follow each other in one instance (the second one warm).
    """

    targets: int = 1
    per_target: int = 2
    page_size: int = 100
    kind: str = "functions"
    invocations: int = 1
    concurrency: int | None = None
    central: Creds = field(default_factory=dict)
    partners: list[str] = field(default_factory=list)

    def setup(self, emu: Emulator) -> None:
        self.central = emu.create_account("central")
        identity = function_user(emu, self.central, "fc-query", repo_policy("query"))
        settings = {"ROLEGATE_QUERY_PAGE_SIZE": str(self.page_size)}
        if self.concurrency is not None:
            settings["ROLEGATE_QUERY_CONCURRENCY"] = str(self.concurrency)
        self.env = function_env(emu, identity, "query", **settings)
        self.context = FakeContext.of(self.central["account_id"], "query", function_timeout("query"))
        with ThreadPoolExecutor(8) as pool:
            self.partners = list(pool.map(lambda i: self._partner(emu, i), range(self.targets)))

    def _partner(self, emu: Emulator, index: int) -> str:
        root = emu.create_account(f"partner-{index}")
        role_trusting(emu, root, READER_ROLE, self.central["account_id"], system_policy="AliyunFCReadOnlyAccess")
        if self.kind == "functions":
            from alibabacloud_fc20230330 import models

            fc = fc3_client(emu, root)
            for n in range(self.per_target):
                fc.create_function(models.CreateFunctionRequest(body=models.CreateFunctionInput(
                    function_name=f"fn-{n:03d}", runtime="python3.10", handler="index.handler")))
        else:
            from alibabacloud_fc_open20210406 import models as fc2

            client = fc2_client(emu, root)
            for n in range(self.per_target):
                client.create_service(fc2.CreateServiceRequest(service_name=f"svc-{n:03d}"))
        return root["account_id"]

    def request(self) -> dict[str, Any]:
        return {"targets": [{"account_id": p, "role_name": READER_ROLE} for p in self.partners], "kind": self.kind}

    def handler_events(self) -> list[str]:
        return [dumps(self.request())] * self.invocations

    def floor_events(self) -> list[str]:
        return [dumps({"targets": [{"account_id": p, "role_arn": f"acs:ram::{p}:role/{READER_ROLE}"}
                                   for p in self.partners], "page_size": self.page_size})]

    def handler_ok(self, results: list[Any]) -> bool:
        return len(results) == self.invocations and all(
            isinstance(r, dict) and len(r.get("results", [])) == self.targets
            and all(t.get("ok") and len(t.get("items", [])) == self.per_target for t in r["results"])
            for r in results)


@dataclass
class Remediate(Scenario):
    """ActionTrail events of changes an operator (a RAM user, not Rolegate) made, one per run.

    ``case`` ``grant-tamper``: a system policy attached to a live grant's role
    (the function restores the grant); ``instance-role``: a role holding
    AdministratorAccess attached to an ECS instance (the function detaches
    it). ``prepare`` makes the change and takes its event from the emulator's
    ActionTrail feed; ``events`` of them are made per run.
    """

    case: str = "grant-tamper"
    events: int = 1
    owner: Creds = field(default_factory=dict)
    operator: Creds = field(default_factory=dict)
    partner: str = ""
    _events: list[dict[str, Any]] = field(default_factory=list)
    _floor: list[dict[str, Any]] = field(default_factory=list)

    def setup(self, emu: Emulator) -> None:
        from shared.policies.principals import ServicePrincipal

        self.owner = emu.create_account("owner")
        self.partner = emu.create_account("partner")["account_id"]
        self.operator = function_user(emu, self.owner, "ops", EVERYTHING)
        identity = function_user(emu, self.owner, "fc-remediate", repo_policy("remediate"))
        self.env = function_env(emu, identity, "remediate")
        self.context = FakeContext.of(self.owner["account_id"], "remediate", function_timeout("remediate"))
        if self.case == "instance-role":
            role_trusting(emu, self.owner, INSTANCE_ROLE, ServicePrincipal("ecs.aliyuncs.com"),
                          system_policy="AdministratorAccess")

    def prepare(self, emu: Emulator) -> None:
        seen = len(emu.admin("GET", "/_emulator/events")["events"])
        self._floor = []
        for _ in range(self.events):
            self._floor.append(self._tamper(emu) if self.case == "grant-tamper" else self._attach_instance_role(emu))
        wanted = "AttachPolicyToRole" if self.case == "grant-tamper" else "AttachInstanceRamRole"
        self._events = [e for e in emu.admin("GET", f"/_emulator/events?since={seen}")["events"]
                        if e["data"]["eventName"] == wanted
                        and e["data"]["userIdentity"].get("accessKeyId") == self.operator["access_key_id"]]
        assert len(self._events) == self.events, "the emulator did not deliver the change's event"

    def _tamper(self, emu: Emulator) -> dict[str, Any]:
        from alibabacloud_ram20150501 import models

        now = emu.now().replace(microsecond=0)
        grant = make_grant(self.owner["account_id"], self.partner, system=1, custom=0,
                           expires_at=now + timedelta(hours=1), created_at=now)
        create_grants(emu, self.owner, [grant])
        ram_client(emu, self.operator).attach_policy_to_role(models.AttachPolicyToRoleRequest(
            role_name=grant.role_name, policy_type="System", policy_name=EXTRA_POLICY))
        return {"case": self.case, "role_name": grant.role_name, "recorded": [[p.kind, p.name] for p in grant.policies]}

    def _attach_instance_role(self, emu: Emulator) -> dict[str, Any]:
        from alibabacloud_ecs20140526 import models

        instance = emu.admin("POST", "/_emulator/ecs/instances", {"account_id": self.owner["account_id"],
                                                                  "region": REGION})["instance_id"]
        ecs_client(emu, self.operator).attach_instance_ram_role(models.AttachInstanceRamRoleRequest(
            region_id=REGION, instance_ids=json.dumps([instance]), ram_role_name=INSTANCE_ROLE))
        return {"case": self.case, "instance_id": instance, "region": REGION}

    def handler_events(self) -> list[str]:
        return [dumps(event) for event in self._events]

    def floor_events(self) -> list[str]:
        return [dumps(event) for event in self._floor]

    def handler_ok(self, results: list[Any]) -> bool:
        return len(results) == self.events and all(
            isinstance(r, dict) and r.get("ok") and [d.get("outcome") for d in r.get("decisions", [])
                                                      if d.get("rule") == self.case] == ["remediated"]
            for r in results)


def quiet_setup(scenario: Scenario, emu: Emulator) -> None:
    with silenced():
        scenario.setup(emu)


@dataclass
class ChildRun:
    """What one fresh interpreter did: ``bench.child``'s report plus the calls the emulator served meanwhile."""

    kind: str
    import_ms: float
    invoke_ms: list[float]
    sdks_after_import: list[str]
    sdks_after_invoke: list[str]
    maxrss_kb: int
    results: list[Any]
    calls: list[dict[str, Any]]
    ok: bool
    stderr: str = ""
    reply_ms: float = float("nan")  # spawn to the first reply, timed by the parent
    cpu_ms: float = float("nan")  # the child's CPU time (all threads) from its start to the first reply

    @property
    def first_ms(self) -> float:
        """Import plus the first invocation: what a cold start costs the first caller."""
        return self.import_ms + (self.invoke_ms[0] if self.invoke_ms else 0.0)

    @property
    def products_called(self) -> set[str]:
        return {c["product"] for c in self.calls}


def run_child(emu: Emulator, scenario: Scenario, kind: str, *, timeout: float = 900,
              flags: tuple[str, ...] = (), runtime: Runtime | None = None,
              events: list[str] | None = None) -> ChildRun:
    """Run the scenario's handler (``kind="handler"``) or floor in a fresh interpreter (``flags``: Python's).

    ``events``: these of the scenario's events for ``kind`` rather than all of them, in order.

    Without ``runtime``: this interpreter, the repository on its path. With
    it: the runtime's interpreter, ``-I -S``, nothing on the path but the
    function's built package (the handler) or its stock-SDK package (the
    floor), started in that directory as Function Compute starts in /code.
    ``reply_ms`` is then spawn to the first invocation's reply, as the
    parent sees it.
    """
    assert scenario.context is not None, "setup() first"
    with silenced():
        scenario.prepare(emu)
    if events is None:
        events = scenario.handler_events() if kind == "handler" else scenario.floor_events()
    with tempfile.TemporaryDirectory(prefix="rolegate-bench-") as tmp:
        spec_path, out_path, err_path = Path(tmp, "spec.json"), Path(tmp, "out.json"), Path(tmp, "stderr")
        spec: dict[str, Any] = {"kind": kind, "module": f"functions.{scenario.function}.index",
                                "floor": scenario.floor, "events": events, "context": scenario.context.to_dict(),
                                "out": str(out_path)}
        if runtime is None:
            command, cwd, env = [PYTHON, *flags, "-m", "bench.child", str(spec_path)], REPO, base_env(**scenario.env)
        else:
            package = (runtime.handler if kind == "handler" else runtime.floor)[scenario.function]
            spec.update(path=[str(package)], module="index", floor_file=str(REPO / "bench" / "floors.py"))
            command = [runtime.python, *flags, "-I", "-S", str(REPO / "bench" / "child.py"), str(spec_path)]
            cwd, env = package, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": tmp, **scenario.env}
        spec_path.write_text(json.dumps(spec))
        mark = emu.mark()
        with open(err_path, "w+", encoding="utf-8") as err:
            started = time.perf_counter()
            child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
            assert child.stdout is not None
            line = child.stdout.readline()
            reply_ms = (time.perf_counter() - started) * 1000 if line.strip() == "replied" else float("nan")
            child.stdout.read()
            try:
                code = child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                raise
            err.seek(0)
            stderr = err.read()
        if code != 0 or not out_path.exists():
            raise RuntimeError(f"{scenario.name} {kind} child failed ({code}): {stderr[-2000:]}")
        report = json.loads(out_path.read_text())
    results = report["results"]
    ok = scenario.handler_ok(results) if kind == "handler" else scenario.floor_ok(results)
    return ChildRun(kind, report["import_ms"], report["invoke_ms"], report["sdks_after_import"],
                    report["sdks_after_invoke"], report["maxrss_kb"], results, emu.calls(mark), ok, stderr,
                    reply_ms, report["cpu_to_reply_ms"])


__all__ = ["ChildRun", "Onboard", "Query", "MANAGER_ROLE", "READER_ROLE", "Remediate", "Revoke", "Scenario",
           "dumps", "grant_body", "http_event", "quiet_setup", "run_child", "timer_event"]
