"""``rolegate idp``: the owner account's identity providers, which federated (``saml``, ``oidc``) grants name.

An identity provider is an entity of the account whose roles trust it, so a
federated grant's provider lives in the owner account, and onboarding refuses
a grant naming one that is not there. ``rolegate idp add`` registers one with
RAM's CreateOIDCProvider / CreateSAMLProvider, in the account of the
credentials used (which must be the owner's).
"""
from __future__ import annotations

import base64
import json
from typing import Any

import click

from rolegate.cliutil import cloud_options, json_option, output, session


@click.group()
def idp() -> None:
    """Identity providers of the owner account, for federated (saml, oidc) grants."""


@idp.group("add")
def idp_add() -> None:
    """Register an identity provider in the owner account."""


def _providers(endpoint: str | None, region: str | None, owner_account: str | None) -> Any:
    """The owner's identity providers, refusing credentials of another account (RAM creates one in the caller's)."""
    from shared.errors import ConfigError
    from shared.ram import IdentityProviders

    operator = session(endpoint, region, owner_account)
    if operator.configured_owner is not None:
        caller = str(operator.caller_identity().account_id)
        if caller != operator.configured_owner:
            raise ConfigError(f"These credentials are of account {caller}, not the owner account "
                              f"{operator.configured_owner}: an identity provider is made in the caller's account.",
                              field="--owner-account")
    return IdentityProviders(operator.factory.ims())


def _report(kind: str, info: Any, principal: dict[str, Any], as_json: bool) -> None:
    view = {"type": kind, "name": info.name, "arn": info.arn, "principal": principal}
    if as_json:
        output().json(view)
        return
    output().console.print(f"Registered {kind.upper()} identity provider {info.arn}")
    output().console.print("A grant trusting it names, as its principal: " + json.dumps(principal))


@idp_add.command("oidc")
@cloud_options
@click.option("--name", required=True, help="Provider name: letters, digits, '.', '_', '-' (at most 128).")
@click.option("--issuer", required=True, help="The issuer URL (https, as the tokens' iss claim spells it).")
@click.option("--client-id", "client_ids", multiple=True, required=True,
              help="A client id (audience) tokens may carry (repeatable, at most 50).")
@click.option("--fingerprint", "fingerprints", multiple=True, required=True,
              help="Fingerprint of the issuer's HTTPS CA certificate (repeatable, at most 5).")
@click.option("--description", help="Free text.")
@json_option
def idp_add_oidc(endpoint: str | None, region: str | None, owner_account: str | None, name: str, issuer: str,
                 client_ids: tuple[str, ...], fingerprints: tuple[str, ...], description: str | None,
                 as_json: bool) -> None:
    """Register an OIDC identity provider (RAM CreateOIDCProvider)."""
    info = _providers(endpoint, region, owner_account).create_oidc_provider(
        name, issuer, list(client_ids), list(fingerprints), description)
    _report("oidc", info, {"type": "oidc", "provider": info.name, "issuer": info.issuer_url,
                           "audiences": list(info.client_ids)}, as_json)


@idp_add.command("saml")
@cloud_options
@click.option("--name", required=True, help="Provider name: letters, digits, '.', '_', '-' (at most 128).")
@click.option("--metadata", "metadata", type=click.File("rb"), required=True,
              help="The identity provider's SAML metadata document (an XML file).")
@click.option("--description", help="Free text.")
@json_option
def idp_add_saml(endpoint: str | None, region: str | None, owner_account: str | None, name: str, metadata: Any,
                 description: str | None, as_json: bool) -> None:
    """Register a SAML identity provider from its metadata document (RAM CreateSAMLProvider)."""
    encoded = base64.b64encode(metadata.read()).decode("ascii")
    info = _providers(endpoint, region, owner_account).create_saml_provider(name, encoded, description)
    _report("saml", info, {"type": "saml", "provider": info.name}, as_json)
