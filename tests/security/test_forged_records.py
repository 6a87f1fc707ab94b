"""P2 and P4: no action is ever driven by an unproven record or marker, and forgeries never stop a revocation.

Each test is one attack from issue 12's findings, made with the real SDKs by an
attacker who may tag (or do anything in RAM) but not use the record key.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.grants.tags import GRANT_ID_KEY, MANAGED_KEY
from tests.emulator.helpers import account_trust
from tests.security.conftest import Arena, decisions, swept

EXPIRED_MARKER = {MANAGED_KEY: "true", GRANT_ID_KEY: "g-aaaaaaaaaaaa", "rolegate:partner": "1" * 16,
                  "rolegate:expires-at": "2020-01-01T00:00:00Z", "rolegate:principal-kind": "account",
                  "rolegate:r0": "3.1.garbled"}


def test_forged_expired_markers_on_foreign_roles_are_never_swept(arena: Arena) -> None:
    """A tagger marks a function's own role and an unrelated role as expired grants: the sweep deletes neither."""
    own = arena.plain_role("fc-rolegate-onboard", ("AliyunRAMReadOnlyAccess",))
    app = arena.plain_role("AppRole", ("AliyunOSSReadOnlyAccess",))
    for role in (own, app):
        arena.tag(role, EXPIRED_MARKER)
    before = {role: arena.snapshot(role) for role in (own, app)}

    summary = arena.sweep()

    assert {role: arena.snapshot(role) for role in (own, app)} == before
    account = swept(summary)
    assert account["revoked"] == 0 and account["examined"] == 0
    assert {entry["role"] for entry in account["unreadable_records"]} == {own, app}
    assert account["disarmed"] == []


def test_a_garbled_record_does_not_strip_an_unrelated_role(arena: Arena) -> None:
    """A marker with a garbled record on a role outside Rolegate's namespace is reported, nothing is detached."""
    app = arena.plain_role("AppRole", ("AliyunOSSReadOnlyAccess", "AliyunECSReadOnlyAccess"))
    event = arena.tag(app, EXPIRED_MARKER)
    before = arena.snapshot(app)

    reply = arena.remediate(event)

    assert arena.snapshot(app) == before
    [decision] = decisions(reply)
    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert decision["details"]["written_by"] == "ram-user:tagger"


def test_a_real_record_copied_to_a_powerful_role_is_not_restored(arena: Arena) -> None:
    """A genuine grant's whole record, copied onto an owner role, never re-trusts that role to the partner."""
    grant = arena.grant()
    power = arena.plain_role("PowerRole", ("AliyunECSFullAccess",))
    before = arena.snapshot(power)

    tagged = arena.tag(power, arena.rolegate_tags(grant.role_name))
    changed = arena.attach(power, "AliyunOSSFullAccess")
    replies = [arena.remediate(tagged), arena.remediate(changed)]

    assert arena.trust_of(power) == json.loads(before[0])
    assert "System:AliyunECSFullAccess" in arena.policies_of(power)
    assert not arena.alice_assumes(power)
    assert all(d["action"] != "restore_grant" for reply in replies for d in decisions(reply))
    assert any(d["level"] == "critical" and "cannot prove" in d["reason"] for d in decisions(replies[0]))


def test_a_record_forged_in_the_documented_format_is_not_believed(arena: Arena) -> None:
    """A well-formed record sealed with the attacker's own key, naming the partner, grants nothing on a foreign role."""
    grant = arena.grant()
    target = arena.plain_role("VendorRole", ("AliyunOSSReadOnlyAccess",))
    before = arena.snapshot(target)
    forged = arena.forged_record(grant)

    reply = arena.remediate(arena.tag(target, forged, arena.mallory))
    arena.remediate(arena.attach(target, "AliyunFCReadOnlyAccess"))

    assert arena.trust_of(target) == json.loads(before[0])
    assert not arena.alice_assumes(target)
    assert [d["outcome"] for d in decisions(reply)] == ["reported"]


def test_forged_markers_do_not_trip_the_blast_radius_guard(arena: Arena) -> None:
    """Ten forged expired markers beside one genuinely expired grant: the genuine one is revoked all the same."""
    genuine = arena.grant(lifetime=timedelta(hours=1))
    decoys = [arena.plain_role(f"Decoy{i}") for i in range(10)]
    for role in decoys:
        arena.tag(role, EXPIRED_MARKER)
    arena.emulator.advance_clock(2 * 3600)

    summary = arena.sweep({"max_share": 0.5})

    account = swept(summary)
    assert account["ok"] and account["revoked"] == 1 and account["examined"] == 1
    assert genuine.role_name not in arena.roles()
    assert set(decoys) <= set(arena.roles())


@pytest.mark.parametrize("command", [["grants", "list", "--json"], ["sweep", "--json"]])
def test_operator_commands_leave_forged_roles_alone(arena: Arena, command: list[str]) -> None:
    """The CLI, run with the owner's root key, lists a forged marker as unproven and changes nothing."""
    from click.testing import CliRunner

    from rolegate.cli import main

    app = arena.plain_role("AppRole", ("AliyunOSSReadOnlyAccess",))
    arena.tag(app, EXPIRED_MARKER)
    before = arena.snapshot(app)
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": arena.owner.root["access_key_id"],
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": arena.owner.root["access_key_secret"],
           "ROLEGATE_ENDPOINT": arena.emulator.endpoint}
    result = CliRunner().invoke(main, command, env=env)

    assert arena.snapshot(app) == before
    assert "AppRole" in result.output


def test_the_record_key_is_out_of_reach_of_ordinary_ram_users(arena: Arena) -> None:
    """``ram:*`` does not reach KMS: mallory cannot read the secret that would let her sign records."""
    from alibabacloud_kms20160120 import models as kms_models

    from tests.emulator.helpers import kms_client

    with pytest.raises(Exception) as info:
        kms_client(arena.emulator, arena.mallory).get_secret_value(
            kms_models.GetSecretValueRequest(secret_name="rolegate-record-key"))
    assert "Forbidden" in str(info.value) or "NoPermission" in str(info.value)


def test_a_trust_made_to_look_like_a_grant_by_name_alone_is_not_restored(arena: Arena) -> None:
    """A role an insider creates inside the namespace, trusting the partner, is disarmed, never given policies."""
    rogue = arena.plain_role("rolegate-rogue", ("AliyunOSSReadOnlyAccess",),
                             trust=account_trust(arena.partner.account_id))
    reply = arena.remediate(arena.tag(rogue, EXPIRED_MARKER))

    assert arena.policies_of(rogue) == []
    assert [d["action"] for d in decisions(reply)] == ["disarm_grant"]
    assert not arena.alice_assumes(rogue, external_id=None)
