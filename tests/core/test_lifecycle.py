"""The grant lifecycle against the emulator, through the real RAM client, with authorization on.

The identity doing the work is a RAM user holding only the RAM actions the
lifecycle needs, so a call the lifecycle forgot to be allowed would fail here.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from emulator.services.ram import ram_state
from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudCallError, Conflict, Gone, NotFound, Refused
from shared.grants.lifecycle import GrantStore, derive_grant_id
from shared.grants.model import Grant, PolicyRef
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.tags import TagDecodeError, grant_from_tags, record_written_at
from shared.policies.document import canonical_json
from shared.policies.principals import AccountPrincipal, UserPrincipal
from shared.policies.trust import nobody_trust
from tests.emulator.helpers import record_keyring
from tests.unit.grant_samples import as_format_2

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
    """A create is CreateRole, CreatePolicy per custom policy and one attach per policy: nothing more.

    The record key is read from KMS once per instance (the first signature), not per grant.
    """
    grant = make_grant(account_id, partner["account_id"])
    since = use_emulator.calls()[-1]["seq"]
    result = store.create(grant)
    assert result.created
    actions = [c["action"] for c in use_emulator.calls(since) if c["outcome"] == "ok"]
    assert actions == ["GetSecretValue", "CreateRole", "CreatePolicy", "AttachPolicyToRole", "AttachPolicyToRole"]
    state = world(root)
    assert state["attached"][grant.role_name] == sorted(["AliyunFCReadOnlyAccess", grant.policies[1].name])
    found = store.find(grant.grant_id)
    assert found.grant == grant
    second = make_grant(account_id, partner["account_id"], key="second")
    since = use_emulator.calls()[-1]["seq"]
    assert store.create(second).created
    actions = [c["action"] for c in use_emulator.calls(since) if c["outcome"] == "ok"]
    assert actions == ["CreateRole", "CreatePolicy", "AttachPolicyToRole", "AttachPolicyToRole"]


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


def trust_of(root: Credentials, role_name: str) -> str:
    role = ram_call(ClientFactory(root), "get_role", role_name=role_name).role
    return canonical_json(json.loads(role.assume_role_policy_document))


def test_a_retried_create_restores_the_trust_a_failed_rollback_left_admitting_nobody(store, root, account_id,
                                                                                     partner):
    """A create whose rollback met a write landing late (DeleteRole refused: a policy attached after the
    rollback listed them) leaves the role trusting nobody; the retry that answers "done" must make it work."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    granted = trust_of(root, grant.role_name)
    ram_call(ClientFactory(root), "update_role", role_name=grant.role_name,
             new_assume_role_policy_document=json.dumps(nobody_trust(account_id)))
    store.create(grant)
    assert trust_of(root, grant.role_name) == granted != canonical_json(nobody_trust(account_id))


def test_a_retried_create_of_an_expired_grant_leaves_it_trusting_nobody(store, root, account_id, partner,
                                                                         use_emulator):
    """Past its expiry a grant is the sweep's to remove: a replayed create never gives it its partner back."""
    grant = make_grant(account_id, partner["account_id"], custom=False)
    store.create(grant)
    ram_call(ClientFactory(root), "update_role", role_name=grant.role_name,
             new_assume_role_policy_document=json.dumps(nobody_trust(account_id)))
    use_emulator.world.clock.advance(2 * 86400)
    store.create(grant)
    assert trust_of(root, grant.role_name) == canonical_json(nobody_trust(account_id))


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


def test_a_retried_create_never_rolls_back_a_grant_an_earlier_request_made(store, root, account_id, partner,
                                                                          use_emulator):
    """The retry's CreateRole fails and finds the role made by the first request: not its own, so not undone.

    Even when a later step of the retry fails, the grant the first request confirmed is kept.
    """
    grant = make_grant(account_id, partner["account_id"])
    assert store.create(grant).created
    ram_call(ClientFactory(root), "detach_policy_from_role", role_name=grant.role_name,
             policy_type="System", policy_name="AliyunFCReadOnlyAccess")
    use_emulator.add_fault(kind="error", action="CreateRole", code="ServiceUnavailable", status=503, times=1)
    use_emulator.add_fault(kind="error", action="AttachPolicyToRole", code="InternalError", status=500, times=100)
    with pytest.raises(CloudCallError) as info:
        store.create(grant)
    use_emulator.clear_faults()
    assert "rolled_back" in info.value.details
    assert grant.role_name in world(root)["roles"] and store.find(grant.grant_id).grant == grant
    again = store.create(grant)
    assert not again.created
    assert world(root)["attached"][grant.role_name] == sorted(p.name for p in grant.policies)


