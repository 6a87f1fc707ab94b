"""Function Compute handler of the query function (HTTP trigger with ``authType: function``, or direct invocation).

Request, reply, authentication and settings are described in
:mod:`shared.query.api` and :mod:`shared.query.settings`. Role sessions are
cached process-wide (:func:`shared.credentials.default_assumer`), so a warm
instance asks STS again only when a session nears its expiry.
"""
from __future__ import annotations

from typing import Any

from shared import clock
from shared.query.api import handle_event


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    with clock.invocation():
        return handle_event(event, context)
