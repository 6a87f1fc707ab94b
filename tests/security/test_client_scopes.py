"""Attacks on scoped webhook clients: borrowed names, stripped headers, widened bodies, other partners' grants.

Cast: ``portal`` may act for partner P only; ``admin`` for every partner;
``auditor`` may read every grant but write none. The attacker holds portal's
or auditor's secret and wants more. Every refusal is checked against the
owner account's RAM state and the ActionTrail feed: nothing written.
"""
from __future__ import annotations

import json

import pytest

from tests.functions.clients_support import (CLIENT_HEADER, P_EXTERNAL_ID, Q_EXTERNAL_ID, Lab, entry, lab,  # noqa: F401
                                             named_headers, shared_headers)
from tests.functions.conftest import WEBHOOK_SECRET, encode_body, fc_context, fc_env  # noqa: F401

PORTAL = "portal-secret-0123456789abcdef"
ADMIN = "admin-secret-0123456789abcdef00"
AUDITOR = "auditor-secret-0123456789abcdef"


@pytest.fixture
def clients(lab: Lab) -> Lab:
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id]), "admin": entry(ADMIN, ["*"]),
                     "auditor": entry(AUDITOR, ["*"], write=False)})
    return lab


def _nothing_written(lab: Lab, before: tuple, mark: int) -> None:
    assert lab.state() == before
    assert lab.writes_since(mark) == []


# ------------------------------------------------------------------ identity
def test_a_client_using_another_clients_name_with_its_own_secret_is_refused(clients: Lab) -> None:
    """portal signs as admin (admin's name, portal's secret) to reach partner Q: 401, nothing created."""
    before, mark = clients.state(), clients.mark()

    reply = clients.as_client("admin", PORTAL, "POST", "/grants", clients.body(clients.q, Q_EXTERNAL_ID))

    assert (reply.status, reply.json["error"]["code"]) == (401, "SignatureMismatch")
    _nothing_written(clients, before, mark)


def test_a_signature_made_for_one_name_does_not_pass_under_another(clients: Lab) -> None:
    """The name is signed: even where two clients were given one secret by hand, portal's genuine signature with
    the header rewritten to the wider client's name is a 401."""
    clients.set_clients({"portal": entry(PORTAL, [clients.p.account_id]), "portal-all": entry(PORTAL, ["*"])})
    raw = encode_body(clients.body(clients.q, Q_EXTERNAL_ID))
    headers = named_headers("portal", PORTAL, "POST", "/grants", raw, clients.stamp())
    before, mark = clients.state(), clients.mark()

    reply = clients.send("POST", "/grants", raw, {**headers, CLIENT_HEADER: "portal-all"})

    assert reply.status == 401
    _nothing_written(clients, before, mark)


@pytest.mark.parametrize("name", ["nobody", "Portal", "POST", "(shared secret)", "portal,admin", ""])
def test_an_unknown_client_is_answered_exactly_as_a_wrong_signature(clients: Lab, name: str) -> None:
    """No oracle on names: the answer for a name nobody has is byte for byte a known name's with a wrong secret."""
    unknown = clients.as_client(name, PORTAL, "GET", "/grants")
    wrong_secret = clients.as_client("admin", PORTAL, "GET", "/grants")
    assert unknown.status == wrong_secret.status == 401
    assert unknown.raw["body"] == wrong_secret.raw["body"]


def test_a_header_sent_twice_names_no_client(clients: Lab) -> None:
    """FC joins a repeated header with a comma; "portal,admin" is nobody, whichever copy the signature was for."""
    raw = encode_body(clients.body(clients.p.account_id, P_EXTERNAL_ID))
    headers = named_headers("portal", PORTAL, "POST", "/grants", raw, clients.stamp())
    before, mark = clients.state(), clients.mark()

    reply = clients.send("POST", "/grants", raw, {**headers, "x-rolegate-client": "admin"})

    assert reply.status == 401
    _nothing_written(clients, before, mark)


