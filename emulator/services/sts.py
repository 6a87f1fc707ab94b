"""The emulated STS API (2015-04-01): AssumeRole, AssumeRoleWithOIDC, AssumeRoleWithSAML, GetCallerIdentity.

AssumeRole makes the real service's checks in its order; a trust refusal and a
missing permission answer the same bare ``NoPermission`` (docs/design/emulator.md).
"""
from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone
from typing import Any

from ..clock import iso
from ..errors import CloudError, no_permission, not_found
from ..identity import Identity
from ..policy import authorize, request_context, trust_caller, trust_verdict
from ..policy_grammar import validate_permission_policy
from ..protocol import ApiRequest
from ..registry import rpc
from ..site import site_of
from ..world import World, random_token
from .idp import (ROLE_ATTRIBUTE, SESSION_NAME_ATTRIBUTE, auth_fail, idp_state, oidc_key, verify_oidc_token,
                  verify_saml_assertion)
from .ram import ram_state
from .ram_models import Role

DEFAULT_DURATION, MIN_DURATION = 3600, 900  # ledger: STS-DURATION
POLICY_CHARS = 2048  # ledger: STS-SESSION-POLICY
TOKEN_CHARS = 320  # ledger: STS-CREDENTIALS
_ROLE_ARN = re.compile(r"^acs:ram::(\d+):role/([A-Za-z0-9.@_-]{1,64})$")  # ledger: STS-ROLE-ARN-FORMAT
# ledger: STS-FEDERATION
_PROVIDER_ARN = re.compile(r"^acs:ram::(\d+):(saml-provider|oidc-provider)/([A-Za-z0-9._-]{1,128})$")
_SESSION_NAME = re.compile(r"^[A-Za-z0-9.@_-]{2,64}$")  # ledger: STS-SESSION-NAME
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)  # ledger: STS-EXTERNALID-FORMAT
_SOURCE_IDENTITY = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)  # ledger: STS-SOURCE-IDENTITY
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def _invalid(param: str, message: str) -> CloudError:
    return CloudError(f"InvalidParameter.{param}", message, 400)


# ----------------------------------------------------------------- parameters
def _session_name(value: str | None) -> str:
    if value is None or not _SESSION_NAME.match(value):
        raise _invalid("RoleSessionName", "The parameter RoleSessionName must be 2-64 letters, digits, '.', '@', "
                                          "'_' or '-'.")
    return value


def _duration(req: ApiRequest) -> int:  # ledger: STS-DURATION
    raw = req.param("DurationSeconds")
    if raw is None:
        return DEFAULT_DURATION
    try:
        value = int(raw)
    except ValueError:
        raise _invalid("DurationSeconds", "The parameter DurationSeconds must be an integer.") from None
    if value < MIN_DURATION:
        raise _invalid("DurationSeconds", f"The Min value of DurationSeconds is {MIN_DURATION} seconds.")
    return value


def _check_max_duration(duration: int, role: Role) -> None:  # ledger: STS-DURATION
    if duration > role.max_session_duration:
        raise _invalid("DurationSeconds", f"The Max value of DurationSeconds is {role.max_session_duration} seconds "
                                          "(the role's MaxSessionDuration).")


def _session_policy(req: ApiRequest) -> dict[str, Any] | None:  # ledger: STS-SESSION-POLICY
    text = req.param("Policy")
    if text is None:
        return None
    if len(text) > POLICY_CHARS:
        raise _invalid("PolicySize", f"The policy must be at most {POLICY_CHARS} characters.")
    try:
        return validate_permission_policy(text)
    except CloudError as err:
        raise _invalid("PolicyGrammar", err.message) from None


def _optional(req: ApiRequest, name: str, pattern: re.Pattern[str], rule: str) -> str:
    value = req.param(name)
    if value is None:
        return ""
    if not pattern.match(value):
        raise _invalid(name, f"The parameter {name} is wrongly formed: {rule}.")
    return value


def _role_arn(value: str) -> tuple[str, str]:
    match = _ROLE_ARN.match(value)
    if not match:
        raise _invalid("RoleArn", "The parameter RoleArn must look like acs:ram::<account-id>:role/<role-name>.")
    return match.group(1), match.group(2)


def _provider_arn(value: str, kind: str, param: str) -> tuple[str, str]:
    match = _PROVIDER_ARN.match(value)
    if not match or match.group(2) != kind:
        raise _invalid(param, f"The parameter {param} must look like acs:ram::<account-id>:{kind}/<name>.")
    return match.group(1), match.group(3)


def _find_role(world: World, account_id: str, name: str) -> Role:
    account = world.find_account(account_id)
    role = ram_state(account).find_role(name) if account else None
    if role is None:
        raise not_found("EntityNotExist.Role", "The specified role does not exist.")
    return role


