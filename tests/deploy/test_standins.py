"""The packages leave out the SDK's asynchronous, scheduling, websocket and RSA dependencies (shared.standins).

Each packaged handler runs in a clean interpreter (only ``build/<fn>`` and the
standard library) against the emulator, through the official SDK clients,
doing the work it is deployed for -- so every product call it makes goes
through the SDK with the stand-ins in place -- and reports what it loaded:
of the stood-in modules, only stand-ins, and not one file of them. A stand-in
that is used raises a :class:`~shared.standins.StandInUsed` naming the module.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from emulator import EmulatorServer
from shared import standins
from tests.deploy.behaviours import EXTERNAL_ID, WEBHOOK_SECRET, Cell, _lab
from tests.deploy.test_package import Built, built  # noqa: F401  (the packages, built once per session)
from tests.functions.conftest import function_policy as policy
from tests.functions.conftest import http_event, signature_headers

RUNNER = r"""
import importlib, json, sys, types
build, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, build)
request = json.load(sys.stdin)
handler = importlib.import_module("index").handler
ns = types.SimpleNamespace
ctx = ns(request_id="1-standins", region="cn-hangzhou", account_id=request["account_id"],
         function=ns(name=request["function"], handler="index.handler", memory=512, timeout=120))
answers = []
for event in request["events"]:
    try:
        answers.append({"result": handler(json.dumps(event).encode(), ctx)})
    except Exception as exc:
        answers.append({"raised": type(exc).__name__, "message": str(exc)})
from shared import standins
stood_in = tuple(standins.MODULES)
files = sorted({getattr(m, "__file__", None) or "" for n, m in list(sys.modules.items())
                if n.split(".", 1)[0] in stood_in} - {""})
with open(out, "w") as f:
    json.dump({"answers": answers, "loaded": standins.loaded(), "files": files}, f)
