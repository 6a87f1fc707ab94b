"""What each function does with each permission of its policy, run in the emulator.

A :class:`Cell` deploys one function the way Function Compute runs it: a fresh
emulator world (authorization on), the owner account A and the partner account
B, and the function's identity -- a RAM user of its home account whose one and
only policy is the document under test -- exported as the runtime's
``ALIBABA_CLOUD_*`` credentials. Set-up happens with the root key; only the
handler call itself runs as the function.

A behaviour is one thing the function is there to do (create a grant, sweep an
expired one, ...). It returns an :class:`Outcome`: whether the function did it,
and the function's own result (reply, summary, decisions) in which a missing
permission must show up as ``NoPermission``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterator

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator import EmulatorServer
from emulator.services.ram import ram_state
from shared import clients, credentials
from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.lifecycle import GrantStore
from shared.grants.tags import GRANT_ID_KEY, MANAGED_TAG
from shared.kms import DEFAULT_SECRET_NAME as RECORD_KEY_SECRET
from shared.policies.principals import AccountPrincipal
from tests.emulator.helpers import (
    Creds,
    account_trust,
    create_instance,
    create_user_with_policy,
    kms_client,
    ram_client,
    record_keyring,
    service_trust,
)
from tests.functions.conftest import FakeContext, FunctionMeta, Webhook

WEBHOOK_SECRET = "deploy-tests-webhook-secret-0123456789"
EXTERNAL_ID = "partner-ext-0042"
READ_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}
OTHER_READ_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:ListObjects", "Resource": "*"}]}
ADMIN_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
MALLORY_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["ram:*", "ecs:*"], "Resource": "*"}]}
HOME = {"onboard": "owner", "revoke": "owner", "query": "partner", "remediate": "owner"}


@dataclass(frozen=True)
class Outcome:
    ok: bool
    result: Any
    what: str = ""

    @property
    def text(self) -> str:
        return json.dumps(self.result, default=str, sort_keys=True)

    @property
    def denied(self) -> bool:
        """Whether the function's result reports a refused cloud call."""
        return "NoPermission" in self.text


WEBHOOK_KEY_NAME = "rolegate-webhook-secret"
NOTIFY_KEY_NAME = "rolegate-notify-secret"
NOTIFY_SECRET = "deploy-tests-notify-secret-0123456789"


def hmac_keys(emulator: EmulatorServer, owner: Creds) -> None:
    """The webhook's and the notifications' HMAC keys as `rolegate keys init` keeps them: KMS text secrets."""
    from alibabacloud_kms20160120 import models as kms_models

    for name, value in ((WEBHOOK_KEY_NAME, WEBHOOK_SECRET), (NOTIFY_KEY_NAME, NOTIFY_SECRET)):
        kms_client(emulator, owner).create_secret(kms_models.CreateSecretRequest(
            secret_name=name, secret_data=value, version_id="v1", secret_data_type="text"))


def forget_process_caches() -> None:
    """What a new FC instance would not have: cached clients, role sessions, identities, replays."""
    from functions.onboard import index as onboard_index
    from shared import kms, sts

    clients.clear_cache()
    kms.clear_cache()
    credentials.reset_default_chain()
    sts.default_assumer().clear()
    sts.forget_caller_identities()
    from shared.onboarding.api import REPLAYS
    REPLAYS.clear()


