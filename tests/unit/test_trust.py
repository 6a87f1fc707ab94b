"""Trust policies from principals, principal sets read back, and principal parsing."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from shared.policies.document import PolicyDocumentError, canonical_json
from shared.policies.lint import lint_trust_policy
from shared.policies.principals import (
    AccountPrincipal,
    OidcPrincipal,
    PrincipalError,
    RolePrincipal,
    SamlPrincipal,
    ServicePrincipal,
    UserPrincipal,
    principal_from_dict,
)
from shared.policies.trust import principal_value, trust_policy, trusted_principals
from shared.site import CHINA, INTERNATIONAL
from tests.strategies import principals_with_external_id
from tests.unit.policy_samples import (
    SEED_000_TRUST_ALICE,
    SEED_003_TRUST_OIDC,
    SEED_003_TRUST_SAML,
    SEED_004_TRUST_ECS,
    STAND_IN_ACCOUNT,
    unmasked,
)

ACCOUNT = "1234567890123456"


def _statement(doc: dict) -> dict:
    assert doc["Version"] == "1" and len(doc["Statement"]) == 1
    return doc["Statement"][0]


# --- trust_policy ------------------------------------------------------------

@pytest.mark.parametrize(
    ("principal", "principal_block", "condition"),
    [
        (AccountPrincipal(ACCOUNT, "ext-42"), {"RAM": [f"acs:ram::{ACCOUNT}:root"]},
         {"StringEquals": {"sts:ExternalId": "ext-42"}}),
        (UserPrincipal(ACCOUNT, "Alice"), {"RAM": [f"acs:ram::{ACCOUNT}:user/Alice"]}, None),
        (RolePrincipal(ACCOUNT, "ops"), {"RAM": [f"acs:ram::{ACCOUNT}:role/ops"]}, None),
        (SamlPrincipal(ACCOUNT, "Azure-AD"), {"Federated": [f"acs:ram::{ACCOUNT}:saml-provider/Azure-AD"]},
         {"StringEquals": {"saml:recipient": "https://signin.aliyun.com/saml-role/sso"}}),
        (OidcPrincipal(ACCOUNT, "gh", "https://token.example.com", ("aud-1", "aud-2")),
         {"Federated": [f"acs:ram::{ACCOUNT}:oidc-provider/gh"]},
         {"StringEquals": {"oidc:iss": "https://token.example.com", "oidc:aud": ["aud-1", "aud-2"]}}),
        (OidcPrincipal(ACCOUNT, "gh", "https://token.example.com", ("aud-1",), ("repo:x",)),
         {"Federated": [f"acs:ram::{ACCOUNT}:oidc-provider/gh"]},
         {"StringEquals": {"oidc:iss": "https://token.example.com", "oidc:aud": ["aud-1"],
                           "oidc:sub": ["repo:x"]}}),
        (ServicePrincipal("ecs.aliyuncs.com"), {"Service": ["ecs.aliyuncs.com"]}, None),
    ],
)
def test_trust_policy_shape_per_kind(principal, principal_block, condition):
    """Each principal kind yields the documented statement: Allow sts:AssumeRole, its principal, its condition."""
    statement = _statement(trust_policy(principal))
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == principal_block
    assert statement.get("Condition") == condition


def test_account_without_external_id_has_no_condition_and_is_flagged():
    """No external id means no condition at all; the linter then reports RG103 (and only that)."""
    doc = trust_policy(AccountPrincipal(ACCOUNT, None))
    assert "Condition" not in _statement(doc)
    assert [(f.id, f.path) for f in lint_trust_policy(doc)] == [("RG103", "$.Statement[0].Principal.RAM[0]")]


@pytest.mark.parametrize(
    ("principal", "published"),
    [
        (UserPrincipal(STAND_IN_ACCOUNT, "Alice"), SEED_000_TRUST_ALICE),
        (SamlPrincipal(STAND_IN_ACCOUNT, "Azure-AD"), SEED_003_TRUST_SAML),
        (OidcPrincipal(STAND_IN_ACCOUNT, "xiyun0000", "https://dev-xxxxxx.okta.com", ("0oa294vi1vJoClev0000",)),
         SEED_003_TRUST_OIDC),
        (ServicePrincipal("ecs.aliyuncs.com"), SEED_004_TRUST_ECS),
    ],
)
def test_builder_matches_published_trust_policies(principal, published):
    """The builder's output is the same policy as Alibaba's published examples (seeds 000, 003, 004).

    The examples are the international site's pages, so the SAML recipient is that site's.
    """
    assert canonical_json(trust_policy(principal, INTERNATIONAL)) == canonical_json(unmasked(published))


@pytest.mark.parametrize(("site", "recipient"), [
    (CHINA, "https://signin.aliyun.com/saml-role/sso"),
    (INTERNATIONAL, "https://signin.alibabacloud.com/saml-role/sso"),
])
def test_saml_recipient_is_the_sites_sso_endpoint(site, recipient):
    """Each Alibaba Cloud site has its own SAML endpoint; a China-site role naming the international one
    (or the reverse) can never be assumed."""
    statement = _statement(trust_policy(SamlPrincipal(ACCOUNT, "idp"), site))
    assert statement["Condition"] == {"StringEquals": {"saml:recipient": recipient}}
    assert trust_policy(SamlPrincipal(ACCOUNT, "idp")) == trust_policy(SamlPrincipal(ACCOUNT, "idp"), CHINA)


def test_site_setting(monkeypatch):
    """ROLEGATE_SITE is china unless set; international is the other value; anything else is refused."""
    from shared import config
    from shared.errors import ConfigError

    monkeypatch.delenv("ROLEGATE_SITE", raising=False)
    assert config.site() is CHINA and CHINA.ram_event_region == "cn-hangzhou"
    monkeypatch.setenv("ROLEGATE_SITE", "International")
    assert config.site() is INTERNATIONAL and INTERNATIONAL.ram_event_region == "ap-southeast-1"
    monkeypatch.setenv("ROLEGATE_SITE", "europe")
    with pytest.raises(ConfigError, match="ROLEGATE_SITE"):
        config.site()


def test_principal_value_names_each_kind():
    """Principal values are the ARNs (or service name) a trust policy uses."""
    assert principal_value(AccountPrincipal(ACCOUNT, "x1")) == f"acs:ram::{ACCOUNT}:root"
    assert principal_value(RolePrincipal(ACCOUNT, "r")) == f"acs:ram::{ACCOUNT}:role/r"
    assert principal_value(SamlPrincipal(ACCOUNT, "idp")) == f"acs:ram::{ACCOUNT}:saml-provider/idp"
    assert principal_value(ServicePrincipal("fc.aliyuncs.com")) == "fc.aliyuncs.com"
    with pytest.raises(TypeError):
        principal_value("acs:ram::1:root")  # type: ignore[arg-type]


# --- trusted_principals ------------------------------------------------------

def test_trusted_principals_of_published_policies():
    """Every principal value of the seeds is listed verbatim, masks included (they are wildcards)."""
    assert trusted_principals(SEED_000_TRUST_ALICE) == ["acs:ram::100******0719:user/Alice"]
    assert trusted_principals(SEED_003_TRUST_SAML) == ["acs:ram::100*******0719:saml-provider/Azure-AD"]
    assert trusted_principals(SEED_004_TRUST_ECS) == ["ecs.aliyuncs.com"]


def test_trusted_principals_unions_statements_and_types_sorted():
    """All Allow statements and all principal types contribute; the result is sorted and distinct."""
    doc = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"Service": "fc.aliyuncs.com", "RAM": ["acs:ram::1111222233334444:root"]}},
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"RAM": ["acs:ram::1111222233334444:root", "acs:ram::1111222233334444:user/bob"]}},
    ]}
    assert trusted_principals(doc) == [
        "acs:ram::1111222233334444:root", "acs:ram::1111222233334444:user/bob", "fc.aliyuncs.com",
    ]


@pytest.mark.parametrize(
    "principal",
    ["*", {"RAM": "*"}, {"Service": ["*"]}, {"Federated": ["*"]}],
)
def test_trusted_principals_reports_wildcards(principal):
    """A wildcard principal, bare or under any type, shows up as "*"."""
    doc = {"Version": "1", "Statement": {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}}
    assert trusted_principals(doc) == ["*"]


def test_trusted_principals_ignores_deny_but_not_misspelt_effects():
    """Deny statements grant no trust; a statement with an unknown Effect is still counted (safe side)."""
    doc = {"Version": "1", "Statement": [
        {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::1111222233334444:root"}},
        {"Effect": "allow", "Action": "sts:AssumeRole", "Principal": {"RAM": "acs:ram::5555666677778888:root"}},
    ]}
    assert trusted_principals(doc) == ["acs:ram::5555666677778888:root"]


def test_trusted_principals_shows_widening():
    """Comparing before and after sets exposes a principal added by a hand edit."""
    before = trust_policy(UserPrincipal(ACCOUNT, "Alice"))
    after = json.loads(json.dumps(before))
    after["Statement"][0]["Principal"]["RAM"].append(f"acs:ram::{ACCOUNT}:root")
    assert set(trusted_principals(after)) - set(trusted_principals(before)) == {f"acs:ram::{ACCOUNT}:root"}


def test_trusted_principals_tolerates_malformed_parts_but_not_non_json():
    """Odd values inside a policy are skipped; input that is not a JSON object raises PolicyDocumentError."""
    doc = {"Version": "1", "Statement": ["x", {"Effect": "Allow", "Principal": {"RAM": [5, "acs:ram::1:root"]}}]}
    assert trusted_principals(doc) == ["acs:ram::1:root"]
    assert trusted_principals({"Version": "1"}) == []
    with pytest.raises(PolicyDocumentError):
        trusted_principals("not json")


# --- properties --------------------------------------------------------------

# The shared principal strategy draws large values (1224-char external ids, ten
# OIDC audiences) on purpose; on a loaded machine that trips Hypothesis'
# generation-speed heuristic, which says nothing about the code under test.
large_principals = settings(suppress_health_check=[HealthCheck.too_slow])


@large_principals
@given(principals_with_external_id())
def test_trusted_principals_of_built_policy_is_exactly_the_principal(principal):
    """A built trust policy trusts exactly one value: the principal it was built for."""
    assert trusted_principals(trust_policy(principal)) == [principal_value(principal)]


@large_principals
@given(principals_with_external_id())
def test_built_policies_pass_the_linter(principal):
    """Every built trust policy (account principals with external id) has no high or critical finding."""
    findings = lint_trust_policy(trust_policy(principal))
    assert [f for f in findings if f.severity in ("high", "critical")] == []


@large_principals
@given(principals_with_external_id())
def test_principal_dict_round_trip(principal):
    """to_dict() read back with principal_from_dict gives the same principal (the webhook form is lossless)."""
    account = getattr(principal, "account_id", ACCOUNT)
    assert principal_from_dict(principal.to_dict(), account, owner_account_id=account) == principal


def test_a_federated_principal_is_an_identity_provider_of_the_owner_account():
    """saml and oidc principals take the owner account's id, whatever the partner account is."""
    owner = "9999888877776666"
    saml = principal_from_dict({"type": "saml", "provider": "corp"}, ACCOUNT, owner_account_id=owner)
    oidc = principal_from_dict(OIDC, ACCOUNT, owner_account_id=owner)
    assert (saml.account_id, oidc.account_id) == (owner, owner)
    assert principal_value(saml) == f"acs:ram::{owner}:saml-provider/corp"
    assert principal_from_dict({"type": "user", "name": "Alice"}, ACCOUNT, owner_account_id=owner).account_id == ACCOUNT
    with pytest.raises(TypeError):
        principal_from_dict(OIDC, ACCOUNT)


