"""RAM's identity providers in the emulator: the Ims API (2019-08-15) through the SDK core, and STS federating
only with providers of the role's own account."""
from __future__ import annotations

import base64
from typing import Any

import pytest
from alibabacloud_sts20150401 import models as sts
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils import Utils
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import load_pem_x509_certificate
from darabonba.runtime import RuntimeOptions

from emulator import EmulatorServer
from tests.emulator.helpers import Creds, create_user_with_policy, factory, sts_client
from tests.emulator.idp import OidcIdp, SamlIdp, public_pem, self_signed_certificate, signing_key
from tests.emulator.test_sts import make_role, trust, trusting

SSO = "https://signin.aliyun.com/saml-role/sso"


def ims(emulator: EmulatorServer, creds: Creds, action: str, **query: Any) -> dict[str, Any]:
    """One Ims call through the SDK core's generic client, as Rolegate makes it; the response body."""
    params = Params(action=action, version="2019-08-15", protocol="HTTPS", pathname="/", method="POST",
                    auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    client = factory(emulator, creds).ims()
    return client.call_api(params, OpenApiRequest(query=Utils.query(query)), RuntimeOptions())["body"]


def metadata(label: str, name: str) -> str:
    """A SAML IdP metadata document carrying the signing certificate, base64 as CreateSAMLProvider takes it."""
    der = load_pem_x509_certificate(self_signed_certificate(signing_key(label), name).encode()).public_bytes(
        serialization.Encoding.DER)
    xml = ('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/m">'
           '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
           '<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
           f'<ds:X509Certificate>{base64.b64encode(der).decode()}</ds:X509Certificate>'
           '</ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>')
    return base64.b64encode(xml.encode()).decode()


@pytest.fixture
def owner(emulator: EmulatorServer) -> Creds:
    return emulator.create_account("idp-owner")


def test_oidc_provider_is_created_and_read_back(emulator: EmulatorServer, owner: Creds) -> None:
    """CreateOIDCProvider stores issuer, client ids and fingerprints (comma-separated), GetOIDCProvider reads them."""
    made = ims(emulator, owner, "CreateOIDCProvider", OIDCProviderName="ci", IssuerUrl="https://oidc.ci.example",
               ClientIds="app-1,app-2", Fingerprints="902ef2deeb3c5b13ea4c3d5193629309e231ae55")["OIDCProvider"]
    assert made["Arn"] == f"acs:ram::{owner['account_id']}:oidc-provider/ci"
    got = ims(emulator, owner, "GetOIDCProvider", OIDCProviderName="ci")["OIDCProvider"]
    assert (got["IssuerUrl"], got["ClientIds"], got["Fingerprints"]) == (
        "https://oidc.ci.example", "app-1,app-2", "902ef2deeb3c5b13ea4c3d5193629309e231ae55")
    with pytest.raises(ClientException) as dup:
        ims(emulator, owner, "CreateOIDCProvider", OIDCProviderName="ci", IssuerUrl="https://other.example",
            Fingerprints="abc")
    assert dup.value.code == "EntityAlreadyExists.OIDCProvider"


@pytest.mark.parametrize("query", [
    {"OIDCProviderName": "x", "IssuerUrl": "http://oidc.example", "Fingerprints": "abc"},
    {"OIDCProviderName": "x", "IssuerUrl": "https://oidc.example?tenant=1", "Fingerprints": "abc"},
    {"OIDCProviderName": "x", "IssuerUrl": "https://oidc.example"},
    {"OIDCProviderName": "x", "IssuerUrl": "https://oidc.example", "Fingerprints": "a,b,c,d,e,f"},
    {"OIDCProviderName": "-x", "IssuerUrl": "https://oidc.example", "Fingerprints": "abc"},
])
def test_oidc_provider_parameters_follow_the_api_reference(emulator: EmulatorServer, owner: Creds,
                                                           query: dict[str, str]) -> None:
    """https issuer without query, 1-5 fingerprints, names not starting with '.', '_' or '-'."""
    with pytest.raises(ClientException) as err:
        ims(emulator, owner, "CreateOIDCProvider", **query)
    assert err.value.code.startswith("InvalidParameter.") and err.value.status_code == 400


def test_missing_providers_are_entity_not_exist(emulator: EmulatorServer, owner: Creds) -> None:
    for action, param, code in (("GetOIDCProvider", "OIDCProviderName", "EntityNotExist.OIDCProvider"),
                                ("GetSAMLProvider", "SAMLProviderName", "EntityNotExist.SAMLProviderError")):
        with pytest.raises(ClientException) as err:
            ims(emulator, owner, action, **{param: "ghost"})
        assert (err.value.code, err.value.status_code) == (code, 404)


def test_reading_a_provider_is_authorized_on_its_arn(emulator: EmulatorServer, owner: Creds) -> None:
    """ram:GetSAMLProvider on acs:ram::<account>:saml-provider/<name>: that provider, no other."""
    ims(emulator, owner, "CreateSAMLProvider", SAMLProviderName="corp", EncodedSAMLMetadataDocument=metadata("m", "c"))
    ims(emulator, owner, "CreateSAMLProvider", SAMLProviderName="other", EncodedSAMLMetadataDocument=metadata("m", "o"))
    reader = create_user_with_policy(emulator, owner, "reader", {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "ram:GetSAMLProvider",
         "Resource": f"acs:ram::{owner['account_id']}:saml-provider/corp"}]})
    assert ims(emulator, reader, "GetSAMLProvider", SAMLProviderName="corp")["SAMLProvider"]["SAMLProviderName"] == "corp"
    with pytest.raises(ClientException) as err:
        ims(emulator, reader, "GetSAMLProvider", SAMLProviderName="other")
    assert err.value.code == "NoPermission"