@dataclass
class Cell:
    """One function of Rolegate in a fresh emulator world, running as an identity holding ``document`` only."""

    emulator: EmulatorServer
    monkeypatch: pytest.MonkeyPatch
    function: str
    owner: Creds = field(init=False)
    partner: Creds = field(init=False)
    identity: Creds = field(init=False)

    def deploy(self, document: dict[str, Any]) -> "Cell":
        self.emulator.world.reset()
        self.emulator.world.enforce_authorization = True
        forget_process_caches()
        self.owner = dict(self.emulator.create_account("company-a"))
        self.partner = dict(self.emulator.create_account("company-b"))
        for account in (self.owner, self.partner):
            record_keyring(self.emulator, account)  # what `rolegate keys init` provisions in every deployment
        hmac_keys(self.emulator, self.owner)
        home = self.owner if HOME[self.function] == "owner" else self.partner
        held = document if document.get("Statement") else None  # RAM refuses an empty policy: hold none
        self.identity = create_user_with_policy(self.emulator, home, f"fc-{self.function}", held)
        env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": self.identity["access_key_id"],
               "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.identity["access_key_secret"],
               "FC_ACCOUNT_ID": home["account_id"], "FC_REGION": "cn-hangzhou",
               "ROLEGATE_ENDPOINT": self.emulator.endpoint, "ROLEGATE_RETRY_BASE_MS": "1",
               "ROLEGATE_RETRY_CAP_MS": "5", "ROLEGATE_WEBHOOK_SECRET": f"kms:{WEBHOOK_KEY_NAME}",
               "ROLEGATE_RECORD_KEY_SECRET": RECORD_KEY_SECRET}
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def home(self) -> Creds:
        return self.owner if HOME[self.function] == "owner" else self.partner

    def context(self, timeout: int = 60) -> FakeContext:
        return FakeContext(account_id=self.home["account_id"], function=FunctionMeta(name=self.function,
                                                                                     timeout=timeout))

    def ram(self, creds: Creds | None = None) -> Any:
        return ram_client(self.emulator, creds or self.owner)

    @contextlib.contextmanager
    def as_root(self) -> Iterator[None]:
        """Run the handler with the home account's root key (set-up through the function's own API)."""
        saved = {n: os.environ[n] for n in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")}
        os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"] = self.home["access_key_id"]
        os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = self.home["access_key_secret"]
        try:
            yield
        finally:
            os.environ.update(saved)
            clients.clear_cache()

    def roles(self, creds: Creds | None = None) -> set[str]:
        account = (creds or self.owner)["account_id"]
        return {r.name for r in ram_state(self.emulator.world.accounts[account]).roles.values()}

    def attached(self, role: str) -> set[str]:
        found = ram_state(self.emulator.world.accounts[self.owner["account_id"]]).find_role(role)
        return {a.policy_name for a in found.attached} if found else set()

    def store(self) -> GrantStore:
        return GrantStore(self.ram(), self.owner["account_id"], record_keyring(self.emulator, self.owner),
                          now=self.emulator.world.clock.now)

    def grant(self, lifetime_seconds: int, *, custom: bool = False) -> Grant:
        """A grant for B made directly with A's root key, expiring ``lifetime_seconds`` from the emulator's now."""
        grant_id = new_grant_id()
        now = self.emulator.world.clock.now().replace(microsecond=0)
        policies = [PolicyRef("AliyunECSReadOnlyAccess", "System")]
        if custom:
            policies.append(PolicyRef(custom_policy_name(grant_id, 0), "Custom", document=READ_DOC))
        grant = Grant(grant_id=grant_id, owner_account_id=self.owner["account_id"],
                      partner_account_id=self.partner["account_id"],
                      principal=AccountPrincipal(self.partner["account_id"], EXTERNAL_ID), policies=tuple(policies),
                      role_name=role_name_for(self.partner["account_id"], grant_id), max_session_duration=3600,
                      created_at=now - timedelta(seconds=1), expires_at=now + timedelta(seconds=lifetime_seconds))
        return self.store().create(grant).grant

    def add_policy_version(self, policy: str, document: dict[str, Any], *, default: bool,
                           creds: Creds | None = None) -> None:
        self.ram(creds).create_policy_version(ram_models.CreatePolicyVersionRequest(
            policy_name=policy, policy_document=json.dumps(document), set_as_default=default))


Behaviour = Callable[[Cell], Outcome]


def notified(behaviour: Behaviour) -> Behaviour:
    """``behaviour`` with notifications on, their key kept in KMS: it succeeds only if its notifications all
    arrive signed with that key (the function's log lines join its result, to show a refused read)."""
    from shared.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
    from tests.functions.test_revoke_notify import Receiver

    def run(cell: Cell) -> Outcome:
        with Receiver() as receiver, contextlib.redirect_stdout(io.StringIO()) as logs:
            cell.monkeypatch.setenv("ROLEGATE_NOTIFY_URL", receiver.url)
            cell.monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", f"kms:{NOTIFY_KEY_NAME}")
            outcome = behaviour(cell)
        signed = [m for m in receiver.received if verify(NOTIFY_SECRET, m["headers"][TIMESTAMP_HEADER],
                                                         m["body"], m["headers"][SIGNATURE_HEADER])]
        ok = outcome.ok and bool(signed) and len(signed) == len(receiver.received)
        return Outcome(ok, {"result": outcome.result, "logs": logs.getvalue().splitlines()},
                       f"{outcome.what}, {len(signed)} signed notifications")

    run.__name__ = f"{behaviour.__name__}_notified"
    return run



# ======================================================================= onboard
def _hook(cell: Cell) -> Webhook:
    from functions.onboard import index

    return Webhook(index.handler, cell.context(), WEBHOOK_SECRET)


def _grant_body(cell: Cell, *, custom: bool) -> dict[str, Any]:
    policies: list[dict[str, Any]] = [{"name": "AliyunECSReadOnlyAccess"}]
    if custom:
        policies.append({"document": READ_DOC})
    return {"partner_account_id": cell.partner["account_id"],
            "principal": {"type": "account", "external_id": EXTERNAL_ID},
            "policies": policies, "duration_seconds": 86400}


def _created(cell: Cell, *, custom: bool = True) -> dict[str, Any]:
    """A grant made through the webhook with the root key (set-up), its reply body."""
    with cell.as_root():
        reply = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=custom))
    assert reply.status == 201, reply.json
    return reply.json


