"""Function Compute handler of the remediation function (EventBridge trigger on ActionTrail events).

The event view, rules, settings and the reply are described in
:mod:`shared.remediation` (``events``, ``rules``, ``settings``, ``engine``).
"""
from __future__ import annotations

from typing import Any

from shared import clock
from shared.logs import bind
from shared.remediation.engine import remediate


def handler(event: bytes | str | dict[str, Any] | list[Any], context: Any) -> dict[str, Any]:
    with clock.invocation(), bind(function="remediate", request_id=getattr(context, "request_id", None)):
        return remediate(event, context)
