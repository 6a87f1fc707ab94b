"""``rolegate keys``: the KMS secrets of the grant-record key and of the webhook and notification HMAC keys."""
from __future__ import annotations

import click

from rolegate.cliutil import location_options, output, session
from shared.kms import DEFAULT_SECRET_NAME


SECRET_OPTION = click.option("--secret-name", default=DEFAULT_SECRET_NAME, show_default=True,
                             help="Name of the KMS generic secret (keep it inside the rolegate- namespace).")


@click.group()
def keys() -> None:
    """Create and rotate the record key (a KMS generic secret; the key never leaves KMS but for its readers)."""


@keys.command("init")
@location_options
@SECRET_OPTION
def keys_init(endpoint: str | None, region: str | None, secret_name: str) -> None:
    """Create the record-key secret unless it exists; print the settings the functions need, one NAME=value a line.

    Uses the default credential chain (the owner's). Safe to run again.
    """
    from shared.kms import (DEFAULT_NOTIFY_SECRET_NAME, DEFAULT_WEBHOOK_SECRET_NAME, SECRET_ENV, init_secret,
                            init_text_secret)

    operator = session(endpoint, region, None)
    kms = operator.factory.kms()
    key_id, created = init_secret(kms, secret_name)
    output().err.print(f"{'created' if created else 'found'} secret {secret_name}, current key version {key_id}")
    settings = [f"{SECRET_ENV}={secret_name}"]
    for name, variable, shown_by, use in (
            (DEFAULT_WEBHOOK_SECRET_NAME, "ROLEGATE_WEBHOOK_SECRET", "webhook-secret", "for the partners' systems"),
            (DEFAULT_NOTIFY_SECRET_NAME, "ROLEGATE_NOTIFY_SECRET", "notify-secret", "for the notification receiver")):
        made = init_text_secret(kms, name)
        output().err.print(f"{'created' if made else 'found'} secret {name} (an HMAC key; "
                           f"`rolegate keys {shown_by}` shows it, {use})")
        settings.append(f"{variable}=kms:{name}")
    for line in settings:
        click.echo(line, file=output().stream)


@keys.command("rotate")
@location_options
@SECRET_OPTION
def keys_rotate(endpoint: str | None, region: str | None, secret_name: str) -> None:
    """Make a new key version current. Records signed before keep verifying (KMS keeps 10 versions):
    extend or adopt grants to sign them again before ten rotations pass."""
    from shared.kms import rotate_secret

    operator = session(endpoint, region, None)
    version = rotate_secret(operator.factory.kms(), secret_name)
    output().console.print(f"secret {secret_name}: new current key version {version}")


def _show_text_secret(endpoint: str | None, region: str | None, name: str) -> None:
    from shared.kms import text_secret

    operator = session(endpoint, region, None)
    click.echo(text_secret(operator.factory, name), file=output().stream)


@keys.command("webhook-secret")
@location_options
def keys_webhook_secret(endpoint: str | None, region: str | None) -> None:
    """Print the webhook's HMAC key (from KMS), to hand to the partners' systems over a safe channel."""
    from shared.kms import DEFAULT_WEBHOOK_SECRET_NAME

    _show_text_secret(endpoint, region, DEFAULT_WEBHOOK_SECRET_NAME)


@keys.command("notify-secret")
@location_options
def keys_notify_secret(endpoint: str | None, region: str | None) -> None:
    """Print the notifications' HMAC key (from KMS), for the receiver that checks X-Rolegate-Signature."""
    from shared.kms import DEFAULT_NOTIFY_SECRET_NAME

    _show_text_secret(endpoint, region, DEFAULT_NOTIFY_SECRET_NAME)


__all__ = ["keys"]