def onboard_create(cell: Cell) -> Outcome:
    """POST /grants with a system and a custom policy: the role, the policy and both attachments exist."""
    reply = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=True))
    ok = reply.status == 201 and len(cell.attached(reply.json.get("role_name", ""))) == 2
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def onboard_retry(cell: Cell) -> Outcome:
    """The same create sent again (same Idempotency-Key, a new signature): 200, the existing grant completed."""
    headers = {"Idempotency-Key": "partner-order-7"}
    now = int(time.time())
    with cell.as_root():
        first = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=True), headers=headers, timestamp=now - 1)
    assert first.status == 201, first.json
    reply = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=True), headers=headers, timestamp=now)
    ok = reply.status == 200 and reply.json.get("grant_id") == first.json["grant_id"]
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def onboard_list(cell: Cell) -> Outcome:
    """GET /grants lists the grant."""
    made = _created(cell, custom=False)
    reply = _hook(cell).call("GET", "/grants", signed=True)
    ok = reply.status == 200 and [g["grant_id"] for g in reply.json.get("grants", [])] == [made["grant_id"]]
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def onboard_extend(cell: Cell) -> Outcome:
    """PATCH /grants/{id} moves the expiry (the readable expiry tag)."""
    made = _created(cell, custom=False)
    reply = _hook(cell).call("PATCH", f"/grants/{made['grant_id']}", {"duration_seconds": 7200})
    ok = reply.status == 200 and reply.json.get("expires_at") != made["expires_at"]
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def _tombstoned(cell: Cell, reply: Any, role_name: str) -> bool:
    """An early revocation's end state: the role kept as a tombstone, holding no policy."""
    return reply.status == 200 and reply.json.get("tombstoned") is True and role_name in cell.roles() \
        and cell.attached(role_name) == set()


def onboard_delete(cell: Cell) -> Outcome:
    """DELETE /grants/{id}: policies detached, the custom policy deleted, the role kept as a tombstone."""
    made = _created(cell, custom=True)
    reply = _hook(cell).call("DELETE", f"/grants/{made['grant_id']}")
    return Outcome(_tombstoned(cell, reply, made["role_name"]), reply.json, f"HTTP {reply.status}")


def onboard_create_and_delete(cell: Cell) -> Outcome:
    """POST then DELETE as the function: every key the webhook reads (its own, the record's, the notifications')."""
    made = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=True))
    if made.status != 201:
        return Outcome(False, made.json, f"create: HTTP {made.status}")
    reply = _hook(cell).call("DELETE", f"/grants/{made.json['grant_id']}")
    return Outcome(_tombstoned(cell, reply, made.json["role_name"]), reply.json, f"HTTP {reply.status}")


def onboard_delete_versions(cell: Cell) -> Outcome:
    """DELETE of a grant whose custom policy gained a second version: the version goes first, then the rest."""
    made = _created(cell, custom=True)
    custom = next(p["name"] for p in made["policies"] if p["type"] == "Custom")
    cell.add_policy_version(custom, OTHER_READ_DOC, default=False)
    reply = _hook(cell).call("DELETE", f"/grants/{made['grant_id']}")
    return Outcome(_tombstoned(cell, reply, made["role_name"]), reply.json, f"HTTP {reply.status}")


