"""The grant lifecycle against the emulator, through the real RAM client, with authorization on.

The identity doing the work is a RAM user holding only the RAM actions the
lifecycle needs, so a call the lifecycle forgot to be allowed would fail here.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from emulator.services.ram import ram_state
from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudCallError, Conflict, NotFound, Refused
from shared.grants.lifecycle import GrantStore, derive_grant_id
from shared.grants.model import Grant, PolicyRef
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.tags import grant_from_tags, record_expiry
from shared.policies.principals import AccountPrincipal, UserPrincipal

from tests.unit.grant_samples import as_format_1

from tests.emulator.helpers import record_keyring

from .helpers import ram_call

CUSTOM_DOC = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["fc:ListFunctions"], "Resource": "*"}]}
TAG_ACTIONS = ["ram:TagResources", "ram:ListTagResources"]
RAM_ACTIONS = ["ram:CreateRole", "ram:GetRole", "ram:ListRoles", "ram:UpdateRole", "ram:DeleteRole",
               "ram:CreatePolicy", "ram:GetPolicy", "ram:DeletePolicy", "ram:ListPolicyVersions",
               "ram:DeletePolicyVersion", "ram:SetDefaultPolicyVersion", "ram:AttachPolicyToRole",
               "ram:DetachPolicyFromRole", "ram:ListPoliciesForRole"]


@pytest.fixture
def partner(use_emulator: Any) -> dict[str, str]:
    return use_emulator.create_account("partner")


@pytest.fixture
def manager(root: Credentials, account_id: str) -> Credentials:
    """A RAM user of the owner account allowed exactly the lifecycle's RAM actions."""
    factory = ClientFactory(root)
    doc = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": RAM_ACTIONS, "Resource": [
            f"acs:ram::{account_id}:role/*", f"acs:ram::{account_id}:policy/*", "acs:ram::system:policy/*"]},
        # RAM's tag actions have no resource-level permission.
        {"Effect": "Allow", "Action": TAG_ACTIONS, "Resource": "*"}]}
    ram_call(factory, "create_policy", policy_name="grant-manager", policy_document=json.dumps(doc))
    ram_call(factory, "create_user", user_name="manager")
    ram_call(factory, "attach_policy_to_user", user_name="manager", policy_type="Custom",
             policy_name="grant-manager")
    key = ram_call(factory, "create_access_key", user_name="manager").access_key
    return Credentials(key.access_key_id, key.access_key_secret)


@pytest.fixture
def keyring(use_emulator: Any, root: Credentials, account_id: str) -> Any:
    return record_keyring(use_emulator, {"account_id": account_id, "access_key_id": root.access_key_id,
                                         "access_key_secret": root.access_key_secret})


@pytest.fixture
def store(manager: Credentials, account_id: str, keyring: Any, use_emulator: Any) -> GrantStore:
    return GrantStore(ClientFactory(manager).ram(), account_id, keyring, now=use_emulator.world.clock.now)


def make_grant(owner: str, partner: str, key: str = "k", *, custom: bool = True, principal: Any = None) -> Grant:
    grant_id = derive_grant_id(owner, key)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    policies = [PolicyRef("AliyunFCReadOnlyAccess", "System")]
    if custom:
        policies.append(PolicyRef(custom_policy_name(grant_id, 0), "Custom", document=CUSTOM_DOC))
    return Grant(grant_id, owner, partner, principal or UserPrincipal(partner, "Alice"), tuple(policies),
                 role_name_for(partner, grant_id), 3600, now, now + timedelta(days=1))


def world(root: Credentials) -> dict[str, Any]:
    """What RAM holds in the owner account: roles, custom policies, attachments (read with the root key)."""
    factory = ClientFactory(root)
    roles = [r.role_name for r in ram_call(factory, "list_roles", max_items=1000).roles.role or []]
    policies = [p.policy_name for p in ram_call(factory, "list_policies", policy_type="Custom",
                                                max_items=1000).policies.policy or []]
    attached = {r: sorted(p.policy_name for p in ram_call(factory, "list_policies_for_role", role_name=r)
                          .policies.policy or []) for r in roles}
    return {"roles": sorted(roles), "policies": sorted(policies), "attached": attached}


def test_create_makes_role_policies_and_attachments_in_the_minimum_calls(store, root, account_id, partner,
                                                                        use_emulator):
    """A create is CreateRole, CreatePolicy per custom policy and one attach per policy: nothing more."""
    grant = make_grant(account_id, partner["account_id"])
    since = use_emulator.calls()[-1]["seq"]
    result = store.create(grant)
    assert result.created
    actions = [c["action"] for c in use_emulator.calls(since) if c["outcome"] == "ok"]
    assert actions == ["CreateRole", "CreatePolicy", "AttachPolicyToRole", "AttachPolicyToRole"]
    state = world(root)
    assert state["attached"][grant.role_name] == sorted(["AliyunFCReadOnlyAccess", grant.policies[1].name])
    found = store.find(grant.grant_id)
    assert found.grant == grant


