"""What Function Compute 3.0 hands a Python handler, rebuilt for the local host.

The handlers only ever see FC's shapes, so running them locally means
producing exactly those shapes: the invocation context, the HTTP trigger's
JSON event (and the reply mapped back to HTTP), and the timer trigger's event.
The shapes follow the FC 3.0 documentation summarised in the project's
reference notes:

* HTTP event: ``version`` ``v1``; ``rawPath`` URL-encoded and the decoded path
  in ``requestContext.http.path``; header names as sent; a header or query
  parameter given several times arrives once, its values joined by ``,``;
  ``body`` is text, or base64 with ``isBase64Encoded: true`` when the bytes
  are not UTF-8; ``timeEpoch`` is a string of milliseconds.
* HTTP reply: ``{"statusCode", "headers", "isBase64Encoded", "body"}``. What
  FC does with a reply lacking ``statusCode`` is not documented; here it is a
  200 whose body is the returned value (JSON unless it is already text).
* A handler that raises: FC answers without running any more code of the
  function; here a 502 with ``{"errorMessage", "errorType"}`` and
  ``X-Fc-Error-Type: UnhandledInvocationError`` (the message of a Rolegate
  error only; any other exception's text stays in the host's log).
* Timer event: ``{"triggerTime", "triggerName", "payload"}``, the payload the
  configured string verbatim.
"""
from __future__ import annotations

import base64
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from werkzeug.wrappers import Request, Response

ERROR_TYPE_HEADER = "X-Fc-Error-Type"
REQUEST_ID_HEADER = "X-Fc-Request-Id"
UNHANDLED = "UnhandledInvocationError"


def new_request_id() -> str:
    """An id in FC's ``1-<hex seconds>-<hex>`` form, unique per invocation."""
    return f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


def iso_seconds(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------- context
@dataclass(frozen=True)
class ContextCredentials:
    """``context.credentials`` of the python3.6-3.10 runtimes: the function role's STS session."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FunctionMeta:
    name: str
    handler: str = "index.handler"
    memory: int = 512
    timeout: int = 60
    qualifier: str = "LATEST"
    version_id: str = ""


@dataclass(frozen=True)
class FakeContext:
    """The invocation context a handler receives.

    ``credentials`` is present as in the python3.10 runtime (3.12 puts them in
    the environment instead); the local host uses it so that four functions
    with four identities can run side by side in one process, where a shared
    environment could hold only one.
    """

    request_id: str
    function: FunctionMeta
    account_id: str
    region: str = "cn-hangzhou"
    credentials: ContextCredentials | None = None
    log_project: str = "rolegate-local"
    log_store: str = "functions"


# ---------------------------------------------------------------- HTTP trigger
def _joined(pairs: Any) -> dict[str, str]:
    """Name -> values joined by ',' (names compared without case, the first spelling kept)."""
    out: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in spelling:
            out[spelling[key]] = f"{out[spelling[key]]},{value}"
        else:
            spelling[key] = name
            out[name] = value
    return out


def _raw_path(request: Request) -> str:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return urllib.parse.quote(request.path)


def http_event(request: Request, *, account_id: str, request_id: str,
               now: datetime | None = None) -> dict[str, Any]:
    """The event an HTTP trigger delivers for ``request`` (see the module docstring)."""
    moment = now or datetime.now(timezone.utc)
    raw = request.get_data(cache=True)
    try:
        body, is_base64 = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode("ascii"), True
    query = {name: ",".join(request.args.getlist(name)) for name in request.args}
    return {
        "version": "v1",
        "rawPath": _raw_path(request),
        "body": body,
        "isBase64Encoded": is_base64,
        "headers": _joined(request.headers.items()),
        "queryParameters": query,
        "requestContext": {
            "accountId": account_id,
            "domainName": request.host,
            "domainPrefix": request.host.split(":", 1)[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "time": iso_seconds(moment),
            "timeEpoch": str(int(moment.timestamp() * 1000)),
        },
    }


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_reply(result: Any) -> HttpReply:
    """The HTTP answer FC makes of a handler's return value."""
    if not (isinstance(result, Mapping) and "statusCode" in result):
        if isinstance(result, bytes):
            return HttpReply(200, [], result)
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        return HttpReply(200, [], text.encode("utf-8"))
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        values = value if isinstance(value, list) else [value]
        headers.extend((str(name), str(v)) for v in values)
    body = result.get("body")
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(str(body))
    else:
        data = str(body).encode("utf-8")
    return HttpReply(int(result["statusCode"]), headers, data)


def unhandled_reply(message: str, error_type: str) -> HttpReply:
    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    return HttpReply(502, [("Content-Type", "application/json"), (ERROR_TYPE_HEADER, UNHANDLED)], body)


class InvocationError(Exception):
    """The handler raised: ``error_type`` and ``message`` are what FC would report."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def trigger_app(run: Callable[[dict[str, Any], str], Any], account_id: str) -> Callable[..., Any]:
    """A WSGI app serving one HTTP trigger: request -> event -> ``run(event, request_id)`` -> HTTP reply.

    ``run`` invokes the handler and returns its result, or raises
    :class:`InvocationError` when the handler raised.
    """
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request_id = new_request_id()
        event = http_event(request, account_id=account_id, request_id=request_id)
        try:
            result = run(event, request_id)
        except InvocationError as exc:
            reply = unhandled_reply(exc.message, exc.error_type)
        else:
            try:
                reply = http_reply(result)
            except (TypeError, ValueError) as exc:
                reply = unhandled_reply(f"the handler's reply is not an HTTP response: {exc}", "InvalidReply")
        response = Response(reply.body, status=reply.status, headers=reply.headers)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response(environ, start_response)

    return app


# -------------------------------------------------------------- timer trigger
def timer_event(trigger_name: str, payload: str, when: datetime) -> dict[str, Any]:
    return {"triggerTime": iso_seconds(when), "triggerName": trigger_name, "payload": payload}


__all__ = ["ContextCredentials", "FakeContext", "FunctionMeta", "HttpReply", "InvocationError", "http_event",
           "http_reply", "new_request_id", "timer_event", "trigger_app", "unhandled_reply"]
