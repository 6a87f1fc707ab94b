"""The emulator's policy engine without a server: permission policies, conditions, trust, authorize."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clock import iso
from emulator.errors import CloudError
from emulator.identity import Identity
from emulator.policy import add_context, authorize, evaluate, request_context, trust_caller, trust_verdict
from emulator.policy import decide as decide_for
from emulator.policy.patterns import wildcard_match
from emulator.policy.trust import trust_allows
from emulator.services.ram import ram_state
from emulator.services.ram_models import Quotas
from emulator.world import World
from tests.strategies import policy_actions, policy_literals, policy_statements

A, B, C = "1000000000000001", "2000000000000002", "3000000000000003"
ROLE_ARN = f"acs:ram::{A}:role/partner-role"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(policy: dict[str, Any], action: str = "ram:GetRole", resource: str = ROLE_ARN,
           **context: Any) -> str:
    return evaluate([policy], action, resource, context)


def when(op: str, key: str, value: Any) -> dict[str, Any]:
    return {"Condition": {op: {key: value}}}


# ----------------------------------------------------------------- effects
def test_nothing_matching_is_an_implicit_deny() -> None:
    """No statement covering the request means the request is not allowed, and not explicitly denied."""
    assert evaluate([], "ram:GetRole", ROLE_ARN, {}) == "ImplicitDeny"
    assert decide(doc(allow("fc:*"))) == "ImplicitDeny"


def test_explicit_deny_beats_allow_in_any_document_and_order() -> None:
    """A matching Deny wins over every Allow, whichever document or position it is in."""
    permit, forbid = doc(allow("ram:*")), doc(deny("ram:GetRole"))
    assert evaluate([permit, forbid], "ram:GetRole", ROLE_ARN, {}) == "Deny"
    assert evaluate([forbid, permit], "ram:GetRole", ROLE_ARN, {}) == "Deny"
    assert decide(doc(deny("ram:GetRole"), allow())) == "Deny"
    assert evaluate([permit, forbid], "ram:ListRoles", ROLE_ARN, {}) == "Allow"


def test_statement_may_be_a_single_object_and_elements_strings_or_lists() -> None:
    """`Statement`, `Action` and `Resource` each accept one value or a list."""
    single = {"Version": "1", "Statement": allow("ram:GetRole", ROLE_ARN)}
    assert decide(single) == "Allow"
    assert decide(doc(allow(["fc:List*", "ram:GetRole"], ["acs:fc:*:*:*", ROLE_ARN]))) == "Allow"


# ----------------------------------------------------------------- actions and resources
@pytest.mark.parametrize("pattern,action,expected", [
    ("ram:GetRole", "ram:getrole", True),
    ("RAM:GETROLE", "ram:GetRole", True),
    ("ram:Get*", "ram:GetRole", True),
    ("ram:Get*", "ram:ListRoles", False),
    ("ram:Get?ole", "ram:GetRole", True),
    ("ram:Get?ole", "ram:GetXXole", False),
    ("*", "fc:ListFunctions", True),
    ("ram:*", "ram", False),
])
def test_action_patterns_are_case_insensitive_wildcards(pattern: str, action: str, expected: bool) -> None:
    """Actions match case-insensitively with `*` (any run) and `?` (one character)."""
    assert (decide(doc(allow(pattern)), action=action) == "Allow") is expected


def test_not_action_covers_everything_else() -> None:
    """`NotAction` applies the statement to every action except those listed."""
    policy = doc({"Effect": "Allow", "NotAction": "ram:Delete*", "Resource": "*"})
    assert decide(policy, action="ram:GetRole") == "Allow"
    assert decide(policy, action="ram:DeleteRole") == "ImplicitDeny"
    guard = doc(allow(), {"Effect": "Deny", "NotAction": ["ram:Get*", "ram:List*"], "Resource": "*"})
    assert decide(guard, action="ram:ListRoles") == "Allow"
    assert decide(guard, action="ram:CreateRole") == "Deny"


def test_resource_patterns_are_case_sensitive_wildcards() -> None:
    """Resources match with wildcards, exactly as to case; `*` also spans empty ARN fields."""
    assert decide(doc(allow(resource=f"acs:ram:*:{A}:role/partner-*"))) == "Allow"
    assert decide(doc(allow(resource=f"acs:ram:*:{A}:role/Partner-*"))) == "ImplicitDeny"
    assert decide(doc(allow(resource=f"acs:ram:*:{B}:role/*"))) == "ImplicitDeny"


def test_not_resource_covers_everything_else() -> None:
    """`NotResource` applies the statement to all resources but the listed ones."""
    policy = doc(allow(), {"Effect": "Deny", "Action": "*", "NotResource": f"acs:ram:*:{A}:role/partner-*"})
    assert decide(policy) == "Allow"
    assert decide(policy, resource=f"acs:ram::{A}:role/admin") == "Deny"


def test_statement_without_resource_covers_nothing() -> None:
    """A permission statement lacking Resource/NotResource grants nothing (RAM refuses such documents)."""
    assert decide(doc({"Effect": "Allow", "Action": "*"})) == "ImplicitDeny"


# ----------------------------------------------------------------- conditions
@pytest.mark.parametrize("op,policy_value,actual,expected", [
    ("StringEquals", "dev", "dev", True),
    ("StringEquals", "dev", "Dev", False),
    ("StringNotEquals", "dev", "prod", True),
    ("StringNotEquals", "dev", "dev", False),
    ("StringEqualsIgnoreCase", "DEV", "dev", True),
    ("StringEqualsIgnoreCase", "dev", "prod", False),
    ("StringNotEqualsIgnoreCase", "DEV", "dev", False),
    ("StringNotEqualsIgnoreCase", "dev", "prod", True),
    ("StringLike", "team-*", "team-a", True),
    ("StringLike", "team-?", "team-ab", False),
    ("StringLike", "Team-*", "team-a", False),
    ("StringNotLike", "team-*", "ops", True),
    ("StringNotLike", "team-*", "team-a", False),
])
def test_string_operators(op: str, policy_value: str, actual: str, expected: bool) -> None:
    """String operators: exact or case-folded equality and `*`/`?` patterns, and their negations."""
    policy = doc(allow(**when(op, "acs:ResourceTag/team", policy_value)))
    assert (decide(policy, **{"acs:ResourceTag/team": actual}) == "Allow") is expected


@pytest.mark.parametrize("op,policy_value,actual,expected", [
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", 10, "10.0", True),
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", "10", False),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericGreaterThan", "10", "11", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericEquals", "10", "ten", False),
])
def test_numeric_operators(op: str, policy_value: Any, actual: str, expected: bool) -> None:
    """Numeric operators compare values as numbers; an unparseable value never matches."""
    policy = doc(allow(**when(op, "ecs:Count", policy_value)))
    assert (decide(policy, **{"ecs:Count": actual}) == "Allow") is expected


@pytest.mark.parametrize("op,policy_value,actual,expected", [
    ("DateLessThan", "2030-01-01T00:00:00Z", "2029-12-31T23:59:59Z", True),
    ("DateLessThan", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", False),
    ("DateLessThanEquals", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2030-01-01T00:00:00Z", "2030-01-01T08:00:01+08:00", True),
    ("DateGreaterThanEquals", "2030-01-01T00:00:00Z", "2029-12-31T00:00:00Z", False),
    ("DateEquals", "2030-01-01T00:00:00Z", "2030-01-01T08:00:00+08:00", True),
    ("DateNotEquals", "2030-01-01T00:00:00Z", "2030-01-01T00:00:01Z", True),
    ("DateLessThan", "1893456000", "2029-12-31T00:00:00Z", True),
    ("DateLessThan", "not a date", "2029-12-31T00:00:00Z", False),
])
def test_date_operators(op: str, policy_value: str, actual: str, expected: bool) -> None:
    """Date operators compare instants (ISO 8601 with zone, or epoch seconds)."""
    policy = doc(allow(**when(op, "acs:CurrentTime", policy_value)))
    assert (decide(policy, **{"acs:CurrentTime": actual}) == "Allow") is expected


@pytest.mark.parametrize("policy_value,actual,expected", [
    ("true", "true", True), (True, "true", True), ("false", "true", False), ("TRUE", True, True),
])
def test_bool_operator(policy_value: Any, actual: Any, expected: bool) -> None:
    """`Bool` compares booleans whether written as JSON booleans or strings."""
    policy = doc(allow(**when("Bool", "acs:SecureTransport", policy_value)))
    assert (decide(policy, **{"acs:SecureTransport": actual}) == "Allow") is expected


@pytest.mark.parametrize("op,policy_value,actual,expected", [
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "192.168.0.1", False),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),
    ("IpAddress", ["192.168.0.0/16", "127.0.0.1"], "127.0.0.1", True),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("NotIpAddress", "10.0.0.0/8", "127.0.0.1", True),
    ("NotIpAddress", "127.0.0.0/8", "127.0.0.1", False),
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
])
def test_ip_operators(op: str, policy_value: Any, actual: str, expected: bool) -> None:
    """`IpAddress`/`NotIpAddress` test membership in single addresses or CIDR ranges."""
    policy = doc(allow(**when(op, "acs:SourceIp", policy_value)))
    assert (decide(policy, **{"acs:SourceIp": actual}) == "Allow") is expected


def test_condition_keys_are_case_insensitive() -> None:
    """Condition key names compare without regard to case."""
    policy = doc(allow(**when("StringEquals", "ACS:SourceIp", "1.2.3.4")))
    assert decide(policy, **{"acs:sourceip": "1.2.3.4"}) == "Allow"


def test_several_keys_and_operators_must_all_hold() -> None:
    """Keys within an operator, and operators within a Condition, are ANDed."""
    policy = doc(allow(Condition={
        "StringEquals": {"acs:ResourceTag/team": "dev", "acs:ResourceTag/env": "test"},
        "IpAddress": {"acs:SourceIp": "10.0.0.0/8"},
    }))
    ok = {"acs:ResourceTag/team": "dev", "acs:ResourceTag/env": "test", "acs:SourceIp": "10.0.0.1"}
    assert decide(policy, **ok) == "Allow"
    assert decide(policy, **{**ok, "acs:ResourceTag/env": "prod"}) == "ImplicitDeny"
    assert decide(policy, **{**ok, "acs:SourceIp": "11.0.0.1"}) == "ImplicitDeny"


def test_several_values_for_one_key_are_alternatives() -> None:
    """A list of values for one key is ORed; a multi-valued request key matches if any value does."""
    policy = doc(allow(**when("StringEquals", "acs:ResourceTag/team", ["dev", "ops"])))
    assert decide(policy, **{"acs:ResourceTag/team": "ops"}) == "Allow"
    assert decide(policy, **{"acs:ResourceTag/team": "sales"}) == "ImplicitDeny"
    assert decide(policy, **{"acs:ResourceTag/team": ["sales", "dev"]}) == "Allow"
    negated = doc(allow(**when("StringNotEquals", "acs:ResourceTag/team", ["dev", "ops"])))
    assert decide(negated, **{"acs:ResourceTag/team": "ops"}) == "ImplicitDeny"
    assert decide(negated, **{"acs:ResourceTag/team": "sales"}) == "Allow"


def test_missing_key_fails_positive_and_satisfies_negated_operators() -> None:
    """An absent key never satisfies a positive operator, and always satisfies a negated one."""
    assert decide(doc(allow(**when("StringEquals", "ecs:CommandRunAs", "root")))) == "ImplicitDeny"
    assert decide(doc(allow(**when("StringNotEquals", "ecs:CommandRunAs", "root")))) == "Allow"
    assert decide(doc(allow(**when("NotIpAddress", "acs:SourceIp", "10.0.0.0/8")))) == "Allow"


def test_conditional_deny_applies_only_when_its_condition_holds() -> None:
    """A Deny with a condition only blocks requests meeting the condition."""
    policy = doc(allow(), deny("ecs:RunCommand", **when("StringEquals", "ecs:CommandRunAs", "root")))
    assert decide(policy, action="ecs:RunCommand", **{"ecs:CommandRunAs": "root"}) == "Deny"
    assert decide(policy, action="ecs:RunCommand", **{"ecs:CommandRunAs": "admin"}) == "Allow"


def test_pass_role_limited_to_a_service() -> None:
    """The `acs:Service` key restricts ram:PassRole to the named service (AliyunFCFullAccess style)."""
    policy = doc(allow("ram:PassRole", **when("StringEquals", "acs:Service", "fc.aliyuncs.com")))
    assert decide(policy, action="ram:PassRole", **{"acs:Service": "fc.aliyuncs.com"}) == "Allow"
    assert decide(policy, action="ram:PassRole", **{"acs:Service": "ecs.aliyuncs.com"}) == "ImplicitDeny"
    assert decide(policy, action="ram:PassRole") == "ImplicitDeny"


def test_unknown_operator_grants_nothing() -> None:
    """An operator the engine does not know makes its statement not apply."""
    assert decide(doc(allow(**when("StringSoundsLike", "acs:SourceIp", "x"))), **{"acs:SourceIp": "x"}) \
        == "ImplicitDeny"


def test_null_operator_tests_presence_of_a_key() -> None:
    """`Null: true` holds when the key is absent, `Null: false` when it is present."""
    absent = doc(allow(**when("Null", "sts:ExternalId", "true")))
    present = doc(allow(**when("Null", "sts:ExternalId", False)))
    assert decide(absent) == "Allow"
    assert decide(absent, **{"sts:ExternalId": "x"}) == "ImplicitDeny"
    assert decide(present, **{"sts:ExternalId": "x"}) == "Allow"
    assert decide(present) == "ImplicitDeny"


def test_if_exists_suffix_holds_for_an_absent_key() -> None:
    """`...IfExists` applies the operator only when the request carries the key."""
    policy = doc(allow(**when("StringEqualsIfExists", "ecs:CommandRunAs", "admin")))
    assert decide(policy) == "Allow"
    assert decide(policy, **{"ecs:CommandRunAs": "admin"}) == "Allow"
    assert decide(policy, **{"ecs:CommandRunAs": "root"}) == "ImplicitDeny"


def test_set_operators_over_multi_valued_keys() -> None:
    """`ForAnyValue:` needs one request value to satisfy the operator, `ForAllValues:` every one."""
    any_of = doc(allow(**when("ForAnyValue:StringEquals", "acs:TagKeys", ["team", "env"])))
    all_of = doc(allow(**when("ForAllValues:StringEquals", "acs:TagKeys", ["team", "env"])))
    assert decide(any_of, **{"acs:TagKeys": ["owner", "team"]}) == "Allow"
    assert decide(any_of, **{"acs:TagKeys": ["owner"]}) == "ImplicitDeny"
    assert decide(any_of) == "ImplicitDeny"
    assert decide(all_of, **{"acs:TagKeys": ["env", "team"]}) == "Allow"
    assert decide(all_of, **{"acs:TagKeys": ["env", "owner"]}) == "ImplicitDeny"
    assert decide(all_of) == "Allow"
    none_of = doc(allow(**when("ForAnyValue:StringNotLike", "acs:TagKeys", "aliyun*")))
    assert decide(none_of, **{"acs:TagKeys": ["aliyun:x", "team"]}) == "Allow"
    assert decide(none_of, **{"acs:TagKeys": ["aliyun:x"]}) == "ImplicitDeny"


# ----------------------------------------------------------------- properties
@given(policy_literals())
def test_literal_pattern_matches_only_itself(value: str) -> None:
    """A pattern without wildcards matches exactly its own text."""
    assert wildcard_match(value, value)
    assert not wildcard_match(value, value + "x")
    assert wildcard_match(value + "*", value + "anything")


@settings(max_examples=40)
@given(st.lists(policy_statements(), max_size=6), policy_actions())
def test_matching_deny_always_wins(statements: list[dict[str, Any]], action: str) -> None:
    """Whatever else a policy says, a Deny covering the request makes the decision Deny."""
    assert evaluate([doc(*statements, deny(action))], action, ROLE_ARN, {}) == "Deny"


@settings(max_examples=40)
@given(st.lists(policy_statements(), max_size=6), policy_actions())
def test_decision_does_not_depend_on_statement_order(statements: list[dict[str, Any]], action: str) -> None:
    """Reordering statements never changes the decision."""
    assert evaluate([doc(*statements)], action, ROLE_ARN, {}) == \
        evaluate([doc(*reversed(statements))], action, ROLE_ARN, {})


# ----------------------------------------------------------------- authorize (in-process world)
@pytest.fixture
def account_world() -> tuple[World, Any]:
    world = World()
    account, _ = world.create_account("owner")
    return world, account


def ram_user(world: World, account: Any, name: str, *system_policies: str, group: str | None = None) -> Identity:
    state = ram_state(account)
    user = state.create_user(name, "2030-01-01T00:00:00Z", Quotas())
    for policy in system_policies:
        state.attach(user, "System", policy, group, "2030-01-01T00:00:00Z", Quotas())
    return Identity("user", account.account_id, name, principal_id=user.user_id)


def test_authorize_uses_the_user_attached_policies(account_world: tuple[World, Any]) -> None:
    """A user may do what its attached policies allow, and gets NoPermission naming action and resource otherwise."""
    world, account = account_world
    reader = ram_user(world, account, "reader", "AliyunRAMReadOnlyAccess")
    authorize(world, reader, "ram:GetRole", [ROLE_ARN, f"acs:ram::{A}:role/other"])
    with pytest.raises(CloudError) as err:
        authorize(world, reader, "ram:CreateRole", [ROLE_ARN])
    assert (err.value.code, err.value.status) == ("NoPermission", 403)
    assert err.value.detail.startswith(f"Action: ram:CreateRole, Resource: {ROLE_ARN}")


def test_deleted_user_keeps_no_permissions(account_world: tuple[World, Any]) -> None:
    """A key outliving its user authorizes nothing."""
    world, account = account_world
    reader = ram_user(world, account, "reader", "AliyunRAMReadOnlyAccess")
    ram_state(account).users.pop("reader")
    assert decide_for(world, reader, "ram:GetRole", ROLE_ARN) == "ImplicitDeny"


def test_resource_group_scoped_policy_applies_only_within_its_group(account_world: tuple[World, Any]) -> None:
    """A policy attached for a resource group grants only when the request carries that group."""
    world, account = account_world
    scoped = ram_user(world, account, "scoped", "AliyunFCReadOnlyAccess", group="rg-team")
    assert decide_for(world, scoped, "fc:ListFunctions", "*") == "ImplicitDeny"
    assert decide_for(world, scoped, "fc:ListFunctions", "*", None, {"acs:ResourceGroupId": "rg-team"}) == "Allow"
    assert decide_for(world, scoped, "fc:ListFunctions", "*", None, {"acs:ResourceGroupId": "rg-x"}) == "ImplicitDeny"


def test_service_context_reaches_pass_role_conditions(account_world: tuple[World, Any]) -> None:
    """`acs:Service` given by the calling service decides AliyunFCFullAccess's conditional ram:PassRole."""
    world, account = account_world
    admin = ram_user(world, account, "fc-admin", "AliyunFCFullAccess")
    assert decide_for(world, admin, "ram:PassRole", ROLE_ARN, None, {"acs:Service": "fc.aliyuncs.com"}) == "Allow"
    assert decide_for(world, admin, "ram:PassRole", ROLE_ARN, None, {"acs:Service": "ecs.aliyuncs.com"}) \
        == "ImplicitDeny"


