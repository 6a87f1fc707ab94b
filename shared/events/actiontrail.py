"""A typed, read-only view of the ActionTrail events EventBridge delivers.

:func:`load_events` takes one CloudEvent, a batch of them or a bare record
(``RawData``) and never raises for one bad item (it becomes a :class:`BadEvent`);
only a payload that is neither an object nor a list is refused. The view is
lenient where the record is vague (numbers or strings, lists as JSON strings or
``Name.1`` keys); ``raw`` and ``data`` stay reachable for what it does not name.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput
from shared.events.payload import decode_event

_FLAT_KEY = re.compile(r"^(?P<name>[^.]+)\.(?P<index>\d+)(?:\.(?P<field>.+))?$")


class MalformedPayload(InvalidInput, ValueError):
    """The invocation payload is JSON, but neither an event nor a list of events."""

    default_code = "MalformedEvent"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="event")


@dataclass(frozen=True)
class BadEvent:
    """One item of the payload that is not a readable ActionTrail event."""

    index: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


def _text(value: Any) -> str | None:
    """A scalar parameter as text (numbers and booleans as RAM would spell them); None otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        text = str(value)
        return text if text != "" else None
    return None


class _Text:
    """A read-only attribute: one key of the object's ``part`` mapping, as text (see :func:`_text`)."""

    def __init__(self, part: str, key: str) -> None:
        self.part, self.key = part, key

    def __get__(self, obj: Any, owner: type | None = None) -> str | None:
        return _text(getattr(obj, self.part).get(self.key))


class UserIdentity:
    """``data.userIdentity``: who made the call."""

    ROOT = "root-account"
    RAM_USER = "ram-user"
    ASSUMED_ROLE = "assumed-role"
    SYSTEM = "system"

    def __init__(self, raw: Any) -> None:
        self.raw: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}

    type = _Text("raw", "type")
    principal_id = _Text("raw", "principalId")
    account_id = _Text("raw", "accountId")
    user_name = _Text("raw", "userName")
    access_key_id = _Text("raw", "accessKeyId")

    @property
    def role_name(self) -> str | None:
        """The role behind an assumed-role session (``userName`` is ``<role>:<session>``)."""
        if self.type != self.ASSUMED_ROLE or not self.user_name:
            return None
        return self.user_name.split(":", 1)[0] or None

    @property
    def session_name(self) -> str | None:
        if self.type != self.ASSUMED_ROLE or not self.user_name or ":" not in self.user_name:
            return None
        return self.user_name.split(":", 1)[1] or None

    @property
    def principal(self) -> tuple[str, str] | None:
        """``("user", name)`` for a RAM user, ``("role", name)`` for any session of a role; None otherwise."""
        if self.type == self.RAM_USER and self.user_name:
            return "user", self.user_name
        if self.role_name:
            return "role", self.role_name
        return None

    def describe(self) -> str:
        """Who, in one short string for logs: ``ram-user:alice``, ``assumed-role:r:s``, ``root-account``."""
        return ":".join(p for p in (self.type or "unknown", self.user_name if self.type != self.ROOT else None) if p)


