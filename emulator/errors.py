"""Errors the emulated cloud answers with.

Each service raises :class:`CloudError` with the documented code and HTTP
status; the application layer renders it in the product's error body, which
the SDKs turn into ``ClientException``/``ServerException``/``ThrottlingException``.
"""
from __future__ import annotations


class CloudError(Exception):
    """A documented API error: code, human message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, *, retry_after: int | None = None,
                 detail: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


def not_found(code: str, message: str) -> CloudError:
    return CloudError(code, message, 404)


def conflict(code: str, message: str) -> CloudError:
    return CloudError(code, message, 409)


def invalid(code: str, message: str) -> CloudError:
    return CloudError(code, message, 400)


def no_permission(action: str, resource: str, reason: str = "") -> CloudError:
    """The RAM denial, naming the action so a reader sees what was missing."""
    msg = "You are not authorized to do this action. You should be authorized by RAM."
    detail = f"Action: {action}, Resource: {resource}" + (f", Reason: {reason}" if reason else "")
    return CloudError("NoPermission", f"{msg} {detail}", 403, detail=detail)
