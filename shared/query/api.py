"""The query function's two doors: an HTTP trigger request, or a direct invocation with the request itself.

Both answer the same reply, every target on its own; nothing reaches the cloud
until the whole request is judged valid. Authentication is the trigger's
(``authType: function``), never the function's: docs/design/query.md.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from shared.credentials import resolve_credentials
from shared.errors import PayloadTooLarge, UnsupportedMediaType, as_rolegate_error, error_reply, http_status_for
from shared.events.http import HttpRequest, MethodNotAllowed, error_response, is_http_event, json_response
from shared.events.payload import decode_event
from shared.logs import log_event
from shared.query.budget import TimeBudget
from shared.query.request import parse_query
from shared.query.run import Query
from shared.query.settings import QuerySettings
from shared.sts import RoleAssumer, default_assumer
from shared.deadline import Deadline


def _http_body(data: Mapping[str, Any], settings: QuerySettings) -> Any:
    request = HttpRequest.from_event(data)
    if len(request.body) > settings.max_body_bytes:
        raise PayloadTooLarge(f"The body is larger than {settings.max_body_bytes} bytes.", field="body")
    if request.method != "POST":
        raise MethodNotAllowed(f"The query answers POST, not {request.method}.", allowed=("POST",))
    media = request.media_type
    if request.body and not (media == "application/json" or media.endswith("+json")):
        raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json).", field="content-type")
    return request.json()


def _deadline(settings: QuerySettings, context: Any, started: float) -> TimeBudget:
    """The earlier of the configured budget and the function's own timeout less the margin."""
    own = Deadline.for_invocation(context, started, settings.safety_margin_seconds)
    at = started + settings.deadline_seconds
    if own.at is not None:
        at = min(at, own.at)
    return TimeBudget(Deadline(at), at - started)


def handle_event(event: bytes | str | Mapping[str, Any], context: Any, *,
                 assumer: RoleAssumer | None = None) -> dict[str, Any]:
    """Serve one invocation; ``assumer`` defaults to the process-wide one (kept while warm)."""
    started = time.monotonic()
    summary: dict[str, Any] = {"mode": "direct"}
    try:
        data = decode_event(event)
        http = is_http_event(data)
        summary["mode"] = "http" if http else "direct"
        settings = QuerySettings.from_env()
        request = parse_query(_http_body(data, settings) if http else data, settings)
        summary.update(kind=request.kind, targets=len(request.targets))
        resolve_credentials()  # a deployment without credentials fails once, not once per target
        budget = _deadline(settings, context, started)
        results = Query(request, settings, assumer or default_assumer(), budget).run()
    except Exception as exc:
        error = as_rolegate_error(exc)
        status = http_status_for(error)
        level = "warning" if status < 500 else "error"
        log_event("query_invocation", level, **summary, status=status, error=error.to_dict(),
                  duration_ms=_ms(started))
        if summary["mode"] == "http":
            return error_response(error)
        return error_reply(error)
    ok = sum(1 for r in results if r.ok)
    reply = {"results": [r.to_dict(request.kind) for r in results], "duration_ms": _ms(started)}
    log_event("query_invocation", **summary, status=200, ok=ok, failed=len(results) - ok,
              duration_ms=reply["duration_ms"])
    return json_response(200, reply) if summary["mode"] == "http" else reply


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


__all__ = ["handle_event"]
