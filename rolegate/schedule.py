"""Timer trigger schedules as Function Compute reads them.

FC 3.0 takes a six-field cron expression with seconds first
(``sec min hour day-of-month month day-of-week``), evaluated in UTC unless it
starts with ``CRON_TZ=<IANA zone>``, or an interval ``@every 5m`` (Go-style
units ``h``, ``m``, ``s``). Five-field expressions are refused, as FC refuses
them: read as minutes-first they would fire sixty times more often than meant.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

DEFAULT_CRON = "0 */5 * * * *"
_EVERY = re.compile(r"^@every\s+((?:\d+[hms])+)$")
_EVERY_PART = re.compile(r"(\d+)([hms])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


class ScheduleError(ValueError):
    """A cron expression FC would not accept."""


@dataclass(frozen=True)
class Schedule:
    """One trigger's schedule; :meth:`next_after` gives its next firing (aware UTC)."""

    expression: str
    zone: tzinfo
    cron: str | None = None
    every: timedelta | None = None

    @classmethod
    def parse(cls, expression: str) -> "Schedule":
        text = " ".join(expression.split())
        zone: tzinfo = timezone.utc
        if text.startswith("CRON_TZ="):
            name, _, text = text[len("CRON_TZ="):].partition(" ")
            try:
                zone = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ScheduleError(f"unknown time zone {name!r} in CRON_TZ") from None
        every = _EVERY.match(text)
        if every:
            seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _EVERY_PART.findall(every.group(1)))
            if seconds <= 0:
                raise ScheduleError("@every needs a positive interval")
            return cls(expression, zone, every=timedelta(seconds=seconds))
        if len(text.split(" ")) != 6:
            raise ScheduleError(f"{expression!r} is not a 6-field cron expression (seconds first) or @every <interval>")
        if not croniter.is_valid(text, second_at_beginning=True):
            raise ScheduleError(f"{expression!r} is not a valid cron expression")
        return cls(expression, zone, cron=text)

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after ``moment`` (an aware datetime)."""
        if self.every is not None:
            return (moment + self.every).astimezone(timezone.utc)
        assert self.cron is not None
        local = moment.astimezone(self.zone)
        fire = croniter(self.cron, local, second_at_beginning=True).get_next(datetime)
        return fire.astimezone(timezone.utc)


__all__ = ["DEFAULT_CRON", "Schedule", "ScheduleError"]