def onboard_rollback(cell: Cell) -> Outcome:
    """A create whose AttachPolicyToRole keeps failing is rolled back: the role it made is deleted again."""
    before = cell.roles()
    cell.emulator.add_fault(kind="error", action="AttachPolicyToRole", code="InternalError", status=500, times=10)
    try:
        reply = _hook(cell).call("POST", "/grants", _grant_body(cell, custom=True))
    finally:
        cell.emulator.clear_faults()
    details = (reply.json.get("error") or {}).get("details") or {}
    ok = reply.status == 503 and details.get("rolled_back") is True and cell.roles() == before
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def _rotate_record_key(cell: Cell) -> None:
    """A new current version of the record key; the function starts as a new instance that never saw the old one."""
    from shared import kms

    kms.rotate_secret(kms_client(cell.emulator, cell.owner), RECORD_KEY_SECRET)
    kms.clear_cache()


def onboard_list_after_rotation(cell: Cell) -> Outcome:
    """GET /grants after the record key was rotated: the older version is found in the secret's version list."""
    made = _created(cell, custom=False)
    _rotate_record_key(cell)
    reply = _hook(cell).call("GET", "/grants", signed=True)
    ok = reply.status == 200 and [g["grant_id"] for g in reply.json.get("grants", [])] == [made["grant_id"]]
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


def onboard_federated(cell: Cell) -> Outcome:
    """POST /grants for a SAML and an OIDC principal: each names an identity provider of the owner account,
    which onboarding reads (GetSAMLProvider, GetOIDCProvider) before making the role."""
    from tests.emulator.idp import OidcIdp, SamlIdp

    saml = SamlIdp.register(cell.emulator, cell.owner["account_id"])
    oidc = OidcIdp.register(cell.emulator, cell.owner["account_id"])
    base = {"partner_account_id": cell.partner["account_id"], "policies": [{"name": "AliyunECSReadOnlyAccess"}],
            "duration_seconds": 86400}
    replies = [_hook(cell).call("POST", "/grants", {**base, "principal": principal}) for principal in (
        {"type": "saml", "provider": saml.name},
        {"type": "oidc", "provider": oidc.name, "issuer": oidc.issuer, "audiences": list(oidc.client_ids)})]
    failed = next((r for r in replies if r.status != 201), replies[-1])
    return Outcome(failed.status == 201, failed.json, f"HTTP {failed.status}")


# ======================================================================== revoke
def _sweep(cell: Cell) -> dict[str, Any]:
    """The handler on a timer event; a failed invocation's summary is its result."""
    from functions.revoke import index
    from shared.sweep.run import SweepFailed

    event = {"triggerTime": "2026-01-01T00:00:00Z", "triggerName": "revoke-timer", "payload": "{}"}
    try:
        return index.handler(json.dumps(event).encode(), cell.context(timeout=300))
    except SweepFailed as exc:
        return {"raised": exc.code, **exc.summary}


def revoke_expired(cell: Cell) -> Outcome:
    """An expired grant with a custom policy is revoked: detached, policy deleted, role deleted."""
    grant = cell.grant(60, custom=True)
    cell.emulator.advance_clock(120)
    summary = _sweep(cell)
    ok = summary.get("revoked") == 1 and not summary.get("failed") and grant.role_name not in cell.roles()
    return Outcome(ok, summary, f"revoked={summary.get('revoked')}")


def revoke_expired_versions(cell: Cell) -> Outcome:
    """An expired grant whose custom policy gained a version: that version is deleted before the policy."""
    grant = cell.grant(60, custom=True)
    custom = next(p.name for p in grant.policies if p.kind == PolicyRef.CUSTOM)
    cell.add_policy_version(custom, OTHER_READ_DOC, default=False)
    cell.emulator.advance_clock(120)
    summary = _sweep(cell)
    ok = summary.get("revoked") == 1 and not summary.get("failed") and grant.role_name not in cell.roles()
    return Outcome(ok, summary, f"revoked={summary.get('revoked')}")


