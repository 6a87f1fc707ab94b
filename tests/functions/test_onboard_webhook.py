"""The onboarding function end to end against the emulator, running as a RAM user holding deploy/policies/onboard.json.

Every refusal and failure is checked against the owner account's RAM state
(roles, attachments, custom policies read with the root key): nothing new
may be left behind.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest
import yaml
from alibabacloud_fc20230330 import models as fc3_models
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts_models
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from Tea.exceptions import TeaException

from functions.onboard import index
from shared.grants.lifecycle import derive_grant_id
from tests.emulator.helpers import account_trust, create_role, fc3_client, ram_client, sts_client
from tests.functions.conftest import REPO, Account, FakeContext, Partner, Webhook, ram_snapshot

FC_READ = {"name": "AliyunFCReadOnlyAccess"}
CUSTOM_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["fc:GetFunction", "fc:ListFunctions"],
                                             "Resource": "*"}]}
EMPTY_ZIP = base64.b64encode(b"PK\x05\x06" + b"\x00" * 18).decode()
SPEC = yaml.safe_load((REPO / "functions" / "onboard" / "openapi.yaml").read_text())
SPEC_REGISTRY = Registry().with_resource("urn:rolegate:onboard", Resource.from_contents(SPEC, DRAFT202012))


def conforms(body: Any, schema: str) -> None:
    """Assert ``body`` matches a component schema of the OpenAPI description."""
    validator = Draft202012Validator({"$ref": f"urn:rolegate:onboard#/components/schemas/{schema}"},
                                     registry=SPEC_REGISTRY)
    errors = list(validator.iter_errors(body))
    assert not errors, [e.message for e in errors]


@pytest.fixture
def hook(fc_env: Any, fc_context: FakeContext) -> Webhook:
    """The deployed handler, with a fresh replay cache, as FC would call it."""
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    return Webhook(index.handler, fc_context)


def grant_body(partner: Partner, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"partner_account_id": partner.account_id, "principal": {"type": "user", "name": "Alice"},
                            "policies": [FC_READ], "duration_seconds": 7200, "requester": "ops@company-a.example",
                            "ticket": "CHG-1001"}
    body.update(changes)
    return body


def assume(emulator: Any, creds: dict[str, Any], role_arn: str, external_id: str | None = None) -> dict[str, Any]:
    request = sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name="alice-at-b",
                                           duration_seconds=900, external_id=external_id)
    sts = sts_client(emulator, creds).assume_role(request).body.credentials
    return {"access_key_id": sts.access_key_id, "access_key_secret": sts.access_key_secret,
            "security_token": sts.security_token}


# ------------------------------------------------------------------ happy path
def test_create_lets_alice_in_and_delete_shuts_her_out(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner) -> None:
    """201 with the role and how to assume it; Alice assumes it and reads FC; after DELETE she cannot."""
    fc3_client(emulator, owner.root).create_function(fc3_models.CreateFunctionRequest(body=fc3_models.CreateFunctionInput(
        function_name="orders-api", runtime="python3.10", handler="index.handler",
        code=fc3_models.InputCodeLocation(zip_file=EMPTY_ZIP))))
    reply = hook.call("POST", "/grants", grant_body(partner))
    assert reply.status == 201, reply.json
    conforms(reply.json, "Grant")
    grant = reply.json
    assert grant["role_arn"] == f"acs:ram::{owner.account_id}:role/{grant['role_name']}"
    assert grant["assume_role"]["RoleArn"] == grant["role_arn"]
    assert grant["assume_role"]["DurationSeconds"] == {"Min": 900, "Max": 3600}
    assert "ExternalId" not in grant["assume_role"]
    assert grant["trust_policy"]["Statement"][0]["Principal"] == {
        "RAM": [f"acs:ram::{partner.account_id}:user/Alice"]}
    assert ram_snapshot(emulator, owner)["roles"][grant["role_name"]] == ["System:AliyunFCReadOnlyAccess"]

    session = assume(emulator, partner.alice, grant["role_arn"])
    identity = sts_client(emulator, session).get_caller_identity().body
    assert identity.account_id == owner.account_id and grant["role_name"].lower() in identity.arn.lower()
    listed = fc3_client(emulator, session).list_functions(fc3_models.ListFunctionsRequest()).body
    assert [f.function_name for f in listed.functions] == ["orders-api"]
    with pytest.raises(TeaException):  # read-only: the grant's policy does not let her delete
        fc3_client(emulator, session).delete_function("orders-api")

    deleted = hook.call("DELETE", f"/grants/{grant['grant_id']}")
    assert deleted.status == 200
    conforms(deleted.json, "RevokeResult")
    assert deleted.json["tombstoned"] is True and deleted.json["role_deleted"] is False
    assert deleted.json["detached"] == ["AliyunFCReadOnlyAccess"]
    with pytest.raises(TeaException) as refused:  # the session she holds has not expired, but is worth nothing
        fc3_client(emulator, session).list_functions(fc3_models.ListFunctionsRequest())
    assert refused.value.code == "NoPermission"
    with pytest.raises(TeaException):
        assume(emulator, partner.alice, grant["role_arn"])
    # The role stays as a tombstone, powerless, until a replay of the create could no longer be accepted.
    after = hook.call("GET", f"/grants/{grant['grant_id']}")
    assert after.status == 200 and after.json["status"] == "revoked" and after.json["revoked_at"]
    assert ram_snapshot(emulator, owner)["roles"][grant["role_name"]] == []


def test_create_makes_only_the_calls_the_grant_needs(emulator: Any, hook: Webhook, partner: Partner) -> None:
    """Without an idempotency key: CreateRole, then one attach per policy; a retry adds no lookup either."""
    since = emulator.calls()[-1]["seq"] if emulator.calls() else 0
    assert hook.call("POST", "/grants", grant_body(partner)).status == 201
    actions = [c["action"] for c in emulator.calls(since) if c["product"] == "ram"]
    assert actions == ["CreateRole", "AttachPolicyToRole"]
    since = emulator.calls()[-1]["seq"]
    assert hook.call("POST", "/grants", grant_body(partner)).status == 200
    assert [c["action"] for c in emulator.calls(since) if c["product"] == "ram"][0] == "CreateRole"


def test_a_requester_named_by_its_arn_is_granted_and_kept(emulator: Any, hook: Webhook, owner: Account,
                                                         partner: Partner) -> None:
    """RAM refuses tag values starting with acs:, so an ARN requester is recorded, not tagged readably."""
    requester = f"acs:ram::{owner.account_id}:user/ops-lead"
    reply = hook.call("POST", "/grants", grant_body(partner, requester=requester))
    assert reply.status == 201, reply.json
    assert hook.call("GET", f"/grants/{reply.json['grant_id']}").json["requester"] == requester


@pytest.mark.parametrize(("site", "host"), [(None, "signin.aliyun.com"), ("international", "signin.alibabacloud.com")])
def test_the_console_sign_in_page_is_the_sites(hook: Webhook, owner: Account, partner: Partner,
                                               monkeypatch: pytest.MonkeyPatch, site: str | None, host: str) -> None:
    """A user grant says where the partner's user signs in (the deployment's site) and what to switch to."""
    if site is not None:
        monkeypatch.setenv("ROLEGATE_SITE", site)
    grant = hook.call("POST", "/grants", grant_body(partner)).json
    assert grant["assume_role"]["Console"] == {
        "SigninUrl": f"https://{host}/login.htm",
        "SwitchRole": {"Account": owner.account_id, "RoleName": grant["role_name"]}}
    conforms(grant, "Grant")


def test_account_principal_needs_the_external_id_it_was_granted_with(emulator: Any, hook: Webhook,
                                                                    partner: Partner) -> None:
    """Trusting B's root with an ExternalId: Alice gets in with it, not without it."""
    body = grant_body(partner, principal={"type": "account", "external_id": "b-onboarding-7f3a"})
    grant = hook.call("POST", "/grants", body).json
    assert grant["assume_role"]["ExternalId"] == "b-onboarding-7f3a"
    assert assume(emulator, partner.alice, grant["role_arn"], "b-onboarding-7f3a")["security_token"]
    with pytest.raises(TeaException):
        assume(emulator, partner.alice, grant["role_arn"])