@pytest.mark.parametrize("shared_configured", [False, True], ids=["no-shared-secret", "shared-secret-set"])
def test_stripping_the_client_header_falls_back_to_nothing_the_attacker_holds(clients: Lab,
                                                                             shared_configured: bool) -> None:
    """Without its header, portal's request is judged against the shared secret (when there is one): 401 either
    way, whether the signature is portal's named one or one portal makes in the shared format with its secret."""
    if not shared_configured:
        clients.without_shared_secret()
    raw = encode_body(clients.body(clients.q, Q_EXTERNAL_ID))
    named = named_headers("portal", PORTAL, "POST", "/grants", raw, clients.stamp())
    before, mark = clients.state(), clients.mark()

    stripped = clients.send("POST", "/grants", raw, {k: v for k, v in named.items() if k != CLIENT_HEADER})
    resigned = clients.send("POST", "/grants", raw, shared_headers(PORTAL, "POST", "/grants", raw, clients.stamp()))

    assert [stripped.status, resigned.status] == [401, 401]
    _nothing_written(clients, before, mark)


def test_a_shared_secret_signature_with_an_empty_client_header_is_refused(clients: Lab) -> None:
    """A client header, even empty, means a named request: it never quietly becomes a shared-secret one."""
    raw = encode_body(clients.body(clients.q, Q_EXTERNAL_ID))
    headers = shared_headers(WEBHOOK_SECRET, "POST", "/grants", raw, clients.stamp())
    before, mark = clients.state(), clients.mark()

    reply = clients.send("POST", "/grants", raw, {**headers, CLIENT_HEADER: ""})

    assert reply.status == 401
    _nothing_written(clients, before, mark)


# ---------------------------------------------------------------------- scope
def test_portal_cannot_create_for_a_partner_outside_its_scope(clients: Lab) -> None:
    """403 OutOfScope before any lookup or write; the answer names the field, not the partner."""
    before, mark = clients.state(), clients.mark()

    for body in (clients.body(clients.q, Q_EXTERNAL_ID),
                 clients.body(clients.q, Q_EXTERNAL_ID, dry_run=True),
                 clients.body(clients.q, Q_EXTERNAL_ID, principal={"type": "user", "name": "Alice"})):
        reply = clients.as_client("portal", PORTAL, "POST", "/grants", body)
        assert (reply.status, reply.json["error"]["code"], reply.json["error"]["field"]) == \
            (403, "OutOfScope", "partner_account_id")
        assert clients.q not in reply.raw["body"]
    _nothing_written(clients, before, mark)


@pytest.mark.parametrize("extra", [
    {"owner_account_id": "1111222233334444"},
    {"client": "admin"},
    {"accounts": ["*"]},
    {"partners": ["*"]},
    {"write": True},
])
def test_scope_cannot_be_widened_through_body_fields(clients: Lab, extra: dict) -> None:
    """A body naming an owner account, a client or a scope of its own is refused (400) and creates nothing."""
    before, mark = clients.state(), clients.mark()

    reply = clients.as_client("portal", PORTAL, "POST", "/grants", clients.body(clients.p.account_id, P_EXTERNAL_ID,
                                                                                **extra))

    assert reply.status == 400, reply.json
    _nothing_written(clients, before, mark)


def test_a_reused_idempotency_key_does_not_reveal_another_partners_grant(clients: Lab) -> None:
    """admin made Q's grant under a key; portal reusing that key for P learns only that the key is taken (409)."""
    made = clients.as_client("admin", ADMIN, "POST", "/grants",
                             clients.body(clients.q, Q_EXTERNAL_ID, idempotency_key="order-7"))
    assert made.status == 201, made.json
    before, mark = clients.state(), clients.mark()

    reply = clients.as_client("portal", PORTAL, "POST", "/grants",
                              clients.body(clients.p.account_id, P_EXTERNAL_ID, idempotency_key="order-7"))
    dry = clients.as_client("portal", PORTAL, "POST", "/grants",
                            clients.body(clients.p.account_id, P_EXTERNAL_ID, idempotency_key="order-7",
                                         dry_run=True))

    for refused in (reply, dry):
        assert (refused.status, refused.json["error"]["code"]) == (409, "GrantConflict")
        assert Q_EXTERNAL_ID not in refused.raw["body"] and clients.q not in refused.raw["body"]
    _nothing_written(clients, before, mark)


