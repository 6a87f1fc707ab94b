"""Attacks across a client's life: captured signatures replayed under other names, after a removal, after a
rotation's overlap; a read-only client fishing for other partners' ExternalIds; a scoped client moving its grant.

Cast as in test_client_scopes.py: ``portal`` acts for partner P only, ``admin``
for every partner. The attacker holds signed requests it captured (from logs,
a proxy, a partner's queue) or one client's secret, and wants more. Every
refusal is checked against the owner account's RAM state.
"""
from __future__ import annotations

import json
import time

import pytest
from alibabacloud_ram20150501 import models as ram_models

from shared.grants.tags import MANAGED_TAG
from tests.emulator.helpers import ram_client
from tests.functions.clients_support import (CLIENT_HEADER, P_EXTERNAL_ID, Q_EXTERNAL_ID, Lab, entry, lab,  # noqa: F401
                                             named_headers, shared_headers)
from tests.functions.conftest import encode_body, fc_context, fc_env  # noqa: F401

PORTAL = "portal-secret-0123456789abcdef"
ADMIN = "admin-secret-0123456789abcdef00"
OLD = "replaced-secret-0123456789abcdef"
FRESH = "portal-new-secret-0123456789abcd"


@pytest.fixture
def clients(lab: Lab) -> Lab:
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id]), "admin": entry(ADMIN, ["*"])})
    return lab


def _leaks_nothing_of_q(lab: Lab, raw_body: str, q_role: str | None = None) -> None:
    assert Q_EXTERNAL_ID not in raw_body and lab.q not in raw_body
    if q_role is not None:
        assert q_role not in raw_body


# ------------------------------------------------------------ replayed names
def test_a_captured_signature_replayed_under_another_client_header_is_refused(clients: Lab) -> None:
    """portal's accepted create, sent again with the header naming admin, a twin holding portal's own secret, or
    nobody: 401 each, on the warm instance and on a fresh one (whose replay cache is empty)."""
    clients.set_clients({"portal": entry(PORTAL, [clients.p.account_id]), "admin": entry(ADMIN, ["*"]),
                         "portal-twin": entry(PORTAL, ["*"])})
    raw = encode_body(clients.body(clients.p.account_id, P_EXTERNAL_ID))
    captured = named_headers("portal", PORTAL, "POST", "/grants", raw, clients.stamp())
    assert clients.send("POST", "/grants", raw, captured).status == 201
    renamed = [{**captured, CLIENT_HEADER: name} for name in ("admin", "portal-twin", "Portal", " portal")]
    stripped = {k: v for k, v in captured.items() if k != CLIENT_HEADER}
    before = clients.state()

    for instance in ("warm", "fresh"):
        if instance == "fresh":
            clients.new_instance()
        replies = [clients.send("POST", "/grants", raw, headers) for headers in [*renamed, stripped]]
        assert [r.status for r in replies] == [401] * 5, (instance, [r.json for r in replies])
        assert clients.state() == before

    verbatim = clients.send("POST", "/grants", raw, captured)  # the fresh instance cannot know it was sent
    assert verbatim.status == 200 and clients.state() == before  # convergence: the same grant, nothing new


def test_a_signed_delete_of_one_grant_cannot_be_pointed_at_another(clients: Lab) -> None:
    """The path is signed: admin's captured DELETE of P's grant, sent to Q's grant's path, is a 401."""
    mine = clients.grant(clients.p.account_id, P_EXTERNAL_ID)
    theirs = clients.grant(clients.q, Q_EXTERNAL_ID)
    captured = named_headers("admin", ADMIN, "DELETE", f"/grants/{mine['grant_id']}", b"", clients.stamp())
    before, mark = clients.state(), clients.mark()

    reply = clients.send("DELETE", f"/grants/{theirs['grant_id']}", None, captured)

    assert reply.status == 401
    assert clients.state() == before and clients.writes_since(mark) == []


