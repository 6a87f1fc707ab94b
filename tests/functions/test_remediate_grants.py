"""Rule grant-tamper: a managed grant changed outside Rolegate is put back from its proven record.

A marked role whose record Rolegate cannot prove it wrote is never restored
from it: reported at level critical and, inside the ``rolegate-`` namespace,
disarmed; outside it, left alone.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator.services.ram import ram_state
from shared.grants.model import to_iso_z
from shared.grants.tags import grant_from_tags
from shared.policies.document import canonical_json
from shared.policies.trust import nobody_trust, trust_policy
from tests.functions.remediate_support import ADMIN_DOC, Lab, fixture_event, only, outcomes
from tests.unit.grant_samples import as_format_2

RULE = "grant-tamper"
GRANTED = "System:AliyunECSReadOnlyAccess"


def _decodes(lab: Lab, role: str) -> bool:
    tags = [{"Key": k, "Value": v} for k, v in lab.tags(role).items()]
    grant_from_tags(tags, role, lab.account_id, keyring=lab.store().keyring)
    return True


def _disarmed(lab: Lab, role: str) -> bool:
    """No policy left and a trust policy nobody satisfies; the role and its tags are still there."""
    return lab.role_policies(role) == [] and canonical_json(lab.trust(role)) == canonical_json(nobody_trust(lab.account_id))


def test_extra_policy_attached_to_a_grant_is_detached_and_redelivery_is_already_compliant(remediate_lab: Lab) -> None:
    """AttachPolicyToRole of a policy the grant does not hold: restore removes it; the duplicate changes nothing."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.attach_to_role(grant.role_name, "AliyunOSSReadOnlyAccess")

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["action"] == "restore_grant"
    assert decision["details"]["grant_id"] == grant.grant_id
    assert any("AliyunOSSReadOnlyAccess" in d for d in decision["details"]["drift"])
    assert lab.role_policies(grant.role_name) == [GRANTED]
    before = lab.state()
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]
    assert lab.state() == before


def test_granted_policy_detached_is_reattached(remediate_lab: Lab) -> None:
    """DetachPolicyFromRole of a granted policy: the grant gets it back."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")
    assert lab.role_policies(grant.role_name) == []

    assert outcomes(lab.invoke(event), RULE) == ["remediated"]
    assert lab.role_policies(grant.role_name) == [GRANTED]


def test_widened_trust_and_session_length_are_restored(remediate_lab: Lab) -> None:
    """UpdateRole on a grant: trust policy and session length go back to the record's."""
    lab = remediate_lab
    grant = lab.grant()
    wide = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ["*"]}}]})
    event = lab.update_trust(grant.role_name, wide, max_session_duration=43200)

    reply = lab.invoke(event)

    assert only(reply, RULE)["outcome"] == "remediated"
    assert only(reply, "trust-widened")["outcome"] == "already_compliant"  # re-read after the restore
    assert canonical_json(lab.trust(grant.role_name)) == canonical_json(trust_policy(grant.principal))
    assert lab.state()["roles"][grant.role_name][1] == 3600


def test_removed_readable_tags_are_rewritten_from_the_record(remediate_lab: Lab) -> None:
    """UntagResources of readable rolegate: tags while the proven record survives: they are written back.

    (Removing the marker itself hides the grant from the sweep's listing: that fails closed, see tests/security.)
    """
    lab = remediate_lab
    grant = lab.grant()
    original = lab.tags(grant.role_name)
    event = lab.untag_role(grant.role_name, ["rolegate:grant-id", "rolegate:partner", "rolegate:principal-kind"])

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "rewrite_tags"
    assert sorted(decision["details"]["set"]) == ["rolegate:grant-id", "rolegate:partner",
                                                  "rolegate:principal-kind"]
    assert lab.tags(grant.role_name) == original and _decodes(lab, grant.role_name)
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]


def test_overwritten_readable_tag_is_rewritten(remediate_lab: Lab) -> None:
    """A readable tag edited to disagree with the record (TagResources) is corrected."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.tag_role(grant.role_name, {"rolegate:partner": "1111222233334444"})

    assert outcomes(lab.invoke(event), RULE) == ["remediated"]
    assert lab.tags(grant.role_name)["rolegate:partner"] == lab.partner_id


def test_destroyed_record_is_reported_and_the_grant_is_disarmed(remediate_lab: Lab) -> None:
    """Record chunks removed: level critical naming who did it; the grant fails closed (no policy, nobody trusted)."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.untag_role(grant.role_name, ["rolegate:r0"])

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "disarm_grant"
    assert decision["level"] == "critical" and "rolegate:r0" in decision["details"]["record_error"]
    assert "mallory" in decision["details"]["written_by"]
    assert decision["details"]["actions"] == ["DetachPolicyFromRole AliyunECSReadOnlyAccess",
                                              "UpdateRole trust=nobody"]
    assert _disarmed(lab, grant.role_name) and grant.role_name in lab.state()["roles"]
    assert only(lab.invoke(event), RULE)["outcome"] == "reported"  # redelivered: already disarmed


