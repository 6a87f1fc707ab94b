"""The Function Compute 3.0 HTTP trigger, as typed request and response values.

:class:`HttpRequest` hides the event's shape (the decoded path, header names
in any case, repeated values comma-joined, base64 bodies); :func:`json_response`
and :func:`error_response` build the reply, the latter the HTTP form of the
error shape (docs/design/errors.md).
"""
from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidInput, RolegateError, as_rolegate_error, http_status_for
from shared.events.payload import decode_event, json_int
from shared.jsontext import compact

JSON_CONTENT_TYPE = "application/json"


class MethodNotAllowed(RolegateError):
    """The path exists but does not answer this method; ``allowed`` becomes the ``Allow`` header."""

    status = 405
    default_code = "MethodNotAllowed"

    def __init__(self, message: str, *, allowed: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.allowed = allowed


class Headers(Mapping[str, str]):
    """Header names compared without case; one value per name, comma-joined as FC delivers them.

    If an event carries the same name twice in different cases the values are
    joined with a comma, exactly as FC joins a repeated header.
    """

    def __init__(self, raw: Mapping[str, Any] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in (raw or {}).items():
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            key = str(name).lower()
            if key in self._items:
                original, previous = self._items[key]
                self._items[key] = (original, f"{previous},{text}")
            else:
                self._items[key] = (str(name), text)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def values_of(self, name: str) -> list[str]:
        """The separate values of a repeated header (split at commas, blanks dropped)."""
        return [v.strip() for v in self.get(name, "").split(",") if v.strip()]


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request delivered by an FC 3.0 HTTP trigger."""

    method: str
    path: str
    headers: Headers
    query: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str | None = None
    source_ip: str | None = None

    @classmethod
    def from_event(cls, event: bytes | str | Mapping[str, Any]) -> HttpRequest:
        """Parse the trigger event; anything that is not one raises ``InvalidInput`` (a 400).

        The decoded ``requestContext.http.path`` is preferred; ``rawPath`` (URL
        encoded) is the fallback for events built by hand.
        """
        data = decode_event(event)
        if not isinstance(data, Mapping):
            raise InvalidInput("The event is not a JSON object.", field="event")
        context = data.get("requestContext") if isinstance(data.get("requestContext"), Mapping) else {}
        http = context.get("http") if isinstance(context.get("http"), Mapping) else {}
        method = http.get("method") or data.get("httpMethod")
        path = http.get("path")
        if path is None and isinstance(data.get("rawPath"), str):
            path = urllib.parse.unquote(data["rawPath"])
        if not isinstance(method, str) or not method or not isinstance(path, str):
            raise InvalidInput("The event is not an HTTP trigger request (no method or path).", field="event")
        if not (_is_utf8(method) and _is_utf8(path)):
            raise InvalidInput("The event's method and path must be UTF-8 text.", field="event")
        headers = data.get("headers") or {}
        query = data.get("queryParameters") or {}
        if not isinstance(headers, Mapping) or not isinstance(query, Mapping):
            raise InvalidInput("The event's headers and queryParameters must be objects.", field="event")
        request_id = context.get("requestId")
        return cls(
            method=method.upper(),
            path=path,
            headers=Headers(headers),
            query={str(k): ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in query.items()},
            body=_body_bytes(data.get("body"), bool(data.get("isBase64Encoded"))),
            request_id=request_id if isinstance(request_id, str) else None,
            source_ip=http.get("sourceIp") if isinstance(http.get("sourceIp"), str) else None,
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased (``application/json``); "" when absent."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as UTF-8 JSON; a malformed body is a 400 naming the position."""
        try:
            return json.loads(self.body.decode("utf-8"), parse_int=json_int)
        except UnicodeDecodeError:
            raise InvalidInput("The body is not UTF-8 text.", field="body") from None
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.",
                               field="body") from None
        except RecursionError:
            raise InvalidInput("The body nests JSON too deeply.", field="body") from None


def is_http_event(data: Any) -> bool:
    """Whether decoded event data is an HTTP trigger's (it has ``requestContext.http``), not a direct invocation's."""
    context = data.get("requestContext") if isinstance(data, Mapping) else None
    return isinstance(context, Mapping) and isinstance(context.get("http"), Mapping)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _body_bytes(body: Any, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidInput("The event's body must be a string.", field="event")
    if not is_base64:
        if not _is_utf8(body):  # a lone surrogate (\ud800 in the event's JSON) has no UTF-8 form
            raise InvalidInput("The event's body is not UTF-8 text.", field="body")
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("The event's body is marked base64 but is not valid base64.", field="body") from None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The handler's return value for a JSON reply (body is a string, never base64)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": f"{JSON_CONTENT_TYPE}; charset=utf-8", **(headers or {})},
        "isBase64Encoded": False,
        "body": compact(payload),
    }


def error_response(exc: BaseException, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The reply for any failure: ``{"error": {...}}`` with the status the error tree assigns.

    A non-Rolegate exception becomes a bare 500 without its message, so no
    traceback or internal detail ever reaches the caller.
    """
    error = as_rolegate_error(exc)
    extra = dict(headers or {})
    if isinstance(error, MethodNotAllowed):
        extra["Allow"] = ", ".join(error.allowed)
    return json_response(http_status_for(error), {"error": error.to_dict()}, extra)


__all__ = ["Headers", "HttpRequest", "JSON_CONTENT_TYPE", "MethodNotAllowed", "error_response", "is_http_event",
           "json_response"]