# ------------------------------------------------------------------ removal
def test_a_request_signed_before_its_client_was_removed_is_refused_after(clients: Lab) -> None:
    """portal signs a DELETE and a create, then is removed; the requests arrive once instances have read the new
    secret: 401, nothing written. Its name given again to a new client, the old secret still gets nothing."""
    grant = clients.grant(clients.p.account_id, P_EXTERNAL_ID)
    path = f"/grants/{grant['grant_id']}"
    delete = named_headers("portal", PORTAL, "DELETE", path, b"", clients.stamp())
    raw = encode_body(clients.body(clients.p.account_id, P_EXTERNAL_ID, role_name="rolegate-p-late"))
    create = named_headers("portal", PORTAL, "POST", "/grants", raw, clients.stamp())

    clients.set_clients({"admin": entry(ADMIN, ["*"])})
    before, mark = clients.state(), clients.mark()
    assert clients.send("DELETE", path, None, delete).status == 401
    assert clients.send("POST", "/grants", raw, create).status == 401

    assert clients.state() == before and clients.writes_since(mark) == []

    clients.set_clients({"admin": entry(ADMIN, ["*"]), "portal": entry(FRESH, [clients.p.account_id],
                                                                       write=False)})
    mark = clients.mark()
    assert clients.send("DELETE", path, None, delete).status == 401
    assert clients.as_client("portal", PORTAL, "GET", path).status == 401
    assert clients.state() == before and clients.writes_since(mark) == []
    assert clients.as_client("portal", FRESH, "DELETE", path).json["error"]["code"] == "ReadOnlyClient"
    assert clients.as_client("portal", FRESH, "GET", path).json["status"] == "active"


# ----------------------------------------------------------------- rotation
def test_a_replaced_secret_is_judged_when_the_request_arrives_not_when_it_was_signed(clients: Lab) -> None:
    """Signed with the old secret while it was still accepted, sent after the overlap ended (still inside the
    300-second window): 401. Neither another client's name nor the shared format revives it."""
    now = int(time.time())
    clients.set_clients({"portal": entry(FRESH, [clients.p.account_id], previous={"secret": OLD, "until": now - 5}),
                         "admin": entry(ADMIN, ["*"])})
    raw = encode_body(clients.body(clients.p.account_id, P_EXTERNAL_ID))
    before, mark = clients.state(), clients.mark()

    replies = [clients.send("POST", "/grants", raw, named_headers("portal", OLD, "POST", "/grants", raw, now - 60)),
               clients.send("POST", "/grants", raw, named_headers("admin", OLD, "POST", "/grants", raw, now - 59)),
               clients.send("POST", "/grants", raw, shared_headers(OLD, "POST", "/grants", raw, now - 58))]

    assert [(r.status, r.json["error"]["code"]) for r in replies] == [(401, "SignatureMismatch")] * 3
    assert clients.state() == before and clients.writes_since(mark) == []
    assert clients.as_client("portal", FRESH, "POST", "/grants", clients.body(clients.p.account_id,
                                                                              P_EXTERNAL_ID)).status == 201


def test_the_overlap_extends_only_the_old_secret_never_the_old_scope(clients: Lab) -> None:
    """A client narrowed at rotation (every partner, then P only) gets the new scope under either secret."""
    clients.set_clients({"portal": entry(FRESH, [clients.p.account_id],
                                         previous={"secret": OLD, "until": int(time.time()) + 3600})})
    before, mark = clients.state(), clients.mark()

    replies = [clients.as_client("portal", secret, "POST", "/grants", clients.body(clients.q, Q_EXTERNAL_ID))
               for secret in (OLD, FRESH)]

    assert [(r.status, r.json["error"]["code"]) for r in replies] == [(403, "OutOfScope")] * 2
    assert clients.state() == before and clients.writes_since(mark) == []