def test_a_saml_provider_created_from_metadata_verifies_its_assertions(emulator: EmulatorServer,
                                                                       owner: Creds) -> None:
    """The certificate in the metadata is the one assertions are checked against."""
    ims(emulator, owner, "CreateSAMLProvider", SAMLProviderName="corp-idp",
        EncodedSAMLMetadataDocument=metadata("saml", "corp-idp"))
    idp = SamlIdp(emulator, owner["account_id"], "corp-idp", "https://idp.corp.example/metadata", signing_key("saml"),
                  f"acs:ram::{owner['account_id']}:saml-provider/corp-idp")
    arn = make_role(emulator, owner, "sso", trust(trusting({"Federated": [idp.arn]},
                                                           {"StringEquals": {"saml:recipient": [SSO]}})))
    request = sts.AssumeRoleWithSAMLRequest(samlprovider_arn=idp.arn, role_arn=arn, samlassertion=idp.assertion(arn))
    assert sts_client(emulator).assume_role_with_saml(request).body.credentials.access_key_id.startswith("STS.")
    with pytest.raises(ClientException) as err:
        ims(emulator, owner, "CreateSAMLProvider", SAMLProviderName="bad", EncodedSAMLMetadataDocument="bm90IHhtbA==")
    assert err.value.code == "InvalidParameter.EncodedSAMLMetadataDocument"


def test_an_oidc_provider_created_by_the_api_verifies_tokens_with_its_issuers_keys(emulator: EmulatorServer,
                                                                                  owner: Creds) -> None:
    """Tokens verify once the issuer's keys are published; before that no token does."""
    ims(emulator, owner, "CreateOIDCProvider", OIDCProviderName="ci-oidc", IssuerUrl="https://oidc.ci.example",
        ClientIds="rolegate", Fingerprints="abc123")
    idp = OidcIdp(emulator, owner["account_id"], "ci-oidc", "https://oidc.ci.example", ("rolegate",),
                  signing_key("oidc"), f"acs:ram::{owner['account_id']}:oidc-provider/ci-oidc")
    arn = make_role(emulator, owner, "ci", trust(trusting({"Federated": [idp.arn]}, {"StringEquals": {
        "oidc:iss": [idp.issuer], "oidc:aud": ["rolegate"]}})))
    request = sts.AssumeRoleWithOIDCRequest(oidcprovider_arn=idp.arn, role_arn=arn, oidctoken=idp.token(),
                                            role_session_name="ci-run")
    with pytest.raises(ClientException) as err:
        sts_client(emulator).assume_role_with_oidc(request)
    assert err.value.code == "AuthenticationFail.OIDCToken.InvalidSignature"
    emulator.admin("POST", "/_emulator/oidc-keys", {"issuer": idp.issuer, "public_key_pem": public_pem(idp.key)})
    assert sts_client(emulator).assume_role_with_oidc(request).body.credentials.access_key_id.startswith("STS.")


def test_a_role_federates_only_with_identity_providers_of_its_own_account(emulator: EmulatorServer,
                                                                         owner: Creds) -> None:
    """A trust naming another account's provider admits nobody: an IdP is an entity of the role's account."""
    partner = emulator.create_account("idp-partner")
    for holder in (owner, partner):
        OidcIdp.register(emulator, holder["account_id"])
    here, there = (OidcIdp(emulator, a["account_id"], "ci-oidc", "https://oidc.ci.example", ("rolegate",),
                           signing_key("oidc"), f"acs:ram::{a['account_id']}:oidc-provider/ci-oidc")
                   for a in (owner, partner))
    condition = {"StringEquals": {"oidc:iss": ["https://oidc.ci.example"], "oidc:aud": ["rolegate"]}}
    arn = make_role(emulator, owner, "ci", trust(trusting({"Federated": [here.arn, there.arn]}, condition)))

    def assume(idp: OidcIdp) -> Any:
        return sts_client(emulator).assume_role_with_oidc(sts.AssumeRoleWithOIDCRequest(
            oidcprovider_arn=idp.arn, role_arn=arn, oidctoken=idp.token(), role_session_name="ci-run"))

    assert assume(here).body.credentials.access_key_id.startswith("STS.")
    with pytest.raises(ClientException) as err:
        assume(there)
    assert err.value.code == "AuthenticationFail.NoPermission"


def test_an_unknown_saml_provider_is_entity_not_exist(emulator: EmulatorServer, owner: Creds) -> None:
    """AssumeRoleWithSAML's documented answer for a provider that does not exist (404)."""
    arn = make_role(emulator, owner, "sso", trust(trusting({"Federated": [
        f"acs:ram::{owner['account_id']}:saml-provider/ghost"]}, {"StringEquals": {"saml:recipient": [SSO]}})))
    request = sts.AssumeRoleWithSAMLRequest(samlprovider_arn=f"acs:ram::{owner['account_id']}:saml-provider/ghost",
                                            role_arn=arn, samlassertion=base64.b64encode(b"<x/>").decode())
    with pytest.raises(ClientException) as err:
        sts_client(emulator).assume_role_with_saml(request)
    assert (err.value.code, err.value.status_code) == ("EntityNotExist.SAMLProvider", 404)
