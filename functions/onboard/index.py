"""Function Compute handler of the onboarding webhook (HTTP trigger).

The API, its checks and its answers live in :mod:`shared.onboarding.api`; the
request signature scheme and how it stacks with the trigger's ``authType`` in
:mod:`shared.onboarding.auth`; settings in :mod:`shared.onboarding.settings`.
"""
from __future__ import annotations

from typing import Any

from shared import clock
from shared.onboarding.api import handle_event
from shared.onboarding.auth import ReplayCache

# Lives as long as the warm instance: exact replays of mutating requests are refused within it.
REPLAYS = ReplayCache()


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    with clock.invocation():
        return handle_event(event, context, replays=REPLAYS)