def test_destroyed_record_only_reported_when_detaching_is_switched_off(remediate_lab: Lab,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_DETACH_UNRECORDED=false: still critical, but nothing is changed."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DETACH_UNRECORDED", "false")
    grant = lab.grant()
    event = lab.untag_role(grant.role_name, ["rolegate:r0"])
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert lab.state() == before


def test_forged_marker_on_a_plain_role_is_reported_without_touching_it(remediate_lab: Lab) -> None:
    """rolegate:managed added to a role outside the namespace: reported critical, naming the writer; nothing changes."""
    lab = remediate_lab
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.tag_role("AppRole", {"rolegate:managed": "true"})
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert "outside Rolegate's namespace" in decision["reason"] and "mallory" in decision["details"]["written_by"]
    assert lab.state() == before


def test_forged_record_on_a_plain_role_is_never_restored(remediate_lab: Lab) -> None:
    """A genuine grant's record copied onto another role: its proof does not verify there, so nothing is
    re-trusted or re-attached from it; the role is only reported."""
    lab = remediate_lab
    grant = lab.grant()
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.tag_role("AppRole", lab.tags(grant.role_name))
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert "does not match" in decision["details"]["record_error"]
    assert lab.state() == before


def test_forged_marker_inside_the_namespace_disarms_the_role(remediate_lab: Lab) -> None:
    """Every role named rolegate-... is a grant's: one carrying a record Rolegate never signed gives no access."""
    lab = remediate_lab
    lab.role("rolegate-lookalike", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.tag_role("rolegate-lookalike", {"rolegate:managed": "true", "rolegate:r0": "1.1.forged"})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "disarm_grant"
    assert _disarmed(lab, "rolegate-lookalike")
    assert lab.tags("rolegate-lookalike")["rolegate:r0"] == "1.1.forged"  # left as evidence


def test_expired_grant_is_left_to_the_revoke_sweep(remediate_lab: Lab) -> None:
    """A grant past its expiry is not restored (the sweep may be dismantling it): skipped, nothing re-attached."""
    lab = remediate_lab
    grant = lab.grant(lifetime_seconds=60)
    lab.advance(120)
    event = lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "skipped" and "expired" in decision["reason"]
    assert lab.role_policies(grant.role_name) == []


def test_hand_written_event_in_the_documented_shape(remediate_lab: Lab) -> None:
    """The fixture DetachPolicyFromRole event (console, assumed-role caller) gets the policy re-attached."""
    lab = remediate_lab
    grant = lab.grant()
    lab.detach_from_role(grant.role_name, "AliyunECSReadOnlyAccess")
    event = fixture_event("grant_tamper", owner=lab.account_id, role=grant.role_name,
                          policy="AliyunECSReadOnlyAccess")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["caller"] == "assumed-role:ops-admin:alice"
    assert lab.role_policies(grant.role_name) == [GRANTED]


def test_tags_outside_rolegate_and_unmanaged_roles_are_ignored(remediate_lab: Lab) -> None:
    """A caller's own tags on a grant, and a policy change on an unmanaged role, are not grant tampering."""
    lab = remediate_lab
    grant = lab.grant()
    lab.role("AppRole")
    tag_event = lab.tag_role(grant.role_name, {"team": "data"})
    attach_event = lab.attach_to_role("AppRole", "AliyunOSSReadOnlyAccess")

    reply = lab.invoke([tag_event, attach_event])

    assert reply["decisions"] == [] and reply["ignored"] == 2
    reasons = [e["reason"] for e in reply["ignored_events"]]
    assert "no rolegate: tag" in reasons[0] and "not a Rolegate grant" in reasons[1]


def test_pushed_out_expiry_tag_is_restored_from_the_record(remediate_lab: Lab) -> None:
    """rolegate:expires-at moved to 2099 by hand: rewritten to the recorded expiry; redelivery changes nothing."""
    lab = remediate_lab
    grant = lab.grant()
    original = lab.tags(grant.role_name)
    event = lab.tag_role(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "rewrite_tags"
    assert decision["details"]["set"] == ["rolegate:expires-at"]
    assert decision["details"]["expires_at"] == to_iso_z(grant.expires_at)
    assert lab.tags(grant.role_name) == original and _decodes(lab, grant.role_name)
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]


def test_removed_expiry_tag_is_restored_from_the_record(remediate_lab: Lab) -> None:
    """UntagResources of rolegate:expires-at: the recorded expiry is written back."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.untag_role(grant.role_name, ["rolegate:expires-at"])

    assert outcomes(lab.invoke(event), RULE) == ["remediated"]
    assert lab.tags(grant.role_name)["rolegate:expires-at"] == to_iso_z(grant.expires_at)


def test_expiry_tag_tampering_in_dry_run_would_be_remediated(remediate_lab: Lab,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_REMEDIATE_DRY_RUN=true: the rewrite is only announced, and the tag stays as tampered."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN", "true")
    grant = lab.grant()
    event = lab.tag_role(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"})
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "would_remediate" and decision["dry_run"] is True
    assert decision["details"]["set"] == ["rolegate:expires-at"]
    assert lab.state() == before


def test_a_grant_recorded_before_proofs_is_not_believed(remediate_lab: Lab) -> None:
    """A record written before records carried a proof (not adopted yet) vouches for nothing: a change to it
    is not checked against it but fails closed."""
    lab = remediate_lab
    grant = lab.grant()
    role = ram_state(lab.emulator.world.accounts[lab.account_id]).find_role(grant.role_name)
    role.tags = {t["Key"]: t["Value"] for t in as_format_2([{"Key": k, "Value": v} for k, v in role.tags.items()])}
    event = lab.tag_role(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "disarm_grant"
    assert "grants adopt" in decision["details"]["record_error"]
    assert _disarmed(lab, grant.role_name)


def test_hand_edited_record_chunk_is_a_destroyed_record(remediate_lab: Lab) -> None:
    """One character of rolegate:r0 changed: zlib's checksum fails, so critical and the grant disarmed."""
    lab = remediate_lab
    grant = lab.grant()
    chunk = lab.tags(grant.role_name)["rolegate:r0"]
    position = len(chunk) // 2
    edited = chunk[:position] + ("A" if chunk[position] != "A" else "B") + chunk[position + 1:]
    event = lab.tag_role(grant.role_name, {"rolegate:r0": edited})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "disarm_grant"
    assert decision["level"] == "critical"
    assert any(why in decision["details"]["record_error"] for why in ("corrupt", "truncated"))  # where inflate stops
    assert _disarmed(lab, grant.role_name)


def _reencoded(tags: dict[str, str], **changes: object) -> dict[str, str]:
    """The record re-encoded by hand with ``changes`` (a later expiry, say), the proof left as it was."""
    import base64
    import zlib

    keys = sorted((k for k in tags if k.startswith("rolegate:r") and k[10:].isdigit()), key=lambda k: int(k[10:]))
    data = "".join(tags[k] for k in keys).split(".", 2)[2]
    record = json.loads(zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))))
    record.update(changes)
    packed = base64.urlsafe_b64encode(zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 9))
    text = f"3.1.{packed.rstrip(b'=').decode()}"
    assert len(text) <= 256
    return {"rolegate:r0": text}


