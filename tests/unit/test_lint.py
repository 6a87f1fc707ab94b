"""Policy linter (grammar and risk), findings catalogue and the judgment of system policies."""
from __future__ import annotations

import dataclasses
import json
import re
from functools import partial

import pytest

from shared.policies.document import CONDITION_OPERATORS, MAX_POLICY_CHARS, canonical_json
from shared.policies.findings import CATALOGUE, SEVERITIES, Finding, max_severity
from shared.policies.judgment import high_risk_reason, judge, judge_system_grant, system_policy
from shared.policies.lint import lint_permission_policy, lint_trust_policy
from shared.policies.protected import Protected
from tests.unit.policy_samples import (
    SEED_000_TRUST_ALICE,
    SEED_002_OPS_ANNOTATED,
    SEED_003_TRUST_OIDC,
    SEED_003_TRUST_SAML,
    SEED_004_INSTANCE_ROLE_ADMIN,
    SEED_004_OSS_READ,
    SEED_004_TRUST_ECS,
    SYSTEM_POLICIES,
    unmasked,
    without_comments,
)

ACCT = "1234567890123456"
ROOT = f"acs:ram::{ACCT}:root"
LINTERS = {"permission": lint_permission_policy, "trust": lint_trust_policy,
           "protected": partial(lint_permission_policy, protected=Protected.rolegate())}


def pairs(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.id, f.path) for f in findings]


def perm(*statements: dict) -> dict:
    return {"Version": "1", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal, action="sts:AssumeRole", **extra) -> dict:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Principal": principal, **extra}]}


def external_id(value) -> dict:
    return {"Condition": {"StringEquals": {"sts:ExternalId": value}}}


# --- published policies ------------------------------------------------------

PUBLISHED = [
    pytest.param("trust", SEED_000_TRUST_ALICE,
                 [("RG102", "$.Statement[0].Principal.RAM")], id="seed000-alice-as-published"),
    pytest.param("trust", unmasked(SEED_000_TRUST_ALICE), [], id="seed000-alice"),
    pytest.param("permission", SEED_002_OPS_ANNOTATED, [("RG001", "$")], id="seed002-with-comments"),
    pytest.param("permission", without_comments(SEED_002_OPS_ANNOTATED),
                 [("RG141", "$.Statement[1].Action[0]"), ("RG141", "$.Statement[2].Action[4]"),
                  ("RG141", "$.Statement[2].Action[5]")], id="seed002-ops-commandrunas"),
    pytest.param("trust", SEED_003_TRUST_SAML,
                 [("RG102", "$.Statement[0].Principal.Federated")], id="seed003-saml-as-published"),
    pytest.param("trust", unmasked(SEED_003_TRUST_SAML), [], id="seed003-saml"),
    pytest.param("trust", SEED_003_TRUST_OIDC,
                 [("RG102", "$.Statement[0].Principal.Federated")], id="seed003-oidc-as-published"),
    pytest.param("trust", unmasked(SEED_003_TRUST_OIDC), [], id="seed003-oidc"),
    pytest.param("trust", SEED_004_TRUST_ECS, [], id="seed004-ecs-service"),
    pytest.param("permission", SEED_004_OSS_READ, [], id="seed004-oss-get-list"),
    pytest.param("permission", SEED_004_INSTANCE_ROLE_ADMIN,
                 [("RG141", "$.Statement[0].Action[2]"), ("RG135", "$.Statement[1].Action[3]"),
                  ("RG133", "$.Statement[1].Action[5]"), ("RG131", "$.Statement[2].Action")],
                 id="seed004-instance-role-admin"),
    # Seed 001: account A trusts account B's root (console default for "other account"), no ExternalId.
    pytest.param("trust", trust({"RAM": ["acs:ram::1345678901230000:root"]}),
                 [("RG103", "$.Statement[0].Principal.RAM[0]")], id="seed001-partner-root"),
]


@pytest.mark.parametrize(("kind", "document", "expected"), PUBLISHED)
def test_published_policies(kind, document, expected):
    """Alibaba's documented policies get exactly the findings their content warrants."""
    assert pairs(LINTERS[kind](document)) == expected