def test_create_again_is_a_retry_not_a_second_grant(store, root, account_id, partner):
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    before = world(root)
    again = store.create(grant)
    assert not again.created and again.grant.grant_id == grant.grant_id
    assert world(root) == before


def test_create_completes_a_half_made_grant(store, root, account_id, partner):
    """A create that died after CreateRole is finished by the retry, not duplicated or refused."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    ram_call(ClientFactory(root), "detach_policy_from_role", role_name=grant.role_name,
             policy_type="System", policy_name="AliyunFCReadOnlyAccess")
    store.create(grant)
    assert "AliyunFCReadOnlyAccess" in world(root)["attached"][grant.role_name]


def test_create_refuses_a_role_name_held_by_an_unmanaged_role(store, root, account_id, partner):
    grant = make_grant(account_id, partner["account_id"])
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]}
    ram_call(ClientFactory(root), "create_role", role_name=grant.role_name,
             assume_role_policy_document=json.dumps(trust))
    before = world(root)
    with pytest.raises(Conflict):
        store.create(grant)
    assert world(root) == before


def test_create_refuses_the_same_grant_id_with_other_content(store, root, account_id, partner):
    store.create(make_grant(account_id, partner["account_id"]))
    before = world(root)
    other = make_grant(account_id, partner["account_id"], principal=UserPrincipal(partner["account_id"], "Bob"))
    with pytest.raises(Conflict):
        store.create(other)
    assert world(root) == before


@pytest.mark.parametrize("action,after", [("CreateRole", 0), ("CreatePolicy", 0), ("AttachPolicyToRole", 0),
                                          ("AttachPolicyToRole", 1)])
@pytest.mark.parametrize("phase", ["before", "after"])
def test_create_rolls_back_when_any_step_fails(store, root, account_id, partner, use_emulator, action, after,
                                               phase):
    """Whichever step fails, and whether or not the failed call took effect, nothing of the grant remains."""
    grant = make_grant(account_id, partner["account_id"])
    before = world(root)
    use_emulator.add_fault(kind="error", action=action, code="InternalError", status=500, after=after,
                           times=1 if phase == "after" else 100, phase=phase)
    try:
        store.create(grant)
    except CloudCallError as exc:
        assert exc.details["rolled_back"] is True
        use_emulator.clear_faults()
        assert world(root) == before
    else:
        # A lost answer that the retry recovered from: the grant must then be complete.
        use_emulator.clear_faults()
        assert world(root)["attached"][grant.role_name] == sorted(p.name for p in grant.policies)


def test_dry_run_plans_calls_and_creates_nothing(store, root, account_id, partner):
    grant = make_grant(account_id, partner["account_id"])
    before = world(root)
    result = store.create(grant, dry_run=True)
    assert [c["action"] for c in result.planned] == ["CreateRole", "CreatePolicy", "AttachPolicyToRole",
                                                     "AttachPolicyToRole"]
    assert world(root) == before


def test_list_reads_every_managed_grant_and_reports_unreadable_ones(store, root, account_id, partner):
    grants = [make_grant(account_id, partner["account_id"], key=str(i), custom=False) for i in range(3)]
    for g in grants:
        store.create(g)
    ram_call(ClientFactory(root), "tag_resources", resource_type="role", resource_names=[grants[0].role_name],
             tag=[_tag("rolegate:r0", "garbage")])
    listed = {m.role.name: m for m in store.list()}
    assert set(listed) == {g.role_name for g in grants}
    assert listed[grants[0].role_name].grant is None and listed[grants[0].role_name].error
    assert listed[grants[1].role_name].grant == grants[1]


def _tag(key: str, value: str) -> Any:
    from alibabacloud_ram20150501 import models
    return models.TagResourcesRequestTag(key=key, value=value)


def role_tags(emulator: Any, account_id: str, role_name: str) -> list[dict[str, str]]:
    """The role's tags as RAM holds them (read from the emulator's state, no call made)."""
    role = ram_state(emulator.world.accounts[account_id]).find_role(role_name)
    return [{"Key": k, "Value": v} for k, v in role.tags.items()]


def chunk_keys(tags: list[dict[str, str]]) -> set[str]:
    return {t["Key"] for t in tags if t["Key"].startswith("rolegate:r") and t["Key"][10:].isdigit()}


def test_extend_moves_the_expiry_with_one_tag_write(store, account_id, partner, use_emulator):
    """Extend is one TagResources call moving the readable expiry and the record's together; it reads back."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    before = role_tags(use_emulator, account_id, grant.role_name)
    later = grant.expires_at + timedelta(days=7)
    since = use_emulator.calls()[-1]["seq"]
    updated, _ = store.extend(grant.grant_id, later)
    writes = [c["action"] for c in use_emulator.calls(since) if c["action"] not in ("ListRoles",)]
    assert writes == ["TagResources"]
    assert updated.expires_at == later and store.find(grant.grant_id).grant.expires_at == later
    after = role_tags(use_emulator, account_id, grant.role_name)
    assert record_expiry(after) == later and chunk_keys(after) == chunk_keys(before)
    assert grant_from_tags(after, grant.role_name, account_id) == grant.with_expiry(later)


