"""Rule grant-tamper: a managed grant changed outside Rolegate is put back from the record in its tags."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from alibabacloud_ram20150501 import models as ram_models

from emulator.services.ram import ram_state
from shared.grants.model import to_iso_z
from shared.grants.tags import expiry_change, grant_from_tags
from shared.policies.document import canonical_json
from shared.policies.trust import trust_policy
from tests.functions.remediate_support import ADMIN_DOC, Lab, fixture_event, only, outcomes
from tests.unit.grant_samples import as_format_1

RULE = "grant-tamper"
GRANTED = "System:AliyunECSReadOnlyAccess"


def _decodes(lab: Lab, role: str) -> bool:
    tags = [{"Key": k, "Value": v} for k, v in lab.tags(role).items()]
    grant_from_tags(tags, role, lab.account_id)
    return True


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
    """UntagResources of readable rolegate: tags while the record survives: they are written back."""
    lab = remediate_lab
    grant = lab.grant()
    original = lab.tags(grant.role_name)
    event = lab.untag_role(grant.role_name, ["rolegate:grant-id", "rolegate:partner", "rolegate:managed"])

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "rewrite_tags"
    assert sorted(decision["details"]["set"]) == ["rolegate:grant-id", "rolegate:managed", "rolegate:partner"]
    assert lab.tags(grant.role_name) == original and _decodes(lab, grant.role_name)
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]


def test_overwritten_readable_tag_is_rewritten(remediate_lab: Lab) -> None:
    """A readable tag edited to disagree with the record (TagResources) is corrected."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.tag_role(grant.role_name, {"rolegate:partner": "1111222233334444"})

    assert outcomes(lab.invoke(event), RULE) == ["remediated"]
    assert lab.tags(grant.role_name)["rolegate:partner"] == lab.partner_id


def test_destroyed_record_is_reported_and_the_grant_loses_its_policies(remediate_lab: Lab) -> None:
    """Record chunks removed: level critical, every policy detached so the unreadable grant gives no access."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.untag_role(grant.role_name, ["rolegate:r0"])

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "detach_all_policies"
    assert decision["level"] == "critical" and "rolegate:r0" in decision["details"]["record_error"]
    assert lab.role_policies(grant.role_name) == []


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
    """rolegate:managed added to a role that never had a record: reported, its policies stay."""
    lab = remediate_lab
    lab.role("AppRole", policies=(("System", "AliyunOSSReadOnlyAccess"),))
    event = lab.tag_role("AppRole", {"rolegate:managed": "true"})
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical" and "forged" in decision["reason"]
    assert lab.state() == before


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


def test_expiry_change_on_a_format_1_grant_is_noted_as_unverifiable(remediate_lab: Lab) -> None:
    """A grant recorded before format 2 has no expiry in its record: the change is accepted and the decision says so."""
    lab = remediate_lab
    grant = lab.grant()
    role = ram_state(lab.emulator.world.accounts[lab.account_id]).find_role(grant.role_name)
    role.tags = {t["Key"]: t["Value"] for t in as_format_1([{"Key": k, "Value": v} for k, v in role.tags.items()])}
    event = lab.tag_role(grant.role_name, {"rolegate:expires-at": "2099-01-01T00:00:00Z"})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "already_compliant"
    assert decision["details"]["expires_at"] == "2099-01-01T00:00:00Z" and "format 1" in decision["details"]["note"]


def test_hand_edited_record_chunk_is_a_destroyed_record(remediate_lab: Lab) -> None:
    """One character of rolegate:r0 changed: zlib's checksum fails, so critical and every policy detached."""
    lab = remediate_lab
    grant = lab.grant()
    chunk = lab.tags(grant.role_name)["rolegate:r0"]
    position = len(chunk) // 2
    edited = chunk[:position] + ("A" if chunk[position] != "A" else "B") + chunk[position + 1:]
    event = lab.tag_role(grant.role_name, {"rolegate:r0": edited})

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "detach_all_policies"
    assert decision["level"] == "critical"
    assert any(why in decision["details"]["record_error"] for why in ("corrupt", "truncated"))  # where inflate stops
    assert lab.role_policies(grant.role_name) == []


def test_consistent_record_rewritten_by_hand_is_reported_as_critical(remediate_lab: Lab) -> None:
    """A whole record re-encoded with a later expiry decodes; written by someone but Rolegate's functions, it is
    reported at level critical and left alone (the operator CLI's extend writes records too)."""
    lab = remediate_lab
    grant = lab.grant()
    later = grant.expires_at + timedelta(days=365)
    forged = {t["Key"]: t["Value"] for t in expiry_change(
        [{"Key": k, "Value": v} for k, v in lab.tags(grant.role_name).items()], later)}
    event = lab.tag_role(grant.role_name, forged)
    assert grant_from_tags([{"Key": k, "Value": v} for k, v in lab.tags(grant.role_name).items()],
                           grant.role_name, lab.account_id).expires_at == later  # a consistent forgery

    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert "rewritten outside Rolegate" in decision["reason"] and "rolegate:r0" in decision["details"]["written"]
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
    from shared.grants.tags import grant_to_tags, readable_tag_repair
    from tests.unit.grant_samples import OWNER, make_grant

    grant = make_grant()
    tags = {t["Key"]: t["Value"] for t in grant_to_tags(grant)}
    del tags["rolegate:grant-id"]
    tags["rolegate:requester"] = "eve@example.com"
    tags["rolegate:expires-at"] = "2099-01-01T00:00:00Z"
    tags["rolegate:r9"] = "junk"
    damaged = [{"Key": k, "Value": v} for k, v in tags.items()]

    to_set, to_remove = readable_tag_repair(damaged)

    assert sorted(t["Key"] for t in to_set) == ["rolegate:expires-at", "rolegate:grant-id", "rolegate:requester"]
    assert to_remove == ["rolegate:r9"]
    repaired = [t for t in damaged if t["Key"] not in to_remove and t["Key"] not in {s["Key"] for s in to_set}]
    assert grant_from_tags(repaired + to_set, grant.role_name, OWNER) == grant