"""

ENV = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "FC_ACCOUNT_ID", "FC_REGION",
       "ROLEGATE_ENDPOINT", "ROLEGATE_RETRY_BASE_MS", "ROLEGATE_RETRY_CAP_MS", "ROLEGATE_WEBHOOK_SECRET",
       "ROLEGATE_RECORD_KEY_SECRET", "ROLEGATE_MEMBERS")


def run_packaged(built: Built, cell: Cell, events: list[Any], tmp_path: Path) -> list[dict[str, Any]]:
    """The events, one after another, to ``cell``'s function from its package; the answers.

    Also asserts what the interpreter loaded: every stood-in module it imported is a stand-in, none a file.
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           **{name: os.environ[name] for name in ENV if name in os.environ}}
    out = tmp_path / f"standins-{cell.function}.json"
    request = {"events": events, "function": cell.function, "account_id": cell.home["account_id"]}
    done = subprocess.run([built.python, "-I", "-S", "-c", RUNNER, str(built.out / cell.function), str(out)],
                          input=json.dumps(request), capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["loaded"] and all(report["loaded"].values()), report["loaded"]  # the SDK imported them: stand-ins
    assert report["files"] == []
    for answer in report["answers"]:
        assert "raised" not in answer, answer
    return [answer["result"] for answer in report["answers"]]


def signed(method: str, path: str, body: Any = None) -> dict[str, Any]:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if raw else {}
    return http_event(method, path, raw or None, headers={**headers, **signature_headers(method, path, raw, secret=WEBHOOK_SECRET)})


# ------------------------------------------------------------------ the packages
def test_the_packages_hold_none_of_the_stood_in_distributions(built: Built) -> None:
    """Neither the stood-in modules nor what only they need (yarl, multidict, cffi...) are shipped."""
    for entry in built.report.packages:
        root = Path(entry.path)
        shipped = {p.name for p in root.iterdir()}
        assert not shipped & set(standins.MODULES), entry.name
        for only_theirs in ("yarl", "multidict", "frozenlist", "aiosignal", "cffi", "pycparser", "tzlocal"):
            assert only_theirs not in shipped, (entry.name, only_theirs)
        assert {"requests", "urllib3", "certifi", "Tea", "darabonba", "attrs"} <= shipped, entry.name


# ------------------------------------------------------------------ the handlers
def test_onboard_create_list_delete_from_its_package(built: Built, emulator: EmulatorServer,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Webhook key from KMS, record key, CreateRole, CreatePolicy, attachments; listing; revocation."""
    cell = Cell(emulator, monkeypatch, "onboard").deploy(policy("onboard"))
    body = {"partner_account_id": cell.partner["account_id"],
            "principal": {"type": "account", "external_id": EXTERNAL_ID},
            "policies": [{"name": "AliyunECSReadOnlyAccess"},
                         {"document": {"Version": "1", "Statement": [
                             {"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}}],
            "duration_seconds": 86400}
    created, = run_packaged(built, cell, [signed("POST", "/grants", body)], tmp_path)
    assert created["statusCode"] == 201, created
    grant = json.loads(created["body"])
    assert len(cell.attached(grant["role_name"])) == 2
    listed, deleted = run_packaged(built, cell, [signed("GET", "/grants"),
                                                 signed("DELETE", f"/grants/{grant['grant_id']}")], tmp_path)
    assert listed["statusCode"] == 200 and grant["grant_id"] in listed["body"]
    assert deleted["statusCode"] in (200, 204), deleted
    assert cell.attached(grant["role_name"]) == set()  # revoked (a tombstone role may stay, holding nothing)


def test_revoke_sweeps_its_own_and_a_member_account_from_its_package(built: Built, emulator: EmulatorServer,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """ListRoles, detachments, DeletePolicy, DeleteRole, ListPolicies; AssumeRole into a member as a hub."""
    from tests.functions.revoke_support import HUB_REVOKE_POLICY, Owner, manager_role

    cell = Cell(emulator, monkeypatch, "revoke").deploy(HUB_REVOKE_POLICY)
    grant = cell.grant(60, custom=True)
    member = Owner(emulator, dict(emulator.create_account("member")), cell.partner["account_id"], cell.owner)
    manager_role(member, cell.owner["account_id"])
    expired = member.grant(60)
    emulator.advance_clock(120)
    monkeypatch.setenv("ROLEGATE_MEMBERS", member.account_id)
    event = {"triggerTime": "2026-03-01T00:10:00Z", "triggerName": "revoke-timer", "payload": "{}"}
    summary, = run_packaged(built, cell, [event], tmp_path)
    assert summary["ok"] is True and summary["revoked"] == 2, summary
    assert grant.role_name not in cell.roles() and expired.role_name not in member.role_names()


def test_query_lists_functions_and_services_from_its_package(built: Built, emulator: EmulatorServer,
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AssumeRole, FC 3.0 ListFunctions and FC 2.0 ListServices through the packaged SDKs."""
    from tests.functions.conftest import Account
    from tests.functions.query_support import make_functions, trusting_role

    cell = Cell(emulator, monkeypatch, "query").deploy(policy("query"))
    owner = Account(cell.owner["account_id"], cell.owner)
    role_arn = trusting_role(emulator, owner, cell.partner["account_id"], "rolegate-b-fc-read",
                             external_id=EXTERNAL_ID)
    make_functions(emulator, owner, ["billing", "orders"])
    target = {"account_id": cell.owner["account_id"], "role_arn": role_arn, "external_id": EXTERNAL_ID}
    events = [http_event("POST", "/", json.dumps({"targets": [target]}).encode(),
                         headers={"Content-Type": "application/json"}),
              http_event("POST", "/", json.dumps({"targets": [target], "resource": "services"}).encode(),
                         headers={"Content-Type": "application/json"})]
    functions, services = run_packaged(built, cell, events, tmp_path)
    assert functions["statusCode"] == 200, functions
    results = json.loads(functions["body"])["results"]
    assert results[0]["ok"] is True and sorted(i["name"] for i in results[0]["items"]) == ["billing", "orders"]
    assert services["statusCode"] in (200, 400), services  # 400 only if the request shape differs: still answered
    if services["statusCode"] == 200:
        assert json.loads(services["body"])["results"][0]["ok"] is True, services


def test_remediate_restores_a_grant_and_an_instance_from_its_package(built: Built, emulator: EmulatorServer,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """GetCallerIdentity, GetRole, ListTagResources, ListPoliciesForRole, AttachPolicyToRole; ECS
    DescribeInstanceRamRole and DetachInstanceRamRole."""
    from tests.emulator.helpers import create_instance, service_trust

    cell = Cell(emulator, monkeypatch, "remediate").deploy(policy("remediate"))
    lab = _lab(cell)
    grant = cell.grant(3600)
    tampered = lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")
    lab.role("EcsAdmin", service_trust(), policies=(("System", "AdministratorAccess"),))
    instance = create_instance(emulator, cell.owner["account_id"])
    handed = lab.attach_instance_role(instance, "EcsAdmin")
    restored, detached = run_packaged(built, cell, [tampered, handed], tmp_path)
    for reply, rule in ((restored, "grant-tamper"), (detached, "instance-role")):
        decisions = [d for d in reply["decisions"] if d.get("rule") == rule]
        assert decisions and all(d["outcome"] == "remediated" for d in decisions) and not reply["errors"], reply
    assert cell.attached(grant.role_name) == {"AliyunECSReadOnlyAccess"}
    assert lab.instance_role(instance) is None


# ------------------------------------------------------------------ the loud failure
def stand_in(name: str) -> Any:
    """A stand-in module made by the finder, without putting it in sys.modules (the real one is installed here)."""
    import importlib.util

    spec = standins.FINDER.find_spec(name)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_finder_answers_only_for_the_stood_in_names_and_comes_last() -> None:
    assert standins.FINDER in __import__("sys").meta_path
    import sys

    assert sys.meta_path[-1] is standins.FINDER or sys.meta_path.index(standins.FINDER) > 0
    assert standins.FINDER.find_spec("requests") is None and standins.FINDER.find_spec("aiohttpx") is None
    assert standins.FINDER.find_spec("apscheduler.schedulers.background") is not None
    import aiohttp  # installed in this environment: the real module wins over the stand-in

    assert not standins.is_stand_in(aiohttp)


def test_a_module_body_may_name_what_it_imports() -> None:
    """Attribute chains, annotations and submodules of a stand-in import without touching anything."""
    aiohttp = stand_in("aiohttp")
    annotation = aiohttp.ClientSession
    assert "stand-in for aiohttp.ClientSession" in repr(annotation)
    assert repr(stand_in("websocket._abnf").ABNF.OPCODE_TEXT) == "<stand-in for websocket._abnf.ABNF.OPCODE_TEXT>"
    with pytest.raises(AttributeError):
        aiohttp.__version__  # dunders are absent: probing code sees a module without them


def subclass(m: Any) -> None:
    class Response(m.ClientResponse):  # type: ignore[misc]
        pass


def enter(m: Any) -> None:
    with m.ClientTimeout(total=1):
        pass


@pytest.mark.parametrize("use", [
    lambda m: m.ClientSession(),
    lambda m: m.TCPConnector(limit=4),
    subclass,
    enter,
    lambda m: iter(m.hdrs.ACCEPT),
    lambda m: m.client_exceptions.ClientError["x"],
])
def test_using_a_stand_in_fails_loudly_and_says_what_to_do(use: Any) -> None:
    aiohttp = stand_in("aiohttp")
    with pytest.raises(standins.StandInUsed) as info:
        use(aiohttp)
    message = str(info.value)
    assert "'aiohttp' is not part of this function's code package" in message
    assert "shared.standins.MODULES" in message and info.value.what.startswith("aiohttp.")


def test_an_sdk_reaching_for_a_stood_in_module_fails_loudly() -> None:
    """What an SDK path that needs one would meet: the ECS-metadata credential refresher's scheduler."""
    scheduler = stand_in("apscheduler.schedulers.background")
    with pytest.raises(standins.StandInUsed, match="apscheduler.schedulers.background.BackgroundScheduler"):
        scheduler.BackgroundScheduler()
    crypto = stand_in("cryptography.hazmat.primitives.serialization")
    with pytest.raises(standins.StandInUsed, match="'APScheduler'|'cryptography'"):
        crypto.load_pem_private_key(b"-----BEGIN PRIVATE KEY-----", password=None)