# ----------------------------------------------------------------- issuing
def _issue(world: World, role: Role, account_id: str, session_name: str, duration: int,
           session_policy: dict[str, Any] | None, source_identity: str = "") -> dict[str, Any]:
    """Mint the session's credentials and render the fields every AssumeRole* response shares."""
    # ledger: STS-CREDENTIALS, STS-TOKEN-EXPIRY, RAM-ROLE-ARN
    expires = (world.clock.now() + timedelta(seconds=duration)).replace(microsecond=0)
    principal_id = f"{role.role_id}:{session_name}"
    identity = Identity("assumed-role", account_id, role.name, session_name=session_name, role_id=role.role_id,
                        principal_id=principal_id, session_policy=session_policy, source_identity=source_identity)
    record = world.issue_key(identity, prefix="STS.", token="CAIS" + random_token(TOKEN_CHARS, _TOKEN_ALPHABET),
                             expires_at=expires)
    return {
        "AssumedRoleUser": {"Arn": f"{role.arn}/{session_name}", "AssumedRoleId": principal_id},
        "Credentials": {"AccessKeyId": record.access_key_id, "AccessKeySecret": record.secret,
                        "SecurityToken": record.security_token, "Expiration": iso(expires)},
    }


def _refuse(err: CloudError, reason: str) -> CloudError:
    """Attach the real reason for the call log without showing it to the caller."""
    # ledger: STS-REFUSAL-CODE
    err.log_detail = reason  # type: ignore[attr-defined]
    return err


def _same_account(provider_account: str, role_account: str) -> None:
    """A role trusts identity providers of its own account only: an IdP is an entity of the account that
    owns the role (the trust-policy examples name an IdP of the current account, and CreateSAMLProvider /
    CreateOIDCProvider create one in the caller's account)."""
    # ledger: STS-IDP-OWN-ACCOUNT, STS-IDP-REFUSAL-CODE
    if provider_account != role_account:
        raise _refuse(auth_fail("AuthenticationFail.NoPermission", "There is no permission."),
                      f"the identity provider belongs to account {provider_account}, the role to {role_account}")


def _admit(role: Role, caller: dict[str, Any], refusal: CloudError) -> None:
    # ledger: RAM-TRUST-NOBODY
    allowed, reason = trust_verdict(role.trust_policy, caller)
    if not allowed:
        raise _refuse(refusal, reason)


# ----------------------------------------------------------------- actions
@rpc("sts", "AssumeRole")
def assume_role(req: ApiRequest) -> dict[str, Any]:
    role_arn = req.param("RoleArn", required=True) or ""
    account_id, role_name = _role_arn(role_arn)
    session_name = _session_name(req.param("RoleSessionName", required=True))
    duration = _duration(req)
    external_id = _optional(req, "ExternalId", _EXTERNAL_ID, "2-1224 characters of letters, digits and _+=,.@:/-")
    source_identity = _optional(req, "SourceIdentity", _SOURCE_IDENTITY,
                                "2-64 characters of letters, digits and _+=,.@- (so no acs:/aliyun: prefix)")
    session_policy = _session_policy(req)
    caller, world = req.caller, req.world
    if caller.kind == "root":
        raise CloudError("NoPermission", "Roles may not be assumed by root accounts.", 403)  # ledger: STS-ROOT-CALLER
    if source_identity and caller.source_identity and source_identity != caller.source_identity:
        raise _invalid("SourceIdentity", "The SourceIdentity of a chained session cannot change.")
    if world.enforce_authorization:  # ledger: STS-AUTH-ASSUMEROLE
        try:
            authorize(world, caller, "sts:AssumeRole", [role_arn], req)
        except CloudError as err:
            raise _refuse(no_permission("sts:AssumeRole", role_arn), err.detail or err.message) from None
    role = _find_role(world, account_id, role_name)
    principal_type = "role" if caller.kind == "assumed-role" else caller.kind
    # ledger: STS-EXTERNALID-KEY
    context = request_context(world, req, {"sts:ExternalId": external_id or None,
                                           "sts:RoleSessionName": session_name,
                                           "sts:SourceIdentity": source_identity or caller.source_identity or None})
    _admit(role, trust_caller(principal_type, caller.account_id, caller.name, **context),
           no_permission("sts:AssumeRole", role_arn))
    _check_max_duration(duration, role)
    result = _issue(world, role, account_id, session_name, duration, session_policy,
                    source_identity or caller.source_identity)
    if source_identity:
        result["SourceIdentity"] = source_identity
    return result


