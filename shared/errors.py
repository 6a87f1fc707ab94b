"""Rolegate's exception tree: each error's stable ``code``, HTTP status and error body.

Every failure a handler reports is a :class:`RolegateError`; anything else
becomes a generic internal error (:func:`as_rolegate_error`). The one error
shape and the envelopes it travels in: docs/design/errors.md.
"""
from __future__ import annotations

from typing import Any, ClassVar


class RolegateError(Exception):
    """Base of every error Rolegate reports; safe to show to the caller."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "InternalError"
    default_retryable: ClassVar[bool] = False

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None,
                          retryable: bool | None = None, **kwargs: Any) -> None:
        """``class NotFound(RolegateError, status=404, code="NotFound")``: a kind of error in one line."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.default_code = code
        if retryable is not None:
            cls.default_retryable = retryable

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


class InvalidInput(RolegateError, status=400, code="InvalidInput"):
    """The request is malformed; ``field`` names the part."""


class Unauthenticated(RolegateError, status=401, code="Unauthenticated"):
    """The caller could not be authenticated."""


class Refused(RolegateError, status=403, code="Refused"):
    """The request is well formed but a policy check refused it; ``findings`` say why."""

    def __init__(self, message: str, *, findings: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.findings: list[Any] = list(findings or [])

    def _extra(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() if hasattr(f, "to_dict") else f for f in self.findings]}


class NotFound(RolegateError, status=404, code="NotFound"):
    """The grant or resource named does not exist."""


class Conflict(RolegateError, status=409, code="Conflict"):
    """The request clashes with the current state."""


class Gone(RolegateError, status=410, code="GrantRevoked"):
    """The grant was revoked: a replayed create cannot bring it back."""


class PayloadTooLarge(RolegateError, status=413, code="PayloadTooLarge"):
    """The body or event is larger than the function accepts."""


class UnsupportedMediaType(RolegateError, status=415, code="UnsupportedMediaType"):
    """The body is not JSON."""


class Unprocessable(RolegateError, status=422, code="Unprocessable"):
    """The request is well formed but cannot be carried out as asked."""


class ConfigError(RolegateError, code="ConfigError"):
    """A deployment setting (environment variable) is missing or malformed; ``field`` names it.

    A 500, not a 400: it describes the deployment, which the caller can do nothing about.
    """


class CredentialsNotFound(RolegateError, code="CredentialsNotFound"):
    """No source yielded cloud credentials for the function itself (a 500: not the caller's credentials)."""


class DeadlineExceeded(RolegateError, status=504, code="DeadlineExceeded", retryable=True):
    """The invocation ran out of time."""


class CloudCallError(RolegateError, status=502, code="CloudCallFailed"):
    """A cloud API call failed with an answer that trying again will not change."""

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


class CloudUnavailable(CloudCallError, status=503, code="CloudUnavailable", retryable=True):
    """The cloud was throttling, failing (5xx) or unreachable; the same call may succeed later."""


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
