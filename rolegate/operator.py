"""The operator's own session: credentials, clients and the owner account, for the CLI.

The CLI acts through the shared core exactly as the functions do, but with
the operator's identity: the default credential chain
(``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``, a CLI profile, an ECS instance
role, ...), the endpoint from ``--endpoint`` or ``ROLEGATE_ENDPOINT`` (the
local host's emulator) or else the real cloud. The owner account is
``--owner-account``, else ``ROLEGATE_OWNER_ACCOUNT_ID``, else the account of
the credentials themselves.

With ``account`` (``rolegate grants --account``) the operator of a hub acts
on a member's grants: RAM calls go to the member through its
``ResourceDirectoryAccountAccessRole``, while records are still proven and
signed with the hub's record key (the operator's own KMS), bound to the
member's account id, as the hub's functions seal them.
"""
from __future__ import annotations

from functools import cached_property

from shared import config
from shared.clients import ClientFactory, for_credentials
from shared.credentials import Credentials, resolve_credentials
from shared.errors import CloudCallError, ConfigError, Refused
from shared.grants.lifecycle import GrantStore
from shared.members import NOT_ENROLLED_CODES
from shared.onboarding.settings import OnboardSettings
from shared.policies.principals import ACCOUNT_ID_RE, role_arn
from shared.sts import (OWNER_ENV, CallerIdentity, RoleAssumer, assume_role, caller_identity, checked_account_id,
                        owner_account_id)

ACCESS_ROLE = "ResourceDirectoryAccountAccessRole"  # made in every member by the Resource Directory
SESSION_NAME = "rolegate-operator"


def member_factory(caller: ClientFactory, account_id: str, session_name: str = SESSION_NAME) -> ClientFactory:
    """The caller acting in a member through the member's Resource Directory access role."""
    arn = role_arn(account_id, ACCESS_ROLE)
    return caller.with_credentials(assume_role(caller, arn, session_name, safe_to_retry=True))


def checked_member(value: str, field: str = "--account") -> str:
    """``value`` when it is a 16-digit account id; else a ``ConfigError`` saying what ``field`` takes."""
    if not ACCOUNT_ID_RE.match(value):
        raise ConfigError(f"{field} {value!r} is not an account id (16 digits).", field=field)
    return value


class OperatorSession:
    """Built lazily: a command that never calls the cloud never resolves credentials."""

    def __init__(self, owner_account: str | None = None, account: str | None = None) -> None:
        owner = owner_account or config.env_str(OWNER_ENV)
        self._owner = None if owner is None else checked_account_id(owner, "--owner-account")
        self._account = None if account is None else checked_member(account)

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
    def own_account(self) -> str:
        """The operator's own account (the hub's, for a hub): the configured owner, else the credentials'."""
        return owner_account_id(self._owner, ask=lambda: self.caller_identity().account_id)

    @cached_property
    def owner_account(self) -> str:
        """The account whose grants are acted on: the member given as ``account``, else the own account."""
        return self._account or self.own_account

    @cached_property
    def target(self) -> ClientFactory:
        """Clients acting in the owner account: a member's through its access role, else the operator's own.

        ``Refused`` naming the account and the role when the access role
        cannot be assumed, before anything is read or changed there.
        """
        if self.owner_account == self.own_account:
            return self.factory
        try:
            return member_factory(self.factory, self.owner_account)
        except CloudCallError as exc:
            if exc.cloud_code not in NOT_ENROLLED_CODES:
                raise
            raise Refused(f"Cannot act in account {self.owner_account}: its role {ACCESS_ROLE} cannot be assumed "
                          f"with these credentials ({exc.cloud_code}).", code="AccountNotReachable",
                          field="--account") from None

    def store(self) -> GrantStore:
        """The grant store, proving and signing records with the record key the operator may read.

        The key is always read with the operator's own credentials: a member's
        grants are sealed with the hub's key, never with one of the member's.
        """
        from shared.kms import keyring_for

        target = self.target
        return GrantStore(target.ram(), self.owner_account, keyring_for(self.factory),
                          idp_client=target.ims(), writer=self.writer)

    @cached_property
    def writer(self) -> str | None:
        """Who makes the RAM writes, as records name their signer (``user/<name>``, ``role/<name>``, ``root``).

        Remediation accepts a record rewritten outside Rolegate's functions only
        when the record names the identity the rewrite's event names: in a
        member, the session of its access role, not the operator in the hub.
        """
        return caller_identity(self.target).writer

    def assumer(self) -> RoleAssumer:
        return RoleAssumer(self.credentials, self.factory)

    def rules(self) -> OnboardSettings:
        """The checks a grant passes: the webhook's defaults (deny-list, lifetimes, ExternalId required).

        The webhook secret plays no part in judging a grant, so none is needed here.
        """
        return OnboardSettings(owner_account_id=self.owner_account, webhook_secret="")


__all__ = ["ACCESS_ROLE", "OperatorSession", "checked_member", "member_factory"]