def test_request_context_carries_clock_source_ip_and_service_keys(account_world: tuple[World, Any]) -> None:
    """Every request has the current time, source IP and transport; services add keys through the request."""
    world, _ = account_world
    req = SimpleNamespace(source_ip="10.1.2.3")
    add_context(req, {"ecs:CommandRunAs": "root"})
    context = request_context(world, req, {"acs:Service": "ecs.aliyuncs.com"})
    assert context["acs:SourceIp"] == "10.1.2.3" and context["acs:SecureTransport"] == "false"
    assert context["ecs:CommandRunAs"] == "root" and context["acs:Service"] == "ecs.aliyuncs.com"
    world.clock.advance(86400 * 365 * 10)
    before = iso(world.clock.now())
    stamped = request_context(world)["acs:CurrentTime"]
    assert before <= stamped <= iso(world.clock.now())  # ISO strings of one format sort as their times do


# ----------------------------------------------------------------- trust policies
def trust(principal: Any, condition: dict[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal}
    if condition:
        statement["Condition"] = condition
    return doc(statement)


def user(account: str, name: str, **conditions: Any) -> dict[str, Any]:
    return trust_caller("user", account, name, **conditions)


def role(account: str, name: str, **conditions: Any) -> dict[str, Any]:
    return trust_caller("role", account, name, **conditions)


def test_user_principal_admits_only_that_user_case_insensitively() -> None:
    """`user/<name>` admits that RAM user of that account (any case), nobody else."""
    policy = trust({"RAM": f"acs:ram::{B}:user/Alice"})
    assert trust_allows(policy, user(B, "Alice"))
    assert trust_allows(policy, user(B, "alice"))
    assert not trust_allows(policy, user(B, "Bob"))
    assert not trust_allows(policy, user(C, "Alice"))
    assert not trust_allows(policy, role(B, "Alice"))


def test_account_root_admits_every_user_and_role_of_that_account() -> None:
    """`acs:ram::<uid>:root` and a bare account id admit any RAM user or role session of the account."""
    for principal in (f"acs:ram::{B}:root", B, [C, f"acs:ram::{B}:root"]):
        policy = trust({"RAM": principal})
        assert trust_allows(policy, user(B, "Anyone"))
        assert trust_allows(policy, role(B, "some-role"))
        assert not trust_allows(policy, user(A, "Anyone"))


def test_role_principal_admits_sessions_of_that_role() -> None:
    """`role/<name>` admits a session of that role (role chaining), not users of that name."""
    policy = trust({"RAM": [f"acs:ram::{B}:role/Broker"]})
    assert trust_allows(policy, role(B, "broker"))
    assert not trust_allows(policy, user(B, "Broker"))
    assert not trust_allows(policy, role(C, "Broker"))


def test_wildcard_principals() -> None:
    """`"Principal": "*"` admits anyone; `RAM: "*"` admits any RAM user or role, not services."""
    assert trust_allows(trust("*"), trust_caller("service", "", "ecs.aliyuncs.com"))
    assert trust_allows(trust({"RAM": "*"}), user(C, "x"))
    assert not trust_allows(trust({"RAM": "*"}), trust_caller("service", "", "ecs.aliyuncs.com"))


def test_external_id_condition() -> None:
    """An account-root trust with `sts:ExternalId` admits only callers presenting that id."""
    policy = trust({"RAM": f"acs:ram::{B}:root"}, {"StringEquals": {"sts:ExternalId": "abc-123"}})
    assert trust_allows(policy, user(B, "Alice", **{"sts:ExternalId": "abc-123"}))
    assert not trust_allows(policy, user(B, "Alice", **{"sts:ExternalId": "abc-124"}))
    assert not trust_allows(policy, user(B, "Alice"))


def test_service_principal() -> None:
    """`Service` admits the named service, optionally qualified by account."""
    policy = trust({"Service": ["ecs.aliyuncs.com", f"{A}@fc.aliyuncs.com"]})
    assert trust_allows(policy, trust_caller("service", A, "ECS.aliyuncs.com"))
    assert trust_allows(policy, trust_caller("service", A, "fc.aliyuncs.com"))
    assert not trust_allows(policy, trust_caller("service", B, "fc.aliyuncs.com"))
    assert not trust_allows(policy, trust_caller("service", A, "oss.aliyuncs.com"))
    assert not trust_allows(policy, user(A, "ecs.aliyuncs.com"))


def test_saml_provider_with_recipient_condition() -> None:
    """A SAML trust admits its provider only when the assertion's recipient is the documented one."""
    sso = "https://signin.alibabacloud.com/saml-role/sso"
    policy = trust({"Federated": f"acs:ram::{A}:saml-provider/Azure-AD"},
                   {"StringEquals": {"saml:recipient": [sso]}})
    assert trust_allows(policy, trust_caller("saml-provider", A, "azure-ad", **{"saml:recipient": sso}))
    assert not trust_allows(policy, trust_caller("saml-provider", A, "Azure-AD",
                                                 **{"saml:recipient": "https://evil.example/sso"}))
    assert not trust_allows(policy, trust_caller("oidc-provider", A, "Azure-AD", **{"saml:recipient": sso}))
    assert not trust_allows(policy, trust_caller("saml-provider", B, "Azure-AD", **{"saml:recipient": sso}))


def test_oidc_provider_with_iss_aud_sub_conditions() -> None:
    """An OIDC trust checks issuer and audience, and the subject when the condition lists subjects."""
    policy = trust({"Federated": [f"acs:ram::{A}:oidc-provider/gh"]}, {"StringEquals": {
        "oidc:iss": "https://issuer.example", "oidc:aud": ["client-1", "client-2"],
        "oidc:sub": ["repo:org/app:ref:refs/heads/main"]}})
    ok = {"oidc:iss": "https://issuer.example", "oidc:aud": "client-2", "oidc:sub": "repo:org/app:ref:refs/heads/main"}
    assert trust_allows(policy, trust_caller("oidc-provider", A, "gh", **ok))
    for key, bad in (("oidc:iss", "https://other"), ("oidc:aud", "client-3"), ("oidc:sub", "repo:org/app:pull")):
        assert not trust_allows(policy, trust_caller("oidc-provider", A, "gh", **{**ok, key: bad}))


def test_trust_deny_statement_wins() -> None:
    """A Deny in the trust policy overrides an Allow for the same caller."""
    policy = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": B}},
                 {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"RAM": f"acs:ram::{B}:user/Mallory"}})
    assert trust_allows(policy, user(B, "Alice"))
    assert not trust_allows(policy, user(B, "mallory"))


def test_trust_statement_for_another_action_admits_nobody() -> None:
    """Only statements covering sts:AssumeRole count."""
    policy = doc({"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Principal": {"RAM": B}})
    assert not trust_allows(policy, user(B, "Alice"))


def test_trust_verdict_explains_the_refusal() -> None:
    """The verdict says whether the caller was not named or its conditions failed (for the call log)."""
    policy = trust({"RAM": B}, {"StringEquals": {"sts:ExternalId": "x1"}})
    assert trust_verdict(policy, user(B, "Alice", **{"sts:ExternalId": "x1"})) == \
        (True, f"trust policy admits acs:ram::{B}:user/Alice")
    allowed, reason = trust_verdict(policy, user(B, "Alice"))
    assert not allowed and "conditions do not hold" in reason
    allowed, reason = trust_verdict(policy, user(C, "Alice"))
    assert not allowed and "does not name" in reason