def test_consistent_record_rewritten_by_hand_fails_closed(remediate_lab: Lab) -> None:
    """A whole record re-encoded with a later expiry decodes, but its proof no longer matches: never believed,
    the grant is disarmed and the forged expiry never extends anything."""
    lab = remediate_lab
    grant = lab.grant()
    later = grant.expires_at + timedelta(days=365)
    forged = _reencoded(lab.tags(grant.role_name), e=int(later.timestamp()))
    event = lab.tag_role(grant.role_name, {**forged, "rolegate:expires-at": to_iso_z(later)})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "disarm_grant"
    assert decision["level"] == "critical" and "does not match" in decision["details"]["record_error"]
    assert _disarmed(lab, grant.role_name)


def test_record_rewritten_by_a_key_holder_is_accepted(remediate_lab: Lab) -> None:
    """`rolegate grants extend` (an operator holding the record key) signs the record it writes: no false alarm."""
    lab = remediate_lab
    grant = lab.grant()
    later = grant.expires_at + timedelta(days=30)
    mark = lab.mark()
    operator = lab.store()
    operator.writer = "root"  # the lab's store signs with A's root key, as `grants extend` run by root would
    operator.extend(grant.grant_id, later)
    [event] = lab.events_since(mark, "TagResources")
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "already_compliant" and "key" in decision["details"]["note"]
    assert decision["details"]["expires_at"] == to_iso_z(later)
    assert lab.state() == before