def revoke_disarm(cell: Cell) -> Outcome:
    """A grant role whose record cites a key version the secret never had is disarmed, never revoked: its
    policies detached and its trust replaced by one nobody satisfies (the key versions listed to judge it)."""
    grant = cell.grant(3600)
    tags = ram_state(cell.emulator.world.accounts[cell.owner["account_id"]]).find_role(grant.role_name).tags
    forged = {**tags, "rolegate:proof": "kforged." + "A" * 43}
    cell.ram().create_role(ram_models.CreateRoleRequest(
        role_name="rolegate-forged", assume_role_policy_document=account_trust(cell.partner["account_id"]),
        tag=[ram_models.CreateRoleRequestTag(key=k, value=v) for k, v in forged.items()]))
    cell.ram().attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        role_name="rolegate-forged", policy_type="System", policy_name="AliyunECSReadOnlyAccess"))
    summary = _sweep(cell)
    disarmed = [d.get("role") for d in summary.get("disarmed", [])]
    ok = summary.get("ok") is True and disarmed == ["rolegate-forged"] and cell.attached("rolegate-forged") == set()
    return Outcome(ok, summary, f"disarmed={disarmed}")


def revoke_orphan(cell: Cell) -> Outcome:
    """A grant custom policy left without its role, older than the grace, is found by listing and deleted."""
    grant_id = new_grant_id()
    orphan = custom_policy_name(grant_id, 0)
    cell.ram().create_policy(ram_models.CreatePolicyRequest(
        policy_name=orphan, policy_document=json.dumps(READ_DOC),
        tag=[ram_models.CreatePolicyRequestTag(key=t["Key"], value=t["Value"])
             for t in (MANAGED_TAG, {"Key": GRANT_ID_KEY, "Value": grant_id})]))
    cell.emulator.advance_clock(3600)
    summary = _sweep(cell)
    gone = orphan.lower() not in ram_state(cell.emulator.world.accounts[cell.owner["account_id"]]).policies
    ok = summary.get("ok") is True and summary.get("orphans_deleted") == 1 and gone
    return Outcome(ok, summary, f"orphans_deleted={summary.get('orphans_deleted')}")


# ========================================================================= query
def query_grant_role(cell: Cell) -> Outcome:
    """B's query function assumes the role A granted it and lists A's FC 3.0 functions."""
    from tests.functions.conftest import Account
    from tests.functions.query_support import make_functions, query_http, trusting_role

    owner = Account(cell.owner["account_id"], cell.owner)
    role_arn = trusting_role(cell.emulator, owner, cell.partner["account_id"], "rolegate-b-fc-read",
                             external_id=EXTERNAL_ID)
    make_functions(cell.emulator, owner, ["billing", "orders"])
    body = {"targets": [{"account_id": cell.owner["account_id"], "role_arn": role_arn, "external_id": EXTERNAL_ID}]}
    reply = query_http(cell.context(), body)
    results = reply.json.get("results", [])
    ok = reply.status == 200 and len(results) == 1 and results[0].get("ok") is True \
        and sorted(i["name"] for i in results[0]["items"]) == ["billing", "orders"]
    return Outcome(ok, reply.json, f"HTTP {reply.status}")


# ===================================================================== remediate
def _lab(cell: Cell) -> Any:
    from tests.functions.remediate_support import Lab

    mallory = create_user_with_policy(cell.emulator, cell.owner, "mallory", MALLORY_DOC)
    return Lab(cell.emulator, cell.owner["account_id"], cell.owner, cell.identity, mallory,
               cell.partner["account_id"], cell.partner, cell.context(timeout=120))


def _remediated(reply: dict[str, Any], rule: str) -> bool:
    decisions = [d for d in reply.get("decisions", []) if d.get("rule") == rule]
    return bool(decisions) and all(d.get("outcome") == "remediated" for d in decisions) and not reply.get("errors")


def _judge(cell: Cell, lab: Any, event: dict[str, Any], rule: str, done: Callable[[], bool]) -> Outcome:
    reply = lab.invoke(event)
    ok = _remediated(reply, rule) and done()
    return Outcome(ok, reply, ", ".join(f"{d.get('rule')}:{d.get('outcome')}" for d in reply.get("decisions", [])))


def _reattach_grant(cell: Cell, lab: Any) -> Outcome:
    grant = cell.grant(3600)
    event = lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")
    return _judge(cell, lab, event, "grant-tamper",
                  lambda: cell.attached(grant.role_name) == {"AliyunECSReadOnlyAccess"})


def remediate_reattach(cell: Cell) -> Outcome:
    """A granted policy detached behind Rolegate's back is attached again (grant-tamper)."""
    return _reattach_grant(cell, _lab(cell))


