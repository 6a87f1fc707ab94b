"""The member accounts a hub deployment acts in, and the credentials it acts there with.

A hub (security) account runs Rolegate for the accounts of an organization.
``ROLEGATE_MEMBERS`` names them: a comma list of 16-digit account ids, or
``resource-directory`` to read them from the Resource Directory the hub
manages (ResourceManager ``ListAccounts``, every page, kept for
:data:`DIRECTORY_TTL_SECONDS`). Unset, the deployment acts in its own account
only, as it always has.

In a member the functions act as its manager role
(``acs:ram::<member>:role/<ROLEGATE_MANAGER_ROLE>``, made by ``rolegate
members enroll``), whose session is kept until shortly before it expires, so
a warm instance pays one AssumeRole per member. The record key never leaves
the hub: a member's grants are sealed with the hub's key and bound to the
member's account id, so nobody in a member can forge a record or move one
from another account.

This module is also the ResourceManager seam: the only caller of its SDK.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from shared import config
from shared.calls import call
from shared.errors import CloudCallError, ConfigError, Refused, RolegateError
from shared.lazy import load
from shared.policies.principals import role_arn

if TYPE_CHECKING:  # a single-account deployment reads its settings without loading the STS seam
    from shared.clients import ClientFactory
    from shared.sts import RoleAssumer

MEMBERS_ENV = "ROLEGATE_MEMBERS"
MANAGER_ROLE_ENV = "ROLEGATE_MANAGER_ROLE"
RESOURCE_DIRECTORY = "resource-directory"
DEFAULT_MANAGER_ROLE = "RolegateManager"
DIRECTORY_TTL_SECONDS = 300  # a member added to the directory is seen within five minutes
LIST_PAGE_SIZE = 100  # ListAccounts' largest page (ledger: RD-LISTACCOUNTS-PAGING)
MAX_DIRECTORY_PAGES = 1_000  # bounds a directory that never stops answering pages
DEFAULT_SESSION_NAME = "rolegate-hub"
_ACCOUNT_ID = re.compile(r"^[0-9]{16}\Z")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]{1,64}\Z")  # RAM's role-name rule
_GRANT_NAMESPACE = "rolegate-"  # grants' roles: a manager role there would be disarmed as an unproven grant
# AssumeRole's answers that mean "this member is not set up for the hub", not "try again".
NOT_ENROLLED_CODES = frozenset({"EntityNotExist.Role", "NoPermission", "AuthenticationFail.NoPermission",
                                "InvalidParameter.RoleArn"})


class MemberNotEnrolled(RolegateError):
    """The member's manager role cannot be assumed: missing, or its trust policy does not admit the hub."""

    status = 409
    default_code = "MemberNotEnrolled"


def not_a_member(account_id: str, where: str | None = None) -> Refused:
    return Refused(f"Account {account_id} is not a member of this Rolegate deployment.", code="NotAMember",
                   field=where)


@dataclass(frozen=True)
class MemberSettings:
    """``ROLEGATE_MEMBERS`` and ``ROLEGATE_MANAGER_ROLE`` as read from the environment."""

    listed: tuple[str, ...] = ()  # explicit members; empty with from_directory False: single account
    from_directory: bool = False
    manager_role: str = DEFAULT_MANAGER_ROLE

    @property
    def enabled(self) -> bool:
        return self.from_directory or bool(self.listed)

    @classmethod
    def from_env(cls) -> MemberSettings:
        role = config.env_str(MANAGER_ROLE_ENV, DEFAULT_MANAGER_ROLE) or DEFAULT_MANAGER_ROLE
        if not _ROLE_NAME.match(role) or role.lower().startswith(_GRANT_NAMESPACE):
            raise ConfigError(f"{MANAGER_ROLE_ENV} must be a RAM role name (1-64 letters, digits, '.', '-') outside "
                              f"the grants' namespace {_GRANT_NAMESPACE!r}.", field=MANAGER_ROLE_ENV)
        values = config.env_list(MEMBERS_ENV)
        if values == [RESOURCE_DIRECTORY]:
            return cls(from_directory=True, manager_role=role)
        if not all(_ACCOUNT_ID.match(v) for v in values):
            raise ConfigError(f"{MEMBERS_ENV} must be a comma list of 16-digit account ids, or "
                              f"{RESOURCE_DIRECTORY}.", field=MEMBERS_ENV)
        return cls(listed=tuple(dict.fromkeys(values)), manager_role=role)