# --- principal_from_dict refusals ---------------------------------------------

OIDC = {"type": "oidc", "provider": "gh", "issuer": "https://token.example.com", "audiences": ["a"]}


@pytest.mark.parametrize(
    ("given_dict", "account", "field"),
    [
        ({"type": "user", "name": "*"}, ACCOUNT, "principal.name"),
        ({"type": "role", "name": "ops*"}, ACCOUNT, "principal.name"),
        ({"type": "saml", "provider": "*"}, ACCOUNT, "principal.provider"),
        ({**OIDC, "issuer": "https://*.example.com"}, ACCOUNT, "principal.issuer"),
        ({**OIDC, "issuer": "http://token.example.com"}, ACCOUNT, "principal.issuer"),
        ({**OIDC, "audiences": ["*"]}, ACCOUNT, "principal.audiences"),
        ({**OIDC, "audiences": []}, ACCOUNT, "principal.audiences"),
        ({**OIDC, "subjects": ["repo:*"]}, ACCOUNT, "principal.subjects"),
        ({**OIDC, "audiences": [f"a{i}" for i in range(11)]}, ACCOUNT, "principal.audiences"),
        ({"type": "service", "service": "*"}, ACCOUNT, "principal.service"),
        ({"type": "service", "service": "*.aliyuncs.com"}, ACCOUNT, "principal.service"),
        ({"type": "service", "service": "ecs.amazonaws.com"}, ACCOUNT, "principal.service"),
        ({"type": "group", "name": "admins"}, ACCOUNT, "principal.type"),
        ({"type": "*"}, ACCOUNT, "principal.type"),
        ({"name": "Alice"}, ACCOUNT, "principal.type"),
        ("Alice", ACCOUNT, "principal"),
        ({"type": "user", "name": "Alice"}, "*", "partner_account_id"),
        ({"type": "user", "name": "Alice"}, "123456789012345", "partner_account_id"),
        ({"type": "user", "name": "Alice"}, "12345678901234567", "partner_account_id"),
        ({"type": "account", "external_id": "ext-1"}, "12345678901234ab", "partner_account_id"),
        ({"type": "user", "name": "Alice"}, ACCOUNT + "\n", "partner_account_id"),
        ({"type": "user", "name": "Alice\n"}, ACCOUNT, "principal.name"),
        ({"type": "account", "external_id": "x"}, ACCOUNT, "principal.external_id"),
        ({"type": "account", "external_id": "外部ID"}, ACCOUNT, "principal.external_id"),
        ({"type": "account", "external_id": "a*b"}, ACCOUNT, "principal.external_id"),
    ],
)
def test_principal_from_dict_refuses_with_field(given_dict, account, field):
    """Wildcards, unknown kinds and bad account ids are refused, naming the offending field."""
    with pytest.raises(PrincipalError) as err:
        principal_from_dict(given_dict, account)
    assert err.value.field == field