def test_dry_run_plans_calls_and_creates_nothing(store, root, account_id, partner):
    grant = make_grant(account_id, partner["account_id"])
    before = world(root)
    result = store.create(grant, dry_run=True)
    assert [c["action"] for c in result.planned] == ["CreateRole", "CreatePolicy", "AttachPolicyToRole",
                                                     "AttachPolicyToRole"]
    assert world(root) == before


def test_create_refuses_a_record_too_large_for_the_tags_before_any_call(store, root, account_id, partner,
                                                                       use_emulator):
    """A record that cannot fit in 20 tags: 422 GrantTooLarge, planned or not, and no call made."""
    from shared.errors import Unprocessable
    from shared.policies.principals import principal_from_dict

    def noise(seed: str) -> str:  # incompressible, so the record's zlib cannot shrink it into the tags
        return "".join(hashlib.sha256(f"{seed}{i}".encode()).hexdigest() for i in range(10))

    principal = principal_from_dict({"type": "oidc", "provider": "gh", "issuer": "https://token.example.com/",
                                     "audiences": [noise(f"a{i}") for i in range(10)],
                                     "subjects": [noise(f"s{i}") for i in range(10)]},
                                    partner["account_id"], owner_account_id=account_id)
    grant = make_grant(account_id, partner["account_id"], principal=principal)
    before, calls = world(root), len(use_emulator.calls())
    for dry_run in (True, False):
        with pytest.raises(Unprocessable) as refused:
            store.create(grant, dry_run=dry_run)
        assert (refused.value.code, refused.value.field) == ("GrantTooLarge", "principal")
    assert len(use_emulator.calls()) == calls and world(root) == before


def test_list_reads_every_managed_grant_and_reports_unproven_ones(store, root, account_id, partner):
    grants = [make_grant(account_id, partner["account_id"], key=str(i), custom=False) for i in range(3)]
    for g in grants:
        store.create(g)
    ram_call(ClientFactory(root), "tag_resources", resource_type="role", resource_names=[grants[0].role_name],
             tag=[_tag("rolegate:r0", "garbage")])
    ram_call(ClientFactory(root), "tag_resources", resource_type="role", resource_names=[grants[2].role_name],
             tag=[_tag("rolegate:expires-at", "2099-01-01T00:00:00Z")])
    listed = {m.role.name: m for m in store.list()}
    assert set(listed) == {g.role_name for g in grants}
    assert listed[grants[0].role_name].grant is None and listed[grants[0].role_name].error
    assert listed[grants[1].role_name].grant == grants[1]
    assert listed[grants[2].role_name].grant == grants[2]  # a readable tag edited by hand changes nothing


def _tag(key: str, value: str) -> Any:
    from alibabacloud_ram20150501 import models
    return models.TagResourcesRequestTag(key=key, value=value)


def role_tags(emulator: Any, account_id: str, role_name: str) -> list[dict[str, str]]:
    """The role's tags as RAM holds them (read from the emulator's state, no call made)."""
    role = ram_state(emulator.world.accounts[account_id]).find_role(role_name)
    return [{"Key": k, "Value": v} for k, v in role.tags.items()]


def chunk_keys(tags: list[dict[str, str]]) -> set[str]:
    return {t["Key"] for t in tags if t["Key"].startswith("rolegate:r") and t["Key"][10:].isdigit()}


