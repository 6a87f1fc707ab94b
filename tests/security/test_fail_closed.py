"""P1, P3 and P5: a tampered grant fails closed, nothing outlives its proven record, operators raise no false alarm.

The partner in these tests can tag (a grant the checks let through could hold
``ram:TagResources``, which RAM cannot confine): it rewrites its own record.
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from shared.grants.model import PolicyRef
from shared.grants.tags import RECORD_KEY_PREFIX
from shared.policies.document import canonical_json
from shared.policies.trust import nobody_trust
from tests.emulator.helpers import create_user_with_policy
from tests.security.conftest import Arena, decisions, swept


def _disarmed(arena: Arena, role: str) -> bool:
    nobody = canonical_json(arena.trust_of(role)) == canonical_json(nobody_trust(arena.owner.account_id))
    return arena.policies_of(role) == [] and nobody and not arena.alice_assumes(role)


def test_a_partner_rewriting_its_own_record_loses_its_access(arena: Arena) -> None:
    """More policies and an expiry ten years out, re-encoded in the documented format: the grant is disarmed."""
    grant = arena.grant(lifetime=timedelta(hours=2))
    assert arena.alice_assumes(grant.role_name)
    wider = dataclasses.replace(grant, expires_at=grant.expires_at + timedelta(days=3650),
                                policies=grant.policies + (PolicyRef("AliyunOSSFullAccess", "System"),))

    reply = arena.remediate(arena.tag(grant.role_name, arena.forged_record(wider)))

    assert [d["action"] for d in decisions(reply)] == ["disarm_grant"]
    assert decisions(reply)[0]["level"] == "critical"
    assert _disarmed(arena, grant.role_name)
    # whatever remediation saw, later events never re-grant from what the attacker wrote
    arena.remediate(arena.attach(grant.role_name, "AliyunOSSFullAccess"))
    assert arena.policies_of(grant.role_name) == []


def test_a_rewritten_record_missed_by_remediation_is_disarmed_by_the_sweep(arena: Arena) -> None:
    """If the event never arrives, the next sweep finds the unproven record in the namespace and disarms it."""
    grant = arena.grant(lifetime=timedelta(hours=2))
    later = dataclasses.replace(grant, expires_at=grant.expires_at + timedelta(days=3650))
    arena.tag(grant.role_name, arena.forged_record(later))
    arena.emulator.advance_clock(3 * 3600)  # past the proven expiry

    report = swept(arena.sweep())

    assert [entry["role"] for entry in report["disarmed"]] == [grant.role_name]
    assert report["examined"] == 0 and report["revoked"] == 0
    assert _disarmed(arena, grant.role_name)


def test_a_removed_record_fails_closed(arena: Arena) -> None:
    """Untagging the record of a grant (or its proof) removes the grant's access."""
    grant = arena.grant()
    reply = arena.remediate(arena.untag(grant.role_name, ["rolegate:proof", f"{RECORD_KEY_PREFIX}0"]))

    assert [d["action"] for d in decisions(reply)] == ["disarm_grant"]
    assert _disarmed(arena, grant.role_name)


def test_a_removed_marker_is_put_back_from_the_proven_record(arena: Arena) -> None:
    """The marker is a hint for listings: removed, it is rewritten from the record, which still proves the grant."""
    grant = arena.grant()
    reply = arena.remediate(arena.untag(grant.role_name, ["rolegate:managed"]))

    assert [d["action"] for d in decisions(reply)] == ["rewrite_tags"]
    assert arena.tags_of(grant.role_name)["rolegate:managed"] == "true"
    assert arena.policies_of(grant.role_name) == ["System:AliyunECSReadOnlyAccess"]


def test_an_older_proven_record_put_back_fails_closed(arena: Arena) -> None:
    """A record Rolegate really signed, put back after the grant was shortened, is not believed (P3)."""
    grant = arena.grant(lifetime=timedelta(days=30))
    long_record = arena.rolegate_tags(grant.role_name)
    arena.store().extend(grant.grant_id, arena.now() + timedelta(hours=1))
    arena.emulator.advance_clock(FRESH_WINDOW_PASSED)

    reply = arena.remediate(arena.tag(grant.role_name, long_record, arena.mallory))

    assert [d["action"] for d in decisions(reply)] == ["disarm_grant"]
    assert "signed earlier" in decisions(reply)[0]["reason"]
    assert _disarmed(arena, grant.role_name)


