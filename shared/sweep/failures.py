"""How one failed piece of a sweep (a revocation, an orphan deletion) is reported: the same shape for all."""
from __future__ import annotations

from typing import Any

from shared.errors import RolegateError, as_rolegate_error


def failure_entry(exc: Exception, **where: Any) -> tuple[dict[str, Any], RolegateError]:
    """The summary entry for ``exc`` -- ``where`` (what failed), the cloud's code or ours, the message, and
    ``retryable`` when retrying may help -- and the converted error, for the log line."""
    error = as_rolegate_error(exc)
    entry = {**where, "code": getattr(error, "cloud_code", None) or error.code, "message": error.message}
    if isinstance(exc, RolegateError) and exc.retryable:
        entry["retryable"] = True
    return entry, error


__all__ = ["failure_entry"]
