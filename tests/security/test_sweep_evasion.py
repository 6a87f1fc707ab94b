"""Attacks meant to keep an expired grant alive, or to make the sweep act on a role that is no live grant."""
from __future__ import annotations

from datetime import timedelta

from alibabacloud_ram20150501 import models as ram_models

from shared.grants.model import Grant, PolicyRef, new_grant_id
from shared.grants.naming import custom_policy_name, role_name_for
from shared.grants.tags import RECORD_KEY_PREFIX
from shared.policies.principals import AccountPrincipal
from tests.functions.revoke_support import CUSTOM_DOC, call_mark
from tests.security.conftest import EXTERNAL_ID, Arena, swept


def test_breaking_live_grants_does_not_let_the_guard_shield_expired_ones(arena: Arena) -> None:
    """Six grants expire together beside six live ones: under the guard's share. A tagger garbles one live
    record, so only eleven records are proven: the broken role still counts as a grant of the namespace, and
    the six expired grants are revoked."""
    expiring = [arena.grant(lifetime=timedelta(minutes=5)) for _ in range(6)]
    live = [arena.grant(lifetime=timedelta(days=2)) for _ in range(6)]
    arena.tag(live[0].role_name, {f"{RECORD_KEY_PREFIX}0": "3.1.garbled"})
    arena.emulator.advance_clock(600)

    report = swept(arena.sweep())

    assert report["ok"] and "blocked" not in report, report.get("blocked")
    assert report["revoked"] == 6 and report["examined"] == 11
    assert [entry["role"] for entry in report["disarmed"]] == [live[0].role_name]
    assert not any(grant.role_name in arena.roles() for grant in expiring)
    assert all(grant.role_name in arena.roles() for grant in live)


def test_a_grant_policy_someone_else_holds_does_not_keep_the_expired_role(arena: Arena) -> None:
    """Mallory attaches an expiring grant's custom policy to a user of hers: DeletePolicy would fail for it.

    The role still goes; the policy someone holds is left, and reported, as an orphan someone holds is."""
    grant = _grant_with_custom_policy(arena, timedelta(minutes=5))
    custom = grant.policies[1]
    ram = arena.ram(arena.mallory)
    ram.create_user(ram_models.CreateUserRequest(user_name="keeper"))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(user_name="keeper", policy_type="Custom",
                                                                   policy_name=custom.name))
    arena.emulator.advance_clock(600)

    report = swept(arena.sweep())

    assert grant.role_name not in arena.roles(), report["failed"]
    assert report["revoked"] == 1 and report["failed"] == []
    assert not arena.alice_assumes(grant.role_name)
    assert custom.name in _custom_policies(arena)
    arena.emulator.advance_clock(3600)  # past the orphan grace: the next run reports who still holds it
    later = swept(arena.sweep())
    kept = [entry for entry in later["orphans_skipped"] if entry["policy"] == custom.name]
    assert kept and "in use" in kept[0]["reason"] and later["orphans_deleted"] == 0


def _grant_with_custom_policy(arena: Arena, lifetime: timedelta) -> Grant:
    grant_id = new_grant_id()
    now = arena.now()
    custom = PolicyRef(custom_policy_name(grant_id, 0), "Custom", document=CUSTOM_DOC)
    return arena.store().create(Grant(
        grant_id=grant_id, owner_account_id=arena.owner.account_id, partner_account_id=arena.partner.account_id,
        principal=AccountPrincipal(arena.partner.account_id, EXTERNAL_ID),
        policies=(PolicyRef("AliyunECSReadOnlyAccess", "System"), custom),
        role_name=role_name_for(arena.partner.account_id, grant_id), max_session_duration=3600,
        created_at=now - timedelta(seconds=1), expires_at=now + lifetime)).grant


def _custom_policies(arena: Arena) -> set[str]:
    return {p.policy_name for p in arena.ram().list_policies(
        ram_models.ListPoliciesRequest(policy_type="Custom")).body.policies.policy}


def test_a_disarmed_grant_keeps_its_custom_policy_when_its_marker_is_gone_too(arena: Arena) -> None:
    """A tagger garbles a live grant's record and removes its marker and grant-id tag. The sweep disarms the
    role (nothing deleted); the grant's custom policy, now held by nothing, is still the grant's: its role,
    named after the grant, is there. The orphan collection must not take it for an orphan."""
    grant = _grant_with_custom_policy(arena, timedelta(days=2))
    custom = grant.policies[1].name
    arena.tag(grant.role_name, {f"{RECORD_KEY_PREFIX}0": "3.1.garbled"})
    arena.untag(grant.role_name, ["rolegate:managed", "rolegate:grant-id"])

    first = swept(arena.sweep())
    arena.emulator.advance_clock(2 * 3600)  # well past the orphan grace
    second = swept(arena.sweep())

    assert [entry["role"] for entry in first["disarmed"]] == [grant.role_name]
    assert second["orphans_deleted"] == 0 and custom in _custom_policies(arena)
    assert grant.role_name in arena.roles() and not arena.alice_assumes(grant.role_name)


def test_roles_made_in_the_namespace_cannot_starve_the_revocations(arena: Arena) -> None:
    """Anyone who may create roles can fill ``rolegate-*`` with roles to be disarmed, run after run (deleting
    and making them again). Disarming costs calls; the expired grant is revoked before any of it is spent."""
    expired = arena.grant(lifetime=timedelta(minutes=5))
    junk = [arena.plain_role(f"rolegate-junk-{i}", ("AliyunOSSReadOnlyAccess",)) for i in range(3)]
    arena.emulator.advance_clock(600)
    mark = call_mark(arena.emulator)

    report = swept(arena.sweep())

    assert report["revoked"] == 1 and {entry["role"] for entry in report["disarmed"]} == set(junk)
    writes = [(c["action"], c["params"].get("RoleName", "")) for c in arena.emulator.calls(mark)
              if c["action"] in ("DeleteRole", "UpdateRole", "DetachPolicyFromRole")]
    first_disarm = next(i for i, (action, _) in enumerate(writes) if action == "UpdateRole")
    assert writes.index(("DeleteRole", expired.role_name)) < first_disarm, writes
