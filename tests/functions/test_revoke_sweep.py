"""The revoke function against the emulator: what it selects, what it leaves alone, what it reports."""
from __future__ import annotations

import json

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator import EmulatorServer
from shared.grants.model import new_grant_id, to_iso_z
from shared.grants.naming import custom_policy_name, custom_policy_prefix
from shared.sweep import SweepFailed
from tests.functions.revoke_support import (REVOKE_POLICY, Owner, call_mark, context, invoke, managed_past_expiry,
                                            orphan_policies)
from tests.functions.revoke_support import sweep_env, sweep_owner  # noqa: F401 (fixtures)


WRITE_ACTIONS = {"DeleteRole", "DetachPolicyFromRole", "DeletePolicy", "DeletePolicyVersion", "TagResources",
                 "UntagResources", "CreateRole", "CreatePolicy", "AttachPolicyToRole", "UpdateRole"}


def mixed_fleet(owner: Owner, emulator: EmulatorServer) -> dict[str, str]:
    """Expired and live grants, unmanaged look-alikes, broken and forged records; the clock then passes expiry."""
    expired_custom = owner.grant(60, custom=True)
    expired_system = owner.grant(120)
    live = owner.grant(7200, custom=True)
    owner.plain_role("ops-admin", attach="AliyunECSReadOnlyAccess")
    owner.plain_role(f"rolegate-{owner.partner}-g-aaaaaaaaaaaa", attach="AliyunECSReadOnlyAccess")  # no tags
    owner.plain_role("rolegate-broken", {"rolegate:managed": "true", "rolegate:expires-at": "whenever",
                                         "rolegate:r0": "garbage"})
    past = to_iso_z(owner.now())
    owner.plain_role("rolegate-foreign-format", {"rolegate:managed": "true", "rolegate:grant-id": "g-bbbbbbbbbbbb",
                                                 "rolegate:expires-at": past, "rolegate:r0": "9.1.unknown"},
                     attach="AliyunECSReadOnlyAccess")
    # A genuine record copied onto a role outside the namespace: its proof is bound to the grant's own role.
    owner.plain_role("ops-forged", owner.state()["roles"][expired_system.role_name][0],
                     attach="AliyunECSReadOnlyAccess")
    emulator.advance_clock(600)
    return {"expired_custom": expired_custom.role_name, "expired_system": expired_system.role_name,
            "live": live.role_name, "live_policy": live.policies[1].name,
            "expired_policy": expired_custom.policies[1].name}


