"""The state of the emulated cloud: accounts, keys, and per-service state.

Service modules keep their own state in ``Account.services`` (created on first
use through :meth:`Account.state`), so this module knows nothing of RAM, ECS or
FC rules; it owns what every service shares: who exists and which keys sign
for whom.
"""
from __future__ import annotations

import functools
import secrets
import string
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Generic, TypeVar

from .calls import CallLog
from .clock import Clock
from .errors import CloudError
from .faults import Faults
from .identity import Identity

T = TypeVar("T")
_ALNUM = string.ascii_letters + string.digits


def random_token(n: int, alphabet: str = _ALNUM) -> str:
    """``n`` characters drawn uniformly from ``alphabet`` (ASCII, at most 256 characters) by the OS's secure source.

    The random bytes are read and mapped in bulk rather than a system call per
    character: every AssumeRole mints a 350-character secret and token.
    """
    table, skipped = _byte_map(alphabet)
    token = b""
    while len(token) < n:
        token += secrets.token_bytes(2 * n).translate(table, skipped)
    return token[:n].decode("ascii")


@functools.cache
def _byte_map(alphabet: str) -> tuple[bytes, bytes]:
    """The translation of a random byte to a character of ``alphabet``, and the bytes to drop.

    Bytes past the last whole multiple of the alphabet's size are dropped, so
    that every character stays equally likely.
    """
    size = len(alphabet)
    usable = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < usable else 0 for b in range(256))
    return table, bytes(range(usable, 256))


def random_digits(n: int) -> str:
    return str(secrets.choice(range(1, 10))) + "".join(secrets.choice(string.digits) for _ in range(n - 1))


@dataclass
class KeyRecord:
    """An AccessKey the emulator issued: a root or user key, or STS credentials."""

    access_key_id: str
    secret: str
    identity: Identity
    security_token: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    status: str = "Active"


class Regional(Generic[T]):
    """A regional service's state in one account: one ``make()`` per region, made on first use."""

    def __init__(self, make: Callable[[], T]) -> None:
        self.make = make
        self.regions: dict[str, T] = {}

    def region(self, region_id: str) -> T:
        if region_id not in self.regions:
            self.regions[region_id] = self.make()
        return self.regions[region_id]


@dataclass
class Account:
    account_id: str
    alias: str
    root_access_key_id: str
    services: dict[str, Any] = field(default_factory=dict)

    def state(self, name: str, factory: Callable[["Account"], T]) -> T:
        """The named service's state for this account, created on first use."""
        if name not in self.services:
            self.services[name] = factory(self)
        return self.services[name]


class World:
    """Everything the emulator knows; one per server, reset between tests."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.faults = Faults()
        self.calls = CallLog()
        self.lock = threading.RLock()
        self.enforce_authorization = True
        self.accounts: dict[str, Account] = {}
        self.keys: dict[str, KeyRecord] = {}
        self.events: list[dict[str, Any]] = []
        self.extras: dict[str, Any] = {}

    def reset(self) -> None:
        with self.lock:
            self.clock.reset()
            self.faults.clear()
            self.calls.clear()
            self.enforce_authorization = True
            self.accounts.clear()
            self.keys.clear()
            self.events.clear()
            self.extras.clear()

    def create_account(self, alias: str = "") -> tuple[Account, KeyRecord]:
        with self.lock:
            account_id = random_digits(16)
            while account_id in self.accounts:
                account_id = random_digits(16)
            key = self.issue_key(Identity("root", account_id, "root"))
            account = Account(account_id, alias or f"account-{len(self.accounts) + 1}", key.access_key_id)
            self.accounts[account_id] = account
            return account, key

    def issue_key(self, identity: Identity, *, prefix: str = "LTAI", token: str | None = None,
                  expires_at: datetime | None = None) -> KeyRecord:
        """Mint an AccessKey pair for ``identity`` (STS credentials when ``token`` is given)."""
        with self.lock:
            key_id = prefix + random_token(20)
            record = KeyRecord(key_id, random_token(30), identity, token, expires_at, self.clock.now())
            if identity.access_key_id == "":
                record.identity = Identity(**{**identity.__dict__, "access_key_id": key_id})
            self.keys[key_id] = record
            return record

    def account(self, account_id: str) -> Account:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise CloudError("EntityNotExist.Account", f"The account {account_id} does not exist.", 404) from None

    def find_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)