def test_custom_policy_is_created_attached_and_removed_with_the_grant(emulator: Any, hook: Webhook, owner: Account,
                                                                     partner: Partner) -> None:
    """A custom document becomes a grant-named policy; revoking deletes it again (the role stays, empty)."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", grant_body(partner, policies=[{"document": CUSTOM_DOC}]))
    assert reply.status == 201, reply.json
    name = reply.json["policies"][0]["name"]
    after = ram_snapshot(emulator, owner)
    assert after["policies"] == sorted(before["policies"] + [name])
    assert after["roles"][reply.json["role_name"]] == [f"Custom:{name}"]
    revoked = hook.call("DELETE", f"/grants/{reply.json['grant_id']}").json
    assert revoked["deleted_policies"] == [name] and revoked["tombstoned"] is True
    tombstone = ram_snapshot(emulator, owner)
    assert tombstone["policies"] == before["policies"] and tombstone["roles"][reply.json["role_name"]] == []


def test_get_and_list_show_the_grant(hook: Webhook, partner: Partner) -> None:
    """GET returns the same view as the create; the list filters by partner and covers every grant."""
    made = [hook.call("POST", "/grants", grant_body(partner, principal={"type": "user", "name": f"user{i}"})).json
            for i in range(3)]
    got = hook.call("GET", f"/grants/{made[0]['grant_id']}")
    assert got.status == 200 and got.json == made[0]
    listing = hook.call("GET", "/grants", query={"partner": partner.account_id})
    conforms(listing.json, "GrantList")
    assert listing.json["count"] == 3
    assert {g["grant_id"] for g in listing.json["grants"]} == {g["grant_id"] for g in made}
    other = hook.call("GET", "/grants", query={"partner": "1000000000000001"})
    assert other.json == {"grants": [], "count": 0}


def test_list_reads_every_page(emulator: Any, hook: Webhook, owner: Account, partner: Partner,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With a page size of 2, five grants still all come back."""
    monkeypatch.setattr("shared.ram.LIST_PAGE", 2)
    for i in range(5):
        assert hook.call("POST", "/grants", grant_body(partner, principal={"type": "user", "name": f"u{i}"})).status \
            == 201
    assert hook.call("GET", "/grants").json["count"] == 5