def test_sweep_revokes_only_expired_managed_grants(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """Expired proven grants lose role and custom policies; live grants and roles outside the namespace are untouched.

    Roles without a proven record are never revoked: marked ones outside the
    namespace are reported, and every one inside it (marked or not) is disarmed
    (policies detached, trust to nobody, tags kept as evidence).
    """
    names = mixed_fleet(sweep_owner, emulator)
    before = sweep_owner.state()
    summary = invoke(context(account_id=sweep_owner.account_id))

    assert summary["ok"] is True and summary["account_id"] == sweep_owner.account_id
    assert (summary["examined"], summary["expired"], summary["revoked"]) == (3, 2, 2)
    assert summary["failed"] == [] and summary["left_for_next_run"] == 0 and "skipped" not in summary
    unproven = {r["role"]: r["reason"] for r in summary["unreadable_records"]}
    look_alike = f"rolegate-{sweep_owner.partner}-g-aaaaaaaaaaaa"  # in the namespace, no record at all
    assert set(unproven) == {"rolegate-broken", "rolegate-foreign-format", "ops-forged", look_alike}
    assert "version 9" in unproven["rolegate-foreign-format"] and "does not match" in unproven["ops-forged"]
    assert {d["role"]: d["actions"] for d in summary["disarmed"]} == {
        "rolegate-broken": ["UpdateRole trust=nobody"],
        "rolegate-foreign-format": ["DetachPolicyFromRole AliyunECSReadOnlyAccess", "UpdateRole trust=nobody"],
        look_alike: ["DetachPolicyFromRole AliyunECSReadOnlyAccess", "UpdateRole trust=nobody"]}
    after = sweep_owner.state()
    gone = {names["expired_custom"], names["expired_system"]}
    assert set(before["roles"]) - set(after["roles"]) == gone
    for disarmed in ("rolegate-foreign-format", look_alike):
        assert after["roles"][disarmed] == (before["roles"][disarmed][0], [])
    for name in set(after["roles"]) - {"rolegate-foreign-format", look_alike}:
        assert after["roles"][name] == before["roles"][name]  # survivors unchanged, attachments included
    assert after["roles"]["ops-forged"][1] == [("System", "AliyunECSReadOnlyAccess")]
    assert names["expired_policy"] not in after["policies"] and names["live_policy"] in after["policies"]
    assert managed_past_expiry(sweep_owner) == ["rolegate-foreign-format", "ops-forged"]
    assert orphan_policies(sweep_owner) == []


def test_summary_is_logged_as_one_line(emulator: EmulatorServer, sweep_owner: Owner,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The returned summary is also the single ``sweep_summary`` log line."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    summary = invoke()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line["event"] == "sweep_summary"]
    assert len(logged) == 1 and logged[0]["revoked"] == summary["revoked"] == 1
    assert logged[0]["function"] == "revoke" and "duration_ms" in logged[0]


def test_dry_run_changes_nothing(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A dry run reports what it would revoke, makes no write call, and leaves the state identical."""
    mixed_fleet(sweep_owner, emulator)
    before = sweep_owner.state()
    since = call_mark(emulator)
    summary = invoke(payload={"dry_run": True})
    assert summary["dry_run"] is True and summary["would_revoke"] == 2 and summary["revoked"] == 0
    assert sorted(d["role"] for d in summary["disarmed"]) == sorted(
        ["rolegate-broken", "rolegate-foreign-format", f"rolegate-{sweep_owner.partner}-g-aaaaaaaaaaaa"])
    assert sweep_owner.state() == before
    assert not {c["action"] for c in emulator.calls(since)} & WRITE_ACTIONS


def test_dry_run_from_the_environment(emulator: EmulatorServer, sweep_owner: Owner,
                                      sweep_env: pytest.MonkeyPatch) -> None:
    """ROLEGATE_SWEEP_DRY_RUN makes a shadow deployment; a payload can still turn it off."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    sweep_env.setenv("ROLEGATE_SWEEP_DRY_RUN", "true")
    before = sweep_owner.state()
    assert invoke()["would_revoke"] == 1 and sweep_owner.state() == before
    assert invoke(payload={"dry_run": False})["revoked"] == 1


def test_grace_period_and_cap(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """Grace delays revocation; the cap takes the most overdue first and leaves the rest for the next run."""
    oldest = sweep_owner.grant(10)
    middle = sweep_owner.grant(20)
    newest = sweep_owner.grant(300)
    for _ in range(5):
        sweep_owner.grant(100_000)
    emulator.advance_clock(400)
    assert invoke(payload={"grace_seconds": 3600})["expired"] == 0
    summary = invoke(payload={"max_revocations": 2})
    assert (summary["revoked"], summary["left_for_next_run"]) == (2, 1)
    assert oldest.role_name not in sweep_owner.role_names() and middle.role_name not in sweep_owner.role_names()
    assert newest.role_name in sweep_owner.role_names()
    assert invoke()["revoked"] == 1 and managed_past_expiry(sweep_owner) == []


def _hand_edit(owner: Owner, role: str, key: str, value: str | None) -> None:
    """Set (or, with None, remove) one tag of a grant with the owner's root key, as anyone with ram:TagResources can."""
    ram = owner.ram()
    if value is None:
        ram.untag_resources(ram_models.UntagResourcesRequest(resource_type="role", resource_names=[role],
                                                             tag_keys=[key]))
    else:
        ram.tag_resources(ram_models.TagResourcesRequest(resource_type="role", resource_names=[role], tag=[
            ram_models.TagResourcesRequestTag(key=key, value=value)]))


def test_expiry_tag_pushed_later_is_revoked_at_the_recorded_expiry(emulator: EmulatorServer,
                                                                    sweep_owner: Owner) -> None:
    """rolegate:expires-at moved to 2099 by hand: the proven record's expiry still ends the grant, on time."""
    grant = sweep_owner.grant(60, custom=True)
    bystander = sweep_owner.grant(7200)
    _hand_edit(sweep_owner, grant.role_name, "rolegate:expires-at", "2099-01-01T00:00:00Z")
    emulator.advance_clock(30)
    early = invoke()
    assert (early["expired"], early["revoked"]) == (0, 0) and grant.role_name in sweep_owner.role_names()
    emulator.advance_clock(31)

    summary = invoke()

    assert (summary["expired"], summary["revoked"], summary["failed"]) == (1, 1, [])
    assert grant.role_name not in sweep_owner.role_names() and bystander.role_name in sweep_owner.role_names()
    assert grant.policies[1].name not in sweep_owner.policy_names()
    assert summary["unreadable_records"] == [] and summary["disarmed"] == []  # a readable tag is no record


def test_removed_expiry_tag_no_longer_hides_a_grant_from_the_sweep(emulator: EmulatorServer,
                                                                   sweep_owner: Owner) -> None:
    """Without its readable expiry a grant is not skipped: the record says when it ends."""
    grant = sweep_owner.grant(60)
    _hand_edit(sweep_owner, grant.role_name, "rolegate:expires-at", None)
    emulator.advance_clock(61)

    summary = invoke()

    assert (summary["revoked"], summary["unreadable_records"]) == (1, [])
    assert grant.role_name not in sweep_owner.role_names()


def test_a_forged_expiry_in_the_record_revokes_nothing(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A live grant's record rewritten by hand (an earlier expiry) is not believed: never revoked, only disarmed."""
    grant = sweep_owner.grant(7200)
    tags = sweep_owner.state()["roles"][grant.role_name][0]
    forged = {**tags, "rolegate:proof": "k1." + "A" * 43, "rolegate:expires-at": to_iso_z(sweep_owner.now())}
    for key, value in forged.items():
        _hand_edit(sweep_owner, grant.role_name, key, value)
    emulator.advance_clock(61)

    summary = invoke()

    assert (summary["examined"], summary["expired"], summary["revoked"]) == (0, 0, 0)
    assert [r["role"] for r in summary["unreadable_records"]] == [grant.role_name]
    assert grant.role_name in sweep_owner.role_names()
    assert sweep_owner.state()["roles"][grant.role_name][1] == []  # disarmed: fails closed, not deleted


def test_a_tombstone_is_deleted_once_replays_are_stale(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A grant revoked early stays, powerless, for TOMBSTONE_SECONDS; the sweep deletes it after that."""
    from shared.sweep.account import TOMBSTONE_SECONDS

    grant = sweep_owner.grant(7200, custom=True)
    bystander = sweep_owner.grant(7200)
    sweep_owner.store().revoke(grant.role_name, tombstone=True)
    emulator.advance_clock(TOMBSTONE_SECONDS - 10)
    early = invoke()
    assert (early["tombstones_due"], early["revoked"], early["expired"]) == (0, 0, 0)
    assert grant.role_name in sweep_owner.role_names()
    emulator.advance_clock(10)

    summary = invoke()

    assert (summary["tombstones_due"], summary["revoked"], summary["expired"]) == (1, 1, 0)
    assert grant.role_name not in sweep_owner.role_names() and bystander.role_name in sweep_owner.role_names()
    assert orphan_policies(sweep_owner) == []


def test_already_gone_is_success(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A grant deleted between listing and revoking counts as revoked, not failed."""
    from shared.grants.lifecycle import GrantStore
    from shared.sweep import AccountSweep, Budget, Deadline, SweepSettings
    from shared.notify import Notifier

    grant = sweep_owner.grant(60)
    emulator.advance_clock(61)
    store = sweep_owner.store()
    listed = list(store.list())
    sweep_owner.store().revoke(grant.role_name)

    class Stale(GrantStore):
        def list(self, *, whole_namespace: bool = False):  # type: ignore[override]
            return iter(listed)

    stale = Stale(sweep_owner.ram(), sweep_owner.account_id, store.keyring)
    report = AccountSweep(stale, SweepSettings(), Deadline(), Budget(0), Notifier()).run(sweep_owner.now())
    assert (report.revoked, report.already_gone, report.failed) == (1, 1, [])


@pytest.mark.parametrize("payload", ["awesome-fc", "{dry_run: true}", '{"dryrun": true}', '{"max_share": 2}'])
def test_invalid_payload_is_an_error_result_and_revokes_nothing(emulator: EmulatorServer, sweep_owner: Owner,
                                                                payload: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A payload the sweep cannot read returns a clear error, is logged, and changes nothing."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    before = sweep_owner.state()
    result = invoke(payload=payload)
    assert result["ok"] is False and result["error"]["code"] == "InvalidInput"
    assert sweep_owner.state() == before
    assert '"event":"sweep_rejected"' in capsys.readouterr().out


@pytest.mark.parametrize("raw", [
    lambda: invoke(payload=""),
    lambda: invoke(payload='{"grace_seconds": 0}'),
    lambda: invoke(raw=b""),
    lambda: invoke(raw={"triggerTime": "2030-01-01T00:00:00Z", "triggerName": "t"}),
])
def test_documented_timer_shapes_run_the_sweep(emulator: EmulatorServer, sweep_owner: Owner, raw) -> None:
    """Timer events with an empty payload, a JSON payload, or none at all all sweep."""
    sweep_owner.grant(60)
    emulator.advance_clock(61)
    assert raw()["revoked"] == 1


def test_blast_radius_guard_fails_the_invocation_and_revokes_nothing(emulator: EmulatorServer,
                                                                      sweep_owner: Owner,
                                                                      sweep_env: pytest.MonkeyPatch) -> None:
    """Too large a share expired at once: nothing revoked, the invocation fails; a raised limit proceeds."""
    for _ in range(7):
        sweep_owner.grant(60)
    sweep_owner.grant(100_000)
    emulator.advance_clock(61)
    before = sweep_owner.state()
    with pytest.raises(SweepFailed) as info:
        invoke()
    assert info.value.code == "SweepBlocked"
    assert info.value.summary["blocked"]["expired"] == 7 and info.value.summary["revoked"] == 0
    assert sweep_owner.state() == before

    sweep_env.setenv("ROLEGATE_SWEEP_MAX_SHARE", "0.9")
    assert invoke()["revoked"] == 7
    assert managed_past_expiry(sweep_owner) == []


def test_payload_max_share_overrides_the_guard(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """The operator's payload override lets a legitimate mass expiry through."""
    for _ in range(6):
        sweep_owner.grant(60)
    emulator.advance_clock(61)
    with pytest.raises(SweepFailed):
        invoke()
    assert invoke(payload={"max_share": 1})["revoked"] == 6


def test_tiny_fleet_may_lose_every_grant(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """At or under the floor the guard never trips, whatever the share."""
    for _ in range(3):
        sweep_owner.grant(60)
    emulator.advance_clock(61)
    assert invoke()["revoked"] == 3


def test_policy_allows_exactly_what_the_sweep_calls(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """Every RAM and KMS action in revoke.json is one the sweep uses, and the sweep needs nothing else.

    The custom policy gets a second version so DeletePolicy meets a version
    conflict and the version calls are exercised too; a grant role whose proof
    names a key version that does not exist is disarmed, which exercises the
    key-version listing and the disarm calls.
    """
    from alibabacloud_ram20150501 import models as m

    grant = sweep_owner.grant(60, custom=True)
    sweep_owner.ram().create_policy_version(m.CreatePolicyVersionRequest(
        policy_name=grant.policies[1].name, policy_document=json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:ListObjects", "Resource": "*"}]}),
        set_as_default=True))
    tags = sweep_owner.state()["roles"][grant.role_name][0]
    sweep_owner.plain_role("rolegate-forged", {**tags, "rolegate:proof": "kforged." + "A" * 43},
                           attach="AliyunECSReadOnlyAccess")
    emulator.advance_clock(61)
    since = call_mark(emulator)
    summary = invoke()
    assert summary["revoked"] == 1 and [d["role"] for d in summary["disarmed"]] == ["rolegate-forged"]
    calls = [c for c in emulator.calls(since) if c["product"] in ("ram", "kms")]
    assert {c["outcome"] for c in calls} == {"ok", "DeleteConflict.Policy.Version"}  # never NoPermission
    used = {f"{c['product']}:{c['action']}" for c in calls}
    allowed = {a for s in REVOKE_POLICY["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str)
                                                               else s["Action"]) if a.startswith(("ram:", "kms:"))}
    assert used == allowed
    assert orphan_policies(sweep_owner) == []


def test_function_without_the_policy_cannot_sweep(emulator: EmulatorServer, sweep_owner: Owner,
                                                  sweep_env: pytest.MonkeyPatch) -> None:
    """Authorization is really on: an identity without revoke.json fails the invocation and revokes nothing."""
    from tests.emulator.helpers import create_user_with_policy

    sweep_owner.grant(60)
    emulator.advance_clock(61)
    bare = create_user_with_policy(emulator, sweep_owner.root, "nobody", None)
    sweep_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", bare["access_key_id"])
    sweep_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", bare["access_key_secret"])
    before = sweep_owner.state()
    with pytest.raises(SweepFailed) as info:
        invoke(context(account_id=sweep_owner.account_id))
    assert info.value.code == "SweepIncomplete"
    assert info.value.summary["error"]["cloud_code"].startswith("NoPermission")
    assert sweep_owner.state() == before


def test_function_role_session_holding_only_the_policy(emulator: EmulatorServer, sweep_owner: Owner,
                                                       sweep_env: pytest.MonkeyPatch) -> None:
    """As on FC: STS credentials of a function role in A that holds exactly revoke.json."""
    from alibabacloud_ram20150501 import models as m
    from alibabacloud_sts20150401 import models as sts_models

    from tests.emulator.helpers import account_trust, create_user_with_policy, sts_client

    ram = sweep_owner.ram()
    ram.create_role(m.CreateRoleRequest(role_name="fc-revoke-role",
                                        assume_role_policy_document=account_trust(sweep_owner.account_id)))
    ram.create_policy(m.CreatePolicyRequest(policy_name="RevokeFunctionPolicy",
                                            policy_document=json.dumps(REVOKE_POLICY)))
    ram.attach_policy_to_role(m.AttachPolicyToRoleRequest(role_name="fc-revoke-role",
                                                          policy_name="RevokeFunctionPolicy", policy_type="Custom"))
    runtime = create_user_with_policy(emulator, sweep_owner.root, "fc-runtime", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    session = sts_client(emulator, runtime).assume_role(sts_models.AssumeRoleRequest(
        role_arn=f"acs:ram::{sweep_owner.account_id}:role/fc-revoke-role", role_session_name="fc")).body.credentials
    sweep_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", session.access_key_id)
    sweep_env.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", session.access_key_secret)
    sweep_env.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", session.security_token)
    expired = sweep_owner.grant(60, custom=True)
    emulator.advance_clock(61)
    mark = call_mark(emulator)
    assert invoke()["revoked"] == 1 and expired.role_name not in sweep_owner.role_names()
    callers = {c["caller"] for c in emulator.calls(mark) if c["product"] == "ram"}
    assert callers == {f"acs:ram::{sweep_owner.account_id}:assumed-role/fc-revoke-role/fc"}


def test_dry_run_rehearses_the_guard_too(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A dry run meeting a mass expiry fails like the real run would, and changes nothing."""
    for _ in range(6):
        sweep_owner.grant(60)
    emulator.advance_clock(61)
    before = sweep_owner.state()
    with pytest.raises(SweepFailed) as info:
        invoke(payload={"dry_run": True})
    assert info.value.code == "SweepBlocked" and info.value.summary["would_revoke"] == 0
    assert sweep_owner.state() == before


def test_broken_setting_fails_the_invocation_and_is_logged(emulator: EmulatorServer, sweep_owner: Owner,
                                                           sweep_env: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed environment variable is a deployment error: raised (FC marks it failed) and logged."""
    from shared.errors import ConfigError

    sweep_env.setenv("ROLEGATE_SWEEP_MAX_SHARE", "2")
    with pytest.raises(ConfigError):
        invoke()
    assert '"event":"sweep_failed"' in capsys.readouterr().out


# ------------------------------------------------------------ orphaned grant policies
def _write_calls(emulator: EmulatorServer, since: int) -> set[str]:
    return {c["action"] for c in emulator.calls(since)} & WRITE_ACTIONS


def test_orphan_past_the_grace_is_deleted(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A grant custom policy whose role is gone, older than the grace, is deleted; the live grant's stays."""
    live = sweep_owner.grant(7200, custom=True)
    orphan = sweep_owner.orphan()
    emulator.advance_clock(901)
    summary = invoke()
    assert summary["ok"] is True and summary["failed"] == []
    assert (summary["orphans_deleted"], summary["orphans_skipped"]) == (1, [])
    assert orphan not in sweep_owner.policy_names() and live.policies[1].name in sweep_owner.policy_names()
    assert orphan_policies(sweep_owner) == []


def test_young_orphan_is_kept_until_the_grace_has_passed(emulator: EmulatorServer, sweep_owner: Owner,
                                                          sweep_env: pytest.MonkeyPatch) -> None:
    """A policy younger than ROLEGATE_SWEEP_ORPHAN_GRACE_SECONDS may be a create at work: kept, not reported."""
    sweep_env.setenv("ROLEGATE_SWEEP_ORPHAN_GRACE_SECONDS", "3600")
    orphan = sweep_owner.orphan()
    emulator.advance_clock(3590)
    early = invoke()
    assert (early["orphans_deleted"], early["orphans_skipped"]) == (0, [])
    assert orphan in sweep_owner.policy_names()
    emulator.advance_clock(10)
    assert invoke()["orphans_deleted"] == 1 and orphan not in sweep_owner.policy_names()


def test_live_grants_policy_is_never_an_orphan(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A live grant's custom policy detached by hand is old and held by no one, yet its grant has a role: kept."""
    live = sweep_owner.grant(7200, custom=True)
    sweep_owner.ram().detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        role_name=live.role_name, policy_type="Custom", policy_name=live.policies[1].name))
    emulator.advance_clock(3600)
    summary = invoke()
    assert (summary["orphans_deleted"], summary["orphans_skipped"]) == (0, [])
    assert live.policies[1].name in sweep_owner.policy_names()


def test_orphan_someone_holds_is_kept_and_reported(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """An orphan attached to a user is in use: deleting it would take access away, so it is reported instead."""
    orphan = sweep_owner.orphan()
    ram = sweep_owner.ram()
    ram.create_user(ram_models.CreateUserRequest(user_name="carol"))
    ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type="Custom", policy_name=orphan,
                                                                   user_name="carol"))
    emulator.advance_clock(901)
    since = call_mark(emulator)
    summary = invoke()
    assert summary["ok"] is True and summary["orphans_deleted"] == 0 and summary["failed"] == []
    [skipped] = summary["orphans_skipped"]
    assert skipped["policy"] == orphan and skipped["reason"].startswith("in use")
    assert orphan in sweep_owner.policy_names() and not _write_calls(emulator, since)
    held = ram.list_policies_for_user(ram_models.ListPoliciesForUserRequest(user_name="carol")).body
    assert [p.policy_name for p in held.policies.policy] == [orphan]


def test_delete_conflict_means_in_use(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """Attached between the listing and the delete: DeletePolicy's DeleteConflict skips and reports it."""
    orphan = sweep_owner.orphan()
    emulator.advance_clock(901)
    emulator.add_fault(kind="error", action="DeletePolicy", code="DeleteConflict.Policy.Role", status=409, times=1)
    summary = invoke()
    assert summary["ok"] is True and summary["orphans_deleted"] == 0 and summary["failed"] == []
    [skipped] = summary["orphans_skipped"]
    assert (skipped["policy"], skipped["code"]) == (orphan, "DeleteConflict.Policy.Role")
    assert orphan in sweep_owner.policy_names()
    emulator.clear_faults()
    assert invoke()["orphans_deleted"] == 1 and orphan not in sweep_owner.policy_names()


def test_dry_run_deletes_no_orphan(emulator: EmulatorServer, sweep_owner: Owner) -> None:
    """A dry run reports the orphan it would delete and makes no write call."""
    orphan = sweep_owner.orphan()
    emulator.advance_clock(901)
    before = sweep_owner.state()
    since = call_mark(emulator)
    summary = invoke(payload={"dry_run": True})
    assert (summary["orphans_would_delete"], summary["orphans_deleted"]) == (1, 0)
    assert sweep_owner.state() == before and orphan in sweep_owner.policy_names()
    assert not _write_calls(emulator, since)


def test_policies_not_named_and_tagged_as_a_grants_are_never_touched(emulator: EmulatorServer,
                                                                      sweep_owner: Owner) -> None:
    """Only a name Rolegate gives a grant's policy, with that grant's tags, makes an orphan; nothing else is deleted."""
    grant_id = new_grant_id()
    sweep_owner.custom_policy("ops-readonly")
    sweep_owner.custom_policy("ops-tagged", {"rolegate:managed": "true", "rolegate:grant-id": grant_id})
    sweep_owner.custom_policy(custom_policy_name(new_grant_id(), 0))  # named like a grant's, untagged
    sweep_owner.custom_policy(custom_policy_name(new_grant_id(), 1),  # tags naming another grant
                              {"rolegate:managed": "true", "rolegate:grant-id": grant_id})
    sweep_owner.custom_policy(custom_policy_prefix(grant_id) + "notes",
                              {"rolegate:managed": "true", "rolegate:grant-id": grant_id})
    emulator.advance_clock(3600)
    before = sweep_owner.policy_names()
    since = call_mark(emulator)
    summary = invoke()
    assert (summary["orphans_deleted"], summary["orphans_skipped"]) == (0, [])
    assert sweep_owner.policy_names() == before and not _write_calls(emulator, since)


def test_orphan_deletions_are_capped_per_run_oldest_first(emulator: EmulatorServer, sweep_owner: Owner,
                                                          sweep_env: pytest.MonkeyPatch) -> None:
    """Past ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS the rest are reported and left; the next run goes on."""
    sweep_env.setenv("ROLEGATE_SWEEP_MAX_ORPHAN_DELETIONS", "1")
    older = sweep_owner.orphan()
    emulator.advance_clock(60)
    newer = sweep_owner.orphan()
    emulator.advance_clock(901)
    summary = invoke()
    assert summary["orphans_deleted"] == 1 and older not in sweep_owner.policy_names()
    [skipped] = summary["orphans_skipped"]
    assert skipped["policy"] == newer and "cap" in skipped["reason"]
    again = invoke()
    assert (again["orphans_deleted"], again["orphans_skipped"]) == (1, [])
    assert orphan_policies(sweep_owner) == []


def test_every_page_of_policies_is_read(emulator: EmulatorServer, sweep_owner: Owner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The listing follows the marker to the last page: orphans on every page are found."""
    monkeypatch.setattr("shared.ram.LIST_PAGE", 2)
    orphans = {sweep_owner.orphan() for _ in range(5)}
    emulator.advance_clock(901)
    since = call_mark(emulator)
    assert invoke()["orphans_deleted"] == 5
    assert not orphans & sweep_owner.policy_names()
    assert sum(1 for c in emulator.calls(since) if c["action"] == "ListPolicies") == 3
