"""The onboard function deployed in a hub, acting in member accounts (ROLEGATE_MEMBERS).

The arena is tests/functions/members_support.py: hub H, members A (enrolled)
and B (not), outsider D. Every refusal is checked against every account's RAM
state: nothing may be created anywhere.
"""
from __future__ import annotations

import json

import pytest
from alibabacloud_ram20150501 import models as ram_models

from tests.emulator.helpers import ram_client
from tests.functions.conftest import partner  # noqa: F401  (fixture)
from tests.functions.members_support import CLIENT_SECRET, Hub, hub  # noqa: F401  (fixture)


# ------------------------------------------------------------------ creating in a member
def test_a_grant_is_created_in_the_member_the_body_names(hub: Hub) -> None:
    before_hub = hub.snapshots()["H"]
    reply = hub.hook.call("POST", "/grants", hub.body(hub.a))
    assert reply.status == 201, reply.json
    grant = reply.json
    assert grant["owner_account_id"] == hub.a and grant["role_arn"].startswith(f"acs:ram::{hub.a}:role/rolegate-")
    assert grant["role_name"] in hub.roles_of("A")
    assert hub.snapshots()["H"] == before_hub  # nothing in the hub
    ram = ram_client(hub.world.emulator, hub.world.members["A"])
    attached = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name=grant["role_name"]))
    assert [p.policy_name for p in attached.body.policies.policy] == ["AliyunFCReadOnlyAccess"]

    path = f"/accounts/{hub.a}/grants/{grant['grant_id']}"
    read = hub.hook.call("GET", path)
    assert read.status == 200 and read.json["status"] == "active" and read.json["owner_account_id"] == hub.a
    assert hub.hook.call("GET", f"/grants/{grant['grant_id']}").status == 404  # not the hub's
    assert hub.hook.call("PATCH", path, {"duration_seconds": 3600}).status == 200
    ended = hub.hook.call("DELETE", path)
    assert ended.status == 200 and ended.json["tombstoned"] is True
    assert hub.hook.call("GET", path).json["status"] == "revoked"


def test_the_same_request_for_two_accounts_is_two_grants(hub: Hub) -> None:
    """The grant id is derived with the account: one idempotency key in the hub and in A names two grants."""
    mine = hub.hook.call("POST", "/grants", hub.body(idempotency_key="ticket-7"))
    theirs = hub.hook.call("POST", "/grants", hub.body(hub.a, idempotency_key="ticket-7"))
    assert mine.status == theirs.status == 201
    assert mine.json["owner_account_id"] == hub.world.hub_id and theirs.json["owner_account_id"] == hub.a
    assert mine.json["grant_id"] != theirs.json["grant_id"]
    again = hub.hook.call("POST", "/grants", hub.body(hub.a, idempotency_key="ticket-7"))
    assert again.status == 200 and again.json["grant_id"] == theirs.json["grant_id"]


def test_without_account_id_the_grant_is_the_hubs_own(hub: Hub) -> None:
    reply = hub.hook.call("POST", "/grants", hub.body())
    assert reply.status == 201 and reply.json["owner_account_id"] == hub.world.hub_id
    assert hub.hook.call("GET", f"/grants/{reply.json['grant_id']}").status == 200
    own = hub.hook.call("GET", f"/accounts/{hub.world.hub_id}/grants/{reply.json['grant_id']}")
    assert own.status == 200 and own.json["grant_id"] == reply.json["grant_id"]


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize("who", ["outsider", "unknown"])
def test_a_non_member_is_refused_and_nothing_is_created_anywhere(hub: Hub, who: str) -> None:
    target = hub.d if who == "outsider" else "9999888877776666"
    before = hub.snapshots()
    for body in (hub.body(target), hub.body(target, dry_run=True)):
        reply = hub.hook.call("POST", "/grants", body)
        assert reply.status == 403 and reply.json["error"]["code"] == "NotAMember"
        assert reply.json["error"]["field"] == "account_id"
    for method, body in (("GET", None), ("PATCH", {"duration_seconds": 3600}), ("DELETE", None)):
        reply = hub.hook.call(method, f"/accounts/{target}/grants/g-abcdefghijkl", body)
        assert reply.status == 403 and reply.json["error"]["code"] == "NotAMember", (method, reply.json)
    listed = hub.hook.call("GET", "/grants", query={"account_id": target})
    assert listed.status == 403 and listed.json["error"]["code"] == "NotAMember"
    assert hub.snapshots() == before


def test_a_malformed_account_is_refused_by_the_schema(hub: Hub) -> None:
    before = hub.snapshots()
    reply = hub.hook.call("POST", "/grants", hub.body("12345"))
    assert reply.status == 400 and reply.json["error"]["field"] == "account_id"
    assert hub.hook.call("GET", "/accounts/12345/grants/g-abcdefghijkl").status == 404
    assert hub.snapshots() == before


def test_a_member_without_its_manager_role_gets_a_clear_error_and_nothing_is_created(hub: Hub) -> None:
    before = hub.snapshots()
    reply = hub.hook.call("POST", "/grants", hub.body(hub.b))
    assert reply.status == 409, reply.json
    error = reply.json["error"]
    assert error["code"] == "MemberNotEnrolled" and f"rolegate members enroll {hub.b}" in error["message"]
    assert hub.snapshots() == before


def test_a_manager_role_whose_trust_was_broken_gets_the_same_clear_error(hub: Hub) -> None:
    """A's administrator rewrites the trust policy to trust only their own account: the hub cannot act there."""
    ram = ram_client(hub.world.emulator, hub.world.admin_of("A"))
    ram.update_role(ram_models.UpdateRoleRequest(role_name="RolegateManager", new_assume_role_policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                        "Principal": {"RAM": [f"acs:ram::{hub.a}:root"]}}]})))
    before = hub.snapshots()
    reply = hub.hook.call("POST", "/grants", hub.body(hub.a))
    assert reply.status == 409 and reply.json["error"]["code"] == "MemberNotEnrolled"
    assert hub.snapshots() == before


