"""The operator's own session: credentials, clients and the owner account, for the CLI.

The CLI acts through the shared core exactly as the functions do, but with
the operator's identity: the default credential chain
(``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``, a CLI profile, an ECS instance
role, ...), the endpoint from ``--endpoint`` or ``ROLEGATE_ENDPOINT`` (the
local host's emulator) or else the real cloud. The owner account is
``--owner-account``, else ``ROLEGATE_OWNER_ACCOUNT_ID``, else the account of
the credentials themselves.
"""
from __future__ import annotations

from functools import cached_property

from shared import config
from shared.clients import ClientFactory, for_credentials
from shared.credentials import Credentials, resolve_credentials
from shared.grants.lifecycle import GrantStore
from shared.onboarding.settings import OnboardSettings
from shared.policies.principals import role_arn
from shared.sts import (OWNER_ENV, CallerIdentity, RoleAssumer, assume_role, caller_identity, checked_account_id,
                        owner_account_id)

ACCESS_ROLE = "ResourceDirectoryAccountAccessRole"  # made in every member by the Resource Directory
SESSION_NAME = "rolegate-operator"


def member_factory(caller: ClientFactory, account_id: str, session_name: str = SESSION_NAME) -> ClientFactory:
    """The caller acting in a member through the member's Resource Directory access role."""
    arn = role_arn(account_id, ACCESS_ROLE)
    return caller.with_credentials(assume_role(caller, arn, session_name, safe_to_retry=True))


class OperatorSession:
    """Built lazily: a command that never calls the cloud never resolves credentials."""

    def __init__(self, owner_account: str | None = None) -> None:
        owner = owner_account or config.env_str(OWNER_ENV)
        self._owner = None if owner is None else checked_account_id(owner, "--owner-account")

    @property
    def configured_owner(self) -> str | None:
        """The owner account given by flag or environment, before asking STS."""
        return self._owner

    @cached_property
    def credentials(self) -> Credentials:
        return resolve_credentials()

    @cached_property
    def factory(self) -> ClientFactory:
        return for_credentials(self.credentials)

    def caller_identity(self) -> CallerIdentity:
        return caller_identity(self.factory)

    @cached_property
    def owner_account(self) -> str:
        return owner_account_id(self._owner, ask=lambda: self.caller_identity().account_id)

    def store(self) -> GrantStore:
        """The grant store, proving and signing records with the record key the operator may read."""
        from shared.kms import keyring_for

        return GrantStore(self.factory.ram(), self.owner_account, keyring_for(self.factory),
                          idp_client=self.factory.ims(), writer=self.writer)

    @cached_property
    def writer(self) -> str | None:
        """Who the operator is, as records name their signer (``user/<name>``, ``role/<name>``, ``root``).

        Remediation accepts a record rewritten outside Rolegate's functions only
        when the record names the identity the rewrite's event names.
        """
        return self.caller_identity().writer

    def assumer(self) -> RoleAssumer:
        return RoleAssumer(self.credentials, self.factory)

    def rules(self) -> OnboardSettings:
        """The checks a grant passes: the webhook's defaults (deny-list, lifetimes, ExternalId required).

        The webhook secret plays no part in judging a grant, so none is needed here.
        """
        return OnboardSettings(owner_account_id=self.owner_account, webhook_secret="")


__all__ = ["ACCESS_ROLE", "OperatorSession", "member_factory"]
