"""``rolegate clients``: named webhook clients, each with its own secret and scope, kept in one KMS secret.

Each command reads the secret, changes it and writes it back as a new
version: run them one at a time, since KMS has no compare-and-set to catch
two operators writing at once.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import click

from rolegate.cliutil import DURATION, cloud_options, json_option, location_options, output, session
from shared.onboarding.clients import ANY, DEFAULT_SECRET_NAME, NAME_RE, Client, Registry

DESCRIPTION = "Rolegate webhook clients: each one's HMAC key and scope; give a key to its client only"
DEFAULT_OVERLAP = "1h"
SECRET_OPTION = click.option("--secret-name", default=DEFAULT_SECRET_NAME, show_default=True,
                             help="Name of the KMS generic secret holding the clients (keep it inside the rolegate- "
                                  "namespace; deploy/policies/onboard.json lets the function read this name).")


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not NAME_RE.match(value):
        raise click.BadParameter("1-63 lower-case letters, digits or '-', starting with a letter")
    return value


def _ids(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from shared.policies.principals import ACCOUNT_ID_RE

    bad = [v for v in values if v != ANY and not ACCOUNT_ID_RE.match(v)]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is neither a 16-digit account id nor '*'")
    return values


NAME_ARGUMENT = click.argument("name", callback=_name)


def _registry_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where the clients are kept: the location and ``--secret-name`` (``add`` names an owner account too)."""
    return location_options(SECRET_OPTION(command))


def _load(operator: Any, secret_name: str) -> tuple[Any, Registry]:
    """The KMS client every command writes back through, and the clients the secret holds now."""
    from shared.kms import read_text
    from shared.onboarding.clients import parse_registry

    kms = operator.factory.kms()
    return kms, parse_registry(read_text(kms, secret_name) or "")


def save(kms: Any, secret_name: str, registry: Registry) -> None:
    """Write every client as the secret's new current version (created on first use)."""
    from shared.kms import write_text

    write_text(kms, secret_name, registry.to_text(), DESCRIPTION)


def _existing(registry: Registry, name: str, secret_name: str) -> Client:
    from shared.errors import NotFound

    client = registry.get(name)
    if client is None:
        raise NotFound(f"There is no client {name} in {secret_name}.", field="NAME")
    return client


def _describe(client: Client) -> str:
    access = "read and write" if client.write else "read only"
    return f"accounts {', '.join(client.accounts)}; partners {', '.join(client.partners)}; {access}"


@click.group()
def clients() -> None:
    """Named webhook clients: each signs with its own secret and reaches only the accounts and partners it names."""


@clients.command("add")
@cloud_options
@SECRET_OPTION
@NAME_ARGUMENT
@click.option("--partner", "partners", multiple=True, required=True, metavar="ID", callback=_ids,
              help="A partner account the client may act for (repeatable); '*' for every partner.")
@click.option("--account", "accounts", multiple=True, metavar="ID", callback=_ids,
              help="An owner account whose grants it may reach (repeatable; default: the owner account); '*' any.")
@click.option("--read-only", is_flag=True, help="It may list and read grants, never create, extend or end one.")
def clients_add(endpoint: str | None, region: str | None, owner_account: str | None, secret_name: str, name: str,
                partners: tuple[str, ...], accounts: tuple[str, ...], read_only: bool) -> None:
    """Add a client; print its secret once (on standard output), for the client's system only."""
    from shared.errors import Conflict
    from shared.onboarding.clients import new_secret

    operator = session(endpoint, region, owner_account)
    kms, registry = _load(operator, secret_name)
    if name in registry:
        raise Conflict(f"The client {name} exists; `rolegate clients rotate {name}` gives it a new secret.",
                       field="NAME")
    client = Client(name, new_secret(), tuple(dict.fromkeys(accounts or (operator.owner_account,))),
                    tuple(dict.fromkeys(partners)), not read_only)
    save(kms, secret_name, registry.with_client(client))
    output().err.print(f"added client {name} to {secret_name}: {_describe(client)}. Its secret follows, shown "
                       f"this once; the onboard function needs ROLEGATE_WEBHOOK_CLIENTS=kms:{secret_name}.")
    click.echo(client.secret, file=output().stream)


@clients.command("list")
@_registry_options
@json_option
def clients_list(endpoint: str | None, region: str | None, secret_name: str, as_json: bool) -> None:
    """Every client with its scope (never a secret)."""
    _, registry = _load(session(endpoint, region, None), secret_name)
    found = [client.scope() for client in registry]
    if as_json:
        output().json(found)
        return
    rows = [[c["name"], ", ".join(c["accounts"]), ", ".join(c["partners"]), "yes" if c["write"] else "no",
             time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(c["previous_secret_until"]))
             if "previous_secret_until" in c else ""] for c in found]
    output().table(f"{len(found)} client(s) in {secret_name}",
                   ["Client", "Accounts", "Partners", "Writes", "Previous secret accepted until"], rows)


@clients.command("rotate")
@_registry_options
@NAME_ARGUMENT
@click.option("--overlap", type=DURATION, default=DEFAULT_OVERLAP, show_default=True,
              help="How long the replaced secret stays accepted, so the client can switch without an outage "
                   "(0 after a leak).")
def clients_rotate(endpoint: str | None, region: str | None, secret_name: str, name: str, overlap: int) -> None:
    """Give a client a new secret and print it once; the replaced one is accepted for --overlap more."""
    from dataclasses import replace

    from shared.onboarding.clients import new_secret

    kms, registry = _load(session(endpoint, region, None), secret_name)
    old = _existing(registry, name, secret_name)
    rotated = replace(old, secret=new_secret(), previous_secret=old.secret if overlap else None,
                      previous_until=int(time.time()) + overlap if overlap else None)
    save(kms, secret_name, registry.with_client(rotated))
    until = f"until {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(rotated.previous_until))}" \
        if rotated.previous_until is not None else "no longer"
    output().err.print(f"rotated client {name}: its previous secret is accepted {until}; the new one, which "
                       "follows, is accepted everywhere within five minutes.")
    click.echo(rotated.secret, file=output().stream)


@clients.command("remove")
@_registry_options
@NAME_ARGUMENT
def clients_remove(endpoint: str | None, region: str | None, secret_name: str, name: str) -> None:
    """Remove a client: its secret is refused everywhere within five minutes."""
    kms, registry = _load(session(endpoint, region, None), secret_name)
    _existing(registry, name, secret_name)
    save(kms, secret_name, registry.without(name))
    output().err.print(f"removed client {name} from {secret_name}")


__all__ = ["clients", "save"]
