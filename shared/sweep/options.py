"""A sweep run's options, read from the timer trigger's payload (:mod:`shared.events.timer`).

Accepted payloads: empty (defaults), ``null``, or a JSON object of the
options below. A manual invocation may send that object as the whole event.

Anything else -- a plain word, a JSON list, an unknown key, a wrong type -- is
:class:`~shared.errors.InvalidInput` and the run does nothing. Guessing would be
worse: ``{dry_run: true}`` read as "no options" would make a rehearsal real,
and an unknown key is most likely a misspelt one.

Options (each overrides the setting of the same name, see
``shared.sweep.settings``): ``dry_run`` (bool), ``grace_seconds``,
``max_revocations``, ``warn_within_seconds`` (integers >= 0) and ``max_share``
(number in (0, 1]).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from shared.errors import InvalidInput
from shared.events.timer import timer_payload

MAX_SECONDS = 10 * 366 * 86400  # beyond ten years is a mistake, not a policy
_INTEGER_OPTIONS = {"grace_seconds": MAX_SECONDS, "max_revocations": 1_000_000, "warn_within_seconds": MAX_SECONDS}
OPTIONS = ("dry_run", *_INTEGER_OPTIONS, "max_share")
NOT_OPTIONS = {"event": "The event must be a timer trigger event or a JSON object of options.",
               "payload": "The timer payload must be empty or a JSON object of sweep options."}


def options_from_event(event: bytes | str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The validated options of one invocation (only those given)."""
    given = timer_payload(event)
    if given.data is None:
        return {}
    if not isinstance(given.data, Mapping):
        raise InvalidInput(NOT_OPTIONS[given.field], field=given.field)
    return _validate(given.data)


def _validate(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(map(str, data)) - set(OPTIONS))
    if unknown:
        raise InvalidInput(f"Unknown sweep option(s): {', '.join(unknown)}; known: {', '.join(OPTIONS)}.",
                           field=unknown[0])
    options: dict[str, Any] = {}
    for name, value in data.items():
        if name == "dry_run":
            if not isinstance(value, bool):
                raise InvalidInput("dry_run must be true or false.", field=name)
        elif name == "max_share":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 < value <= 1:
                raise InvalidInput("max_share must be a number in (0, 1].", field=name)
            value = float(value)
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INTEGER_OPTIONS[name]:
            raise InvalidInput(f"{name} must be an integer between 0 and {_INTEGER_OPTIONS[name]}.", field=name)
        options[name] = value
    return options


__all__ = ["OPTIONS", "options_from_event"]