# ---------------------------------------------------------------- read-only
def test_a_read_only_client_of_one_partner_sees_no_other_partners_external_id(lab: Lab) -> None:
    """``p-audit`` reads P's grants only: listing, filtering, reading, dry-running and an unproven role naming Q's
    ExternalId in its trust policy all keep Q's grant and ExternalId out of every answer."""
    lab.set_clients({"p-audit": entry(PORTAL, [lab.p.account_id], write=False)})
    mine = lab.grant(lab.p.account_id, P_EXTERNAL_ID)
    theirs = lab.grant(lab.q, Q_EXTERNAL_ID)
    ram_client(lab.emulator, lab.owner.root).create_role(ram_models.CreateRoleRequest(
        role_name="rolegate-unproven-q", assume_role_policy_document=json.dumps({
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [f"acs:ram::{lab.q}:root"]},
                                           "Condition": {"StringEquals": {"sts:ExternalId": Q_EXTERNAL_ID}}}]}),
        tag=[ram_models.CreateRoleRequestTag(key=MANAGED_TAG["Key"], value=MANAGED_TAG["Value"])]))
    before, mark = lab.state(), lab.mark()

    listed = lab.as_client("p-audit", PORTAL, "GET", "/grants")
    answers = [listed,
               lab.as_client("p-audit", PORTAL, "GET", "/grants", query={"partner": lab.q}),
               lab.as_client("p-audit", PORTAL, "GET", f"/grants/{theirs['grant_id']}"),
               lab.as_client("p-audit", PORTAL, "GET", "/grants/g-aaaaaaaaaaaa"),
               lab.as_client("p-audit", PORTAL, "POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID, dry_run=True)),
               lab.as_client("p-audit", PORTAL, "DELETE", f"/grants/{theirs['grant_id']}")]

    assert [g["grant_id"] for g in listed.json["grants"]] == [mine["grant_id"]]
    assert listed.json["grants"][0]["assume_role"]["ExternalId"] == P_EXTERNAL_ID
    assert [a.status for a in answers] == [200, 200, 403, 404, 403, 403]
    assert answers[1].json == {"grants": [], "count": 0}
    for answer in answers:
        _leaks_nothing_of_q(lab, answer.raw["body"], theirs["role_name"])
        assert "rolegate-unproven-q" not in answer.raw["body"]
    assert lab.state() == before and lab.writes_since(mark) == []


# ----------------------------------------------------------- moving a grant
@pytest.mark.parametrize("change", [
    {"partner_account_id": "Q"},
    {"principal": {"type": "account", "external_id": Q_EXTERNAL_ID}},
    {"owner_account_id": "1111222233334444"},
    {"role_name": "rolegate-q-ops"},
    {"policies": [{"name": "AdministratorAccess"}]},
])
def test_a_scoped_client_cannot_move_its_grant_to_another_partner(clients: Lab, change: dict) -> None:
    """portal's PATCH of its own grant naming another partner, principal, owner, role or policies: 400, and the
    grant's partner, trust policy and tags stay as they were."""
    mine = clients.as_client("portal", PORTAL, "POST", "/grants", clients.body(clients.p.account_id, P_EXTERNAL_ID))
    assert mine.status == 201, mine.json
    path = f"/grants/{mine.json['grant_id']}"
    body = {"duration_seconds": 86400, **{k: clients.q if v == "Q" else v for k, v in change.items()}}
    before, mark = clients.state(), clients.mark()

    reply = clients.as_client("portal", PORTAL, "PATCH", path, body)

    assert reply.status == 400, reply.json
    assert clients.state() == before and clients.writes_since(mark) == []
    shown = clients.as_client("portal", PORTAL, "GET", path).json
    assert (shown["partner_account_id"], shown["assume_role"]["ExternalId"], shown["expires_at"]) == \
        (clients.p.account_id, P_EXTERNAL_ID, mine.json["expires_at"])


def test_a_scoped_client_cannot_reach_another_partners_grant_by_key_or_role_name(clients: Lab) -> None:
    """Its own idempotency key with Q as partner is out of scope before any lookup (403); naming Q's grant's role
    for a P grant is a conflict that says nothing of Q's grant and leaves its role untouched."""
    made = clients.as_client("portal", PORTAL, "POST", "/grants",
                             clients.body(clients.p.account_id, P_EXTERNAL_ID, idempotency_key="portal-1"))
    assert made.status == 201, made.json
    theirs = clients.as_client("admin", ADMIN, "POST", "/grants",
                               clients.body(clients.q, Q_EXTERNAL_ID, role_name="rolegate-q-ops"))
    assert theirs.status == 201, theirs.json
    before, mark = clients.state(), clients.mark()

    by_key = clients.as_client("portal", PORTAL, "POST", "/grants",
                               clients.body(clients.q, Q_EXTERNAL_ID, idempotency_key="portal-1"))
    by_role = [clients.as_client("portal", PORTAL, "POST", "/grants",
                                 clients.body(clients.p.account_id, P_EXTERNAL_ID, role_name="rolegate-q-ops",
                                              **extra)) for extra in ({}, {"dry_run": True})]

    assert (by_key.status, by_key.json["error"]["code"]) == (403, "OutOfScope")
    assert [r.status for r in by_role] == [409, 409], [r.json for r in by_role]
    for reply in (by_key, *by_role):
        _leaks_nothing_of_q(clients, reply.raw["body"])
    assert clients.state() == before
    assert clients.writes_since(mark) == ["CreateRole"]  # the real create's, refused by RAM; the dry run made none
    assert clients.as_client("admin", ADMIN, "GET", f"/grants/{theirs.json['grant_id']}").json["status"] == "active"


def test_naming_another_partners_role_does_not_reveal_its_grant_id(clients: Lab) -> None:
    theirs = clients.as_client("admin", ADMIN, "POST", "/grants",
                               clients.body(clients.q, Q_EXTERNAL_ID, role_name="rolegate-q-ops"))
    assert theirs.status == 201, theirs.json
    before = clients.state()

    reply = clients.as_client("portal", PORTAL, "POST", "/grants",
                              clients.body(clients.p.account_id, P_EXTERNAL_ID, role_name="rolegate-q-ops"))

    assert reply.status == 409 and reply.json["error"]["field"] == "role_name"
    assert theirs.json["grant_id"] not in reply.raw["body"]
    assert clients.state() == before