def test_a_record_put_back_seconds_after_it_was_replaced_fails_closed(arena: Arena) -> None:
    """Even within the freshness window, a record Rolegate signed cannot be put back by anyone else (P3)."""
    grant = arena.grant(lifetime=timedelta(days=30))
    long_record = arena.rolegate_tags(grant.role_name)
    arena.store().extend(grant.grant_id, arena.now() + timedelta(hours=1))

    reply = arena.remediate(arena.tag(grant.role_name, long_record))

    assert [d["action"] for d in decisions(reply)] == ["disarm_grant"]
    assert _disarmed(arena, grant.role_name)


FRESH_WINDOW_PASSED = 600
OPERATOR_POLICY = {"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": ["ram:*", "sts:GetCallerIdentity"], "Resource": "*"},
    {"Effect": "Allow", "Action": "kms:GetSecretValue", "Resource": "acs:kms:*:*:secret/rolegate-record-key"}]}


def test_an_operator_extension_raises_no_critical_report(arena: Arena) -> None:
    """``rolegate grants extend`` signs with the record key, so its TagResources is no forgery (P5)."""
    from click.testing import CliRunner

    from rolegate.cli import main

    grant = arena.grant()
    operator = create_user_with_policy(arena.emulator, arena.owner.root, "operator", OPERATOR_POLICY)
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": operator["access_key_id"],
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": operator["access_key_secret"],
           "ROLEGATE_ENDPOINT": arena.emulator.endpoint}
    before = arena.policies_of(grant.role_name)
    event = arena.capture(
        lambda: CliRunner().invoke(main, ["grants", "extend", grant.grant_id, "--duration", "3d"], env=env,
                                   catch_exceptions=False),
        "TagResources")

    reply = arena.remediate(event)

    assert all(d["level"] != "critical" for d in reply["decisions"]), reply
    assert arena.policies_of(grant.role_name) == before
    assert arena.alice_assumes(grant.role_name)
    assert arena.store().find(grant.grant_id).grant.expires_at > grant.expires_at


def test_readable_tags_pushed_out_change_nothing_and_are_repaired(arena: Arena) -> None:
    """A readable expiry pushed out by a tagger is rewritten from the proven record; the grant still ends on time."""
    grant = arena.grant(lifetime=timedelta(hours=1))
    reply = arena.remediate(arena.tag(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"}))

    assert [d["action"] for d in decisions(reply)] == ["rewrite_tags"]
    assert arena.tags_of(grant.role_name)["rolegate:expires-at"] != "2099-01-01T00:00:00Z"
    arena.emulator.advance_clock(2 * 3600)
    assert swept(arena.sweep())["revoked"] == 1
    assert grant.role_name not in arena.roles()


def test_readable_expiry_pushed_out_without_remediation_does_not_extend_the_grant(arena: Arena) -> None:
    """The sweep reads only the proven record: a readable tag alone never keeps a grant alive (P1)."""
    grant = arena.grant(lifetime=timedelta(hours=1))
    arena.tag(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"})
    arena.emulator.advance_clock(2 * 3600)

    assert swept(arena.sweep())["revoked"] == 1
    assert grant.role_name not in arena.roles()


def test_a_grant_hidden_from_the_marker_listing_is_still_revoked(arena: Arena) -> None:
    """Removing a grant's marker while no remediation runs does not let it outlive its expiry (P1)."""
    grant = arena.grant(lifetime=timedelta(hours=1))
    arena.untag(grant.role_name, ["rolegate:managed"])
    arena.emulator.advance_clock(2 * 3600)

    report = swept(arena.sweep())

    assert report["revoked"] == 1
    assert grant.role_name not in arena.roles()


def test_a_namespace_role_without_any_record_is_disarmed_by_the_sweep(arena: Arena) -> None:
    """Every tag of a grant removed, no event seen: the sweep still finds the role in the namespace and disarms it."""
    grant = arena.grant(lifetime=timedelta(hours=1))
    arena.untag(grant.role_name, list(arena.tags_of(grant.role_name)))

    report = swept(arena.sweep())

    assert [entry["role"] for entry in report["disarmed"]] == [grant.role_name]
    assert _disarmed(arena, grant.role_name)
