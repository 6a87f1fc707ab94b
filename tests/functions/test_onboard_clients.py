"""Named webhook clients: each signs with its own secret from KMS and acts within its scope; the shared one stays.

The function runs as a RAM user holding exactly deploy/policies/onboard.json
(authorization on), so these tests also prove the policy lets it read the
clients' secret and nothing else. Attacks on the scheme are in
tests/security/test_client_scopes.py.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_ram20150501 import models as ram_models

from shared.grants.tags import MANAGED_TAG
from shared.onboarding import auth
from tests.emulator.helpers import kms_client, ram_client
from tests.functions.clients_support import (P_EXTERNAL_ID, Q_EXTERNAL_ID, Lab, entry, lab,  # noqa: F401
                                             named_headers)

PORTAL = "portal-secret-0123456789abcdef"
AUDITOR = "auditor-secret-0123456789abcdef"
OLD = "replaced-secret-0123456789abcdef"


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    return [line for line in lines if line.get("event") == "onboard_request"]


def test_the_named_signature_covers_the_client_between_timestamp_and_method() -> None:
    """Rolegate's signer and an independent HMAC over "<ts>.<client>.<METHOD>.<path>.<body>" agree."""
    body = b'{"partner_account_id": "1"}'
    independent = named_headers("portal", PORTAL, "POST", "/grants", body, 1_800_000_000)["X-Rolegate-Signature"]
    assert auth.sign(PORTAL, "1800000000", "post", "/grants", body, "portal") == independent
    assert auth.sign(PORTAL, "1800000000", "post", "/grants", body) != independent


def test_a_client_works_its_grants_through_their_whole_life(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """Create, list, read, extend and end a grant of its partner; every log line names the client, none its secret."""
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id])})

    made = lab.as_client("portal", PORTAL, "POST", "/grants", lab.body(lab.p.account_id, P_EXTERNAL_ID))
    assert made.status == 201, made.json
    grant_id = made.json["grant_id"]
    listed = lab.as_client("portal", PORTAL, "GET", "/grants")
    assert [g["grant_id"] for g in listed.json["grants"]] == [grant_id]
    read = lab.as_client("portal", PORTAL, "GET", f"/grants/{grant_id}")
    assert read.status == 200 and read.json["assume_role"]["ExternalId"] == P_EXTERNAL_ID
    extended = lab.as_client("portal", PORTAL, "PATCH", f"/grants/{grant_id}", {"duration_seconds": 86400})
    assert extended.status == 200, extended.json
    ended = lab.as_client("portal", PORTAL, "DELETE", f"/grants/{grant_id}")
    assert ended.status == 200 and ended.json["grant_id"] == grant_id

    lines = _log_lines(capsys)
    assert [(line["method"], line["client"], line["status"]) for line in lines] == [
        ("POST", "portal", 201), ("GET", "portal", 200), ("GET", "portal", 200), ("PATCH", "portal", 200),
        ("DELETE", "portal", 200)]
    assert PORTAL not in json.dumps(lines)


