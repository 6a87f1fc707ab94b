"""Test identity providers: an RSA key registered with the emulator that mints OIDC tokens and SAML assertions.

Times come from the emulator's clock, so a test that advances it sees tokens
expire. SAML assertions use the emulator's compact signature scheme (see
:mod:`emulator.services.idp`), not XML-DSig.
"""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from emulator import EmulatorServer
from emulator.services.idp import (ROLE_ATTRIBUTE, SAML_ASSERTION, SAML_PROTOCOL, SESSION_NAME_ATTRIBUTE, XMLDSIG,
                                   assertion_signing_bytes)

SSO_RECIPIENT = "https://signin.aliyun.com/saml-role/sso"  # the China site's, the emulator's default


@lru_cache(maxsize=None)
def signing_key(label: str = "idp") -> rsa.RSAPrivateKey:
    """One RSA key per label for the whole test run (generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str) -> str:
    """The X.509 certificate an IdP publishes in its metadata, PEM."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def emulator_now(emulator: EmulatorServer) -> datetime:
    return datetime.fromtimestamp(emulator.admin("GET", "/_emulator/clock")["epoch"], timezone.utc)


@dataclass
class OidcIdp:
    emulator: EmulatorServer
    account_id: str
    name: str
    issuer: str
    client_ids: tuple[str, ...]
    key: rsa.RSAPrivateKey
    arn: str

    @classmethod
    def register(cls, emulator: EmulatorServer, account_id: str, name: str = "ci-oidc",
                 issuer: str = "https://oidc.ci.example", client_ids: tuple[str, ...] = ("rolegate",)) -> "OidcIdp":
        key = signing_key("oidc")
        reply = emulator.admin("POST", "/_emulator/oidc-providers", {
            "account_id": account_id, "name": name, "issuer": issuer, "client_ids": list(client_ids),
            "public_key_pem": public_pem(key)})
        return cls(emulator, account_id, name, issuer, client_ids, key, reply["arn"])

    def token(self, sub: str = "repo:org/app:ref:refs/heads/main", *, aud: Any = None, iss: str | None = None,
              lifetime: int = 300, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        """A signed ID token; override ``aud``/``iss``/``key`` to make a bad one."""
        now = int(emulator_now(self.emulator).timestamp())
        payload = {"iss": iss or self.issuer, "aud": aud or self.client_ids[0], "sub": sub, "iat": now,
                   "exp": now + lifetime, **claims}
        return jwt.encode(payload, key or self.key, algorithm="RS256")


def _sub(parent: ET.Element, ns: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    element.text = text
    return element


@dataclass
class SamlIdp:
    emulator: EmulatorServer
    account_id: str
    name: str
    entity_id: str
    key: rsa.RSAPrivateKey
    arn: str

    @classmethod
    def register(cls, emulator: EmulatorServer, account_id: str, name: str = "corp-idp",
                 entity_id: str = "https://idp.corp.example/metadata") -> "SamlIdp":
        key = signing_key("saml")
        reply = emulator.admin("POST", "/_emulator/saml-providers", {
            "account_id": account_id, "name": name, "certificate_pem": self_signed_certificate(key, name)})
        return cls(emulator, account_id, name, entity_id, key, reply["arn"])

    def assertion(self, role_arn: str, *, recipient: str = SSO_RECIPIENT, session_name: str = "alice",
                  subject: str = "alice@corp.example", lifetime: int = 300, key: rsa.RSAPrivateKey | None = None,
                  tamper: dict[str, str] | None = None) -> str:
        """A base64 SAML Response naming ``role_arn`` with this provider; ``tamper`` rewrites
        SubjectConfirmationData attributes after signing."""
        now = emulator_now(self.emulator)
        expires = (now + timedelta(seconds=lifetime)).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = ET.Element(f"{{{SAML_PROTOCOL}}}Response", {"Version": "2.0", "Destination": recipient})
        _sub(response, SAML_ASSERTION, "Issuer", self.entity_id)
        assertion = _sub(response, SAML_ASSERTION, "Assertion", Version="2.0", ID="_a1")
        _sub(assertion, SAML_ASSERTION, "Issuer", self.entity_id)
        subject_element = _sub(assertion, SAML_ASSERTION, "Subject")
        _sub(subject_element, SAML_ASSERTION, "NameID", subject,
             Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
        confirmation = _sub(subject_element, SAML_ASSERTION, "SubjectConfirmation",
                            Method="urn:oasis:names:tc:SAML:2.0:cm:bearer")
        data = _sub(confirmation, SAML_ASSERTION, "SubjectConfirmationData", Recipient=recipient,
                    NotOnOrAfter=expires)
        _sub(assertion, SAML_ASSERTION, "Conditions", NotOnOrAfter=expires)
        attributes = _sub(assertion, SAML_ASSERTION, "AttributeStatement")
        for name, value in ((ROLE_ATTRIBUTE, f"{role_arn},{self.arn}"), (SESSION_NAME_ATTRIBUTE, session_name)):
            _sub(_sub(attributes, SAML_ASSERTION, "Attribute", Name=name), SAML_ASSERTION, "AttributeValue", value)
        signature = (key or self.key).sign(assertion_signing_bytes(assertion), padding.PKCS1v15(), hashes.SHA256())
        _sub(_sub(assertion, XMLDSIG, "Signature"), XMLDSIG, "SignatureValue", base64.b64encode(signature).decode())
        for attr, value in (tamper or {}).items():
            data.set(attr, value)
        return base64.b64encode(ET.tostring(response)).decode()