@rpc("sts", "AssumeRoleWithOIDC", anonymous=True)  # ledger: STS-FEDERATION
def assume_role_with_oidc(req: ApiRequest) -> dict[str, Any]:
    provider_account, provider_name = _provider_arn(req.param("OIDCProviderArn", required=True) or "",
                                                    "oidc-provider", "OIDCProviderArn")
    account_id, role_name = _role_arn(req.param("RoleArn", required=True) or "")
    token = req.param("OIDCToken", required=True) or ""
    if not 4 <= len(token) <= 20000:
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token must be 4-20000 characters.")
    session_name = _session_name(req.param("RoleSessionName", required=True))
    duration, session_policy, world = _duration(req), _session_policy(req), req.world
    _same_account(provider_account, account_id)
    account = world.find_account(provider_account)
    provider = idp_state(account).oidc.get(provider_name.lower()) if account else None
    if provider is None:  # ledger: STS-IDP-REFUSAL-CODE
        raise auth_fail("AuthenticationFail.NoPermission", "No such OIDC provider is registered.")
    claims = verify_oidc_token(provider, token, world.clock.now(), oidc_key(world, provider))
    role = _find_role(world, account_id, role_name)
    context = request_context(world, req, {"oidc:iss": claims["iss"], "oidc:aud": claims["aud"],
                                           "oidc:sub": claims["sub"]})
    _admit(role, trust_caller("oidc-provider", provider_account, provider.name, **context),
           auth_fail("AuthenticationFail.NoPermission", "There is no permission."))
    _check_max_duration(duration, role)
    result = _issue(world, role, account_id, session_name, duration, session_policy)
    info = {"Subject": claims["sub"], "Issuer": claims["iss"], "ClientIds": ",".join(claims["aud"]),
            "ExpirationTime": iso(datetime.fromtimestamp(claims["exp"], timezone.utc))}
    if isinstance(claims.get("iat"), (int, float)):
        info["IssuanceTime"] = iso(datetime.fromtimestamp(claims["iat"], timezone.utc))
    result["OIDCTokenInfo"] = info
    return result


@rpc("sts", "AssumeRoleWithSAML", anonymous=True)  # ledger: STS-FEDERATION
def assume_role_with_saml(req: ApiRequest) -> dict[str, Any]:
    provider_arn = req.param("SAMLProviderArn", required=True) or ""
    provider_account, provider_name = _provider_arn(provider_arn, "saml-provider", "SAMLProviderArn")
    role_arn = req.param("RoleArn", required=True) or ""
    account_id, role_name = _role_arn(role_arn)
    encoded = req.param("SAMLAssertion", required=True) or ""
    duration, session_policy, world = _duration(req), _session_policy(req), req.world
    _same_account(provider_account, account_id)
    account = world.find_account(provider_account)
    provider = idp_state(account).saml.get(provider_name.lower()) if account else None
    if provider is None:  # AssumeRoleWithSAML's error table. ledger: STS-SAML-PROVIDER-NOT-EXIST
        raise CloudError("EntityNotExist.SAMLProvider", "Can not find SAML provider.", 404)
    assertion = verify_saml_assertion(provider, encoded, world.clock.now())
    if assertion.recipient != site_of(world).saml_endpoint:  # ledger: SITE-SAML-RECIPIENT
        raise _refuse(auth_fail("AuthenticationFail.SAMLAssertion.Invalid",
                                "The SAML assertion is not addressed to this site's SAML endpoint."),
                      f"the assertion's Recipient is {assertion.recipient!r}, not {site_of(world).saml_endpoint!r}")
    wanted = {role_arn.lower(), provider_arn.lower()}
    if not any({p.strip().lower() for p in pair.split(",")} == wanted
               for pair in assertion.attributes.get(ROLE_ATTRIBUTE, [])):
        raise _refuse(auth_fail("AuthenticationFail.NoPermission", "There is no permission."),
                      "the assertion's Role attribute does not name this role and provider")
    names = assertion.attributes.get(SESSION_NAME_ATTRIBUTE) or [""]
    if not _SESSION_NAME.match(names[0]):
        raise CloudError("InvalidParameter.SAMLAssertion",
                         "The SAML assertion needs a RoleSessionName attribute of 2-64 letters, digits, '.', '@', "
                         "'_' or '-'.", 400)
    role = _find_role(world, account_id, role_name)
    context = request_context(world, req, {"saml:recipient": assertion.recipient, "saml:sub": assertion.subject,
                                           "saml:iss": assertion.issuer})
    _admit(role, trust_caller("saml-provider", provider_account, provider.name, **context),
           auth_fail("AuthenticationFail.NoPermission", "There is no permission."))
    _check_max_duration(duration, role)
    result = _issue(world, role, account_id, names[0], duration, session_policy)
    result["SAMLAssertionInfo"] = {"SubjectType": assertion.subject_type, "Subject": assertion.subject,
                                   "Recipient": assertion.recipient, "Issuer": assertion.issuer}
    return result


@rpc("sts", "GetCallerIdentity")  # ledger: STS-CALLER-IDENTITY
def get_caller_identity(req: ApiRequest) -> dict[str, Any]:
    caller = req.caller
    body: dict[str, Any] = {"AccountId": caller.account_id, "Arn": caller.arn}
    if caller.kind == "root":
        return {**body, "IdentityType": "Account", "UserId": caller.account_id, "PrincipalId": caller.account_id}
    if caller.kind == "user":
        user = ram_state(req.account).find_user(caller.name)
        user_id = user.user_id if user else caller.principal_id
        return {**body, "IdentityType": "RAMUser", "UserId": user_id, "PrincipalId": user_id}
    return {**body, "IdentityType": "AssumedRoleUser", "RoleId": caller.role_id, "PrincipalId": caller.principal_id}