def test_principal_from_dict_custom_path_prefixes_fields():
    """A caller-supplied path prefixes the field, so nested webhook inputs are pinpointed."""
    with pytest.raises(PrincipalError) as err:
        principal_from_dict({"type": "user", "name": "*"}, ACCOUNT, path="grants[2].principal")
    assert err.value.field == "grants[2].principal.name"


def test_service_principal_needs_no_partner_account():
    """A service principal is in the owner's account, so a missing partner account id is no error."""
    assert principal_from_dict({"type": "service", "service": "ecs.aliyuncs.com"}, "") == ServicePrincipal(
        "ecs.aliyuncs.com"
    )


# --- the trust for nobody ------------------------------------------------------

def test_nobody_trust_is_a_documented_form_no_request_satisfies():
    """One Allow to the owner's own root, under StringEquals and StringNotEquals of one ExternalId value."""
    from shared.policies.trust import NOBODY_EXTERNAL_ID, nobody_trust

    statement = _statement(nobody_trust(ACCOUNT))
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Principal"] == {"RAM": [f"acs:ram::{ACCOUNT}:root"]}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": NOBODY_EXTERNAL_ID},
                                      "StringNotEquals": {"sts:ExternalId": NOBODY_EXTERNAL_ID}}
    assert trusted_principals(nobody_trust(ACCOUNT)) == [f"acs:ram::{ACCOUNT}:root"]  # the owner: never "widened"
    assert lint_trust_policy(nobody_trust(ACCOUNT)) == []


def test_admits_nobody_recognises_both_forms_and_nothing_else():
    """The current form (any account, any spelling) and the Deny-only form written before; not a real trust."""
    from shared.policies.trust import LEGACY_NOBODY_TRUST, admits_nobody, nobody_trust

    assert admits_nobody(nobody_trust(ACCOUNT)) and admits_nobody(json.dumps(nobody_trust("1111222233334444")))
    assert admits_nobody(LEGACY_NOBODY_TRUST)
    loosened = nobody_trust(ACCOUNT)
    del loosened["Statement"][0]["Condition"]["StringNotEquals"]
    for other in (loosened, trust_policy(AccountPrincipal(ACCOUNT, "x1")), "{", "[]", {"Version": "1"}):
        assert not admits_nobody(other)