# ------------------------------------------------------------------ idempotency
def test_retry_with_the_same_key_returns_the_same_grant_with_200(emulator: Any, hook: Webhook, owner: Account,
                                                                 partner: Partner) -> None:
    """Same idempotency key, new signature: 200, the same body, no second role."""
    body = grant_body(partner, idempotency_key="onboard-b-1")
    first = hook.call("POST", "/grants", body)
    state = ram_snapshot(emulator, owner)
    second = hook.call("POST", "/grants", body)  # a retry, signed anew
    assert (first.status, second.status) == (201, 200)
    assert second.json == first.json
    assert ram_snapshot(emulator, owner) == state


def test_idempotency_key_from_the_header_matches_the_body_key(hook: Webhook, partner: Partner) -> None:
    """Idempotency-Key header and idempotency_key body field name the same grant."""
    first = hook.call("POST", "/grants", grant_body(partner), headers={"Idempotency-Key": "k-77"})
    second = hook.call("POST", "/grants", grant_body(partner, idempotency_key="k-77"))
    assert (first.status, second.status) == (201, 200)
    assert first.json["grant_id"] == second.json["grant_id"]


def test_same_key_with_different_content_is_409(emulator: Any, hook: Webhook, owner: Account,
                                                partner: Partner) -> None:
    """A reused key with other content is a conflict; the existing grant is untouched."""
    hook.call("POST", "/grants", grant_body(partner, idempotency_key="dup-1"))
    state = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", grant_body(partner, idempotency_key="dup-1",
                                                     principal={"type": "user", "name": "Bob"}))
    assert (reply.status, reply.json["error"]["code"]) == (409, "GrantConflict")
    assert ram_snapshot(emulator, owner) == state


def test_identical_content_without_a_key_converges(emulator: Any, hook: Webhook, owner: Account,
                                                   partner: Partner) -> None:
    """No key: the content itself is the identity, so a resent create answers 200 with the grant."""
    first = hook.call("POST", "/grants", grant_body(partner))
    second = hook.call("POST", "/grants", grant_body(partner, duration_seconds=3600))
    assert (first.status, second.status) == (201, 200)
    assert second.json["expires_at"] == first.json["expires_at"]
    assert len(ram_snapshot(emulator, owner)["roles"]) == 1