def test_extend_moves_the_expiry_with_one_tag_write(store, keyring, account_id, partner, use_emulator):
    """Extend is one TagResources call moving the readable expiry and the signed record together; it reads back."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    before = role_tags(use_emulator, account_id, grant.role_name)
    later = grant.expires_at + timedelta(days=7)
    use_emulator.world.clock.advance(60)
    since = use_emulator.calls()[-1]["seq"]
    start = use_emulator.world.clock.now().replace(microsecond=0)
    updated, _ = store.extend(grant.grant_id, later)
    writes = [c["action"] for c in use_emulator.calls(since) if c["action"] not in ("ListRoles",)]
    assert writes == ["TagResources"]
    assert updated.expires_at == later and store.find(grant.grant_id).grant.expires_at == later
    after = role_tags(use_emulator, account_id, grant.role_name)
    assert chunk_keys(before) <= chunk_keys(after) and len(chunk_keys(after)) <= len(chunk_keys(before)) + 1
    assert grant_from_tags(after, grant.role_name, account_id, keyring=keyring) == grant.with_expiry(later)
    written = record_written_at(after, grant.role_name, account_id, keyring)
    assert start <= written <= use_emulator.world.clock.now()  # stamped while extending, to the second
    assert written > record_written_at(before, grant.role_name, account_id, keyring)


def test_extend_dry_run_plans_the_one_write_and_changes_nothing(store, account_id, partner, use_emulator):
    """The plan is the single TagResources call with the expiry tag, every record chunk and the new proof.

    (The re-signed record may need one chunk more than before: it then takes a free tag in the same call.)
    """
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    before = role_tags(use_emulator, account_id, grant.role_name)
    _, plan = store.extend(grant.grant_id, grant.expires_at + timedelta(days=7), dry_run=True)
    assert [c["action"] for c in plan] == ["TagResources"]
    planned = {t["Key"] for t in plan[0]["Tag"]}
    chunks = {k for k in planned if k.startswith("rolegate:r") and k[10:].isdigit()}
    assert planned == {"rolegate:expires-at", "rolegate:proof"} | chunks
    assert chunk_keys(before) <= chunks and len(chunks) <= len(chunk_keys(before)) + 1
    assert role_tags(use_emulator, account_id, grant.role_name) == before


def test_a_grant_recorded_before_proofs_is_adopted_then_extended(store, keyring, account_id, partner, use_emulator):
    """An old record is never believed (extend refuses it); adopt shows it, then signs it, and it reads as proven."""
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    role = ram_state(use_emulator.world.accounts[account_id]).find_role(grant.role_name)
    role.tags = {t["Key"]: t["Value"] for t in as_format_2(role_tags(use_emulator, account_id, grant.role_name))}
    old = role_tags(use_emulator, account_id, grant.role_name)
    assert store.find(grant.grant_id).grant is None
    later = grant.expires_at + timedelta(days=7)
    with pytest.raises(Refused, match="no proven record"):
        store.extend(grant.grant_id, later)
    assert role_tags(use_emulator, account_id, grant.role_name) == old

    info, tags = store.read_role(grant.role_name)
    shown, plan = store.adopt(info, tags, dry_run=True)
    assert shown == grant and [c["action"] for c in plan] == ["TagResources"]
    assert role_tags(use_emulator, account_id, grant.role_name) == old

    since = use_emulator.calls()[-1]["seq"]
    adopted, _ = store.adopt(info, tags)
    assert adopted == grant
    assert [c["action"] for c in use_emulator.calls(since)] == ["TagResources"]
    assert store.find(grant.grant_id).grant == grant
    store.extend(grant.grant_id, later)
    after = role_tags(use_emulator, account_id, grant.role_name)
    assert grant_from_tags(after, grant.role_name, account_id, keyring=keyring) == grant.with_expiry(later)
    with pytest.raises(TagDecodeError, match="already in format 3"):
        store.adopt(*store.read_role(grant.role_name))


def test_find_unknown_grant_is_not_found(store):
    with pytest.raises(NotFound):
        store.find("g-aaaaaaaaaaaa")


class FirstTagOnly:
    """A RAM client whose ListRoles applies only the first tag filter: a cloud that ORs or drops the others."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def list_roles(self, request: Any) -> Any:
        request.tag = (request.tag or [])[:1] or None
        return self._client.list_roles(request)


def test_find_never_takes_another_grants_role_whatever_the_tag_filter_lists(manager, root, account_id, partner,
                                                                            keyring, use_emulator):
    """Unproven roles of other grants listed by a loose filter are neither this grant nor an unreadable twin of it."""
    mine, other = (make_grant(account_id, partner["account_id"], key=k, custom=False) for k in ("mine", "other"))
    strict = GrantStore(ClientFactory(manager).ram(), account_id, keyring, now=use_emulator.world.clock.now)
    strict.create(mine)
    strict.create(other)
    ram_call(ClientFactory(root), "tag_resources", resource_type="role", resource_names=[other.role_name],
             tag=[_tag("rolegate:r0", "garbage")])  # the other grant's record no longer proves
    loose = GrantStore(FirstTagOnly(ClientFactory(manager).ram()), account_id, keyring,
                       now=use_emulator.world.clock.now)

    with pytest.raises(NotFound):
        loose.find("g-aaaaaaaaaaaa")
    assert loose.find(mine.grant_id).grant == mine
    damaged = loose.find(other.grant_id)
    assert damaged.grant is None and damaged.role.name == other.role_name


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


