"""Identity providers STS federates with: OIDC and SAML, each an entity of one account.

Serves the Ims calls Rolegate makes and admin endpoints that publish keys.
SAML assertions use a compact signature scheme of the emulator's own, not
XML-DSig: docs/design/emulator.md.
"""
from __future__ import annotations

import base64
import binascii
import copy
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ..clock import iso
from ..errors import CloudError
from ..policy.conditions import parse_time
from ..registry import admin, rpc
from ..world import Account, World

SAML_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAML_PROTOCOL, "saml": SAML_ASSERTION, "ds": XMLDSIG}
ROLE_ATTRIBUTE = "https://www.aliyun.com/SAML-Role/Attributes/Role"
SESSION_NAME_ATTRIBUTE = "https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName"
_PROVIDER_NAME = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


@dataclass
class OidcProvider:
    name: str
    arn: str
    issuer: str
    client_ids: list[str]
    public_key: rsa.RSAPublicKey | None  # None: the issuer's published keys (``/_emulator/oidc-keys``)
    fingerprints: list[str] = field(default_factory=list)
    description: str = ""
    created: str = ""


@dataclass
class SamlProvider:
    name: str
    arn: str
    public_key: rsa.RSAPublicKey
    metadata: str = ""  # EncodedSAMLMetadataDocument as given
    description: str = ""
    created: str = ""


@dataclass
class IdpState:
    """One account's identity providers, keyed by lower-cased name."""

    oidc: dict[str, OidcProvider] = field(default_factory=dict)
    saml: dict[str, SamlProvider] = field(default_factory=dict)


def _provider_arn(account_id: str, kind: str, name: str) -> str:
    """How RAM names the ``kind`` (``OIDC`` or ``SAML``) provider ``name`` of an account."""
    return f"acs:ram::{account_id}:{kind.lower()}-provider/{name}"


def idp_state(account: Account) -> IdpState:
    # ledger: STS-IDP-OWN-ACCOUNT
    return account.state("idp", lambda _account: IdpState())


def auth_fail(code: str, message: str) -> CloudError:
    """Federation failures answer 401, as the STS error-code table lists them."""
    return CloudError(code, message, 401)


# ----------------------------------------------------------------- admin API
def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def _provider_name(body: dict[str, Any]) -> str:
    name = _text(body, "name")
    if not _PROVIDER_NAME.match(name):
        raise ValueError("name may have 1-128 letters, digits, '.', '_' and '-'")
    return name


def _rsa_key(pem: str) -> rsa.RSAPublicKey:
    data = pem.encode()
    key = (x509.load_pem_x509_certificate(data).public_key() if b"CERTIFICATE" in data
           else load_pem_public_key(data))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the key must be an RSA public key")
    return key


