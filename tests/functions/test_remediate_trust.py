"""Rule trust-widened: trust policies naming a wildcard or an account outside the allowed partners."""
from __future__ import annotations

import json

import pytest
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_tea_openapi.exceptions import ClientException

from shared.ram import RamGateway
from shared.remediation.quarantine import QUARANTINED_AT_KEY, admits_nobody, release
from shared.remediation.rules import offending_principals
from tests.emulator.helpers import sts_client
from tests.functions.remediate_support import Lab, account_trust, fixture_event, only, outcomes, service_trust

RULE = "trust-widened"
ANYONE = json.dumps({"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ["*"]}}]})


def _assume(lab: Lab, role: str) -> bool:
    """Whether partner B's Alice can assume ``role`` of account A right now."""
    request = sts_models.AssumeRoleRequest(role_arn=f"acs:ram::{lab.account_id}:role/{role.lower()}",
                                           role_session_name="alice-probe")
    try:
        sts_client(lab.emulator, lab.alice).assume_role(request)
    except ClientException:
        return False
    return True


def test_wildcard_trust_on_an_unmanaged_role_is_reported_and_left_alone(remediate_lab: Lab) -> None:
    """CreateRole trusting anyone: level critical, the principal named, nothing changed (quarantine off)."""
    lab = remediate_lab
    event = lab.create_role_as_mallory("OpenRole", ANYONE)
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and decision["level"] == "critical"
    assert decision["details"]["principals"] == ["*"] and decision["resource"] == "role/OpenRole"
    assert lab.state() == before


def test_quarantine_locks_out_the_foreign_account_and_release_undoes_it(remediate_lab: Lab,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """deny-trust: the trust policy admits nobody, the original waits in the tags, and release restores it."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    lab.role("VendorRole")
    foreign = account_trust(lab.partner_id)
    event = lab.update_trust("VendorRole", foreign)
    assert _assume(lab, "VendorRole")

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "remediated" and decision["action"] == "quarantine_trust"
    assert decision["details"]["principals"] == [f"acs:ram::{lab.partner_id}:root"]
    assert admits_nobody(json.dumps(lab.trust("VendorRole"))) and QUARANTINED_AT_KEY in lab.tags("VendorRole")
    assert not _assume(lab, "VendorRole")
    assert outcomes(lab.invoke(event), RULE) == ["already_compliant"]

    assert release(RamGateway(lab.ram()), "VendorRole")
    assert lab.trust("VendorRole") == json.loads(foreign) and lab.tags("VendorRole") == {}
    assert _assume(lab, "VendorRole")


def test_quarantine_in_dry_run_changes_nothing(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-rule dry-run of the quarantine: would_remediate, trust untouched."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    monkeypatch.setenv("ROLEGATE_REMEDIATE_DRY_RUN_RULES", RULE)
    event = lab.create_role_as_mallory("OpenRole", ANYONE)
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "would_remediate" and decision["action"] == "quarantine_trust"
    assert lab.state() == before


def test_allowed_partners_the_owner_and_services_are_compliant(remediate_lab: Lab,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust in a listed partner, in the owner account or in a cloud service is not widening."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_ALLOWED_PARTNER_ACCOUNTS", lab.partner_id)
    monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    events = [lab.create_role_as_mallory("PartnerRole", account_trust(lab.partner_id)),
              lab.create_role_as_mallory("InternalRole", account_trust(lab.account_id)),
              lab.create_role_as_mallory("EcsRole", service_trust())]
    before = lab.state()

    reply = lab.invoke(events)

    assert outcomes(reply, RULE) == ["already_compliant"] * 3
    assert lab.state() == before


def test_exempt_role_is_not_quarantined(remediate_lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """A role on ROLEGATE_EXEMPT_PRINCIPALS keeps its wide trust."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    monkeypatch.setenv("ROLEGATE_EXEMPT_PRINCIPALS", "role/OpsBreakGlass")
    event = lab.create_role_as_mallory("OpsBreakGlass", ANYONE)

    assert outcomes(lab.invoke(event), RULE) == ["exempt"]
    assert lab.trust("OpsBreakGlass") == json.loads(ANYONE)


def test_role_without_room_for_the_original_is_reported_not_quarantined(remediate_lab: Lab,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty tags already: the original trust could not be kept, so the role is not touched."""
    lab = remediate_lab
    monkeypatch.setenv("ROLEGATE_QUARANTINE_ACTION", "deny-trust")
    lab.role("Crowded")
    lab.tag_role("Crowded", {f"team{i}": "x" for i in range(20)})
    event = lab.update_trust("Crowded", ANYONE)
    before = lab.state()

    decision = only(lab.invoke(event), RULE)

    assert decision["outcome"] == "reported" and "would not fit" in decision["reason"]
    assert lab.state() == before


def test_hand_written_event_with_string_typed_parameters(remediate_lab: Lab) -> None:
    """The fixture UpdateRole (NewMaxSessionDuration as a string) is judged on the role as it is now."""
    lab = remediate_lab
    lab.role("OpenRole", trust=ANYONE)

    decision = only(lab.invoke(fixture_event("trust_widened", owner=lab.account_id, role="OpenRole")), RULE)

    assert decision["outcome"] == "reported" and decision["details"]["principals"] == ["*"]


@pytest.mark.parametrize("principal, offending", [
    ({"Service": ["ecs.aliyuncs.com"]}, []),
    ({"Service": ["1111222233334444@fc.aliyuncs.com"]}, ["1111222233334444@fc.aliyuncs.com"]),
    ({"RAM": ["5555666677778888"]}, []),
    ({"RAM": ["1111222233334444"]}, ["1111222233334444"]),
    ({"RAM": ["acs:ram::*:root"]}, ["acs:ram::*:root"]),
    ({"Federated": ["acs:ram::1111222233334444:saml-provider/idp"]}, ["acs:ram::1111222233334444:saml-provider/idp"]),
    ({"RAM": ["acs:ram::5555666677778888:user/ops"]}, []),
])
def test_offending_principals(principal: dict[str, list[str]], offending: list[str]) -> None:
    """Wildcards and foreign accounts are offending; the allowed account and plain services are not."""
    trust = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]})
    assert offending_principals(trust, frozenset({"5555666677778888"})) == offending


def test_one_read_of_the_role_serves_both_rules_that_judge_an_update(remediate_lab: Lab) -> None:
    """UpdateRole is judged by grant-tamper and trust-widened: the role and its tags are read once, not twice."""
    lab = remediate_lab
    lab.role("VendorRole")
    event = lab.update_trust("VendorRole", ANYONE)
    mark = lab.emulator.calls()[-1]["seq"]

    reply = lab.invoke(event)

    assert only(reply, RULE)["outcome"] == "reported"
    reads = [c["action"] for c in lab.emulator.calls(mark) if c["action"] in ("GetRole", "ListTagResources")]
    assert reads == ["GetRole", "ListTagResources"]


def test_a_grant_restored_by_one_rule_is_read_again_by_the_next(remediate_lab: Lab) -> None:
    """A change forgets what was read: trust-widened judges the restored trust policy, not the widened one."""
    lab = remediate_lab
    grant = lab.grant()
    event = lab.update_trust(grant.role_name, ANYONE)
    mark = lab.emulator.calls()[-1]["seq"]

    reply = lab.invoke(event)

    assert only(reply, "grant-tamper")["outcome"] == "remediated"
    assert only(reply, RULE)["outcome"] == "already_compliant"
    assert [c["action"] for c in lab.emulator.calls(mark)].count("GetRole") == 2
