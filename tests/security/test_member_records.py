"""Attacks on grant records by a member account's own administrator, against the hub's onboard function.

The hub seals every member's records with the hub's record key, bound to the
member's account id and the role's name. A member's administrator holds every
RAM and KMS permission of the member but not the hub's key: whatever record
they write or copy into their account is never taken for a grant, and nothing
is extended, ended or shown as active because of it.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alibabacloud_ram20150501 import models as ram_models

from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import role_name_for
from shared.grants.tags import grant_to_tags
from shared.policies.principals import UserPrincipal
from shared.ram import RamGateway
from tests.emulator.helpers import ram_client, record_keyring
from tests.functions.conftest import partner  # noqa: F401  (fixture)
from tests.functions.members_support import Hub, enroll, hub  # noqa: F401  (fixture)
from tests.security.conftest import FORGER


def tags_of(hub: Hub, creds: dict[str, Any], role: str) -> list[dict[str, str]]:
    return RamGateway(ram_client(hub.world.emulator, creds)).role_tags(role)


def plant(hub: Hub, member: str, role: str, tags: list[dict[str, str]]) -> None:
    """The member's administrator makes a role trusting partner P's Alice, with these tags and admin power."""
    ram = ram_client(hub.world.emulator, hub.world.admin_of(member))
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{hub.partner.account_id}:user/Alice"]}}]}
    ram.create_role(ram_models.CreateRoleRequest(
        role_name=role, assume_role_policy_document=json.dumps(trust),
        tag=[ram_models.CreateRoleRequestTag(key=t["Key"], value=t["Value"]) for t in tags]))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="System",
                                                                   policy_name="AdministratorAccess", role_name=role))


def forged_grant(hub: Hub, member: str) -> Grant:
    """A grant as the member's administrator would like the hub to believe in: a year, for partner P."""
    grant_id = new_grant_id()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return Grant(grant_id=grant_id, owner_account_id=hub.world.member_id(member),
                 partner_account_id=hub.partner.account_id, principal=UserPrincipal(hub.partner.account_id, "Alice"),
                 policies=(PolicyRef("AliyunFCReadOnlyAccess", "System"),),
                 role_name=role_name_for(hub.partner.account_id, grant_id), max_session_duration=3600,
                 created_at=now, expires_at=now + timedelta(days=365))


def assert_not_believed(hub: Hub, member: str, grant_id: str, role: str) -> None:
    """Not a grant to any route: shown unproven, never extended or ended; the planted role is left as it was."""
    account = hub.world.member_id(member)
    creds = hub.world.members[member]
    before = hub.snapshots()
    tags = tags_of(hub, creds, role)
    path = f"/accounts/{account}/grants/{grant_id}"
    read = hub.hook.call("GET", path)
    assert read.status == 200 and read.json["status"] == "unproven" and "expires_at" not in read.json, read.json
    listed = hub.hook.call("GET", "/grants", query={"account_id": account}).json["grants"]
    assert [(g["role_name"], g["status"], g["account_id"]) for g in listed] == [(role, "unproven", account)]
    everywhere = hub.hook.call("GET", "/grants").json["grants"]
    assert not [g for g in everywhere if g.get("owner_account_id") == account]
    extended = hub.hook.call("PATCH", path, {"duration_seconds": 3600})
    assert extended.status == 403, extended.json
    ended = hub.hook.call("DELETE", path)
    assert ended.status == 403, ended.json
    assert hub.snapshots() == before and tags_of(hub, creds, role) == tags


@pytest.fixture
def both_enrolled(hub: Hub) -> Hub:
    enroll(hub.world, "B")
    return hub


def test_a_record_copied_from_member_a_to_member_b_is_not_believed(both_enrolled: Hub) -> None:
    hub = both_enrolled
    made = hub.hook.call("POST", "/grants", hub.body(hub.a)).json
    copied = tags_of(hub, hub.world.members["A"], made["role_name"])
    plant(hub, "B", made["role_name"], copied)
    assert_not_believed(hub, "B", made["grant_id"], made["role_name"])
    assert hub.hook.call("GET", f"/accounts/{hub.a}/grants/{made['grant_id']}").json["status"] == "active"


def test_a_hub_record_copied_into_a_member_is_not_believed(hub: Hub) -> None:
    made = hub.hook.call("POST", "/grants", hub.body()).json
    copied = tags_of(hub, hub.world.hub, made["role_name"])
    plant(hub, "A", made["role_name"], copied)
    assert_not_believed(hub, "A", made["grant_id"], made["role_name"])


def test_a_record_forged_with_a_made_up_key_in_a_member_is_not_believed(hub: Hub) -> None:
    grant = forged_grant(hub, "A")
    plant(hub, "A", grant.role_name, grant_to_tags(grant, FORGER, written_at=grant.created_at))
    assert_not_believed(hub, "A", grant.grant_id, grant.role_name)


def test_a_record_sealed_with_the_members_own_record_key_is_not_believed(hub: Hub) -> None:
    """The member's administrator runs `rolegate keys init` in the member and signs with that key: the hub
    never reads a member's key, so this is a forgery like any other."""
    grant = forged_grant(hub, "A")
    own_key = record_keyring(hub.world.emulator, hub.world.admin_of("A"))
    plant(hub, "A", grant.role_name, grant_to_tags(grant, own_key, written_at=grant.created_at))
    assert_not_believed(hub, "A", grant.grant_id, grant.role_name)
