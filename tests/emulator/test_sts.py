"""STS in the emulator through the real STS SDK: cross-account AssumeRole, federation, caller identity.

The central scenario follows the documented cross-account setup: account A owns a
role trusting only user Alice of partner account B and grants it
AliyunFCReadOnlyAccess; B gives Alice AliyunSTSAssumeRoleAccess.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from alibabacloud_credentials.client import Client as CredentialsClient
from alibabacloud_credentials.models import Config as CredentialsConfig
from alibabacloud_fc20230330 import models as fc3
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_sts20150401 import models as sts

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, fc3_client, ram_client, sts_client
from tests.emulator.idp import OidcIdp, SamlIdp, emulator_now, signing_key
from tests.emulator.ram_support import assert_fully_read, cloud_error

ROLE = "Partner-FC-Reader"
SSO = "https://signin.aliyun.com/saml-role/sso"  # the China site's SAML endpoint, the emulator's default
SSO_INTERNATIONAL = "https://signin.alibabacloud.com/saml-role/sso"
STS_ASSUME = "AliyunSTSAssumeRoleAccess"
EXPIRATION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def trusting(principal: dict[str, Any], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}
    return {**statement, "Condition": condition} if condition else statement


def make_role(emulator: EmulatorServer, owner: Creds, name: str, trust_text: str, *policies: str,
              max_session: int | None = None) -> str:
    """A role with system policies attached; returns its ARN as RAM reports it."""
    ram = ram_client(emulator, owner)
    role = ram.create_role(ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=trust_text,
                                                        max_session_duration=max_session)).body.role
    for policy in policies:
        ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="System", policy_name=policy,
                                                                        role_name=name))
    return role.arn


def make_user(emulator: EmulatorServer, root: Creds, name: str, *policies: str) -> Creds:
    """A RAM user holding the given system policies, and an AccessKey of it."""
    ram = ram_client(emulator, root)
    ram.create_user(ram_models.CreateUserRequest(user_name=name))
    for policy in policies:
        ram.attach_policy_to_user(ram_models.AttachPolicyToUserRequest(policy_type="System", policy_name=policy,
                                                                        user_name=name))
    key = ram.create_access_key(ram_models.CreateAccessKeyRequest(user_name=name)).body.access_key
    return {"account_id": root["account_id"], "access_key_id": key.access_key_id,
            "access_key_secret": key.access_key_secret}


def assume(emulator: EmulatorServer, creds: Creds, role_arn: str, session: str = "alice-session",
           **fields: Any) -> Any:
    request = sts.AssumeRoleRequest(role_arn=role_arn, role_session_name=session, **fields)
    return sts_client(emulator, creds).assume_role(request).body


def session_creds(body: Any, account_id: str) -> Creds:
    c = body.credentials
    return {"account_id": account_id, "access_key_id": c.access_key_id, "access_key_secret": c.access_key_secret,
            "security_token": c.security_token}


def whoami(emulator: EmulatorServer, creds: Creds) -> Any:
    return sts_client(emulator, creds).get_caller_identity().body


def list_functions(emulator: EmulatorServer, creds: Creds) -> int:
    return fc3_client(emulator, creds).list_functions(fc3.ListFunctionsRequest()).status_code


def get_role(emulator: EmulatorServer, creds: Creds, name: str = ROLE) -> Any:
    return ram_client(emulator, creds).get_role(ram_models.GetRoleRequest(role_name=name)).body.role


def parse_expiration(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
def world(emulator: EmulatorServer) -> dict[str, Any]:
    """Accounts A (owner), B (partner: Alice and Bob hold STS access, Carol does not), C (a stranger's Alice)."""
    a, b, c = (emulator.create_account(alias) for alias in ("owner", "partner", "stranger"))
    role_arn = make_role(emulator, a, ROLE, trust(trusting({"RAM": f"acs:ram::{b['account_id']}:user/Alice"})),
                         "AliyunFCReadOnlyAccess")
    return {"A": a, "B": b, "C": c, "role_arn": role_arn,
            "alice": make_user(emulator, b, "Alice", STS_ASSUME), "bob": make_user(emulator, b, "Bob", STS_ASSUME),
            "carol": make_user(emulator, b, "Carol"), "c_alice": make_user(emulator, c, "Alice", STS_ASSUME)}


# ----------------------------------------------------------------- the cross-account scenario
def test_trusted_partner_user_assumes_the_role(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """Alice of B gets STS credentials for A's role, shaped as the SDK and credentials library parse them."""
    a_id = world["A"]["account_id"]
    before = emulator_now(emulator)
    body = assume(emulator, world["alice"], world["role_arn"])
    assert_fully_read(body, absent={"source_identity"})
    role = get_role(emulator, world["A"])
    assert world["role_arn"] == f"acs:ram::{a_id}:role/partner-fc-reader"
    assert body.assumed_role_user.arn == f"acs:ram::{a_id}:role/partner-fc-reader/alice-session"
    assert body.assumed_role_user.assumed_role_id == f"{role.role_id}:alice-session"
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token.startswith("CAIS")
    assert EXPIRATION.match(creds.expiration)
    lifetime = parse_expiration(creds.expiration) - before
    assert timedelta(seconds=3598) <= lifetime <= timedelta(seconds=3601)


def test_role_session_acts_in_the_owner_account_with_the_role_permissions(
        emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """The session is A's role: it may list A's functions (FC read-only) but not read RAM."""
    session = session_creds(assume(emulator, world["alice"], world["role_arn"]), world["A"]["account_id"])
    me = whoami(emulator, session)
    assert (me.identity_type, me.account_id) == ("AssumedRoleUser", world["A"]["account_id"])
    assert me.arn == f"acs:ram::{world['A']['account_id']}:assumed-role/{ROLE}/alice-session"
    assert list_functions(emulator, session) == 200
    with cloud_error("NoPermission", 403):
        get_role(emulator, session)


def test_other_partner_user_with_sts_access_is_refused(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """Bob holds AliyunSTSAssumeRoleAccess but the trust names only Alice; the refusal looks like any other."""
    with cloud_error("NoPermission", 403) as trust_refusal:
        assume(emulator, world["bob"], world["role_arn"])
    with cloud_error("NoPermission", 403) as permission_refusal:
        assume(emulator, world["carol"], world["role_arn"])
    assert trust_refusal.value.data["Message"] == permission_refusal.value.data["Message"]
    assert "sts:AssumeRole" in trust_refusal.value.data["Message"]


def test_same_user_name_in_another_account_is_refused(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """An Alice of account C is not B's Alice."""
    with cloud_error("NoPermission", 403):
        assume(emulator, world["c_alice"], world["role_arn"])


def test_trusted_user_without_sts_permission_is_refused(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """Once B takes AliyunSTSAssumeRoleAccess away from Alice, the trust alone does not let her in."""
    assume(emulator, world["alice"], world["role_arn"])
    ram_client(emulator, world["B"]).detach_policy_from_user(ram_models.DetachPolicyFromUserRequest(
        policy_type="System", policy_name=STS_ASSUME, user_name="Alice"))
    with cloud_error("NoPermission", 403):
        assume(emulator, world["alice"], world["role_arn"])


def test_external_id_must_match_an_account_root_trust(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A trust of B's root with sts:ExternalId admits B's users only with that ExternalId."""
    arn = make_role(emulator, world["A"], "partner-account", trust(trusting(
        {"RAM": [f"acs:ram::{world['B']['account_id']}:root"]}, {"StringEquals": {"sts:ExternalId": "rg-7f3a"}})))
    assert assume(emulator, world["bob"], arn, external_id="rg-7f3a").credentials.access_key_id
    for wrong in ({"external_id": "rg-0000"}, {}):
        with cloud_error("NoPermission", 403):
            assume(emulator, world["bob"], arn, **wrong)
    with cloud_error("NoPermission", 403):
        assume(emulator, world["c_alice"], arn, external_id="rg-7f3a")


def test_contradictory_external_id_conditions_admit_nobody(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """StringEquals and StringNotEquals on one ExternalId must both hold: no ExternalId, that one or another passes."""
    admin = make_user(emulator, world["A"], "admin", STS_ASSUME)
    arn = make_role(emulator, world["A"], "nobody", trust(trusting(
        {"RAM": [f"acs:ram::{world['A']['account_id']}:root"]},
        {"StringEquals": {"sts:ExternalId": "n0pe"}, "StringNotEquals": {"sts:ExternalId": "n0pe"}})))
    for given in ({}, {"external_id": "n0pe"}, {"external_id": "other"}):
        with cloud_error("NoPermission", 403):
            assume(emulator, admin, arn, **given)


def test_nobody_assumes_a_detached_and_deleted_role(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """After A detaches the policy and deletes the role, assuming fails and old sessions lose their rights."""
    session = session_creds(assume(emulator, world["alice"], world["role_arn"]), world["A"]["account_id"])
    ram = ram_client(emulator, world["A"])
    ram.detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        policy_type="System", policy_name="AliyunFCReadOnlyAccess", role_name=ROLE))
    with cloud_error("NoPermission", 403):
        list_functions(emulator, session)
    ram.delete_role(ram_models.DeleteRoleRequest(role_name=ROLE))
    for user in ("alice", "bob", "c_alice"):
        with cloud_error("EntityNotExist.Role", 404):
            assume(emulator, world[user], world["role_arn"])


def test_recreated_role_does_not_revive_old_sessions(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A session belongs to the role it was issued for, not to a later role of the same name."""
    session = session_creds(assume(emulator, world["alice"], world["role_arn"]), world["A"]["account_id"])
    ram = ram_client(emulator, world["A"])
    ram.detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        policy_type="System", policy_name="AliyunFCReadOnlyAccess", role_name=ROLE))
    ram.delete_role(ram_models.DeleteRoleRequest(role_name=ROLE))
    make_role(emulator, world["A"], ROLE, trust(trusting({"RAM": world["B"]["account_id"]})), "AliyunFCReadOnlyAccess")
    with cloud_error("NoPermission", 403):
        list_functions(emulator, session)


def test_credentials_expire_on_the_emulator_clock(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """STS credentials work until their Expiration and are refused as expired afterwards."""
    body = assume(emulator, world["alice"], world["role_arn"], duration_seconds=900)
    session = session_creds(body, world["A"]["account_id"])
    emulator.advance_clock(890)
    assert list_functions(emulator, session) == 200
    emulator.advance_clock(11)
    with cloud_error("InvalidSecurityToken.Expired", 400):
        list_functions(emulator, session)


def test_session_policy_intersects_with_role_policies(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A session gets only what both the role and its session policy allow; a session Deny wins."""
    arn = make_role(emulator, world["A"], "reader", trust(trusting({"RAM": world["B"]["account_id"]})),
                    "AliyunRAMReadOnlyAccess", "AliyunFCReadOnlyAccess")
    only_get_role = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": ["ram:GetRole", "ram:CreateRole"], "Resource": "*"}]})
    narrowed = session_creds(assume(emulator, world["alice"], arn, policy=only_get_role), world["A"]["account_id"])
    assert get_role(emulator, narrowed).role_name == ROLE
    with cloud_error("NoPermission", 403):
        list_functions(emulator, narrowed)
    with cloud_error("NoPermission", 403):  # the session allows it, the role does not
        ram_client(emulator, narrowed).create_role(ram_models.CreateRoleRequest(
            role_name="sneaky", assume_role_policy_document=trust(trusting({"RAM": world["B"]["account_id"]}))))
    deny_get_role = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "ram:GetRole", "Resource": "*"}]})
    guarded = session_creds(assume(emulator, world["alice"], arn, policy=deny_get_role), world["A"]["account_id"])
    assert list_functions(emulator, guarded) == 200
    with cloud_error("NoPermission", 403) as refusal:
        get_role(emulator, guarded)
    assert "ExplicitDeny by session policy" in refusal.value.access_denied_detail
    unrestricted = session_creds(assume(emulator, world["alice"], arn), world["A"]["account_id"])
    assert get_role(emulator, unrestricted).role_name == ROLE


def test_duration_is_bounded_by_the_role_max_session_duration(emulator: EmulatorServer,
                                                               world: dict[str, Any]) -> None:
    """DurationSeconds may reach the role's MaxSessionDuration, not exceed it, and not go below 900."""
    arn = make_role(emulator, world["A"], "long", trust(trusting({"RAM": world["B"]["account_id"]})),
                    max_session=7200)
    before = emulator_now(emulator)
    body = assume(emulator, world["alice"], arn, duration_seconds=7200)
    assert parse_expiration(body.credentials.expiration) - before >= timedelta(seconds=7199)
    for duration in (7201, 899):
        with cloud_error("InvalidParameter.DurationSeconds", 400):
            assume(emulator, world["alice"], arn, duration_seconds=duration)
    with cloud_error("InvalidParameter.DurationSeconds", 400):
        assume(emulator, world["alice"], world["role_arn"], duration_seconds=3601)


def test_root_account_cannot_assume_roles(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """Even with a trust of its whole account, a root caller is refused."""
    arn = make_role(emulator, world["A"], "any-b", trust(trusting({"RAM": world["B"]["account_id"]})))
    with cloud_error("NoPermission", 403) as refusal:
        assume(emulator, world["B"], arn)
    assert refusal.value.data["Message"] == "Roles may not be assumed by root accounts."


@pytest.mark.parametrize("fields,code", [
    ({"role_arn": "arn:aws:iam::123:role/x"}, "InvalidParameter.RoleArn"),
    ({"role_session_name": "a"}, "InvalidParameter.RoleSessionName"),
    ({"role_session_name": "has space"}, "InvalidParameter.RoleSessionName"),
    ({"external_id": "x"}, "InvalidParameter.ExternalId"),
    ({"external_id": "bad#id"}, "InvalidParameter.ExternalId"),
    ({"policy": "{not json"}, "InvalidParameter.PolicyGrammar"),
    ({"policy": json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*"}]})},
     "InvalidParameter.PolicyGrammar"),
    ({"policy": json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "acs:x:" + "y" * 2048}]})}, "InvalidParameter.PolicySize"),
    ({"source_identity": "acs:me"}, "InvalidParameter.SourceIdentity"),
])
def test_malformed_parameters_are_refused(emulator: EmulatorServer, world: dict[str, Any],
                                          fields: dict[str, Any], code: str) -> None:
    """Each documented parameter rule answers its InvalidParameter.* code."""
    request = {"role_arn": world["role_arn"], "role_session_name": "alice-session", **fields}
    with cloud_error(code, 400):
        sts_client(emulator, world["alice"]).assume_role(sts.AssumeRoleRequest(**request))


def test_unknown_role_is_entity_not_exist(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A well-formed ARN naming no role, or no account, answers EntityNotExist.Role."""
    for arn in (f"acs:ram::{world['A']['account_id']}:role/nope", "acs:ram::9999999999999999:role/nope"):
        with cloud_error("EntityNotExist.Role", 404):
            assume(emulator, world["alice"], arn)


def test_source_identity_is_echoed(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A requested SourceIdentity comes back in the response."""
    assert assume(emulator, world["alice"], world["role_arn"], source_identity="alice@b").source_identity == "alice@b"


def test_role_chaining_through_a_trusted_role(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """A session of role R1 (allowed sts:AssumeRole) may assume a role whose trust names R1."""
    a_id, c_id = world["A"]["account_id"], world["C"]["account_id"]
    alice = f"acs:ram::{world['B']['account_id']}:user/alice"
    broker = make_role(emulator, world["A"], "Broker", trust(trusting({"RAM": alice})), STS_ASSUME)
    target = make_role(emulator, world["C"], "Target", trust(trusting({"RAM": f"acs:ram::{a_id}:role/broker"})))
    hop = session_creds(assume(emulator, world["alice"], broker), a_id)
    second = session_creds(assume(emulator, hop, target, session="hop-2"), c_id)
    assert whoami(emulator, second).arn == f"acs:ram::{c_id}:assumed-role/Target/hop-2"
    with cloud_error("NoPermission", 403):
        assume(emulator, world["alice"], target)


def test_source_identity_persists_along_a_chain_and_cannot_change(emulator: EmulatorServer,
                                                                  world: dict[str, Any]) -> None:
    """Set on the first hop, the SourceIdentity stays with the chained session (a trust requiring it admits
    the next hop that names none) and cannot be replaced by another value (ledger STS-SOURCE-IDENTITY)."""
    a_id = world["A"]["account_id"]
    alice = f"acs:ram::{world['B']['account_id']}:user/alice"
    broker = make_role(emulator, world["A"], "Broker", trust(trusting({"RAM": alice})), STS_ASSUME)
    target = make_role(emulator, world["C"], "Target", trust(trusting(
        {"RAM": f"acs:ram::{a_id}:role/broker"}, {"StringEquals": {"sts:SourceIdentity": "alice@b"}})))
    hop = session_creds(assume(emulator, world["alice"], broker, source_identity="alice@b"), a_id)
    assume(emulator, hop, target, session="hop-2")
    assume(emulator, hop, target, session="hop-2", source_identity="alice@b")
    with cloud_error("InvalidParameter.SourceIdentity", 400):
        assume(emulator, hop, target, session="hop-2", source_identity="mallory")
    unmarked = session_creds(assume(emulator, world["alice"], broker), a_id)
    with cloud_error("NoPermission", 403):
        assume(emulator, unmarked, target, session="hop-2")


def test_get_caller_identity_for_each_identity_type(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """Root, RAM user and role session each report their documented identity fields."""
    b_id = world["B"]["account_id"]
    root = whoami(emulator, world["B"])
    assert (root.identity_type, root.arn, root.account_id, root.user_id) == ("Account", f"acs:ram::{b_id}:root",
                                                                              b_id, b_id)
    alice = whoami(emulator, world["alice"])
    user_id = ram_client(emulator, world["B"]).get_user(ram_models.GetUserRequest(user_name="Alice")).body.user.user_id
    assert (alice.identity_type, alice.arn, alice.user_id, alice.principal_id) == \
        ("RAMUser", f"acs:ram::{b_id}:user/Alice", user_id, user_id)
    body = assume(emulator, world["alice"], world["role_arn"])
    me = whoami(emulator, session_creds(body, world["A"]["account_id"]))
    assert (me.role_id, me.principal_id) == (body.assumed_role_user.assumed_role_id.split(":")[0],
                                             body.assumed_role_user.assumed_role_id)


def test_credentials_library_ram_role_arn_provider(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """The credentials library's ram_role_arn provider (GET, RPC v1, strict Expiration) obtains a session."""
    client = CredentialsClient(CredentialsConfig(
        type="ram_role_arn", access_key_id=world["alice"]["access_key_id"],
        access_key_secret=world["alice"]["access_key_secret"], role_arn=world["role_arn"],
        role_session_name="lib-session", role_session_expiration=900, sts_endpoint=emulator.url))
    credential = client.get_credential()
    assert credential.access_key_id.startswith("STS.") and credential.security_token.startswith("CAIS")
    session = {"account_id": world["A"]["account_id"], "access_key_id": credential.access_key_id,
               "access_key_secret": credential.access_key_secret, "security_token": credential.security_token}
    assert whoami(emulator, session).arn.endswith(f"assumed-role/{ROLE}/lib-session")


def test_authorization_switch_does_not_bypass_trust(emulator: EmulatorServer, world: dict[str, Any]) -> None:
    """With identity-policy checks off, Carol (no STS policy) gets in if trusted, Bob still not."""
    emulator.admin("POST", "/_emulator/settings", {"authorization": False})
    carol = f"acs:ram::{world['B']['account_id']}:user/Carol"
    arn = make_role(emulator, world["A"], "carol-only", trust(trusting({"RAM": carol})))
    assert assume(emulator, world["carol"], arn).credentials.access_key_id
    with cloud_error("NoPermission", 403):
        assume(emulator, world["bob"], arn)


# ----------------------------------------------------------------- OIDC
@pytest.fixture
def oidc(emulator: EmulatorServer, world: dict[str, Any]) -> tuple[OidcIdp, str]:
    """An OIDC provider in A and a role trusting it for one subject."""
    idp = OidcIdp.register(emulator, world["A"]["account_id"], client_ids=("rolegate", "other-client"))
    arn = make_role(emulator, world["A"], "ci-deployer", trust(trusting({"Federated": idp.arn}, {"StringEquals": {
        "oidc:iss": idp.issuer, "oidc:aud": ["rolegate"], "oidc:sub": ["repo:org/app:ref:refs/heads/main"]}})),
        "AliyunFCReadOnlyAccess")
    return idp, arn


def assume_oidc(emulator: EmulatorServer, idp: OidcIdp, role_arn: str, token: str, **fields: Any) -> Any:
    request = sts.AssumeRoleWithOIDCRequest(oidcprovider_arn=idp.arn, role_arn=role_arn, oidctoken=token,
                                            role_session_name="ci-run", **fields)
    return sts_client(emulator).assume_role_with_oidc(request).body


def test_oidc_token_of_the_trusted_subject_is_admitted(emulator: EmulatorServer, oidc: tuple[OidcIdp, str]) -> None:
    """An unsigned AssumeRoleWithOIDC with a valid token returns working credentials and the token info."""
    idp, arn = oidc
    body = assume_oidc(emulator, idp, arn, idp.token())
    assert_fully_read(body, absent={"source_identity", "verification_info"})
    assert (body.oidctoken_info.issuer, body.oidctoken_info.client_ids) == (idp.issuer, "rolegate")
    assert body.oidctoken_info.subject == "repo:org/app:ref:refs/heads/main"
    session = session_creds(body, idp.account_id)
    assert whoami(emulator, session).arn.endswith("assumed-role/ci-deployer/ci-run")
    assert list_functions(emulator, session) == 200


@pytest.mark.parametrize("bad,code", [
    ({"aud": "other-client"}, "AuthenticationFail.NoPermission"),  # a provider client, but not trusted
    ({"aud": "not-a-client"}, "AuthenticationFail.OIDCToken.AudienceNotMatch"),
    ({"iss": "https://evil.example"}, "AuthenticationFail.OIDCToken.IssuerNotMatch"),
    ({"sub": "repo:org/app:pull_request"}, "AuthenticationFail.NoPermission"),
    ({"key": "stranger"}, "AuthenticationFail.OIDCToken.InvalidSignature"),
])
def test_oidc_tokens_that_do_not_fit_are_refused(emulator: EmulatorServer, oidc: tuple[OidcIdp, str],
                                                 bad: dict[str, str], code: str) -> None:
    """Wrong audience, issuer, subject or signing key each fail with a 401."""
    idp, arn = oidc
    if "key" in bad:
        token = idp.token(key=signing_key(bad["key"]))
    elif "sub" in bad:
        token = idp.token(bad["sub"])
    else:
        token = idp.token(**bad)
    with cloud_error(code, 401):
        assume_oidc(emulator, idp, arn, token)


def test_expired_oidc_token_is_refused(emulator: EmulatorServer, oidc: tuple[OidcIdp, str]) -> None:
    """A token past its exp on the emulator clock fails with AuthenticationFail.OIDCToken.Expired."""
    idp, arn = oidc
    token = idp.token(lifetime=60)
    emulator.advance_clock(61)
    with cloud_error("AuthenticationFail.OIDCToken.Expired", 401):
        assume_oidc(emulator, idp, arn, token)


def test_oidc_unknown_provider_and_garbage_token(emulator: EmulatorServer, oidc: tuple[OidcIdp, str]) -> None:
    """An unregistered provider and a token that is not a JWT are refused."""
    idp, arn = oidc
    request = sts.AssumeRoleWithOIDCRequest(oidcprovider_arn=idp.arn.replace("ci-oidc", "ghost"), role_arn=arn,
                                            oidctoken=idp.token(), role_session_name="ci-run")
    with cloud_error("AuthenticationFail.NoPermission", 401):
        sts_client(emulator).assume_role_with_oidc(request)
    with cloud_error("AuthenticationFail.OIDCToken.Invalid", 401):
        assume_oidc(emulator, idp, arn, "not.a-jwt")


def test_credentials_library_oidc_role_arn_provider(emulator: EmulatorServer, oidc: tuple[OidcIdp, str],
                                                    tmp_path: Any) -> None:
    """The credentials library's oidc_role_arn provider works against the unsigned STS call."""
    idp, arn = oidc
    token_file = tmp_path / "token"
    token_file.write_text(idp.token())
    credential = CredentialsClient(CredentialsConfig(
        type="oidc_role_arn", role_arn=arn, oidc_provider_arn=idp.arn, oidc_token_file_path=str(token_file),
        role_session_name="lib-oidc", sts_endpoint=emulator.url)).get_credential()
    assert credential.access_key_id.startswith("STS.")


# ----------------------------------------------------------------- SAML
@pytest.fixture
def saml(emulator: EmulatorServer, world: dict[str, Any]) -> tuple[SamlIdp, str]:
    """A SAML provider in A and a role trusting it for the documented recipient."""
    idp = SamlIdp.register(emulator, world["A"]["account_id"])
    arn = make_role(emulator, world["A"], "sso-reader", trust(trusting({"Federated": [idp.arn]},
                                                                       {"StringEquals": {"saml:recipient": [SSO]}})),
                    "AliyunFCReadOnlyAccess")
    return idp, arn


def assume_saml(emulator: EmulatorServer, idp: SamlIdp, role_arn: str, assertion: str) -> Any:
    request = sts.AssumeRoleWithSAMLRequest(samlprovider_arn=idp.arn, role_arn=role_arn, samlassertion=assertion)
    return sts_client(emulator).assume_role_with_saml(request).body


def test_saml_assertion_for_the_sso_recipient_is_admitted(emulator: EmulatorServer,
                                                          saml: tuple[SamlIdp, str]) -> None:
    """A signed assertion addressed to the documented recipient yields a session named by the assertion."""
    idp, arn = saml
    body = assume_saml(emulator, idp, arn, idp.assertion(arn, session_name="alice.sso"))
    assert_fully_read(body, absent={"source_identity"})
    assert (body.samlassertion_info.recipient, body.samlassertion_info.subject) == (SSO, "alice@corp.example")
    assert body.assumed_role_user.arn.endswith(":role/sso-reader/alice.sso")
    assert list_functions(emulator, session_creds(body, idp.account_id)) == 200


def test_saml_assertion_for_another_recipient_is_refused(emulator: EmulatorServer,
                                                         saml: tuple[SamlIdp, str]) -> None:
    """An assertion addressed to another service provider is refused, whatever the trust says."""
    idp, arn = saml
    with cloud_error("AuthenticationFail.SAMLAssertion.Invalid", 401):
        assume_saml(emulator, idp, arn, idp.assertion(arn, recipient="https://evil.example/acs"))


def test_saml_assertion_must_be_addressed_to_the_sites_endpoint(emulator: EmulatorServer, world: dict[str, Any],
                                                               saml: tuple[SamlIdp, str]) -> None:
    """Each site has its own SAML endpoint, and only assertions addressed to it are accepted.

    A role trusting the international endpoint cannot be assumed on the China site (the default), whatever
    the trust says; on the international site the international endpoint is the one that works.
    """
    idp, china_arn = saml
    intl_arn = make_role(emulator, world["A"], "sso-intl", trust(trusting(
        {"Federated": [idp.arn]}, {"StringEquals": {"saml:recipient": [SSO_INTERNATIONAL]}})), "AliyunFCReadOnlyAccess")
    with cloud_error("AuthenticationFail.SAMLAssertion.Invalid", 401):
        assume_saml(emulator, idp, intl_arn, idp.assertion(intl_arn, recipient=SSO_INTERNATIONAL))
    with cloud_error("AuthenticationFail.NoPermission", 401):
        assume_saml(emulator, idp, intl_arn, idp.assertion(intl_arn))
    emulator.admin("POST", "/_emulator/settings", {"site": "international"})
    assert assume_saml(emulator, idp, intl_arn, idp.assertion(intl_arn, recipient=SSO_INTERNATIONAL)).credentials
    with cloud_error("AuthenticationFail.SAMLAssertion.Invalid", 401):
        assume_saml(emulator, idp, china_arn, idp.assertion(china_arn))


def test_saml_bad_signatures_are_refused(emulator: EmulatorServer, saml: tuple[SamlIdp, str]) -> None:
    """An assertion signed by another key, or altered after signing, fails signature verification."""
    idp, arn = saml
    for assertion in (idp.assertion(arn, key=signing_key("stranger")),
                      idp.assertion(arn, recipient="https://evil.example/acs", tamper={"Recipient": SSO})):
        with cloud_error("AuthenticationFail.SAMLAssertion.InvalidSignature", 401):
            assume_saml(emulator, idp, arn, assertion)


def test_saml_assertion_expires_and_must_name_the_role(emulator: EmulatorServer, world: dict[str, Any],
                                                       saml: tuple[SamlIdp, str]) -> None:
    """A stale assertion, or one whose Role attribute names another role, is refused."""
    idp, arn = saml
    stale = idp.assertion(arn, lifetime=30)
    emulator.advance_clock(31)
    with cloud_error("AuthenticationFail.SAMLAssertion.Expired", 401):
        assume_saml(emulator, idp, arn, stale)
    other = f"acs:ram::{world['A']['account_id']}:role/{ROLE.lower()}"
    with cloud_error("AuthenticationFail.NoPermission", 401):
        assume_saml(emulator, idp, arn, idp.assertion(other))
    with cloud_error("InvalidParameter.SAMLAssertion", 400):
        assume_saml(emulator, idp, arn, "PHhtbD4=!!")
