"""The one shape of every Function Compute handler.

Each ``functions/<name>/index.py`` is ``handler = entry(name, handle_event)``
with its capability's ``handle_event(data, context)``. Around every
invocation :func:`entry`:

* binds the log context: ``function``, ``request_id`` (the invocation's, else
  the HTTP trigger's) and ``grant_id`` when the HTTP path names one;
* decodes the event (:func:`shared.events.payload.decode_event`) and hands
  ``handle_event`` JSON data;
* reads the cloud's clock at most once (:func:`shared.clock.invocation`);
* turns a failure into the function's error reply (:mod:`shared.errors`): a
  :class:`~shared.errors.RolegateError` as itself, anything else as a generic
  internal error, with one ``<name>_rejected`` (status below 500) or
  ``<name>_failed`` log line. Errors the capability says must fail the
  invocation are logged and raised instead, so Function Compute records it.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from shared import clock
from shared.errors import RolegateError, as_rolegate_error, error_reply, http_status_for
from shared.events.http import error_response, is_http_event
from shared.events.payload import decode_event
from shared.logs import bind, log_event

_GRANT_PATH = re.compile(r"^/grants/([^/]+)/?$")

HandleEvent = Callable[[Any, Any], dict[str, Any]]


def _http_context(data: Any) -> tuple[str | None, str | None]:
    """(request id, grant id of the path) of an HTTP trigger event; (None, None) for any other event."""
    if not is_http_event(data):
        return None, None
    request_id = data["requestContext"].get("requestId")
    path = data["requestContext"]["http"].get("path")
    match = _GRANT_PATH.match(path) if isinstance(path, str) else None
    return (request_id if isinstance(request_id, str) else None), (match.group(1) if match else None)


def entry(function: str, handle_event: HandleEvent, *, http: bool = False, log_name: str | None = None,
          fails_invocation: Callable[[RolegateError], bool] = lambda error: False) -> HandleEvent:
    """The Function Compute handler of ``function``.

    ``http``: failures are answered as HTTP trigger replies. ``log_name``
    (default ``function``) prefixes the failure's log line.
    ``fails_invocation(error)``: raise that error rather than answer it.
    """
    name = log_name or function

    def handler(event: Any, context: Any) -> dict[str, Any]:
        request_id = getattr(context, "request_id", None)
        with clock.invocation():
            try:
                data = decode_event(event)
            except RolegateError as exc:
                with bind(function=function, request_id=request_id):
                    return _fail(name, exc, http, fails_invocation)
            event_request_id, grant_id = _http_context(data)
            fields = {"function": function, "request_id": request_id or event_request_id}
            if grant_id is not None:
                fields["grant_id"] = grant_id
            with bind(**fields):
                try:
                    return handle_event(data, context)
                except Exception as exc:
                    return _fail(name, exc, http, fails_invocation)

    handler.__qualname__ = handler.__name__ = "handler"
    handler.__doc__ = f"Function Compute entry point of {function}."
    return handler


def _fail(name: str, exc: Exception, http: bool, fails_invocation: Callable[[RolegateError], bool]) -> dict[str, Any]:
    error = as_rolegate_error(exc)
    status = http_status_for(error)
    if not getattr(exc, "logged", False):
        fields: dict[str, Any] = {"status": status, "error": error.to_dict()}
        if not isinstance(exc, RolegateError):
            fields["error_type"] = type(exc).__name__
        log_event(f"{name}_rejected" if status < 500 else f"{name}_failed", "warning" if status < 500 else "error",
                  **fields)
    if fails_invocation(error):
        raise exc
    return error_response(error) if http else error_reply(error)


__all__ = ["entry"]
