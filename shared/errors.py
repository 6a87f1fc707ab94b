"""Rolegate's exception tree, the one error shape, and the one place an error becomes an HTTP status.

Every failure a handler can report is a :class:`RolegateError`: it carries a
stable machine ``code``, a human ``message`` that never contains a secret, the
HTTP ``status`` it maps to, and whether trying again later may succeed.
Anything else is reported as a generic internal error (:func:`as_rolegate_error`).

The error shape, the same for every function::

    {"code": "...", "message": "...", "field": "...", "retryable": true, ...}

(``field``, ``retryable``, ``details`` and the cloud's ``action``,
``cloud_code``, ``request_id`` appear only when they say something). It
travels in one envelope:

* event functions (revoke, remediate, a direct invocation of query) reply
  ``{"ok": false, "error": {...}}`` (:func:`error_reply`);
* HTTP functions (onboard, query behind its trigger) answer
  ``{"error": {...}}`` as the body, with ``http_status_for(exc)`` as the status
  (:func:`shared.events.http.error_response`), as ``functions/onboard/openapi.yaml``
  documents.

Per-item failures inside a successful reply (a query target, a remediation
event, a grant the sweep could not revoke) carry the same shape under
``error`` or in an ``errors`` list. :mod:`shared.handler` applies this to
every handler.

Hierarchy::

    RolegateError (500, "InternalError")
    ├── InvalidInput (400)
    ├── Unauthenticated (401)
    ├── Refused (403)                 a policy check said no; carries ``findings``
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Gone (410)                    the grant was revoked; a replayed create cannot bring it back
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── Unprocessable (422)
    ├── ConfigError (500)             a deployment setting is missing or malformed
    ├── CredentialsNotFound (500)     the function itself has no cloud credentials
    ├── DeadlineExceeded (504)        the invocation ran out of time (retryable)
    └── CloudCallError (502)          a cloud API call failed; ``cloud_code``, ``request_id``,
        │                             ``http_status``, ``action``
        └── CloudUnavailable (503)    throttling, 5xx or transport failure (retryable)

``ConfigError`` and ``CredentialsNotFound`` are 500s rather than 400/401: they
describe the deployment, not the request, so the caller can do nothing about
them and must not be told its own credentials were wrong.
"""
from __future__ import annotations

from typing import Any, ClassVar


class RolegateError(Exception):
    """Base of every error Rolegate reports; safe to show to the caller."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalError"
    default_retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 retryable: bool | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code: str = code or self.default_code
        self.field = field
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: optional keys appear only when they say something."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.retryable:
            out["retryable"] = True
        out.update(self._extra())
        if self.details:
            out["details"] = self.details
        return out

    def _extra(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidInput(RolegateError):
    status = 400
    default_code = "InvalidInput"


class Unauthenticated(RolegateError):
    status = 401
    default_code = "Unauthenticated"


class Refused(RolegateError):
    """The request is well formed but a policy check refused it; ``findings`` say why."""

    status = 403
    default_code = "Refused"

    def __init__(self, message: str, *, findings: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.findings: list[Any] = list(findings or [])

    def _extra(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() if hasattr(f, "to_dict") else f for f in self.findings]}


class NotFound(RolegateError):
    status = 404
    default_code = "NotFound"


class Conflict(RolegateError):
    status = 409
    default_code = "Conflict"


class Gone(RolegateError):
    status = 410
    default_code = "GrantRevoked"


class PayloadTooLarge(RolegateError):
    status = 413
    default_code = "PayloadTooLarge"


class UnsupportedMediaType(RolegateError):
    status = 415
    default_code = "UnsupportedMediaType"


class Unprocessable(RolegateError):
    status = 422
    default_code = "Unprocessable"


class ConfigError(RolegateError):
    """A deployment setting (environment variable) is missing or malformed; ``field`` names it."""

    default_code = "ConfigError"


class CredentialsNotFound(RolegateError):
    """No source yielded cloud credentials for the function itself."""

    default_code = "CredentialsNotFound"


class DeadlineExceeded(RolegateError):
    status = 504
    default_code = "DeadlineExceeded"
    default_retryable = True


class CloudCallError(RolegateError):
    """A cloud API call failed with an answer that trying again will not change."""

    status = 502
    default_code = "CloudCallFailed"

    def __init__(self, message: str, *, action: str, cloud_code: str | None = None,
                 request_id: str | None = None, http_status: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.action = action
        self.cloud_code = cloud_code
        self.request_id = request_id
        self.http_status = http_status

    def _extra(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.cloud_code is not None:
            out["cloud_code"] = self.cloud_code
        if self.request_id is not None:
            out["request_id"] = self.request_id
        return out


class CloudUnavailable(CloudCallError):
    """The cloud was throttling, failing (5xx) or unreachable; the same call may succeed later."""

    status = 503
    default_code = "CloudUnavailable"
    default_retryable = True


def http_status_for(exc: BaseException) -> int:
    """The HTTP status a handler answers with for ``exc``; anything unknown is a 500."""
    if isinstance(exc, RolegateError):
        return exc.status
    return 500


def error_reply(exc: BaseException) -> dict[str, Any]:
    """The reply of an event function that failed: ``{"ok": false, "error": {...}}``."""
    return {"ok": False, "error": as_rolegate_error(exc).to_dict()}


def as_rolegate_error(exc: BaseException) -> RolegateError:
    """``exc`` itself if it is a RolegateError, else a generic internal error.

    The original message is deliberately dropped: an arbitrary exception's text
    may quote request data or credentials, and the caller cannot act on it.
    """
    if isinstance(exc, RolegateError):
        return exc
    return RolegateError("Internal error.", details={"type": type(exc).__name__})