def test_early_revocation_leaves_a_powerless_tombstone_a_replayed_create_cannot_revive(store, root, account_id,
                                                                                      partner, use_emulator):
    """With ``tombstone`` the role stays, trusting nobody and holding nothing, its record marked revoked."""
    before = world(root)
    grant = make_grant(account_id, partner["account_id"])
    store.create(grant)
    start = use_emulator.world.clock.now().replace(microsecond=0)
    result = store.revoke(grant.role_name, tombstone=True)
    assert result.tombstoned and not result.role_deleted and not result.already_gone
    assert result.deleted_policies == [grant.policies[1].name]
    state = world(root)
    assert grant.role_name in state["roles"] and state["attached"][grant.role_name] == []
    role = ram_call(ClientFactory(root), "get_role", role_name=grant.role_name).role
    assert canonical_json(json.loads(role.assume_role_policy_document)) == canonical_json(nobody_trust(account_id))
    found = store.find(grant.grant_id).grant
    assert found.is_tombstone and start <= found.revoked_at <= use_emulator.world.clock.now()

    with pytest.raises(Gone):
        store.create(grant)
    assert world(root) == state
    assert store.restore(grant.role_name).clean  # a tombstone's expected state is the powerless one
    assert store.revoke(grant.role_name, tombstone=True).already_gone
    assert store.revoke(grant.role_name).role_deleted  # what the sweep does once replays are stale
    assert world(root) == before


def copy_role(root: Credentials, source: str, target: str, tags: list[dict[str, str]], policy: str | None) -> None:
    """A role made by hand with ``tags`` (a record copied from another role, say) and ``policy`` attached."""
    factory = ClientFactory(root)
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": ["acs:ram::1234567890123456:root"]}}]}
    ram_call(factory, "create_role", role_name=target, assume_role_policy_document=json.dumps(trust))
    ram_call(factory, "tag_resources", resource_type="role", resource_names=[target],
             tag=[_tag(t["Key"], t["Value"]) for t in tags])
    if policy:
        ram_call(factory, "attach_policy_to_role", role_name=target, policy_type="System", policy_name=policy)


@pytest.mark.parametrize("target", ["rolegate-copied", "ops-admin"])
def test_a_record_copied_to_another_role_is_never_acted_on(store, root, account_id, partner, use_emulator, target):
    """A well-formed, signed record on the wrong role is not a grant: revoke, restore, extend and adopt refuse it."""
    grant = make_grant(account_id, partner["account_id"], custom=False)
    store.create(grant)
    copy_role(root, grant.role_name, target, role_tags(use_emulator, account_id, grant.role_name),
              "AdministratorAccess")
    before = world(root)
    listed = {m.role.name: m for m in store.list()}
    assert listed[target].grant is None and "does not match" in listed[target].error
    assert listed[grant.role_name].grant == grant
    with pytest.raises(Refused):
        store.revoke(target)
    with pytest.raises(Refused):
        store.restore(target)
    with pytest.raises(TagDecodeError):
        store.adopt(*store.read_role(target))
    assert world(root) == before


def test_disarm_fails_closed_inside_the_namespace_and_refuses_outside(store, root, account_id, partner,
                                                                       use_emulator):
    """Disarm detaches every policy and trusts nobody, deletes nothing, and never reaches outside ``rolegate-``."""
    grant = make_grant(account_id, partner["account_id"], custom=False)
    store.create(grant)
    tags = role_tags(use_emulator, account_id, grant.role_name)
    copy_role(root, grant.role_name, "rolegate-forged", tags, "AdministratorAccess")
    copy_role(root, grant.role_name, "ops-admin", tags, "AdministratorAccess")
    before = world(root)
    assert store.disarm("rolegate-forged", dry_run=True) == ["DetachPolicyFromRole AdministratorAccess",
                                                            "UpdateRole trust=nobody"]
    assert world(root) == before
    assert store.disarm("rolegate-forged") == ["DetachPolicyFromRole AdministratorAccess", "UpdateRole trust=nobody"]
    after = world(root)
    assert after["roles"] == before["roles"] and after["attached"]["rolegate-forged"] == []
    role = ram_call(ClientFactory(root), "get_role", role_name="rolegate-forged").role
    assert canonical_json(json.loads(role.assume_role_policy_document)) == canonical_json(nobody_trust(account_id))
    assert store.disarm("rolegate-forged") == []
    with pytest.raises(Refused, match="outside Rolegate's namespace"):
        store.disarm("ops-admin")
    assert world(root)["attached"]["ops-admin"] == ["AdministratorAccess"]


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