def test_seed_002_condition_is_valid_grammar_and_lowers_nothing():
    """Seed 002's StringNotEqualsIgnoreCase ecs:CommandRunAs list is valid grammar; commands stay a finding."""
    doc = json.loads(without_comments(SEED_002_OPS_ANNOTATED))
    assert doc["Statement"][2]["Condition"] == {"StringNotEqualsIgnoreCase": {"ecs:CommandRunAs": ["system", "root"]}}
    findings = lint_permission_policy(doc)
    assert not [f for f in findings if f.id.startswith("RG0")]
    unconditioned = json.loads(without_comments(SEED_002_OPS_ANNOTATED))
    del unconditioned["Statement"][2]["Condition"]
    assert findings == lint_permission_policy(unconditioned)


SYSTEM_EXPECTED = [
    ("AliyunSTSAssumeRoleAccess", [("RG132", "$.Statement[0].Action")]),
    ("AliyunFCFullAccess", [("RG140", "$.Statement[0].Action"), ("RG131", "$.Statement[1].Action")]),
    ("AliyunFCReadOnlyAccess", []),
    ("AliyunFCInvocationAccess", [("RG140", "$.Statement[0].Action[0]")]),
    ("AliyunRAMReadOnlyAccess", []),
    ("AliyunOSSReadOnlyAccess", []),
    ("AliyunECSFullAccess", [("RG141", "$.Statement[0].Action")]),
    ("AliyunECSReadOnlyAccess", []),
    ("AliyunVPCFullAccess", []),
    ("AliyunActionTrailFullAccess", [("RG143", "$.Statement[0].Action"), ("RG131", "$.Statement[1].Action")]),
    ("AliyunARMSReadOnlyAccess", []),
    ("AliyunOSSFullAccess", [("RG111", "$.Statement[0].Action[0]")]),
]


@pytest.mark.parametrize(("name", "expected"), SYSTEM_EXPECTED)
def test_system_policies(name, expected):
    """Published system policies: read-only ones are clean, full-access ones show their paths (no protection asked)."""
    shipped = system_policy(name).document
    if name in SYSTEM_POLICIES:
        assert shipped == SYSTEM_POLICIES[name]
    assert pairs(lint_permission_policy(shipped)) == expected
    assert "RG120" not in {f.id for f in judge(shipped).findings}


# --- corpus of bad policies --------------------------------------------------

BIG = perm(allow([f"ecs:DescribeThing{i:04d}" for i in range(300)]))