def test_concurrent_identical_creates_make_one_role(emulator: Any, hook: Webhook, owner: Account,
                                                    partner: Partner) -> None:
    """Four threads sending the same grant at once: one 201, the rest 200, one role, all the same id."""
    body = grant_body(partner, policies=[FC_READ, {"name": "AliyunECSReadOnlyAccess"}])
    events = [hook.event("POST", "/grants", body) for _ in range(4)]  # four senders, four signatures
    replies: list[Any] = [None] * 4

    def send(i: int) -> None:
        replies[i] = hook.send(events[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [200, 200, 200, 201], [r.json for r in replies]
    assert len({r.json["grant_id"] for r in replies}) == 1
    roles = ram_snapshot(emulator, owner)["roles"]
    assert list(roles.values()) == [["System:AliyunECSReadOnlyAccess", "System:AliyunFCReadOnlyAccess"]]


# ------------------------------------------------------------------ dry run
def test_dry_run_returns_the_plan_and_creates_nothing(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner) -> None:
    """200 with the CreateRole/CreatePolicy/Attach calls it would make; RAM is unchanged."""
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", grant_body(partner, dry_run=True,
                                                     policies=[FC_READ, {"document": CUSTOM_DOC}]))
    assert reply.status == 200, reply.json
    conforms(reply.json, "CreatePlan")
    assert reply.json["dry_run"] is True and reply.json["exists"] is False
    assert [c["action"] for c in reply.json["plan"]] == ["CreateRole", "CreatePolicy", "AttachPolicyToRole",
                                                       "AttachPolicyToRole"]
    assert reply.json["plan"][0]["RoleName"] == reply.json["role_name"]
    assert ram_snapshot(emulator, owner) == before
    real = hook.call("POST", "/grants", grant_body(partner, policies=[FC_READ, {"document": CUSTOM_DOC}]))
    assert real.status == 201 and real.json["grant_id"] == reply.json["grant_id"]


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("change,status,code", [
    ({"policies": [{"name": "AdministratorAccess"}]}, 403, "PolicyDenied"),
    ({"policies": [{"document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*",
                                                                 "Resource": "*"}]}}]}, 403, "PolicyDocumentRefused"),
    ({"principal": {"type": "account"}}, 403, "ExternalIdRequired"),
    ({"principal": {"type": "user", "name": "Alice", "external_id": "x1"}}, 400, "InvalidInput"),
    ({"duration_seconds": 60}, 422, "ExpiryOutOfRange"),
    ({"duration_seconds": None, "expires_at": "2001-01-01T00:00:00Z"}, 422, "ExpiryInPast"),
    ({"role_name": "AliyunServiceRoleForFC"}, 400, "InvalidInput"),
    ({"role_name": "Rolegate-audit"}, 400, "InvalidInput"),
    ({"principal": {"type": "saml", "provider": "idp"}, "policies": [{"name": "AliyunECSReadOnlyAccess"}]},
     403, "PolicyNotAllowed"),
])
def test_refused_creates_leave_ram_untouched(emulator: Any, hook: Webhook, owner: Account, partner: Partner,
                                             change: dict[str, Any], status: int, code: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refusal class answers its status and code, and the owner's RAM holds nothing new."""
    monkeypatch.setenv("ROLEGATE_ALLOWED_POLICIES", "AliyunFCReadOnlyAccess,AliyunOSSReadOnlyAccess")
    before = ram_snapshot(emulator, owner)
    body = {k: v for k, v in grant_body(partner, **change).items() if v is not None}
    reply = hook.call("POST", "/grants", body)
    assert (reply.status, reply.json["error"]["code"]) == (status, code), reply.json
    conforms(reply.json, "Error")
    assert ram_snapshot(emulator, owner) == before


@pytest.mark.parametrize("method,path,kwargs,status,code", [
    ("POST", "/grants", {"content_type": "text/plain"}, 415, "UnsupportedMediaType"),
    ("PUT", "/grants", {}, 405, "MethodNotAllowed"),
    ("POST", "/grants/g-aaaaaaaaaaaa/keys", {}, 404, "NotFound"),
    ("POST", "/grants", {"query": {"dry_run": "false"}}, 400, "InvalidInput"),
])
def test_transport_refusals_leave_ram_untouched(emulator: Any, hook: Webhook, owner: Account, partner: Partner,
                                                method: str, path: str, kwargs: dict[str, Any], status: int,
                                                code: str) -> None:
    """Wrong media type, method, path or a query on a mutation: refused, and no RAM call was made."""
    before, calls = ram_snapshot(emulator, owner), len(emulator.calls())
    reply = hook.call(method, path, grant_body(partner), **kwargs)
    assert (reply.status, reply.json["error"]["code"]) == (status, code)
    assert len(emulator.calls()) == calls and ram_snapshot(emulator, owner) == before


def test_oversized_body_is_413_before_anything_else(emulator: Any, hook: Webhook, owner: Account,
                                                    partner: Partner, monkeypatch: pytest.MonkeyPatch) -> None:
    """A body over ROLEGATE_MAX_BODY_BYTES is refused even when validly signed; RAM is untouched."""
    monkeypatch.setenv("ROLEGATE_MAX_BODY_BYTES", "2048")
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", grant_body(partner, description="d" * 3000))
    assert (reply.status, reply.json["error"]["code"]) == (413, "PayloadTooLarge")
    assert ram_snapshot(emulator, owner) == before


def test_success_is_logged_once_with_what_was_created(hook: Webhook, partner: Partner,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The request's log line names the decision, grant, partner and the resources made."""
    reply = hook.call("POST", "/grants", grant_body(partner, policies=[{"document": CUSTOM_DOC}]))
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    request_lines = [x for x in lines if x["event"] == "onboard_request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert (line["status"], line["decision"], line["grant_id"], line["partner"]) == \
        (201, "created", reply.json["grant_id"], partner.account_id)
    assert line["created"] == [reply.json["role_name"], reply.json["policies"][0]["name"]]
    assert {x["request_id"] for x in lines} == {hook.context.request_id}


def test_refused_custom_document_reports_the_findings(hook: Webhook, partner: Partner) -> None:
    """The 403 names the document and carries the linter's high/critical findings."""
    doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:*", "Resource": "*"}]}
    reply = hook.call("POST", "/grants", grant_body(partner, policies=[FC_READ, {"document": doc}]))
    error = reply.json["error"]
    assert error["field"] == "policies[1].document"
    assert "RG130" in {f["id"] for f in error["findings"]}


@pytest.mark.parametrize("kind", ["signature", "stale", "future", "tampered"])
def test_unauthenticated_requests_leave_ram_untouched(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner, kind: str) -> None:
    """Wrong secret, stale or future timestamp, or a body changed after signing: 401 and nothing created."""
    before = ram_snapshot(emulator, owner)
    body = grant_body(partner)
    if kind == "signature":
        event = hook.event("POST", "/grants", body, secret="not-the-webhook-secret-at-all")
    elif kind in ("stale", "future"):
        event = hook.event("POST", "/grants", body, timestamp=int(time.time()) + (-400 if kind == "stale" else 400))
    else:
        event = hook.event("POST", "/grants", body)
        event["body"] = event["body"].replace("AliyunFCReadOnlyAccess", "AliyunECSFullAccess")
    reply = hook.send(event)
    assert reply.status == 401 and reply.json["error"]["code"] in ("SignatureMismatch", "SignatureExpired")
    assert ram_snapshot(emulator, owner) == before


def test_signature_freshness_uses_real_time_not_the_emulator_clock(emulator: Any, hook: Webhook,
                                                                   partner: Partner) -> None:
    """With the emulator's clock a week ahead, a request signed now is accepted and expiry follows cloud time."""
    emulator.advance_clock(7 * 86400)
    reply = hook.call("POST", "/grants", grant_body(partner))
    assert reply.status == 201
    created = reply.json["created_at"]
    cloud_now = emulator.admin("GET", "/_emulator/clock")["now"]
    assert created[:10] == cloud_now[:10]


def test_exact_replay_of_a_create_is_refused_and_changes_nothing(emulator: Any, hook: Webhook, owner: Account,
                                                                 partner: Partner) -> None:
    """The same signed event delivered twice: the second is 409 Replayed."""
    event = hook.event("POST", "/grants", grant_body(partner))
    assert hook.send(event).status == 201
    state = ram_snapshot(emulator, owner)
    replay = hook.send(event)
    assert (replay.status, replay.json["error"]["code"]) == (409, "Replayed")
    assert ram_snapshot(emulator, owner) == state


def test_replay_reaching_another_instance_converges_on_the_same_grant(emulator: Any, hook: Webhook,
                                                                      owner: Account, partner: Partner) -> None:
    """A fresh instance (empty replay cache) given the replay answers 200 with the existing grant."""
    event = hook.event("POST", "/grants", grant_body(partner))
    first = hook.send(event)
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    second = hook.send(event)
    assert (first.status, second.status) == (201, 200) and second.json["grant_id"] == first.json["grant_id"]
    assert len(ram_snapshot(emulator, owner)["roles"]) == 1


def test_role_name_taken_by_an_unmanaged_role_is_409(emulator: Any, hook: Webhook, owner: Account,
                                                     partner: Partner) -> None:
    """An existing role that Rolegate did not make is never adopted or changed."""
    create_role(emulator, owner.root, "rolegate-partner-b", account_trust(partner.account_id))
    before = ram_snapshot(emulator, owner)
    reply = hook.call("POST", "/grants", grant_body(partner, role_name="rolegate-partner-b"))
    assert (reply.status, reply.json["error"]["field"]) == (409, "role_name")
    assert ram_snapshot(emulator, owner) == before


# ------------------------------------------------------------------ cloud faults
def test_cloud_failure_mid_create_is_503_with_request_id_and_rolls_back(emulator: Any, hook: Webhook,
                                                                        owner: Account, partner: Partner) -> None:
    """AttachPolicyToRole failing every retry: 503 retryable with the cloud request id; the role is gone again."""
    before = ram_snapshot(emulator, owner)
    emulator.add_fault(kind="error", action="AttachPolicyToRole", code="InternalError", status=500, times=10)
    reply = hook.call("POST", "/grants", grant_body(partner))
    error = reply.json["error"]
    assert reply.status == 503, reply.json
    assert error["retryable"] is True and error["request_id"] and error["action"] == "AttachPolicyToRole"
    assert error["details"]["rolled_back"] is True
    assert "Traceback" not in str(reply.raw)
    emulator.clear_faults()
    assert ram_snapshot(emulator, owner) == before
    assert hook.call("POST", "/grants", grant_body(partner)).status == 201


def test_final_cloud_refusal_is_502_and_not_retryable(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner) -> None:
    """A 4xx from the cloud (e.g. a quota) is a 502 without retryable, after the rollback."""
    before = ram_snapshot(emulator, owner)
    emulator.add_fault(kind="error", action="AttachPolicyToRole", code="LimitExceeded.Policy", status=409, times=1)
    reply = hook.call("POST", "/grants", grant_body(partner))
    assert reply.status == 502 and "retryable" not in reply.json["error"]
    assert reply.json["error"]["cloud_code"] == "LimitExceeded.Policy"
    assert ram_snapshot(emulator, owner) == before


# ------------------------------------------------------------------ PATCH / DELETE
def test_patch_extends_and_shortens_within_limits(emulator: Any, hook: Webhook, partner: Partner) -> None:
    """expires_at moves later and earlier; GET shows the new value; limits still apply."""
    grant = hook.call("POST", "/grants", grant_body(partner)).json
    path = f"/grants/{grant['grant_id']}"
    longer = hook.call("PATCH", path, {"duration_seconds": 30 * 86400})
    assert longer.status == 200 and longer.json["expires_at"] > grant["expires_at"]
    shorter = hook.call("PATCH", path, {"expires_at": grant["expires_at"]})
    assert shorter.status == 200 and shorter.json["expires_at"] == grant["expires_at"]
    assert hook.call("GET", path).json["expires_at"] == grant["expires_at"]
    too_long = hook.call("PATCH", path, {"duration_seconds": 365 * 86400})
    assert (too_long.status, too_long.json["error"]["code"]) == (422, "ExpiryOutOfRange")
    past = hook.call("PATCH", path, {"expires_at": "2001-01-01T00:00:00Z"})
    assert (past.status, past.json["error"]["code"]) == (422, "ExpiryInPast")


def test_patch_dry_run_changes_nothing(hook: Webhook, partner: Partner) -> None:
    """A PATCH dry run answers the would-be grant and one planned TagResources call."""
    grant = hook.call("POST", "/grants", grant_body(partner)).json
    path = f"/grants/{grant['grant_id']}"
    plan = hook.call("PATCH", path, {"duration_seconds": 86400, "dry_run": True})
    assert plan.status == 200 and [c["action"] for c in plan.json["plan"]] == ["TagResources"]
    conforms(plan.json, "UpdatePlan")
    assert hook.call("GET", path).json["expires_at"] == grant["expires_at"]


def test_patch_and_delete_of_unknown_grants_are_404(hook: Webhook) -> None:
    """Unknown ids are 404 for every method."""
    for method, body in (("GET", None), ("PATCH", {"duration_seconds": 3600}), ("DELETE", None)):
        reply = hook.call(method, "/grants/g-aaaaaaaaaaaa", body)
        assert (reply.status, reply.json["error"]["code"]) == (404, "NotFound"), method


def test_delete_twice_is_already_gone_never_5xx(emulator: Any, hook: Webhook, owner: Account,
                                                partner: Partner) -> None:
    """A second DELETE (new signature, or another instance replaying) finds the tombstone: 200, already gone."""
    grant = hook.call("POST", "/grants", grant_body(partner)).json
    event = hook.event("DELETE", f"/grants/{grant['grant_id']}")
    assert hook.send(event).status == 200
    state = ram_snapshot(emulator, owner)
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    again = hook.send(event)
    assert again.status == 200 and again.json["already_gone"] is True and again.json["tombstoned"] is False
    assert hook.call("DELETE", f"/grants/{grant['grant_id']}").json["already_gone"] is True
    assert ram_snapshot(emulator, owner) == state


def test_a_create_replayed_after_the_delete_is_410_and_makes_nothing(emulator: Any, hook: Webhook,
                                                                     owner: Account, partner: Partner) -> None:
    """The signed create sent again after its grant was revoked (another instance, within the window) cannot revive it."""
    body = grant_body(partner, idempotency_key="replay-after-delete")
    create = hook.event("POST", "/grants", body)
    grant = hook.send(create).json
    assert hook.call("DELETE", f"/grants/{grant['grant_id']}").status == 200
    state = ram_snapshot(emulator, owner)
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()
    replayed = hook.send(create)
    assert (replayed.status, replayed.json["error"]["code"]) == (410, "GrantRevoked")
    assert hook.call("POST", "/grants", body).status == 410
    assert ram_snapshot(emulator, owner) == state


def test_the_function_policy_is_needed(emulator: Any, hook: Webhook, owner: Account, partner: Partner) -> None:
    """Without its policy the function's calls are refused: the tests above prove the policy, not root power."""
    ram = ram_client(emulator, owner.root)
    ram.detach_policy_from_user(ram_models.DetachPolicyFromUserRequest(
        policy_type="Custom", policy_name="onboard-fn-policy", user_name="onboard-fn"))
    reply = hook.call("POST", "/grants", grant_body(partner))
    assert reply.status == 502
    assert reply.json["error"]["cloud_code"] in ("NoPermission", "Forbidden.RAM", "Forbidden.NoPermission")


def test_retry_of_a_grant_with_a_custom_policy_converges(emulator: Any, hook: Webhook, owner: Account,
                                                         partner: Partner) -> None:
    """A resent create whose custom policy already exists answers 200 and makes nothing new."""
    body = grant_body(partner, policies=[FC_READ, {"document": CUSTOM_DOC}])
    first = hook.call("POST", "/grants", body)
    state = ram_snapshot(emulator, owner)
    second = hook.call("POST", "/grants", body)
    assert (first.status, second.status) == (201, 200), second.json
    assert ram_snapshot(emulator, owner) == state


def test_failed_create_is_logged_with_its_grant_and_partner(emulator: Any, hook: Webhook, owner: Account,
                                                            partner: Partner,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A create refused after parsing still names its grant id and partner in the request's log line."""
    hook.call("POST", "/grants", grant_body(partner, idempotency_key="log-1"))
    capsys.readouterr()
    hook.call("POST", "/grants", grant_body(partner, idempotency_key="log-1", principal={"type": "user", "name": "Bob"}))
    line = [json.loads(x) for x in capsys.readouterr().out.splitlines()
            if x.startswith("{") and '"onboard_request"' in x][0]
    assert (line["status"], line["error_code"]) == (409, "GrantConflict")
    assert (line["grant_id"], line["partner"]) == (derive_grant_id(owner.account_id, "log-1"), partner.account_id)


def test_function_policy_itself_forbids_attaching_administrator_policies(emulator: Any, fc_env: dict[str, Any],
                                                                         partner: Partner) -> None:
    """Defence in depth: even with the webhook's checks bypassed, the function's key cannot attach admin policies."""
    ram = ram_client(emulator, fc_env)
    ram.create_role(ram_models.CreateRoleRequest(role_name="rolegate-probe",
                                                 assume_role_policy_document=account_trust(partner.account_id)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="rolegate-probe", policy_type="System", policy_name="AliyunFCReadOnlyAccess"))
    for name in ("AdministratorAccess", "AliyunRAMFullAccess"):
        with pytest.raises(TeaException) as err:
            ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
                role_name="rolegate-probe", policy_type="System", policy_name=name))
        assert err.value.code in ("NoPermission", "Forbidden.RAM"), err.value.code


# ---------------------------------------------------------------- federated grants

def test_a_saml_grant_trusts_the_owners_provider_and_its_users_get_in(emulator: Any, hook: Webhook, owner: Account,
                                                                      partner: Partner) -> None:
    """The provider lives in the owner account (RAM's IdPs are the role account's entities); an assertion it
    signs for the site's SAML endpoint yields a session of the grant's role."""
    from tests.emulator.idp import SamlIdp

    idp = SamlIdp.register(emulator, owner.account_id)
    reply = hook.call("POST", "/grants", grant_body(partner, principal={"type": "saml", "provider": idp.name}))
    assert reply.status == 201, reply.json
    grant = reply.json
    assert grant["trust_policy"]["Statement"][0]["Principal"] == {"Federated": [idp.arn]}
    assert grant["assume_role"]["SAMLProviderArn"] == idp.arn
    request = sts_models.AssumeRoleWithSAMLRequest(samlprovider_arn=idp.arn, role_arn=grant["role_arn"],
                                                   samlassertion=idp.assertion(grant["role_arn"]))
    assert sts_client(emulator).assume_role_with_saml(request).body.credentials.access_key_id.startswith("STS.")


def test_an_oidc_grant_admits_the_named_subjects_token(emulator: Any, hook: Webhook, owner: Account,
                                                      partner: Partner) -> None:
    """A provider registered in the owner account, a grant through the webhook: the named subject's token
    is accepted, another subject's is not."""
    from tests.emulator.idp import OidcIdp

    idp = OidcIdp.register(emulator, owner.account_id)
    subject = "repo:company-b/deployer:ref:refs/heads/main"
    principal = {"type": "oidc", "provider": idp.name, "issuer": idp.issuer, "audiences": list(idp.client_ids),
                 "subjects": [subject]}
    reply = hook.call("POST", "/grants", grant_body(partner, principal=principal))
    assert reply.status == 201, reply.json
    role_arn = reply.json["role_arn"]

    def assume(sub: str) -> Any:
        return sts_client(emulator).assume_role_with_oidc(sts_models.AssumeRoleWithOIDCRequest(
            oidcprovider_arn=idp.arn, role_arn=role_arn, oidctoken=idp.token(sub), role_session_name="deploy"))

    assert assume(subject).body.credentials.access_key_id.startswith("STS.")
    with pytest.raises(TeaException):
        assume("repo:company-b/other:ref:refs/heads/main")


@pytest.mark.parametrize(("principal", "field"), [
    ({"type": "saml", "provider": "absent-idp"}, "principal.provider"),
    ({"type": "oidc", "provider": "absent-idp", "issuer": "https://oidc.ci.example", "audiences": ["rolegate"]},
     "principal.provider"),
    ({"type": "oidc", "provider": "ci-oidc", "issuer": "https://elsewhere.example", "audiences": ["rolegate"]},
     "principal.issuer"),
    ({"type": "oidc", "provider": "ci-oidc", "issuer": "https://oidc.ci.example", "audiences": ["someone-else"]},
     "principal.audiences"),
])
def test_a_federated_grant_the_owners_providers_cannot_serve_is_refused(emulator: Any, hook: Webhook,
                                                                        owner: Account, partner: Partner,
                                                                        principal: dict[str, Any],
                                                                        field: str) -> None:
    """No provider of that name in the owner account (one in the partner's does not count), or one whose
    issuer or client ids could never match the grant: 422 naming the field, nothing made."""
    from tests.emulator.idp import OidcIdp, SamlIdp

    OidcIdp.register(emulator, owner.account_id)
    SamlIdp.register(emulator, partner.account_id, name="absent-idp")
    OidcIdp.register(emulator, partner.account_id, name="absent-idp")
    before = ram_snapshot(emulator, owner)
    for dry_run in (True, False):
        reply = hook.call("POST", "/grants", grant_body(partner, principal=principal, dry_run=dry_run))
        assert reply.status == 422 and reply.json["error"]["field"] == field, reply.json
        assert reply.json["error"]["code"] in ("IdentityProviderNotFound", "IdentityProviderMismatch")
        conforms(reply.json, "Error")
    assert ram_snapshot(emulator, owner) == before