def _reattach_own_policy(cell: Cell, lab: Any) -> Outcome:
    role = "fc-rolegate-onboard"  # a function role with its own policy, as deploy/roles.sh leaves it
    lab.custom_policy(role, READ_DOC)
    lab.role(role, service_trust("fc.aliyuncs.com"), policies=(("Custom", role),))
    event = lab.detach_from_role(role, role, "Custom")
    return _judge(cell, lab, event, "self-guard", lambda: cell.attached(role) == {role})


def remediate_reattach_own_policy(cell: Cell) -> Outcome:
    """A function role's own policy, detached by someone else, is attached again (self-guard)."""
    return _reattach_own_policy(cell, _lab(cell))


def remediate_reattach_everywhere(cell: Cell) -> Outcome:
    """ram:AttachPolicyToRole is held twice, for two jobs: a grant's recorded policies (on rolegate-*) and a
    function role's own policy (on fc-rolegate-*, a statement guarding Rolegate's own roles); both must work."""
    lab = _lab(cell)
    grant, own = _reattach_grant(cell, lab), _reattach_own_policy(cell, lab)
    return Outcome(grant.ok and own.ok, {"grant": grant.result, "own": own.result}, f"{grant.what}; {own.what}")


def remediate_reattach_after_rotation(cell: Cell) -> Outcome:
    """The same, for a grant recorded under an older version of the record key (found in its version list)."""
    lab = _lab(cell)
    grant = cell.grant(3600)
    _rotate_record_key(cell)
    event = lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")
    return _judge(cell, lab, event, "grant-tamper",
                  lambda: cell.attached(grant.role_name) == {"AliyunECSReadOnlyAccess"})


def remediate_trust(cell: Cell) -> Outcome:
    """A grant's trust policy widened to another account is put back (grant-tamper, UpdateRole)."""
    lab = _lab(cell)
    grant = cell.grant(3600)
    before = lab.trust(grant.role_name)
    event = lab.update_trust(grant.role_name, account_trust("1111222233334444"))
    return _judge(cell, lab, event, "grant-tamper", lambda: lab.trust(grant.role_name) == before)


def remediate_custom_version(cell: Cell) -> Outcome:
    """A grant's custom policy switched to another version is switched back when the grant is next touched."""
    lab = _lab(cell)
    grant = cell.grant(3600, custom=True)
    custom = next(p.name for p in grant.policies if p.kind == PolicyRef.CUSTOM)
    original = ram_state(cell.emulator.world.accounts[cell.owner["account_id"]]).policies[custom.lower()]
    first = original.default_version
    cell.add_policy_version(custom, OTHER_READ_DOC, default=True, creds=lab.mallory)
    event = lab.update_trust(grant.role_name, account_trust("1111222233334444"))
    return _judge(cell, lab, event, "grant-tamper", lambda: original.default_version == first)


def remediate_tags(cell: Cell) -> Outcome:
    """A readable grant tag overwritten to disagree with the record is written back (TagResources)."""
    lab = _lab(cell)
    grant = cell.grant(3600)
    event = lab.tag_role(grant.role_name, {"rolegate:partner": "1111222233334444"})
    return _judge(cell, lab, event, "grant-tamper",
                  lambda: lab.tags(grant.role_name)["rolegate:partner"] == cell.partner["account_id"])


def remediate_untag(cell: Cell) -> Outcome:
    """A forged requester tag next to an overwritten readable tag is removed while the rest is rewritten."""
    lab = _lab(cell)
    grant = cell.grant(3600)
    event = lab.tag_role(grant.role_name, {"rolegate:partner": "1111222233334444", "rolegate:requester": "eve"})
    return _judge(cell, lab, event, "grant-tamper",
                  lambda: "rolegate:requester" not in lab.tags(grant.role_name))


def remediate_admin_on_role(cell: Cell) -> Outcome:
    """AdministratorAccess attached to a role is detached (high-risk-policy)."""
    lab = _lab(cell)
    lab.role("OpsRole")
    event = lab.attach_to_role("OpsRole", "AdministratorAccess")
    return _judge(cell, lab, event, "high-risk-policy", lambda: cell.attached("OpsRole") == set())


def remediate_admin_on_user(cell: Cell) -> Outcome:
    """AliyunRAMFullAccess attached to a user is detached (high-risk-policy)."""
    lab = _lab(cell)
    lab.user("bob")
    event = lab.attach_to_user("bob", "AliyunRAMFullAccess")
    return _judge(cell, lab, event, "high-risk-policy", lambda: lab.user_policies("bob") == [])