def test_the_single_account_default_refuses_any_other_account(hub: Hub) -> None:
    """ROLEGATE_MEMBERS unset: the hub's own account only, as before members existed."""
    hub.monkeypatch.delenv("ROLEGATE_MEMBERS")
    before = hub.snapshots()
    reply = hub.hook.call("POST", "/grants", hub.body(hub.a))
    assert reply.status == 403 and reply.json["error"]["code"] == "NotAMember"
    assert hub.snapshots() == before
    made = hub.hook.call("POST", "/grants", hub.body())
    assert made.status == 201
    listed = hub.hook.call("GET", "/grants")
    assert listed.status == 200 and set(listed.json) == {"grants", "count"} and listed.json["count"] == 1


# ------------------------------------------------------------------ scope
def test_a_scope_is_judged_against_the_member_account(hub: Hub) -> None:
    """A client scoped to member B may not create, read, extend or end in A, and lists only B."""
    made = hub.hook.call("POST", "/grants", hub.body(hub.a)).json
    hub.set_clients({"b-only": {"secret": CLIENT_SECRET, "accounts": [hub.b], "partners": ["*"], "write": True}})
    before = hub.snapshots()
    refused = hub.named("b-only", "POST", "/grants", hub.body(hub.a))
    assert refused.status == 403 and refused.json["error"]["code"] == "OutOfScope"
    assert refused.json["error"]["field"] == "account_id"
    hub_own = hub.named("b-only", "POST", "/grants", hub.body())
    assert hub_own.status == 403 and hub_own.json["error"]["code"] == "OutOfScope"
    path = f"/accounts/{hub.a}/grants/{made['grant_id']}"
    for method, body in (("GET", None), ("PATCH", {"duration_seconds": 3600}), ("DELETE", None)):
        reply = hub.named("b-only", method, path, body)
        assert reply.status == 403 and reply.json["error"]["code"] == "OutOfScope", method
    listed = hub.named("b-only", "GET", "/grants")
    assert listed.status == 200 and listed.json["accounts"] == [hub.b] and listed.json["count"] == 0
    assert listed.json["account_errors"][0]["code"] == "MemberNotEnrolled"
    assert hub.named("b-only", "GET", "/grants", query={"account_id": hub.a}).status == 403
    assert hub.snapshots() == before


def test_a_scope_naming_the_member_reaches_its_grants(hub: Hub) -> None:
    hub.set_clients({"a-only": {"secret": CLIENT_SECRET, "accounts": [hub.a], "partners": ["*"], "write": True}})
    made = hub.named("a-only", "POST", "/grants", hub.body(hub.a))
    assert made.status == 201, made.json
    assert hub.named("a-only", "GET", f"/accounts/{hub.a}/grants/{made.json['grant_id']}").status == 200
    listed = hub.named("a-only", "GET", "/grants")
    assert listed.json["accounts"] == [hub.a] and [g["grant_id"] for g in listed.json["grants"]] == \
        [made.json["grant_id"]]


# ------------------------------------------------------------------ listing
def test_the_list_spans_the_hub_and_members_and_filters_by_account(hub: Hub) -> None:
    own = hub.hook.call("POST", "/grants", hub.body()).json
    theirs = hub.hook.call("POST", "/grants", hub.body(hub.a)).json
    everything = hub.hook.call("GET", "/grants")
    assert everything.status == 200
    assert everything.json["accounts"] == [hub.world.hub_id, hub.a, hub.b]
    assert {g["grant_id"] for g in everything.json["grants"]} == {own["grant_id"], theirs["grant_id"]}
    assert [e["account_id"] for e in everything.json["account_errors"]] == [hub.b]  # B is not enrolled
    only_a = hub.hook.call("GET", "/grants", query={"account_id": hub.a})
    assert [g["grant_id"] for g in only_a.json["grants"]] == [theirs["grant_id"]]
    assert only_a.json["accounts"] == [hub.a]
    only_b = hub.hook.call("GET", "/grants", query={"account_id": hub.b})
    assert only_b.status == 409 and only_b.json["error"]["code"] == "MemberNotEnrolled"


def test_a_malformed_member_setting_fails_every_request_and_names_the_setting(hub: Hub) -> None:
    hub.monkeypatch.setenv("ROLEGATE_MEMBERS", "resource-directory,not-an-account")
    before = hub.snapshots()
    for method, path, body in (("POST", "/grants", hub.body()), ("GET", "/grants", None)):
        reply = hub.hook.call(method, path, body)
        assert reply.status == 500 and reply.json["error"]["field"] == "ROLEGATE_MEMBERS", reply.json
        assert "not-an-account" not in json.dumps(reply.json)
    assert hub.snapshots() == before


def test_a_signature_for_one_members_grant_cannot_be_pointed_at_another(hub: Hub) -> None:
    """The account is part of the signed path: the same DELETE moved from A's path to B's is not authentic."""
    made = hub.hook.call("POST", "/grants", hub.body(hub.a)).json
    event = hub.hook.event("DELETE", f"/accounts/{hub.a}/grants/{made['grant_id']}")
    moved = f"/accounts/{hub.b}/grants/{made['grant_id']}"
    event["rawPath"] = moved
    event["requestContext"]["http"]["path"] = moved
    before = hub.snapshots()
    reply = hub.hook.send(event)
    assert reply.status == 401 and reply.json["error"]["code"] == "SignatureMismatch"
    assert hub.snapshots() == before