@admin("POST", "/_emulator/oidc-providers")
def register_oidc_provider(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    account = world.account(_text(body, "account_id"))
    name, issuer = _provider_name(body), _text(body, "issuer")
    client_ids = body.get("client_ids")
    if not isinstance(client_ids, list) or not client_ids or not all(isinstance(c, str) and c for c in client_ids):
        raise ValueError("client_ids must be a non-empty list of strings")
    arn = _provider_arn(account.account_id, "OIDC", name)
    with world.lock:
        idp_state(account).oidc[name.lower()] = OidcProvider(name, arn, issuer, list(client_ids),
                                                            _rsa_key(_text(body, "public_key_pem")))
    return 201, {"arn": arn, "name": name, "issuer": issuer, "client_ids": client_ids}


@admin("POST", "/_emulator/saml-providers")
def register_saml_provider(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    account = world.account(_text(body, "account_id"))
    name = _provider_name(body)
    arn = _provider_arn(account.account_id, "SAML", name)
    with world.lock:
        idp_state(account).saml[name.lower()] = SamlProvider(name, arn, _rsa_key(_text(body, "certificate_pem")))
    return 201, {"arn": arn, "name": name}


@admin("POST", "/_emulator/oidc-keys")
def publish_oidc_keys(world: World, body: dict[str, Any], query: dict[str, str]) -> tuple[int, Any]:
    issuer = _text(body, "issuer")
    with world.lock:
        world.extras.setdefault("oidc_keys", {})[issuer] = _rsa_key(_text(body, "public_key_pem"))
    return 201, {"issuer": issuer}


def oidc_key(world: World, provider: OidcProvider) -> rsa.RSAPublicKey | None:
    """The key that verifies ``provider``'s tokens: its own, else the one its issuer published."""
    return provider.public_key or (world.extras.get("oidc_keys") or {}).get(provider.issuer)


# ------------------------------------------------------------------ Ims API
# ledger: IMS-OIDC-LIMITS
_OIDC_ISSUER = re.compile(r"^https://[^?#@\s]{1,247}$")
_FINGERPRINT = re.compile(r"^[A-Za-z0-9]{1,128}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_:/]{0,127}$")
MAX_CLIENT_IDS, MAX_FINGERPRINTS = 50, 5  # CreateOIDCProvider's documented limits


def _invalid(name: str, message: str) -> CloudError:
    return CloudError(f"InvalidParameter.{name}", message, 400)


def _api_name(req: Any, param: str) -> str:
    name = req.param(param, required=True) or ""
    if not _PROVIDER_NAME.match(name) or name[0] in "._-" or name[-1] in "._-":
        raise _invalid(param, f"The parameter {param} must be 1-128 letters, digits, '.', '_' or '-', "
                              "not starting or ending with one of those.")
    return name


def _listed(req: Any, param: str, pattern: re.Pattern[str], limit: int, *, required: bool) -> list[str]:
    values = [v.strip() for v in (req.param(param) or "").split(",") if v.strip()]
    if (required and not values) or len(values) > limit or not all(pattern.match(v) for v in values):
        raise _invalid(param, f"The parameter {param} must list {'1' if required else '0'}-{limit} comma-separated "
                              "values of the documented form.")
    return list(dict.fromkeys(values))


def _provider_arn_of(req: Any, kind: str) -> list[str]:
    # ledger: IMS-IDP-AUTH
    return [_provider_arn(req.caller.account_id, kind, req.param(f"{kind}ProviderName") or "*")]


def _refuse_taken(providers: dict[str, Any], kind: str, name: str) -> None:
    """A provider name is unique, case-insensitively, among an account's providers of its kind."""
    if name.lower() in providers:
        raise CloudError(f"EntityAlreadyExists.{kind}Provider", f"The {kind} provider {name} already exists.", 409)


def _stored(req: Any, kind: str, missing_code: str) -> Any:
    """The provider ``<kind>ProviderName`` names (kind ``OIDC`` or ``SAML``), else ``missing_code`` (404)."""
    name = req.param(f"{kind}ProviderName", required=True) or ""
    provider = getattr(idp_state(req.account), kind.lower()).get(name.lower())
    if provider is None:  # ledger: IMS-IDP-NOT-EXIST
        raise CloudError(missing_code, f"The {kind} provider {name} does not exist.", 404)
    return provider


def _oidc_view(provider: OidcProvider) -> dict[str, Any]:
    return {"OIDCProviderName": provider.name, "Arn": provider.arn, "IssuerUrl": provider.issuer,
            "ClientIds": ",".join(provider.client_ids), "Fingerprints": ",".join(provider.fingerprints),
            "Description": provider.description, "CreateDate": provider.created, "UpdateDate": provider.created}


def _saml_view(provider: SamlProvider) -> dict[str, Any]:
    return {"SAMLProviderName": provider.name, "Arn": provider.arn, "Description": provider.description,
            "EncodedSAMLMetadataDocument": provider.metadata, "CreateDate": provider.created,
            "UpdateDate": provider.created}


# ledger: IMS-IDP-API, IMS-OIDC-LIMITS
@rpc("ims", "CreateOIDCProvider", ram_action="ram:CreateOIDCProvider", resource=lambda req: ["*"], write=True)
def create_oidc_provider(req: Any) -> dict[str, Any]:
    name = _api_name(req, "OIDCProviderName")
    issuer = req.param("IssuerUrl", required=True) or ""
    if not _OIDC_ISSUER.match(issuer):
        raise _invalid("IssuerUrl", "The IssuerUrl must be an https URL without query, fragment or user info.")
    client_ids = _listed(req, "ClientIds", _CLIENT_ID, MAX_CLIENT_IDS, required=False)
    fingerprints = _listed(req, "Fingerprints", _FINGERPRINT, MAX_FINGERPRINTS, required=True)
    state = idp_state(req.account)
    with req.world.lock:
        _refuse_taken(state.oidc, "OIDC", name)
        if any(p.issuer == issuer for p in state.oidc.values()):
            raise CloudError("EntityAlreadyExists.OIDCProvider.IssuerUrl",
                             "The IssuerUrl must be unique in the account.", 409)
        provider = OidcProvider(name, _provider_arn(req.caller.account_id, "OIDC", name), issuer, client_ids, None,
                                fingerprints, req.param("Description") or "", iso(req.world.clock.now()))
        state.oidc[name.lower()] = provider
    return {"OIDCProvider": _oidc_view(provider)}


# ledger: IMS-IDP-API
@rpc("ims", "GetOIDCProvider", ram_action="ram:GetOIDCProvider",
     resource=lambda req: _provider_arn_of(req, "OIDC"))
def get_oidc_provider(req: Any) -> dict[str, Any]:
    return {"OIDCProvider": _oidc_view(_stored(req, "OIDC", "EntityNotExist.OIDCProvider"))}


def _metadata_key(encoded: str) -> rsa.RSAPublicKey:
    """The signing key in an IdP's SAML metadata document (base64, as CreateSAMLProvider takes it)."""
    try:
        root = ET.fromstring(base64.b64decode("".join(encoded.split()), validate=True))
        text = next(e.text for e in root.iter(f"{{{XMLDSIG}}}X509Certificate") if e.text and e.text.strip())
        key = x509.load_der_x509_certificate(base64.b64decode("".join(text.split()))).public_key()
    except (binascii.Error, ValueError, ET.ParseError, StopIteration):
        raise _invalid("EncodedSAMLMetadataDocument",
                       "The metadata document must be base64 XML with a ds:X509Certificate.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise _invalid("EncodedSAMLMetadataDocument", "The metadata document's certificate must hold an RSA key.")
    return key


# ledger: IMS-IDP-API, IMS-SAML-CREATE
@rpc("ims", "CreateSAMLProvider", ram_action="ram:CreateSAMLProvider", resource=lambda req: ["*"], write=True)
def create_saml_provider(req: Any) -> dict[str, Any]:
    name = _api_name(req, "SAMLProviderName")
    encoded = req.param("EncodedSAMLMetadataDocument", required=True) or ""
    key = _metadata_key(encoded)
    state = idp_state(req.account)
    with req.world.lock:
        _refuse_taken(state.saml, "SAML", name)
        provider = SamlProvider(name, _provider_arn(req.caller.account_id, "SAML", name), key, encoded,
                                req.param("Description") or "", iso(req.world.clock.now()))
        state.saml[name.lower()] = provider
    return {"SAMLProvider": _saml_view(provider)}


# ledger: IMS-IDP-API
@rpc("ims", "GetSAMLProvider", ram_action="ram:GetSAMLProvider",
     resource=lambda req: _provider_arn_of(req, "SAML"))
def get_saml_provider(req: Any) -> dict[str, Any]:
    return {"SAMLProvider": _saml_view(_stored(req, "SAML", "EntityNotExist.SAMLProviderError"))}


# ----------------------------------------------------------------- OIDC
def verify_oidc_token(provider: OidcProvider, token: str, now: datetime,
                      key: rsa.RSAPublicKey | None = None) -> dict[str, Any]:
    """The token's claims, once signature, issuer, audience and lifetime are checked."""
    if token.count(".") != 2:
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token must have three '.'-separated parts.")
    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token cannot be decoded.") from None
    if algorithm != "RS256":
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", f"The JWT algorithm {algorithm} is not supported.")
    key = key or provider.public_key
    if key is None:
        raise auth_fail("AuthenticationFail.OIDCToken.InvalidSignature",
                        "The OIDC token signature cannot be verified: the issuer published no key.")
    try:
        claims = jwt.decode(token, key, algorithms=["RS256"],
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                     "verify_aud": False, "verify_iss": False})
    except jwt.InvalidSignatureError:
        raise auth_fail("AuthenticationFail.OIDCToken.InvalidSignature",
                        "The OIDC token signature is invalid.") from None
    except jwt.PyJWTError:
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token content is invalid.") from None
    if claims.get("iss") != provider.issuer:
        raise auth_fail("AuthenticationFail.OIDCToken.IssuerNotMatch", "The issuer of the OIDC token does not match.")
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else audiences
    if not isinstance(audiences, list) or not set(map(str, audiences)) & set(provider.client_ids):
        raise auth_fail("AuthenticationFail.OIDCToken.AudienceNotMatch",
                        "The audience of the OIDC token does not match.")
    expires, not_before = claims.get("exp"), claims.get("nbf")
    if not isinstance(expires, (int, float)) or not isinstance(claims.get("sub"), str):
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token needs exp and sub claims.")
    if now.timestamp() >= expires:
        raise auth_fail("AuthenticationFail.OIDCToken.Expired", "The OIDC token has expired.")
    if isinstance(not_before, (int, float)) and now.timestamp() < not_before:
        raise auth_fail("AuthenticationFail.OIDCToken.Invalid", "The OIDC token is not valid yet.")
    return {**claims, "aud": [str(a) for a in audiences]}


# ----------------------------------------------------------------- SAML
@dataclass(frozen=True)
class SamlAssertion:
    issuer: str
    subject: str
    subject_type: str
    recipient: str
    attributes: dict[str, list[str]]


def assertion_signing_bytes(assertion: ET.Element) -> bytes:
    """The bytes the compact scheme signs: the Assertion minus its ds:Signature, canonicalized."""
    unsigned = copy.deepcopy(assertion)
    for signature in unsigned.findall("ds:Signature", NS):
        unsigned.remove(signature)
    return ET.canonicalize(ET.tostring(unsigned, encoding="unicode"), rewrite_prefixes=True).encode()


def _malformed(problem: str) -> CloudError:
    return CloudError("InvalidParameter.SAMLAssertion", f"The SAML assertion is invalid: {problem}.", 400)


def _parse(encoded: str) -> ET.Element:
    try:
        return ET.fromstring(base64.b64decode("".join(encoded.split()), validate=True))
    except (binascii.Error, ValueError, ET.ParseError):
        raise _malformed("not base64-encoded XML") from None


def _check_window(not_before: str | None, not_on_or_after: str | None, now: datetime) -> None:
    end = parse_time(not_on_or_after) if not_on_or_after else None
    start = parse_time(not_before) if not_before else None
    if (not_on_or_after and end is None) or (not_before and start is None):
        raise _malformed("a NotBefore/NotOnOrAfter time cannot be read")
    if end is not None and now >= end:
        raise auth_fail("AuthenticationFail.SAMLAssertion.Expired", "The SAML assertion has expired.")
    if start is not None and now < start:
        raise auth_fail("AuthenticationFail.SAMLAssertion.Invalid", "The SAML assertion is not valid yet.")


def verify_saml_assertion(provider: SamlProvider, encoded: str, now: datetime) -> SamlAssertion:
    """Decode a base64 SAML Response (or bare Assertion), verify its compact signature and validity window."""
    root = _parse(encoded)
    assertion = root if root.tag == f"{{{SAML_ASSERTION}}}Assertion" else root.find("saml:Assertion", NS)
    if assertion is None:
        raise _malformed("no saml:Assertion element")
    signature = assertion.findtext("ds:Signature/ds:SignatureValue", default="", namespaces=NS).strip()
    try:
        provider.public_key.verify(base64.b64decode(signature, validate=True), assertion_signing_bytes(assertion),
                                   padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise auth_fail("AuthenticationFail.SAMLAssertion.InvalidSignature",
                        "The signature of the SAML assertion is invalid.") from None
    confirmation = assertion.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    if confirmation is None or name_id is None:
        raise _malformed("no Subject NameID or SubjectConfirmationData")
    _check_window(None, confirmation.get("NotOnOrAfter"), now)
    conditions = assertion.find("saml:Conditions", NS)
    if conditions is not None:
        _check_window(conditions.get("NotBefore"), conditions.get("NotOnOrAfter"), now)
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.findall("saml:AttributeStatement/saml:Attribute", NS):
        values = [(v.text or "").strip() for v in attribute.findall("saml:AttributeValue", NS)]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    return SamlAssertion(issuer=(assertion.findtext("saml:Issuer", default="", namespaces=NS)).strip(),
                         subject=(name_id.text or "").strip(), subject_type=name_id.get("Format", ""),
                         recipient=confirmation.get("Recipient", ""), attributes=attributes)
