"""Named webhook clients, each with its own secret and a scope: which accounts and partners, and whether it writes.

One shared secret lets whoever holds it read every partner's grants, ExternalIds
included, and create, extend or end any of them; a client's secret reaches only
the grants its scope names. The clients live as JSON in one KMS generic secret
(``ROLEGATE_WEBHOOK_CLIENTS=kms:<name>``), never in the function's settings;
docs/design/webhook-auth.md gives the format and the reasons.
"""
from __future__ import annotations

import functools
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterator

from shared.errors import ConfigError, Refused
from shared.onboarding.settings import MIN_SECRET_CHARS
from shared.policies.principals import ACCOUNT_ID_RE

ANY = "*"
# Lower case only: the second field of a named string to sign is then never an HTTP method (upper case), so a
# named signature and a shared-secret one can never be made over the same bytes.
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}\Z")
SHARED_SECRET_CLIENT = "(shared secret)"  # ROLEGATE_WEBHOOK_SECRET's client in log lines; no client may be named so
DEFAULT_SECRET_NAME = "rolegate-webhook-clients"
MAX_REGISTRY_BYTES = 30_720  # the most a KMS secret value holds (ledger: KMS-LIMITS)
SECRET_HEX_BYTES = 32
SETTING = "ROLEGATE_WEBHOOK_CLIENTS"
_REQUIRED_KEYS = frozenset({"secret", "accounts", "partners", "write"})
_ENTRY_KEYS = _REQUIRED_KEYS | {"previous"}
_FIELD_RE = re.compile(r"^[A-Za-z_]{1,15}\Z")  # shorter than any secret may be: safe to name


@dataclass(frozen=True)
class Client:
    """One caller of the webhook and what it may reach."""

    name: str
    secret: str = field(repr=False)
    accounts: tuple[str, ...] = (ANY,)
    partners: tuple[str, ...] = (ANY,)
    write: bool = True
    previous_secret: str | None = field(default=None, repr=False)  # kept so a rotation needs no outage
    previous_until: int | None = None  # unix seconds, on the function's real clock

    def secrets(self, now: float) -> tuple[str, ...]:
        """The secrets a request may be signed with now: the current one, and the replaced one while it lasts."""
        if self.previous_secret is not None and self.previous_until is not None and now <= self.previous_until:
            return self.secret, self.previous_secret
        return (self.secret,)

    def reaches(self, account: str, partner: str | None = None) -> bool:
        """Whether a grant of ``account`` for ``partner`` is in scope.

        ``partner=None`` asks for every partner of the account, which is also
        what a role without a proven record needs: nobody can tell whose it is.
        """
        if ANY not in self.accounts and account not in self.accounts:
            return False
        return ANY in self.partners or (partner is not None and partner in self.partners)

    def require_write(self) -> None:
        if not self.write:
            raise Refused(f"The client {self.name} may only read grants.", code="ReadOnlyClient")

    def require(self, account: str, partner: str | None, where: str) -> None:
        """Refuse (403) a grant out of scope; the answer says nothing about the grant."""
        if not self.reaches(account, partner):
            raise Refused(f"The client {self.name} may not act on this grant.", code="OutOfScope", field=where)

    def scope(self) -> dict[str, Any]:
        """The client without its secrets: what `rolegate clients list` shows."""
        shown: dict[str, Any] = {"name": self.name, "accounts": list(self.accounts), "partners": list(self.partners),
                                 "write": self.write}
        if self.previous_until is not None:
            shown["previous_secret_until"] = self.previous_until
        return shown

    def to_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"secret": self.secret, "accounts": list(self.accounts),
                                 "partners": list(self.partners), "write": self.write}
        if self.previous_secret is not None:
            entry["previous"] = {"secret": self.previous_secret, "until": self.previous_until}
        return entry


def shared_secret_client(secret: str) -> Client:
    """ROLEGATE_WEBHOOK_SECRET as a client: every account and partner, writes included, as before clients existed."""
    return Client(SHARED_SECRET_CLIENT, secret)


def new_secret() -> str:
    return secrets.token_hex(SECRET_HEX_BYTES)


