"""Timer-triggered sweep: revoke every grant whose expiry has passed (see ``shared.sweep``).

Returns the run's summary. An invalid payload returns ``{"ok": false, "error":
...}`` and revokes nothing. A tripped blast-radius guard or an account that
could not be swept raises after the summary is logged, and so does a broken
deployment (settings, credentials), so Function Compute marks the invocation
failed.
"""
from __future__ import annotations

import time
from typing import Any

from shared import clock
from shared.errors import InvalidInput, RolegateError
from shared.logs import bind, log_event
from shared.sweep import Deadline, SweepFailed, SweepSettings, options_from_event, run_sweep


def handler(event: bytes | str | dict, context: Any) -> dict[str, Any]:
    started = time.monotonic()
    with clock.invocation(), bind(function="revoke", request_id=getattr(context, "request_id", None)):
        try:
            options = options_from_event(event)
        except InvalidInput as exc:
            log_event("sweep_rejected", "error", error=exc.to_dict())
            return {"ok": False, "error": exc.to_dict()}
        try:
            settings = SweepSettings.from_env().with_options(options)
            deadline = Deadline.for_invocation(context, started, settings.safety_margin_seconds)
            return run_sweep(settings, deadline, context=context)
        except RolegateError as exc:
            if not isinstance(exc, SweepFailed):  # that one's summary is already logged
                log_event("sweep_failed", "error", error=exc.to_dict())
            raise
