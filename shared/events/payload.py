"""An invocation's event as JSON data: what a direct invocation sends, and what every trigger's event is first.

The Python runtime hands a handler its event as bytes. Every view in
:mod:`shared.events` starts from :func:`decode_event`, so an event is refused
the same way whoever reads it: larger than any invocation payload (413), not
UTF-8, or not JSON (400), naming the field that held it.
"""
from __future__ import annotations

import json
from typing import Any

from shared.errors import InvalidInput, PayloadTooLarge

MAX_EVENT_BYTES = 6 * 1024 * 1024  # Function Compute's limit on a synchronous invocation's payload


def json_int(text: str) -> int | float:
    """An integer literal for ``json.loads(parse_int=...)``; one too long for ``int`` reads as infinity.

    Python refuses to convert more than 4300 digits (ValueError, not a JSON
    error). Read as infinity, as json already reads ``1e999``, such a number
    stays in the document, so the check of the field that holds it refuses it
    rather than the whole event failing as an internal error.
    """
    try:
        return int(text)
    except ValueError:
        return float("-inf") if text.startswith("-") else float("inf")


def decode_event(event: Any, field: str = "event") -> Any:
    """JSON data from bytes or text (blank is ``None``); data already decoded passes through.

    ``field`` names what is decoded in a refusal: the event, or a payload a trigger carries inside it.
    """
    if isinstance(event, (bytes, bytearray)):
        if len(event) > MAX_EVENT_BYTES:
            raise PayloadTooLarge(f"The {field} is larger than any invocation payload.", field=field)
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"The {field} is not UTF-8 text.", field=field) from None
    if not isinstance(event, str):
        return event
    if len(event) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"The {field} is larger than any invocation payload.", field=field)
    if not event.strip():
        return None
    try:
        return json.loads(event, parse_int=json_int)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise InvalidInput(f"The {field} is not JSON.", field=field) from None


__all__ = ["MAX_EVENT_BYTES", "decode_event", "json_int"]