@dataclass(frozen=True)
class Registry:
    """Every named client, as one KMS secret holds them."""

    clients: dict[str, Client] = field(default_factory=dict)

    def get(self, name: str) -> Client | None:
        return self.clients.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.clients

    def __iter__(self) -> Iterator[Client]:
        return iter(self.clients[name] for name in sorted(self.clients))

    def with_client(self, client: Client) -> Registry:
        return Registry({**self.clients, client.name: client})

    def without(self, name: str) -> Registry:
        return Registry({k: v for k, v in self.clients.items() if k != name})

    def to_text(self) -> str:
        """Compact JSON for the secret; a registry KMS could not hold is refused before anything is written."""
        text = json.dumps({c.name: c.to_entry() for c in self}, separators=(",", ":"))
        if len(text.encode("utf-8")) > MAX_REGISTRY_BYTES:
            raise ConfigError(f"The clients would take more than the {MAX_REGISTRY_BYTES} bytes a KMS secret holds; "
                              "remove clients or shorten their lists of partners.", field=SETTING)
        return text


def _bad(message: str) -> ConfigError:
    return ConfigError(f"The webhook clients' secret is malformed: {message}.", field=SETTING)


def _ids(entry: dict[str, Any], key: str, name: str) -> tuple[str, ...]:
    values = entry.get(key)
    if not isinstance(values, list) or not values \
            or not all(isinstance(v, str) and (v == ANY or ACCOUNT_ID_RE.match(v)) for v in values):
        raise _bad(f"{name}.{key} must be a non-empty list of 16-digit account ids or '*'")
    return tuple(values)


def _secret(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_SECRET_CHARS:
        raise _bad(f"{where} must be text of at least {MIN_SECRET_CHARS} characters")
    return value


def _client(position: int, name: Any, entry: Any) -> Client:
    # A bad name is not quoted: a secret pasted into the wrong place must not reach an error message or a log.
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _bad(f"the name of client number {position} is not 1-63 lower-case letters, digits or '-' "
                   "starting with a letter")
    if not isinstance(entry, dict):
        raise _bad(f"{name} must be an object holding secret, accounts, partners, write and optionally previous")
    missing = sorted(_REQUIRED_KEYS - set(entry))
    if missing:
        raise _bad(f"{name} lacks {', '.join(missing)}")
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        shown = ", ".join(repr(k) if _FIELD_RE.match(k) else "a field not shown" for k in unknown)
        raise _bad(f"{name} holds {shown}, which a client does not have (secret, accounts, partners, write, "
                   "previous)")
    if not isinstance(entry["write"], bool):
        raise _bad(f"{name}.write must be true or false")
    previous = entry.get("previous")
    if previous is not None and (not isinstance(previous, dict) or set(previous) != {"secret", "until"}
                                 or not isinstance(previous["until"], int) or isinstance(previous["until"], bool)):
        raise _bad(f"{name}.previous must hold secret and until (unix seconds)")
    return Client(name, _secret(entry["secret"], f"{name}.secret"), _ids(entry, "accounts", name),
                  _ids(entry, "partners", name), entry["write"],
                  _secret(previous["secret"], f"{name}.previous.secret") if previous else None,
                  previous["until"] if previous else None)


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are unique: a client written twice would otherwise be silently half-kept."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            shown = repr(key) if NAME_RE.match(key) or _FIELD_RE.match(key) else "a name not shown"
            raise _bad(f"{shown} appears twice in one object")
        found[key] = value
    return found


@functools.lru_cache(maxsize=4)
def parse_registry(text: str) -> Registry:
    """The clients a secret's text holds (cached by text: a warm instance parses each version once)."""
    try:
        data = json.loads(text, object_pairs_hook=_once_each) if text.strip() else {}
    except ValueError:
        raise _bad("it is not JSON") from None
    if not isinstance(data, dict):
        raise _bad("it is not a JSON object of clients by name")
    return Registry({name: _client(position, name, entry) for position, (name, entry) in enumerate(data.items(), 1)})


__all__ = ["ANY", "Client", "DEFAULT_SECRET_NAME", "MAX_REGISTRY_BYTES", "NAME_RE", "Registry",
           "SHARED_SECRET_CLIENT", "new_secret", "parse_registry", "shared_secret_client"]