def remediate_admin_custom(cell: Cell) -> Outcome:
    """A custom policy whose document is admin-equivalent, attached to a role, is detached (read with GetPolicy)."""
    lab = _lab(cell)
    lab.role("OpsRole")
    lab.custom_policy("EverythingPolicy", ADMIN_DOC)
    event = lab.attach_to_role("OpsRole", "EverythingPolicy", "Custom")
    return _judge(cell, lab, event, "high-risk-policy", lambda: cell.attached("OpsRole") == set())


def remediate_admin_version(cell: Cell) -> Outcome:
    """A held custom policy turned admin-equivalent by a new default version is taken from its holders."""
    lab = _lab(cell)
    lab.custom_policy("ToolingPolicy", READ_DOC)
    lab.role("ToolRole", policies=(("Custom", "ToolingPolicy"),))
    event = lab.capture(lambda: cell.add_policy_version("ToolingPolicy", ADMIN_DOC, default=True, creds=lab.mallory),
                        "CreatePolicyVersion")
    return _judge(cell, lab, event, "high-risk-policy", lambda: cell.attached("ToolRole") == set())


def remediate_instance_role(cell: Cell) -> Outcome:
    """An ECS instance handed a role holding AdministratorAccess loses that role (instance-role)."""
    lab = _lab(cell)
    lab.role("EcsAdmin", service_trust(), policies=(("System", "AdministratorAccess"),))
    instance = create_instance(cell.emulator, cell.owner["account_id"])
    event = lab.attach_instance_role(instance, "EcsAdmin")
    return _judge(cell, lab, event, "instance-role", lambda: lab.instance_role(instance) is None)


def remediate_quarantine(cell: Cell) -> Outcome:
    """A role Rolegate never made, its trust widened to a foreign account, is quarantined (trust-widened)."""
    lab = _lab(cell)
    cell.monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    lab.role("VendorRole")
    event = lab.update_trust("VendorRole", account_trust("1111222233334444"))
    return _judge(cell, lab, event, "trust-widened", lambda: "rolegate:quarantined-at" in lab.tags("VendorRole"))


def remediate_group(cell: Cell) -> Outcome:
    """AdministratorAccess attached to a RAM user group is detached (high-risk-policy)."""
    lab = _lab(cell)
    lab.group("ops")
    event = lab.attach_to_group("ops", "AdministratorAccess")
    return _judge(cell, lab, event, "high-risk-policy", lambda: lab.group_policies("ops") == [])


def remediate_group_join(cell: Cell) -> Outcome:
    """A user added to a group holding AdministratorAccess is taken out of it (high-risk-policy)."""
    lab = _lab(cell)
    lab.group("ops", policies=(("System", "AdministratorAccess"),))
    lab.user("bob")
    event = lab.add_to_group("bob", "ops")
    return _judge(cell, lab, event, "high-risk-policy", lambda: lab.group_members("ops") == [])


# ============================================================ deny statements
def attach_high_risk_directly(cell: Cell, policy: str) -> Outcome:
    """The function's own identity attaching ``policy`` to a role through RAM: what a Deny must stop."""
    cell.ram().create_role(ram_models.CreateRoleRequest(role_name="rolegate-probe",
                                                        assume_role_policy_document=service_trust()))
    try:
        cell.ram(cell.identity).attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
            role_name="rolegate-probe", policy_type="System", policy_name=policy))
    except Exception as exc:  # the SDK's TeaException: the refusal is the result
        return Outcome(False, {"code": getattr(exc, "code", type(exc).__name__)}, "refused")
    return Outcome(True, {"attached": sorted(cell.attached("rolegate-probe"))}, "attached")