@pytest.mark.parametrize("document", [{"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "oss:*", "Resource": "*"}]}, ADMIN_DOC], ids=["broader", "admin"])
def test_new_default_version_of_a_grant_custom_policy_is_rolled_back(remediate_lab: Lab,
                                                                     document: dict[str, object]) -> None:
    """CreatePolicyVersion on the grant's own policy: the recorded version is default again and attached."""
    lab = remediate_lab
    grant = lab.grant(custom=True)
    policy = grant.policies[1].name
    request = ram_models.CreatePolicyVersionRequest(policy_name=policy, policy_document=json.dumps(document),
                                                    set_as_default=True)
    event = lab.capture(lambda: lab.ram(lab.mallory).create_policy_version(request), "CreatePolicyVersion")

    reply = lab.invoke(event)

    decision = only(reply, RULE)
    assert decision["outcome"] == "remediated" and decision["details"]["grant_id"] == grant.grant_id
    assert lab.state()["policies"][policy][0] == "v1"
    assert lab.role_policies(grant.role_name) == sorted([GRANTED, f"Custom:{policy}"])


def test_readable_tag_repair_rewrites_from_the_record_and_drops_stray_chunks() -> None:
    """The repair helper: missing and wrong readable tags (the expiry too) come back from the record, a stray chunk goes."""
    from datetime import datetime, timezone

    from shared.grants.tags import grant_to_tags, readable_tag_repair
    from tests.unit.grant_samples import KEYRING, OWNER, make_grant

    grant = make_grant()
    written = datetime(2030, 5, 1, 13, tzinfo=timezone.utc)
    tags = {t["Key"]: t["Value"] for t in grant_to_tags(grant, KEYRING, written_at=written)}
    del tags["rolegate:grant-id"]
    tags["rolegate:requester"] = "eve@example.com"
    tags["rolegate:expires-at"] = "2099-01-01T00:00:00Z"
    tags["rolegate:r9"] = "junk"
    damaged = [{"Key": k, "Value": v} for k, v in tags.items()]

    to_set, to_remove = readable_tag_repair(damaged, grant.role_name, OWNER, KEYRING)

    assert sorted(t["Key"] for t in to_set) == ["rolegate:expires-at", "rolegate:grant-id", "rolegate:requester"]
    assert to_remove == ["rolegate:r9"]
    repaired = [t for t in damaged if t["Key"] not in to_remove and t["Key"] not in {s["Key"] for s in to_set}]
    assert grant_from_tags(repaired + to_set, grant.role_name, OWNER, keyring=KEYRING) == grant


def test_a_late_redelivery_of_an_older_extension_does_not_disarm_the_grant(remediate_lab: Lab) -> None:
    """An operator extends a grant twice, an hour apart; EventBridge retries the first TagResources after the
    second was written. The live record was signed after that event: it is no old record put back."""
    lab = remediate_lab
    grant = lab.grant()
    operator = lab.store()
    operator.writer = "root"
    mark = lab.mark()
    operator.extend(grant.grant_id, grant.expires_at + timedelta(days=30))
    [first] = lab.events_since(mark, "TagResources")
    lab.advance(3600)
    operator.extend(grant.grant_id, grant.expires_at + timedelta(days=60))
    before = lab.state()

    decision = only(lab.invoke(first), RULE)

    assert decision["outcome"] == "already_compliant" and decision["level"] == "info", decision
    assert decision["details"]["expires_at"] == to_iso_z(grant.expires_at + timedelta(days=60))
    assert lab.state() == before


def test_a_grant_trust_loosened_within_the_partner_account_is_restored(remediate_lab: Lab) -> None:
    """UpdateRole keeps the partner's account but drops the ExternalId condition and lists the partner twice:
    no account outside is named (trust-widened has nothing to say), yet the trust is not the record's."""
    lab = remediate_lab
    grant = lab.grant()
    loose = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"RAM": [f"acs:ram::{lab.partner_id}:root", lab.partner_id]}}]})
    event = lab.update_trust(grant.role_name, loose)

    reply = lab.invoke(event)

    assert only(reply, RULE)["outcome"] == "remediated"
    assert "trust policy changed" in only(reply, RULE)["details"]["drift"]
    assert canonical_json(lab.trust(grant.role_name)) == canonical_json(trust_policy(grant.principal))
