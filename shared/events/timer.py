"""The timer trigger's event, and what a timer-triggered function is asked to do.

A timer trigger delivers ``{"triggerTime", "triggerName", "payload"}``, where
``payload`` is the string configured on the trigger, verbatim: JSON in it is
decoded a second time. A manual invocation of the same function may send what
the payload would hold as the whole event instead. :func:`timer_payload` reads
both, and says which one it read, so a refusal names the right field.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.events.payload import decode_event

TIMER_KEYS = frozenset({"triggerTime", "triggerName", "payload"})


@dataclass(frozen=True)
class TimerPayload:
    """What the invocation asks for, as JSON data (None: nothing), and where it was read."""

    data: Any
    field: str  # "payload" inside a timer trigger's event, or "event" when it was the whole event


def timer_payload(event: Any) -> TimerPayload:
    """The trigger's payload decoded, or the event itself when it is not a timer trigger's."""
    data = decode_event(event)
    if isinstance(data, Mapping) and TIMER_KEYS & set(data):
        return TimerPayload(decode_event(data.get("payload"), "payload"), "payload")
    return TimerPayload(data, "event")


__all__ = ["TIMER_KEYS", "TimerPayload", "timer_payload"]