# ================================================================= the catalogue
# function -> RAM action -> the behaviour that needs it. A policy action with no entry
# here fails tests/deploy/test_least_privilege.py: no action is there for nothing.
BEHAVIOURS: dict[str, dict[str, Behaviour]] = {
    "onboard": {
        "ram:ListRoles": onboard_list,
        "ram:CreateRole": onboard_create,
        "ram:CreatePolicy": onboard_create,
        "ram:AttachPolicyToRole": onboard_create,
        "ram:GetRole": onboard_retry,
        "ram:ListTagResources": onboard_retry,
        "ram:GetPolicy": onboard_retry,
        "ram:ListPoliciesForRole": onboard_retry,
        "ram:TagResources": onboard_extend,
        "ram:DetachPolicyFromRole": onboard_delete,
        "ram:DeletePolicy": onboard_delete,
        "ram:UpdateRole": onboard_delete,
        "ram:DeleteRole": onboard_rollback,
        "ram:ListPolicyVersions": onboard_delete_versions,
        "ram:DeletePolicyVersion": onboard_delete_versions,
        "kms:GetSecretValue": notified(onboard_create_and_delete),
        "kms:ListSecretVersionIds": onboard_list_after_rotation,
        "ram:GetSAMLProvider": onboard_federated,
        "ram:GetOIDCProvider": onboard_federated,
    },
    "revoke": {
        "ram:ListRoles": revoke_expired,
        "ram:ListPoliciesForRole": revoke_expired,
        "ram:DetachPolicyFromRole": revoke_expired,
        "ram:DeleteRole": revoke_expired,
        "ram:DeletePolicy": revoke_expired,
        "ram:ListPolicyVersions": revoke_expired_versions,
        "ram:DeletePolicyVersion": revoke_expired_versions,
        "ram:ListPolicies": revoke_orphan,
        "ram:GetRole": revoke_disarm,
        "ram:UpdateRole": revoke_disarm,
        "kms:GetSecretValue": notified(revoke_expired),
        "kms:ListSecretVersionIds": revoke_disarm,
    },
    "query": {
        "sts:AssumeRole": query_grant_role,
    },
    "remediate": {
        "ram:GetRole": remediate_reattach,
        "ram:ListPoliciesForRole": remediate_reattach,
        "ram:ListTagResources": remediate_reattach,
        "ram:AttachPolicyToRole": remediate_reattach_everywhere,
        "ram:UpdateRole": remediate_trust,
        "ram:GetPolicy": remediate_custom_version,
        "ram:ListPolicyVersions": remediate_custom_version,
        "ram:SetDefaultPolicyVersion": remediate_custom_version,
        "ram:TagResources": remediate_tags,
        "ram:UntagResources": remediate_untag,
        "ram:DetachPolicyFromRole": remediate_admin_on_role,
        "ram:ListPoliciesForUser": remediate_admin_on_user,
        "ram:DetachPolicyFromUser": remediate_admin_on_user,
        "ram:ListEntitiesForPolicy": remediate_admin_version,
        "ram:ListPoliciesForGroup": remediate_group,
        "ram:DetachPolicyFromGroup": remediate_group,
        "ram:RemoveUserFromGroup": remediate_group_join,
        "ecs:DescribeInstanceRamRole": remediate_instance_role,
        "ecs:DetachInstanceRamRole": remediate_instance_role,
        "kms:GetSecretValue": notified(remediate_reattach),
        "kms:ListSecretVersionIds": remediate_reattach_after_rotation,
    },
}

# function -> action -> the behaviour that needs the action on something outside Rolegate's namespace
# (role/rolegate-*, policy/rolegate-*). Only statements whose Sid says so (Guardrail...Anywhere) reach there,
# and tests/deploy/test_confinement.py proves each of these fails once its statement is narrowed to the namespace.
GUARDRAILS: dict[str, dict[str, Behaviour]] = {
    "remediate": {
        "ram:DetachPolicyFromRole": remediate_admin_on_role,
        "ram:DetachPolicyFromUser": remediate_admin_on_user,
        "ram:DetachPolicyFromGroup": remediate_group,
        "ram:RemoveUserFromGroup": remediate_group_join,
        "ram:UpdateRole": remediate_quarantine,
        "ecs:DetachInstanceRamRole": remediate_instance_role,
    },
}

# function -> action -> the behaviour that needs the action on Rolegate's own roles and policies
# (role/fc-rolegate-*, policy/fc-rolegate-*, deploy/roles.sh), held only in statements whose Sid says so
# (GuardRolegateOwnRoles...); tests/deploy/test_confinement.py proves each fails once its statement is
# narrowed to the grants' namespace.
OWN_ROLES: dict[str, dict[str, Behaviour]] = {
    "remediate": {
        "ram:AttachPolicyToRole": remediate_reattach_own_policy,
    },
}

# The one behaviour per function whose environment reads stand for the function's (tests/deploy/test_syaml.py).
TYPICAL: dict[str, Behaviour] = {
    "onboard": onboard_create,
    "revoke": revoke_expired,
    "query": query_grant_role,
    "remediate": remediate_reattach,
}