BAD = [
    # grammar
    ("permission", '{"Version": "1", "Statement": [', "RG001", "$"),
    ("permission", "[]", "RG001", "$"),
    ("trust", '{"Version":"1","Version":"1"}', "RG001", "$..Version"),
    ("permission", {"Version": "2", "Statement": [allow("oss:GetObject")]}, "RG002", "$.Version"),
    ("permission", {"Version": 1, "Statement": [allow("oss:GetObject")]}, "RG002", "$.Version"),
    ("permission", {"Statement": [allow("oss:GetObject")]}, "RG006", "$"),
    ("permission", {"Version": "1"}, "RG006", "$"),
    ("permission", {"Version": "1", "Statement": []}, "RG003", "$.Statement"),
    ("trust", {"Version": "1", "Statement": "Allow"}, "RG003", "$.Statement"),
    ("permission", perm("Allow"), "RG004", "$.Statement[0]"),
    ("permission", perm(allow("oss:GetObject", Effect="allow")), "RG005", "$.Statement[0].Effect"),
    ("permission", perm({"Action": "oss:GetObject", "Resource": "*"}), "RG006", "$.Statement[0]"),
    ("permission", perm({"Effect": "Allow", "Resource": "*"}), "RG006", "$.Statement[0]"),
    ("permission", perm({"Effect": "Allow", "Action": "oss:GetObject"}), "RG006", "$.Statement[0]"),
    ("trust", {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
     "RG006", "$.Statement[0]"),
    ("permission", perm(allow("oss:GetObject", NotAction="oss:PutObject")), "RG007", "$.Statement[0]"),
    ("permission", perm(allow("oss:GetObject", NotResource="acs:oss:*:*:b/x")), "RG007", "$.Statement[0]"),
    ("permission", perm(allow(5)), "RG008", "$.Statement[0].Action"),
    ("permission", perm(allow([])), "RG008", "$.Statement[0].Action"),
    ("permission", perm(allow(["oss:GetObject", None])), "RG008", "$.Statement[0].Action"),
    ("trust", trust({"RAM": []}), "RG008", "$.Statement[0].Principal.RAM"),
    ("permission", perm(allow("ecs DescribeInstances")), "RG009", "$.Statement[0].Action"),
    ("permission", perm(allow(["oss:GetObject", "oss:"])), "RG009", "$.Statement[0].Action[1]"),
    ("permission", perm(allow(":GetObject")), "RG009", "$.Statement[0].Action"),
    ("permission", perm(allow("")), "RG009", "$.Statement[0].Action"),
    ("permission", perm(allow("oss:GetObject", "arn:aws:s3:::bucket")), "RG010", "$.Statement[0].Resource"),
    ("permission", perm(allow("oss:GetObject", ["*", "acs:oss"])), "RG010", "$.Statement[0].Resource[1]"),
    ("permission", perm(allow("oss:GetObject", "acs::*:*:x")), "RG010", "$.Statement[0].Resource"),
    ("trust", trust(ROOT), "RG011", "$.Statement[0].Principal"),
    ("trust", trust({}), "RG011", "$.Statement[0].Principal"),
    ("trust", trust({"RAM": ACCT}), "RG012", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": f"acs:ram::{ACCT}:group/devs"}), "RG012", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"Federated": f"acs:ram::{ACCT}:user/x"}), "RG012", "$.Statement[0].Principal.Federated"),
    ("trust", trust({"Service": ["ecs.amazonaws.com"]}), "RG012", "$.Statement[0].Principal.Service[0]"),
    ("permission", perm(allow("oss:GetObject", Principal={"RAM": ROOT})), "RG013", "$.Statement[0].Principal"),
    ("permission", perm(allow("oss:GetObject", Condition="x")), "RG014", "$.Statement[0].Condition"),
    ("permission", perm(allow("oss:GetObject", Condition={})), "RG014", "$.Statement[0].Condition"),
    ("permission", perm(allow("oss:GetObject", Condition={"Bool": "true"})), "RG014",
     "$.Statement[0].Condition.Bool"),
    ("permission", perm(allow("oss:GetObject", Condition={"StringEqual": {"acs:SourceIp": "1.2.3.4"}})),
     "RG015", "$.Statement[0].Condition.StringEqual"),
    ("trust", trust({"RAM": ROOT}, Condition={"stringequals": {"sts:ExternalId": "x1"}}),
     "RG015", "$.Statement[0].Condition.stringequals"),
    ("permission", perm(allow("oss:GetObject", Condition={"ForAnyValue:StringEquals": {"acs:Tag": "a"}})),
     "RG015", "$.Statement[0].Condition['ForAnyValue:StringEquals']"),
    ("permission", perm(allow("oss:GetObject", Condition={"IpAddress": {"SourceIp": "1.2.3.4"}})),
     "RG016", "$.Statement[0].Condition.IpAddress.SourceIp"),
    ("permission", perm(allow("oss:GetObject", Condition={"Bool": {"acs:SecureTransport": None}})),
     "RG017", "$.Statement[0].Condition.Bool['acs:SecureTransport']"),
    ("permission", perm(allow("oss:GetObject", Condition={"StringLike": {"oss:Prefix": []}})),
     "RG017", "$.Statement[0].Condition.StringLike['oss:Prefix']"),
    ("permission", perm(allow("oss:GetObject", Condition={"StringLike": {"oss:Prefix": [["a"]]}})),
     "RG017", "$.Statement[0].Condition.StringLike['oss:Prefix']"),
    ("permission", perm(allow("oss:GetObject", Condtion={"Bool": {"acs:MFAPresent": "true"}})),
     "RG018", "$.Statement[0].Condtion"),
    ("permission", {"Version": "1", "Id": "x", "Statement": [allow("oss:GetObject")]}, "RG018", "$.Id"),
    ("trust", trust({"RAM": ROOT}, Resource="*", **external_id("x1")), "RG018", "$.Statement[0].Resource"),
    ("trust", trust({"AWS": "arn:aws:iam::1:root"}), "RG018", "$.Statement[0].Principal.AWS"),
    ("trust", trust({"RAM": ROOT}, NotAction="ecs:*", **external_id("x1")), "RG018",
     "$.Statement[0].NotAction"),
    ("permission", BIG, "RG019", "$"),
    ("permission", perm(allow(["oss:GetObject", "oss:GetObject"])), "RG020", "$.Statement[0].Action[1]"),
    ("permission", perm(allow("oss:GetObject", Condition={"StringEquals": {"acs:Tag": ["a", "a"]}})),
     "RG020", "$.Statement[0].Condition.StringEquals['acs:Tag'][1]"),
    # trust risk
    ("trust", trust("*"), "RG101", "$.Statement[0].Principal"),
    ("trust", trust({"RAM": "*"}), "RG101", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": ["acs:ram::*:root"]}), "RG101", "$.Statement[0].Principal.RAM[0]"),
    ("trust", trust({"Service": "*.aliyuncs.com"}), "RG101", "$.Statement[0].Principal.Service"),
    ("trust", trust({"Federated": ["*"]}), "RG101", "$.Statement[0].Principal.Federated[0]"),
    ("trust", trust({"RAM": "acs:ram::*:user/Alice"}), "RG102", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": "acs:ram::12345678*:root"}, **external_id("x1")), "RG102",
     "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": ROOT}), "RG103", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": ROOT}, Condition={"StringLike": {"sts:ExternalId": "*"}}), "RG103",
     "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": ROOT}, Condition={"StringNotEquals": {"sts:ExternalId": "x1"}}), "RG103",
     "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": ROOT}, **external_id("")), "RG103", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": f"acs:ram::{ACCT}:user/*"}), "RG104", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": f"acs:ram::{ACCT}:role/admin-?"}), "RG104", "$.Statement[0].Principal.RAM"),
    ("trust", trust({"RAM": f"acs:ram::{ACCT}:user/Alice"}, action="sts:*"), "RG105", "$.Statement[0].Action"),
    ("trust", trust({"Service": "ecs.aliyuncs.com"}, action=["sts:AssumeRole", "*"]), "RG105",
     "$.Statement[0].Action[1]"),
    ("trust", trust({"Federated": f"acs:ram::{ACCT}:saml-provider/idp"}), "RG106",
     "$.Statement[0].Principal.Federated"),
    ("trust", trust({"Federated": f"acs:ram::{ACCT}:oidc-provider/gh"},
                    Condition={"StringEquals": {"oidc:iss": "https://t.example.com"}}),
     "RG107", "$.Statement[0].Principal.Federated"),
    ("trust", trust({"Federated": f"acs:ram::{ACCT}:oidc-provider/gh"}), "RG107",
     "$.Statement[0].Principal.Federated"),
    # permission risk
    ("permission", perm(allow("*", "acs:oss:*:*:bucket/x")), "RG110", "$.Statement[0].Action"),
    ("permission", perm(allow(["oss:GetObject", "*:*"], "acs:oss:*:*:bucket/x")), "RG110",
     "$.Statement[0].Action[1]"),
    ("permission", perm(allow("oss:*")), "RG111", "$.Statement[0].Action"),
    ("permission", perm(allow("ecs:?*", "acs:ecs:*:*:*")), "RG141", "$.Statement[0].Action"),
    ("permission", perm({"Effect": "Allow", "NotAction": ["ram:*", "ims:*"], "Resource": "*"}), "RG112",
     "$.Statement[0].NotAction"),
    ("permission", perm({"Effect": "Allow", "Action": "oss:GetObject", "NotResource": "acs:oss:*:*:b/x"}),
     "RG113", "$.Statement[0].NotResource"),
    ("permission", perm(allow("*")), "RG120", "$.Statement[0]"),
    ("permission", perm(allow(["*:*"], ["acs:*:*:*:*"])), "RG120", "$.Statement[0]"),
    ("permission", {"Version": "1", "Statement": allow("*", Condition={"IpAddress": {"acs:SourceIp": "10.0.0.0/8"}})},
     "RG120", "$.Statement"),
    ("permission", perm(allow("ram:*")), "RG130", "$.Statement[0].Action"),
    ("permission", perm(allow(["oss:GetObject", "RAM:*"], f"acs:ram::{ACCT}:user/x")), "RG130",
     "$.Statement[0].Action[1]"),
    ("permission", perm(allow("ram:PassRole")), "RG131", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:Pass*", f"acs:ram::{ACCT}:role/*")), "RG131", "$.Statement[0].Action"),
    ("permission", perm(allow("sts:AssumeRole", "acs:ram:*:*:role/*")), "RG132", "$.Statement[0].Action"),
    ("permission", perm(allow("sts:*")), "RG132", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:Attach*")), "RG133", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:attachpolicytouser", [f"acs:ram::{ACCT}:user/bob", "acs:ram:*:system:policy/*"])),
     "RG133", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:CreateAccessKey", f"acs:ram::{ACCT}:user/*")), "RG134", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:Create*")), "RG134", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:UpdateRole", f"acs:ram::{ACCT}:role/*partner")), "RG135",
     "$.Statement[0].Action"),
    ("permission", perm(allow(["ram:CreateLoginProfile"], f"acs:ram::{ACCT}:user/?*")), "RG134",
     "$.Statement[0].Action[0]"),
    ("permission", perm(allow("ram:AddUserToGroup")), "RG137", "$.Statement[0].Action"),
    ("permission", perm(allow("RAM:untagresources")), "RG138", "$.Statement[0].Action"),
    ("permission", perm(allow("fc:Update*", "acs:fc:*:*:functions/*")), "RG140", "$.Statement[0].Action"),
    ("permission", perm(allow("resourcemanager:*")), "RG142", "$.Statement[0].Action"),
    ("permission", perm(allow("actiontrail:StopLogging")), "RG143", "$.Statement[0].Action"),
    ("permission", perm(allow("kms:GetSecretValue", "acs:kms:*:*:secret/*")), "RG144", "$.Statement[0].Action"),
    ("protected", perm(allow("fc:UpdateFunction", "acs:fc:*:*:functions/rolegate-onboard")), "RG150",
     "$.Statement[0].Resource"),
    ("protected", perm(allow("log:DeleteLogStore", "acs:log:cn-hangzhou:*:project/rolegate-logs/logstore/functions")),
     "RG150", "$.Statement[0].Resource"),
    ("protected", perm(allow("log:*")), "RG150", "$.Statement[0].Resource"),
    ("permission", perm(allow("ram:CreatePolicyVersion")), "RG136", "$.Statement[0].Action"),
    ("permission", perm(allow("ram:SetDefaultPolicyVersion")), "RG136", "$.Statement[0].Action"),
]


@pytest.mark.parametrize(("kind", "document", "rule", "path"), BAD, ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD)])
def test_bad_policy_is_caught(kind, document, rule, path):
    """Each bad policy yields the named finding at the named JSON path."""
    assert (rule, path) in pairs(LINTERS[kind](document))


@pytest.mark.parametrize("action, resource", [
    ("log:GetLogStoreLogs", "acs:log:*:*:project/rolegate-logs/logstore/functions"),  # a read of the logs
    ("log:DeleteLogStore", "acs:log:*:*:project/partner-logs/logstore/functions"),  # another project
])
def test_log_project_guard_leaves_reads_and_other_projects(action, resource):
    """Only changes to Rolegate's own log project earn RG150: reading it, or changing another, does not."""
    assert "RG150" not in {rule for rule, _ in pairs(LINTERS["protected"](perm(allow(action, resource))))}


def test_ram_create_wildcard_reports_each_escalation_it_covers():
    """``ram:Create*`` covers several paths: one finding per rule, naming the actions of each."""
    findings = lint_permission_policy(perm(allow("ram:Create*")))
    assert {f.id: f.message for f in findings} == {
        "RG134": 'action "ram:Create*" can create or change credentials of users (ram:CreateAccessKey, '
                 'ram:CreateLoginProfile, ram:CreateVirtualMFADevice)',
        "RG135": 'action "ram:Create*" can create, rewrite or delete roles (ram:CreateRole)',
        "RG136": 'action "ram:Create*" can replace the content of existing policies (ram:CreatePolicyVersion)',
        "RG137": 'action "ram:Create*" can create identities, group memberships or identity providers '
                 '(ram:CreateUser, ram:CreateGroup, ram:CreateSAMLProvider, ram:CreateOIDCProvider)',
        "RG142": 'action "ram:Create*" can change the resource directory or resource groups (ram:CreateResourceGroup)',
    }
    assert {f.statement for f in findings} == {"$.Statement[0]"}
    assert all(f.source.startswith("https://www.alibabacloud.com/help/") for f in findings)


def test_admin_policy_reports_admin_and_wildcard_action():
    """Allow * on * is critical (RG120) and its action is also flagged as all-actions (RG110)."""
    findings = lint_permission_policy(perm(allow("*")))
    assert pairs(findings) == [("RG120", "$.Statement[0]"), ("RG110", "$.Statement[0].Action")]
    assert max_severity(findings) == "critical"


def test_one_finding_per_principal_value():
    """A masked account that also has a wildcard name reports the widest problem only (RG102)."""
    assert pairs(lint_trust_policy(SEED_003_TRUST_OIDC)) == [("RG102", "$.Statement[0].Principal.Federated")]


def test_size_limit_boundary():
    """Exactly MAX_POLICY_CHARS characters is accepted; one more is RG019 (text counted as given)."""
    base = json.dumps(perm(allow("oss:GetObject")))
    exact = base[:-1] + " " * (MAX_POLICY_CHARS - len(base)) + "}"
    assert len(exact) == MAX_POLICY_CHARS
    assert lint_permission_policy(exact) == []
    over = base[:-1] + " " * (MAX_POLICY_CHARS + 1 - len(base)) + "}"
    assert [f.id for f in lint_permission_policy(over)] == ["RG019"]
    assert "RG019" not in {f.id for f in lint_trust_policy(trust({"RAM": ROOT}, **external_id("x" * 7000)))}


def test_size_limit_covers_the_canonical_spelling_of_a_mapping():
    """A dict whose compact form fits but whose canonical form (bare strings as lists) does not is RG019."""
    statements = [allow(f"ecs:Describe{i:05d}") for i in range(400)]
    doc = perm(*statements)
    while len(json.dumps(doc, separators=(",", ":"))) > MAX_POLICY_CHARS:
        doc["Statement"].pop()
    assert len(canonical_json(doc)) > MAX_POLICY_CHARS
    assert [f.id for f in lint_permission_policy(doc)] == ["RG019"]


# --- no false positives ------------------------------------------------------

@pytest.mark.parametrize("operator", CONDITION_OPERATORS)
def test_every_known_operator_is_accepted(operator):
    """All documented condition operators pass grammar."""
    assert lint_permission_policy(perm(allow("oss:GetObject", Condition={operator: {"acs:Key": "v"}}))) == []


@pytest.mark.parametrize(
    ("kind", "document"),
    [
        ("permission", perm({"Effect": "Deny", "Action": "*", "Resource": "*"})),
        ("permission", perm({"Effect": "Deny", "Action": ["ram:*", "sts:AssumeRole"], "Resource": "*"})),
        ("permission", perm({"Effect": "Deny", "NotAction": "oss:Get*", "NotResource": "acs:oss:*:*:b/x"})),
        ("trust", {"Version": "1", "Statement": [
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": "*"},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": ROOT},
             "Condition": {"StringEquals": {"sts:ExternalId": "x1"}}},
        ]}),
    ],
)
def test_deny_statements_carry_no_risk(kind, document):
    """Deny statements only take access away, so they produce no risk findings."""
    assert LINTERS[kind](document) == []


@pytest.mark.parametrize(
    "document",
    [
        perm(allow("ram:PassRole", f"acs:ram::{ACCT}:role/fc-runner")),
        perm(allow("sts:AssumeRole", [f"acs:ram::{ACCT}:role/a", f"acs:ram::{ACCT}:role/b"])),
        perm(allow(["ram:Get*", "ram:List*", "ram:GenerateCredentialReport"])),
        perm(allow(["*:Describe*", "*:List*"])),
        perm(allow("oss:*Object", "acs:oss:*:*:bucket/*")),
        perm(allow("ram:CreateServiceLinkedRole", Condition={"StringEquals": {"ram:ServiceName": "x.aliyuncs.com"}})),
        {"Statement": {"Sid": "Read", "Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}, "Version": "1"},
    ],
)
def test_narrow_permissions_are_clean(document):
    """Scoped PassRole/AssumeRole, read-only RAM, cross-service read patterns and Sid produce nothing."""
    assert lint_permission_policy(document) == []


@pytest.mark.parametrize(
    "document",
    [
        trust({"RAM": ROOT}, **external_id("x1")),
        trust({"RAM": [ROOT]}, Condition={"StringEquals": {"sts:externalid": ["a1", "b2"]}}),
        trust({"RAM": [f"acs:ram::{ACCT}:user/Alice", f"acs:ram::{ACCT}:role/ops"]}, Sid="partner"),
        trust({"Service": ["ecs.aliyuncs.com", "fc.aliyuncs.com"]}),
        trust({"Federated": f"acs:ram::{ACCT}:oidc-provider/gh"}, Condition={"StringEquals": {
            "oidc:iss": "https://t.example.com", "oidc:aud": ["c1"]}, "StringLike": {"oidc:sub": "repo:org/*"}}),
    ],
)
def test_narrow_trust_is_clean(document):
    """Pinned external ids (any key case, any number of ids), named identities and services, OIDC with aud."""
    assert lint_trust_policy(document) == []


def test_text_and_bytes_inputs_lint_like_dicts():
    """The linters accept JSON text and bytes and report the same findings as for the dict."""
    doc = perm(allow("ram:PassRole"))
    expected = lint_permission_policy(doc)
    assert lint_permission_policy(json.dumps(doc)) == expected
    assert lint_permission_policy(json.dumps(doc).encode()) == expected


# --- administrator equivalence ------------------------------------------------

@pytest.mark.parametrize(
    ("document", "admin"),
    [
        (perm(allow("*")), True),
        (perm(allow(["oss:GetObject", "*"], ["acs:oss:*:*:b/x", "*"])), True),
        (perm(allow("*:*", "acs:*:*:*:*")), True),
        (perm(allow("?*:?*", "acs:?*:*:*:*")), True),
        ({"Version": "1", "Statement": {"Effect": "Allow", "Action": "*", "NotResource": "acs:oss:*:*:b/x"}}, True),
        (json.dumps(perm(allow("*", Condition={"Bool": {"acs:MFAPresent": "true"}}))), True),
        (perm({"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"}), True),
        (perm({"Effect": "allow", "NotAction": ["ram:*", "ims:*"], "Resource": "*"}), True),
        (perm(allow("*", "acs:oss:*:*:*")), False),
        (perm(allow("ecs:*")), False),
        (perm(allow("ram:*")), False),
        (perm(allow("*:Describe*")), False),
        ("{not json", False),
        ({"Version": "1", "Statement": ["*"]}, False),
    ],
)
def test_administrator_equivalence(document, admin):
    """Every action on every resource, however spelt (NotAction, ?*, conditions) is RG120; narrower is not."""
    assert ("RG120" in {f.id for f in judge(document).findings}) is admin


# --- findings and catalogue --------------------------------------------------

def test_max_severity():
    """The worst severity wins; no findings means None."""
    assert max_severity([]) is None
    low = lint_permission_policy(perm(allow(["oss:GetObject", "oss:GetObject"])))
    assert max_severity(low) == "low"
    assert max_severity(low + lint_permission_policy(perm(allow("oss:*")))) == "medium"
    assert max_severity(lint_trust_policy(trust("*")) + low) == "critical"


def test_findings_take_severity_and_hint_from_the_catalogue():
    """Every finding's severity and hint are its catalogue entry's; findings are immutable and serialisable."""
    finding = lint_trust_policy(trust({"RAM": ROOT}))[0]
    rule = CATALOGUE[finding.id]
    assert (finding.severity, finding.hint) == (rule.severity, rule.hint)
    assert finding.to_dict() == dataclasses.asdict(finding)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.severity = "low"  # type: ignore[misc]


def test_catalogue_is_well_formed():
    """Rule ids are unique RGnnn keys, grammar rules are RG0xx, severities valid, texts non-empty."""
    for rule_id, rule in CATALOGUE.items():
        assert rule.id == rule_id and re.fullmatch(r"RG[01][0-9]{2}", rule_id)
        assert rule.severity in SEVERITIES
        assert rule.title and rule.hint and rule.template
        if rule.id.startswith("RG1") and not rule.id.startswith("RG10") and rule.id != "RG150":
            assert rule.source.startswith("https://www.alibabacloud.com/help/"), rule.id


def test_every_catalogue_rule_is_exercised():
    """Each rule in the catalogue is the expected finding of at least one published or corpus case."""
    expected = {rule for _, _, rule, _ in BAD}
    expected |= {rule for case in PUBLISHED for rule, _ in case.values[2]}
    expected |= {rule for _, found in SYSTEM_EXPECTED for rule, _ in found}
    assert set(CATALOGUE) - expected == set()
    assert expected <= set(CATALOGUE)


# --- system policies and remediation's question ------------------------------

def test_system_policies_are_judged_by_their_documents():
    """Read-only policies pass; write power needs the allow-list; critical findings pass nowhere."""
    protected = Protected.rolegate()
    assert judge_system_grant("AliyunFCReadOnlyAccess", protected=protected).granted
    assert judge_system_grant("aliyunfcreadonlyaccess", protected=protected).granted
    refused = judge_system_grant("AliyunECSFullAccess", protected=protected)
    assert (refused.granted, refused.code) == (False, "PolicyNotAllowed")
    assert judge_system_grant("AliyunECSFullAccess", allowed=["aliyunecsfullaccess"], protected=protected).granted
    for name in ("AdministratorAccess", "AliyunRAMFullAccess", "AliyunFCFullAccess", "AliyunSTSAssumeRoleAccess"):
        verdict = judge_system_grant(name, allowed=[name], protected=protected)
        assert (verdict.granted, verdict.code) == (False, "PolicyDenied"), name
        assert {f.severity for f in verdict.findings} == {"critical"}
    unknown = judge_system_grant("AliyunNoSuchAccess", protected=protected)
    assert (unknown.granted, unknown.code) == (False, "PolicyNotAllowed")
    assert judge_system_grant("AliyunNoSuchAccess", allowed=["AliyunNoSuchAccess"]).granted
    denied = judge_system_grant("AliyunFCReadOnlyAccess", denied=["aliyunFCreadonlyaccess"])
    assert (denied.granted, denied.code) == (False, "PolicyDenied")


def test_remediation_takes_back_what_the_judgment_rates_critical():
    """System policies by their published documents, custom ones by theirs; names added by configuration count."""
    assert "RG120" in high_risk_reason("System", "AdministratorAccess")
    assert "RG130" in high_risk_reason("System", "aliyunramfullaccess")
    assert high_risk_reason("System", "AliyunECSFullAccess") is None
    assert high_risk_reason("System", "AliyunECSFullAccess", extra_names=["AliyunECSFullAccess"])
    assert high_risk_reason("System", "AliyunNoSuchAccess") is None
    not_ram = perm({"Effect": "Allow", "NotAction": "ram:*", "Resource": "*"})
    assert "allows every action but the 1 listed" in high_risk_reason("Custom", "p", not_ram)
    assert "allows every action" in high_risk_reason("Custom", "p", perm(allow("?*:?*", "acs:?*:*:*:*")))
    assert high_risk_reason("Custom", "p", perm(allow("oss:GetObject"))) is None


def test_every_catalogued_system_policy_says_where_it_comes_from():
    """Each shipped document has its source page; one not read from a per-policy page says why."""
    import json
    from pathlib import Path

    from shared.policies.judgment import system_policy_names
    from shared.policies.judgment import ACCESS_LEVELS, SYSTEM_DIR

    assert len(system_policy_names()) >= 30
    for name in system_policy_names():
        data = json.loads((Path(SYSTEM_DIR) / f"{name}.json").read_text())
        assert data["name"] == name and data["access"] in ACCESS_LEVELS
        assert data["source"].startswith("https://") and isinstance(data["verified"], bool)
        assert data["verified"] or data["reason"], name
        assert [f for f in lint_permission_policy(data["document"]) if f.id.startswith("RG0")] == [], name
        assert data["access"] == ("read" if "ReadOnly" in name else "write"), name