class Members:
    """The hub's own account and its members: who they are, and a client factory for each.

    ``hub`` is the factory on the function's own credentials; the hub's own
    account is always allowed and always served by it. Safe to share between
    threads and warm invocations.
    """

    def __init__(self, hub_account: str, hub: ClientFactory, settings: MemberSettings | None = None, *,
                 assumer: RoleAssumer | None = None, session_name: str = DEFAULT_SESSION_NAME,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.hub_account = hub_account
        self.hub = hub
        self.settings = settings if settings is not None else MemberSettings.from_env()
        self.session_name = session_name
        if assumer is None:
            from shared.sts import RoleAssumer

            assumer = RoleAssumer(hub.credentials, hub)
        self._assumer = assumer
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._discovered: tuple[str, ...] | None = None
        self._discovered_at = 0.0

    @property
    def enabled(self) -> bool:
        """False for a single-account deployment: everything happens in the hub's own account."""
        return self.settings.enabled

    def accounts(self) -> tuple[str, ...]:
        """The member accounts, never the hub itself (in the directory's or the setting's order)."""
        if not self.settings.from_directory:
            return tuple(a for a in self.settings.listed if a != self.hub_account)
        with self._lock:
            fresh = self._discovered is not None and \
                self._monotonic() - self._discovered_at < DIRECTORY_TTL_SECONDS
            if not fresh:
                self._discovered = tuple(a for a in list_directory_accounts(self.hub) if a != self.hub_account)
                self._discovered_at = self._monotonic()
            assert self._discovered is not None
            return self._discovered

    def everyone(self) -> tuple[str, ...]:
        """The hub's own account first, then every member."""
        return (self.hub_account, *self.accounts())

    def is_member(self, account_id: str) -> bool:
        return account_id != self.hub_account and account_id in self.accounts()

    def require(self, account_id: str, where: str | None = None) -> str:
        """``account_id`` when it is the hub's own or a member's; else ``Refused`` (403, ``NotAMember``)."""
        if account_id == self.hub_account or (self.enabled and _ACCOUNT_ID.match(account_id or "")
                                              and self.is_member(account_id)):
            return account_id
        raise not_a_member(account_id, where)

    def manager_role_arn(self, account_id: str) -> str:
        return role_arn(account_id, self.settings.manager_role)

    def factory_for(self, account_id: str) -> ClientFactory:
        """The hub's factory for its own account; a member's on its manager role's (cached) session.

        Raises ``NotAMember`` for any other account and ``MemberNotEnrolled``
        when the member's manager role cannot be assumed.
        """
        self.require(account_id)
        if account_id == self.hub_account:
            return self.hub
        arn = self.manager_role_arn(account_id)
        try:
            credentials = self._assumer.assume(arn, self.session_name)
        except CloudCallError as exc:
            if exc.cloud_code not in NOT_ENROLLED_CODES:
                raise
            raise MemberNotEnrolled(
                f"Account {account_id} is a member, but its manager role {self.settings.manager_role} cannot be "
                f"assumed ({exc.cloud_code}): run `rolegate members enroll {account_id}` from the management "
                "account, and check that this function may assume it (`deploy/roles.sh --hub`).",
                field="account_id", details={"account_id": account_id, "role_arn": arn}) from None
        return self.hub.with_credentials(credentials)


def list_directory_accounts(factory: ClientFactory) -> list[str]:
    """Every member of the Resource Directory ``factory``'s account manages (or administers as delegate)."""
    ListAccountsRequest = load("alibabacloud_resourcemanager20200331.models").ListAccountsRequest
    client = factory.resourcemanager()
    found: list[str] = []
    for page in range(1, MAX_DIRECTORY_PAGES + 1):
        body = call(client.list_accounts, ListAccountsRequest(page_number=page, page_size=LIST_PAGE_SIZE),
                    action="ListAccounts", target=f"page {page}", safe_to_retry=True)
        accounts = getattr(getattr(body, "accounts", None), "account", None) or []
        found += [str(a.account_id) for a in accounts if a.account_id and _ACCOUNT_ID.match(str(a.account_id))]
        if not accounts or len(found) >= int(body.total_count or 0):
            break
    return list(dict.fromkeys(found))


_shared: dict[tuple[Any, ...], Members] = {}
_shared_lock = threading.Lock()
MAX_SHARED = 8  # the hub's credentials rotate; old views must not pile up


def members_for(hub_account: str, hub: ClientFactory, *, session_name: str = DEFAULT_SESSION_NAME) -> Members:
    """The process-wide :class:`Members` for this hub, its credentials and the settings now in force.

    Kept across warm invocations, so member sessions and the directory's
    listing are reused rather than fetched on every request.
    """
    settings = MemberSettings.from_env()
    key = (hub_account, hub.credentials.fingerprint, hub.region, hub.endpoint, settings, session_name)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            if len(_shared) >= MAX_SHARED:
                _shared.pop(next(iter(_shared)))
            found = _shared[key] = Members(hub_account, hub, settings, session_name=session_name)
        return found


def forget_members() -> None:
    """Drop the process-wide views (tests and benchmarks that start a new instance)."""
    with _shared_lock:
        _shared.clear()


__all__ = ["DEFAULT_MANAGER_ROLE", "DIRECTORY_TTL_SECONDS", "MANAGER_ROLE_ENV", "MEMBERS_ENV", "MemberNotEnrolled",
           "MemberSettings", "Members", "RESOURCE_DIRECTORY", "forget_members", "list_directory_accounts",
           "members_for", "not_a_member"]