def test_the_shared_secret_keeps_full_scope_beside_named_clients(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a client header the shared secret signs as before, for any partner, and sees every grant."""
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id])})
    for_q = lab.grant(lab.q, Q_EXTERNAL_ID)
    for_p = lab.grant(lab.p.account_id, P_EXTERNAL_ID)

    listed = lab.as_shared("GET", "/grants")

    assert sorted(g["grant_id"] for g in listed.json["grants"]) == sorted([for_q["grant_id"], for_p["grant_id"]])
    assert {line["client"] for line in _log_lines(capsys)} == {"(shared secret)"}


def test_without_the_shared_secret_only_named_clients_get_in(lab: Lab) -> None:
    """ROLEGATE_WEBHOOK_SECRET left empty with clients configured: a shared-secret signature is a 401."""
    lab.set_clients({"portal": entry(PORTAL, ["*"])})
    lab.without_shared_secret()
    mark = lab.mark()

    refused = lab.as_shared("POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID))

    assert (refused.status, refused.json["error"]["code"]) == (401, "SignatureMismatch")
    assert lab.writes_since(mark) == []
    assert lab.as_client("portal", PORTAL, "POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID)).status == 201


def test_neither_a_shared_secret_nor_clients_is_a_configuration_error(lab: Lab) -> None:
    lab.without_shared_secret()
    reply = lab.as_shared("GET", "/grants")
    assert (reply.status, reply.json["error"]["field"]) == (500, "ROLEGATE_WEBHOOK_SECRET")


def test_clients_are_never_taken_from_the_functions_settings(lab: Lab) -> None:
    """ROLEGATE_WEBHOOK_CLIENTS must name a KMS secret: JSON in the setting itself is refused, nothing is created."""
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", json.dumps({"portal": entry(PORTAL, ["*"])}))
    before, mark = lab.state(), lab.mark()

    reply = lab.as_client("portal", PORTAL, "POST", "/grants", lab.body(lab.p.account_id, P_EXTERNAL_ID))

    assert (reply.status, reply.json["error"]["field"]) == (500, "ROLEGATE_WEBHOOK_CLIENTS")
    assert PORTAL not in json.dumps(reply.json)
    assert lab.state() == before and lab.writes_since(mark) == []


@pytest.mark.parametrize("clients", [
    "not json",
    json.dumps(["portal"]),
    json.dumps({"Portal": entry(PORTAL, ["*"])}),
    json.dumps({"portal": {"secret": PORTAL, "partners": ["*"], "write": True}}),
    json.dumps({"portal": entry("short", ["*"])}),
    json.dumps({"portal": entry(PORTAL, ["12345"])}),
    json.dumps({"portal": entry(PORTAL, [])}),
    json.dumps({"portal": {**entry(PORTAL, ["*"]), "write": "yes"}}),
    json.dumps({"portal": entry(PORTAL, ["*"], previous={"secret": OLD})}),
])
def test_a_malformed_clients_secret_admits_no_named_client(lab: Lab, clients: str) -> None:
    """Every named request fails closed (500 naming the setting, quoting no secret); the shared secret still works."""
    lab.set_clients(clients)
    before, mark = lab.state(), lab.mark()

    reply = lab.as_client("portal", PORTAL, "POST", "/grants", lab.body(lab.p.account_id, P_EXTERNAL_ID))

    assert (reply.status, reply.json["error"]["field"]) == (500, "ROLEGATE_WEBHOOK_CLIENTS")
    assert PORTAL not in json.dumps(reply.json)
    assert lab.state() == before and lab.writes_since(mark) == []
    assert lab.as_shared("GET", "/grants").status == 200


def test_the_function_reads_no_other_secret_as_its_clients(lab: Lab) -> None:
    """Pointed at a secret outside its policy, the function is refused by KMS and admits nobody (fails closed)."""
    kms_client(lab.emulator, lab.owner.root).create_secret(kms_models.CreateSecretRequest(
        secret_name="partner-portal-clients", secret_data=json.dumps({"portal": entry(PORTAL, ["*"])}),
        version_id="v1", secret_data_type="text"))
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", "kms:partner-portal-clients")
    before, mark = lab.state(), lab.mark()

    reply = lab.as_client("portal", PORTAL, "POST", "/grants", lab.body(lab.p.account_id, P_EXTERNAL_ID))

    assert reply.status >= 500 and "NoPermission" in json.dumps(reply.json)
    assert lab.state() == before and lab.writes_since(mark) == []


def test_an_unproven_caller_learns_nothing_of_the_deployment_when_the_keys_cannot_be_read(
        lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """The clients' secret is read before any signature is checked, so a caller with no secret at all can make
    that read fail: its answer names the setting only; the secret's ARN and the account stay in the log."""
    lab.monkeypatch.setenv("ROLEGATE_WEBHOOK_CLIENTS", "kms:partner-portal-clients")  # outside the function's policy
    capsys.readouterr()

    reply = lab.send("GET", "/grants", headers={auth.CLIENT_HEADER: "anyone", auth.TIMESTAMP_HEADER: lab.stamp(),
                                                auth.SIGNATURE_HEADER: "sha256=" + "0" * 64})

    assert reply.status >= 500 and reply.json["error"]["field"] == "ROLEGATE_WEBHOOK_CLIENTS"
    answered = json.dumps(reply.json)
    assert lab.owner.account_id not in answered and "partner-portal-clients" not in answered
    logged = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"webhook_keys_unreadable"' in x]
    assert len(logged) == 1 and "partner-portal-clients" in json.dumps(logged[0]["error"])


def test_a_read_only_client_reads_and_is_refused_every_write(lab: Lab) -> None:
    """403 ReadOnlyClient on create, extend and delete, with nothing written; list and get answer."""
    lab.set_clients({"auditor": entry(AUDITOR, ["*"], write=False)})
    grant = lab.grant(lab.p.account_id, P_EXTERNAL_ID)
    path = f"/grants/{grant['grant_id']}"
    before, mark = lab.state(), lab.mark()

    writes = [lab.as_client("auditor", AUDITOR, "POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID)),
              lab.as_client("auditor", AUDITOR, "POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID, dry_run=True)),
              lab.as_client("auditor", AUDITOR, "PATCH", path, {"duration_seconds": 86400}),
              lab.as_client("auditor", AUDITOR, "DELETE", path)]

    assert [(r.status, r.json["error"]["code"]) for r in writes] == [(403, "ReadOnlyClient")] * 4
    assert lab.state() == before and lab.writes_since(mark) == []
    assert lab.as_client("auditor", AUDITOR, "GET", path).json["expires_at"] == grant["expires_at"]
    assert lab.as_client("auditor", AUDITOR, "GET", "/grants").json["count"] == 1


def test_a_rotated_client_signs_with_either_secret_until_the_overlap_ends(lab: Lab) -> None:
    """The replaced secret is accepted while ``previous.until`` lies ahead, and refused once it has passed."""
    lab.set_clients({"portal": entry(PORTAL, ["*"], previous={"secret": OLD, "until": 4_000_000_000})})
    assert lab.as_client("portal", PORTAL, "GET", "/grants").status == 200
    assert lab.as_client("portal", OLD, "GET", "/grants").status == 200

    lab.set_clients({"portal": entry(PORTAL, ["*"], previous={"secret": OLD, "until": 1_700_000_000})})
    assert lab.as_client("portal", PORTAL, "GET", "/grants").status == 200
    assert lab.as_client("portal", OLD, "GET", "/grants").status == 401


def test_a_removed_client_is_refused_once_the_secret_is_read_again(lab: Lab) -> None:
    lab.set_clients({"portal": entry(PORTAL, ["*"]), "auditor": entry(AUDITOR, ["*"], write=False)})
    assert lab.as_client("portal", PORTAL, "GET", "/grants").status == 200

    lab.set_clients({"auditor": entry(AUDITOR, ["*"], write=False)})

    assert lab.as_client("portal", PORTAL, "GET", "/grants").status == 401
    assert lab.as_client("auditor", AUDITOR, "GET", "/grants").status == 200


def test_an_account_scope_without_the_owner_account_reaches_nothing(lab: Lab) -> None:
    """Scope names owner accounts too: a client for another account can neither create here nor see a grant."""
    lab.set_clients({"elsewhere": entry(PORTAL, ["*"], accounts=["1111222233334444"]),
                     "here": entry(AUDITOR, ["*"], accounts=[lab.owner.account_id])})
    grant = lab.grant(lab.p.account_id, P_EXTERNAL_ID)
    before, mark = lab.state(), lab.mark()

    created = lab.as_client("elsewhere", PORTAL, "POST", "/grants", lab.body(lab.q, Q_EXTERNAL_ID))

    assert (created.status, created.json["error"]["code"]) == (403, "OutOfScope")
    assert lab.state() == before and lab.writes_since(mark) == []
    assert lab.as_client("elsewhere", PORTAL, "GET", "/grants").json["grants"] == []
    assert lab.as_client("elsewhere", PORTAL, "GET", f"/grants/{grant['grant_id']}").status == 403
    assert lab.as_client("here", AUDITOR, "GET", f"/grants/{grant['grant_id']}").status == 200


def test_a_role_without_a_proven_record_is_shown_only_to_clients_of_every_partner(lab: Lab) -> None:
    """Nobody can tell whose an unproven role is, so only a client reaching every partner lists it."""
    lab.set_clients({"portal": entry(PORTAL, [lab.p.account_id]), "ops": entry(AUDITOR, ["*"], write=False)})
    ram_client(lab.emulator, lab.owner.root).create_role(ram_models.CreateRoleRequest(
        role_name="rolegate-unproven", assume_role_policy_document=json.dumps({
            "Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": [f"acs:ram::{lab.q}:root"]}}]}),
        tag=[ram_models.CreateRoleRequestTag(key=MANAGED_TAG["Key"], value=MANAGED_TAG["Value"])]))

    assert lab.as_client("portal", PORTAL, "GET", "/grants").json["grants"] == []
    shown = lab.as_client("ops", AUDITOR, "GET", "/grants").json["grants"]
    assert [(g["role_name"], g["status"]) for g in shown] == [("rolegate-unproven", "unproven")]