class ActionTrailEvent:
    """One ActionTrail record, with its CloudEvents envelope when it came in one."""

    def __init__(self, raw: Any) -> None:
        """Raises ``ValueError`` (with the reason) when ``raw`` is not an event that can be routed."""
        if not isinstance(raw, Mapping):
            raise ValueError("event is not a JSON object")
        if "data" in raw:
            data = raw["data"]
            if isinstance(data, str):  # some transports deliver data as a JSON string
                try:
                    data = json.loads(data)
                except ValueError:
                    raise ValueError("event data is a string that is not JSON") from None
            envelope: Mapping[str, Any] = raw
        elif "eventName" in raw:
            data, envelope = raw, {}
        else:
            raise ValueError("event has no data (neither a CloudEvent nor an ActionTrail record)")
        if not isinstance(data, Mapping):
            raise ValueError("event data is not a JSON object")
        name = data.get("eventName")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("event data has no eventName")
        self.raw: Mapping[str, Any] = raw
        self.data: Mapping[str, Any] = data
        self.envelope: Mapping[str, Any] = envelope

    id = _Text("envelope", "id")
    source = _Text("envelope", "source")
    type = _Text("envelope", "type")
    envelope_account_id = _Text("envelope", "aliyunaccountid")
    recipient_account_id = _Text("data", "recipientAccountId")  # the account the record says the call was made in
    service_name = _Text("data", "serviceName")
    event_time = _Text("data", "eventTime")
    acs_region = _Text("data", "acsRegion")
    request_id = _Text("data", "requestId")
    error_code = _Text("data", "errorCode")  # set when the call failed (an empty string is no error)

    @property
    def origin_account_id(self) -> str | None:
        """The account whose trail recorded the event, as EventBridge delivered it.

        ``aliyunoriginalaccountid`` when the event was delivered to another
        account's bus (a Resource Directory member's, on its management
        account's), else ``aliyunaccountid``.
        """
        return _text(self.envelope.get("aliyunoriginalaccountid")) or self.envelope_account_id

    # --------------------------------------------------------------- record
    @property
    def event_id(self) -> str | None:
        """The ActionTrail event id, else the envelope's id: what a decision names the event by."""
        return _text(self.data.get("eventId")) or self.id

    @property
    def event_name(self) -> str:
        return str(self.data["eventName"]).strip()

    @property
    def account_id(self) -> str | None:
        """The account the event belongs to: the record's recipient, else the envelope's account."""
        return self.recipient_account_id or self.envelope_account_id

    @property
    def user_identity(self) -> UserIdentity:
        return UserIdentity(self.data.get("userIdentity"))

    @property
    def request_parameters(self) -> Mapping[str, Any]:
        params = self.data.get("requestParameters")
        if isinstance(params, str):  # requestParameterJson-style delivery
            try:
                params = json.loads(params)
            except ValueError:
                return {}
        return params if isinstance(params, Mapping) else {}

    # ----------------------------------------------------------- parameters
    def param(self, name: str) -> str | None:
        """A scalar request parameter as text; None when absent, empty or not a scalar."""
        return _text(self.request_parameters.get(name))

    def param_bool(self, name: str) -> bool:
        return (self.param(name) or "").lower() == "true"

    def param_int(self, name: str) -> int | None:
        text = self.param(name)
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    def param_list(self, name: str) -> list[str]:
        """A list parameter: a JSON array (or its string), one bare value, or flattened ``Name.N`` keys."""
        params = self.request_parameters
        value = params.get(name)
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        if isinstance(value, list):
            return [t for t in (_text(v) for v in value) if t is not None]
        if value is not None:
            single = _text(value)
            return [single] if single is not None else []
        flat = sorted((int(m["index"]), v) for k, v in params.items()
                      if (m := _FLAT_KEY.match(str(k))) and m["name"] == name and not m["field"])
        return [t for t in (_text(v) for _, v in flat) if t is not None]

    def param_tags(self, name: str = "Tag") -> list[tuple[str, str]]:
        """``[(key, value)]`` of a tag parameter: a JSON array of ``{Key, Value}`` or ``Tag.N.Key``/``.Value``."""
        params = self.request_parameters
        value = params.get(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return []
        pairs: list[tuple[str, str]] = []
        if isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping) and _text(item.get("Key")) is not None:
                    pairs.append((str(_text(item.get("Key"))), _text(item.get("Value")) or ""))
            return pairs
        slots: dict[int, dict[str, str]] = {}
        for key, raw in params.items():
            match = _FLAT_KEY.match(str(key))
            if match and match["name"] == name and match["field"] in ("Key", "Value"):
                slots.setdefault(int(match["index"]), {})[match["field"]] = _text(raw) or ""
        return [(slot["Key"], slot.get("Value", "")) for _, slot in sorted(slots.items()) if slot.get("Key")]

    def param_document(self, name: str) -> Mapping[str, Any] | str | None:
        """A policy-document parameter as given (JSON text or an object); None when absent."""
        value = self.request_parameters.get(name)
        return value if isinstance(value, (str, Mapping)) and value else None

    def referenced(self, kind: str) -> list[str]:
        """Names ``referencedResources`` lists under ``kind`` (``ACS::ECS::Instance``): a list, or one string
        of comma-separated names; [] when absent."""
        resources = self.data.get("referencedResources")
        value = resources.get(kind) if isinstance(resources, Mapping) else None
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            return []
        return [t.strip() for t in (_text(v) for v in value) if t is not None and t.strip()]

    def summary(self) -> dict[str, Any]:
        """The fields a log line or a decision names the event by."""
        return {"event_id": self.event_id, "event_name": self.event_name, "service": self.service_name,
                "caller": self.user_identity.describe()}


def load_events(payload: Any) -> list[ActionTrailEvent | BadEvent]:
    """Every event of an invocation payload, in delivery order (see the module docstring)."""
    decoded = decode_event(payload)
    if isinstance(decoded, Mapping):
        items: list[Any] = [decoded]
    elif isinstance(decoded, list):
        items = decoded
    else:
        raise MalformedPayload("payload is neither an event object nor a list of events")
    out: list[ActionTrailEvent | BadEvent] = []
    for index, item in enumerate(items):
        try:
            out.append(ActionTrailEvent(item))
        except ValueError as exc:
            out.append(BadEvent(index, str(exc)))
    return out


__all__ = ["ActionTrailEvent", "BadEvent", "MalformedPayload", "UserIdentity", "load_events"]