def test_extend_dry_run_plans_the_one_write_and_changes_nothing(store, account_id, partner, use_emulator):
    """The plan is the single TagResources call with the expiry tag and every record chunk."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    before = role_tags(use_emulator, account_id, grant.role_name)
    _, plan = store.extend(grant.grant_id, grant.expires_at + timedelta(days=7), dry_run=True)
    assert [c["action"] for c in plan] == ["TagResources"]
    planned = {t["Key"] for t in plan[0]["Tag"]}
    assert planned == {"rolegate:expires-at"} | chunk_keys(before)
    assert role_tags(use_emulator, account_id, grant.role_name) == before


def test_extend_upgrades_a_format_1_grant_in_the_same_write(store, account_id, partner, use_emulator):
    """A grant recorded before the expiry was in the record gets it there with the one extend call."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    role = ram_state(use_emulator.world.accounts[account_id]).find_role(grant.role_name)
    role.tags = {t["Key"]: t["Value"] for t in as_format_1(role_tags(use_emulator, account_id, grant.role_name))}
    assert record_expiry(role_tags(use_emulator, account_id, grant.role_name)) is None
    later = grant.expires_at + timedelta(days=7)
    since = use_emulator.calls()[-1]["seq"]
    store.extend(grant.grant_id, later)
    assert [c["action"] for c in use_emulator.calls(since) if c["action"] != "ListRoles"] == ["TagResources"]
    after = role_tags(use_emulator, account_id, grant.role_name)
    assert record_expiry(after) == later
    assert grant_from_tags(after, grant.role_name, account_id) == grant.with_expiry(later)


def test_find_unknown_grant_is_not_found(store):
    with pytest.raises(NotFound):
        store.find("g-aaaaaaaaaaaa")


def test_revoke_removes_everything_and_again_is_already_gone(store, root, account_id, partner):
    before = world(root)
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    result = store.revoke(grant.role_name)
    assert result.role_deleted and result.deleted_policies == [grant.policies[1].name]
    assert world(root) == before
    assert store.revoke(grant.role_name).already_gone


def test_revoke_finishes_a_revocation_that_stopped_halfway(store, root, account_id, partner, use_emulator):
    before = world(root)
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    use_emulator.add_fault(kind="error", action="DeleteRole", code="InternalError", status=500, times=100)
    with pytest.raises(CloudCallError):
        store.revoke(grant.role_name)
    use_emulator.clear_faults()
    assert world(root)["attached"][grant.role_name] == []  # policies already detached, role still there
    store.revoke(grant.role_name)
    assert world(root) == before


def test_revoke_never_touches_an_unmanaged_role(store, root, account_id):
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}]}
    ram_call(ClientFactory(root), "create_role", role_name="rolegate-lookalike",
             assume_role_policy_document=json.dumps(trust))
    ram_call(ClientFactory(root), "attach_policy_to_role", role_name="rolegate-lookalike",
             policy_type="System", policy_name="ReadOnlyAccess")
    before = world(root)
    with pytest.raises(Refused):
        store.revoke("rolegate-lookalike")
    assert world(root) == before


def test_restore_undoes_tampering(store, root, account_id, partner):
    """Widened trust, an extra policy, a detached policy and an edited custom document all come back."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    factory = ClientFactory(root)
    wide = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"RAM": ["*"]}}]}
    ram_call(factory, "update_role", role_name=grant.role_name, new_assume_role_policy_document=json.dumps(wide))
    ram_call(factory, "attach_policy_to_role", role_name=grant.role_name, policy_type="System",
             policy_name="AdministratorAccess")
    ram_call(factory, "detach_policy_from_role", role_name=grant.role_name, policy_type="System",
             policy_name="AliyunFCReadOnlyAccess")
    custom = grant.policies[1].name
    ram_call(factory, "create_policy_version", policy_name=custom, set_as_default=True,
             policy_document=json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*",
                                                                         "Resource": "*"}]}))
    result = store.restore(grant.role_name)
    assert len(result.drift) == 4 and not result.unrecoverable
    assert store.restore(grant.role_name).clean
    role = ram_call(factory, "get_role", role_name=grant.role_name).role
    assert json.loads(role.assume_role_policy_document)["Statement"][0]["Principal"]["RAM"] == [
        f"acs:ram::{partner['account_id']}:user/Alice"]
    assert world(root)["attached"][grant.role_name] == sorted(["AliyunFCReadOnlyAccess", custom])


def test_restore_plan_changes_nothing(store, root, account_id, partner):
    grant = make_grant(account_id, partner["account_id"], principal=AccountPrincipal(partner["account_id"], "ext-1"))
    store.create(grant)
    ram_call(ClientFactory(root), "detach_policy_from_role", role_name=grant.role_name, policy_type="System",
             policy_name="AliyunFCReadOnlyAccess")
    before = world(root)
    result = store.restore(grant.role_name, dry_run=True)
    assert [c["action"] for c in result.planned] == ["AttachPolicyToRole"]
    assert world(root) == before