def test_another_partners_external_id_never_reaches_a_client(clients: Lab) -> None:
    """portal lists only P's grant; Q's grant (its ExternalId, its account) is absent from every answer it gets."""
    mine = clients.grant(clients.p.account_id, P_EXTERNAL_ID)
    theirs = clients.grant(clients.q, Q_EXTERNAL_ID)

    answers = [clients.as_client("portal", PORTAL, "GET", "/grants"),
               clients.as_client("portal", PORTAL, "GET", "/grants", query={"partner": clients.q}),
               clients.as_client("portal", PORTAL, "GET", f"/grants/{theirs['grant_id']}")]

    assert [g["grant_id"] for g in answers[0].json["grants"]] == [mine["grant_id"]]
    assert answers[0].json["grants"][0]["assume_role"]["ExternalId"] == P_EXTERNAL_ID
    assert answers[1].json == {"grants": [], "count": 0}
    assert (answers[2].status, answers[2].json["error"]["code"]) == (403, "OutOfScope")
    for answer in answers:
        assert Q_EXTERNAL_ID not in answer.raw["body"] and clients.q not in answer.raw["body"]
        assert theirs["role_name"] not in answer.raw["body"]


def test_portal_cannot_extend_or_end_another_partners_grant(clients: Lab) -> None:
    """403 OutOfScope on PATCH (dry run too) and DELETE; Q's role, expiry and policies stay as they were."""
    theirs = clients.grant(clients.q, Q_EXTERNAL_ID)
    path = f"/grants/{theirs['grant_id']}"
    before, mark = clients.state(), clients.mark()

    replies = [clients.as_client("portal", PORTAL, "PATCH", path, {"duration_seconds": 86400}),
               clients.as_client("portal", PORTAL, "PATCH", path, {"duration_seconds": 86400, "dry_run": True}),
               clients.as_client("portal", PORTAL, "DELETE", path)]

    assert [(r.status, r.json["error"]["code"]) for r in replies] == [(403, "OutOfScope")] * 3
    for reply in replies:
        assert Q_EXTERNAL_ID not in reply.raw["body"] and clients.q not in reply.raw["body"]
    _nothing_written(clients, before, mark)
    assert clients.as_shared("GET", path).json["expires_at"] == theirs["expires_at"]


def test_a_refused_write_is_not_a_replay_of_the_next_one(clients: Lab) -> None:
    """portal's 403 on Q's grant does not consume admin's own, separately signed, DELETE of it."""
    theirs = clients.grant(clients.q, Q_EXTERNAL_ID)
    path = f"/grants/{theirs['grant_id']}"
    assert clients.as_client("portal", PORTAL, "DELETE", path).status == 403
    assert clients.as_client("admin", ADMIN, "DELETE", path).status == 200


# ------------------------------------------------------------------ read-only
def test_a_read_only_signature_cannot_be_replayed_as_a_write(clients: Lab) -> None:
    """auditor's signed GET of a grant, presented as DELETE or PATCH, or under admin's name: 401, nothing written."""
    grant = clients.grant(clients.p.account_id, P_EXTERNAL_ID)
    path = f"/grants/{grant['grant_id']}"
    read = named_headers("auditor", AUDITOR, "GET", path, b"", clients.stamp())
    assert clients.send("GET", path, None, read).status == 200
    before, mark = clients.state(), clients.mark()

    replies = [clients.send("DELETE", path, None, read),
               clients.send("PATCH", path, {"duration_seconds": 86400}, read),
               clients.send("DELETE", path, None, {**read, CLIENT_HEADER: "admin"}),
               clients.send("POST", "/grants", clients.body(clients.q, Q_EXTERNAL_ID), read)]

    assert [r.status for r in replies] == [401, 401, 401, 401]
    _nothing_written(clients, before, mark)


def test_a_read_only_clients_own_signed_write_is_refused(clients: Lab) -> None:
    """auditor signing a DELETE itself: 403 ReadOnlyClient, and the grant stays."""
    grant = clients.grant(clients.p.account_id, P_EXTERNAL_ID)
    before, mark = clients.state(), clients.mark()

    reply = clients.as_client("auditor", AUDITOR, "DELETE", f"/grants/{grant['grant_id']}")

    assert (reply.status, reply.json["error"]["code"]) == (403, "ReadOnlyClient")
    assert json.loads(reply.raw["body"])["error"].get("field") is None
    _nothing_written(clients, before, mark)
