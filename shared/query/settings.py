"""Settings of the query function, read from the environment at each invocation.

Variable                                  Default            Meaning
========================================  =================  ====================================================
``ROLEGATE_QUERY_MAX_TARGETS``            ``200``            Most targets one request may name (1-1000); more is
                                                             a 400 on ``targets``. Each target costs at least one
                                                             AssumeRole and one list call.
``ROLEGATE_QUERY_CONCURRENCY``            ``10``             Targets worked on at once (1-64). STS allows 100
                                                             AssumeRole calls per second per calling account, and
                                                             a cold cache spends one per target: ten workers at a
                                                             few tens of milliseconds a call stay below it.
``ROLEGATE_QUERY_DEADLINE_SECONDS``       ``25``             Wall-clock budget of one request (1-900). Targets
                                                             unfinished by then fail with ``DeadlineExceeded``;
                                                             the budget never runs past the function's own
                                                             timeout less the safety margin.
``ROLEGATE_QUERY_SAFETY_MARGIN_SECONDS``  ``2``              Time kept back before the function's timeout to
                                                             write the reply (at most half the timeout).
``ROLEGATE_QUERY_PAGE_SIZE``              ``100``            ``limit`` of each list call (1-100, FC's maximum).
``ROLEGATE_QUERY_SESSION_NAME``           ``rolegate-query`` RoleSessionName of every session: what the target
                                                             account's ActionTrail records as the actor.
``ROLEGATE_QUERY_DURATION_SECONDS``       ``3600``           DurationSeconds asked of AssumeRole (900-43200; a
                                                             role whose MaxSessionDuration is lower refuses).
                                                             Sessions are cached until 5 minutes before expiry,
                                                             so longer sessions mean fewer AssumeRole calls.
``ROLEGATE_QUERY_MAX_BODY_BYTES``         ``262144``         Larger HTTP request bodies are refused with 413.

Targets without a ``region`` use ``ROLEGATE_REGION``, else the function's own
region (``FC_REGION``), else ``cn-hangzhou`` (:func:`shared.config.region`).
A malformed value is a :class:`~shared.errors.ConfigError` naming the variable.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared import config
from shared.errors import ConfigError
from shared.credentials import SESSION_NAME_RE

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class QuerySettings:
    max_targets: int = 200
    concurrency: int = 10
    deadline_seconds: int = 25
    safety_margin_seconds: int = 2
    page_size: int = MAX_PAGE_SIZE
    session_name: str = "rolegate-query"
    duration_seconds: int = 3600
    max_body_bytes: int = 256 * 1024
    default_region: str = config.DEFAULT_REGION

    @classmethod
    def from_env(cls) -> QuerySettings:
        session_name = config.env_str("ROLEGATE_QUERY_SESSION_NAME", cls.session_name) or cls.session_name
        if not SESSION_NAME_RE.match(session_name):
            raise ConfigError("ROLEGATE_QUERY_SESSION_NAME must be 2-64 letters, digits or .@_-.",
                              field="ROLEGATE_QUERY_SESSION_NAME")
        return cls(
            max_targets=config.env_int("ROLEGATE_QUERY_MAX_TARGETS", cls.max_targets, minimum=1, maximum=1000),
            concurrency=config.env_int("ROLEGATE_QUERY_CONCURRENCY", cls.concurrency, minimum=1, maximum=64),
            deadline_seconds=config.env_int("ROLEGATE_QUERY_DEADLINE_SECONDS", cls.deadline_seconds,
                                            minimum=1, maximum=900),
            safety_margin_seconds=config.env_int("ROLEGATE_QUERY_SAFETY_MARGIN_SECONDS",
                                                 cls.safety_margin_seconds, minimum=0, maximum=60),
            page_size=config.env_int("ROLEGATE_QUERY_PAGE_SIZE", cls.page_size, minimum=1, maximum=MAX_PAGE_SIZE),
            session_name=session_name,
            duration_seconds=config.env_int("ROLEGATE_QUERY_DURATION_SECONDS", cls.duration_seconds,
                                            minimum=900, maximum=43200),
            max_body_bytes=config.env_int("ROLEGATE_QUERY_MAX_BODY_BYTES", cls.max_body_bytes, minimum=1024),
            default_region=config.region(),
        )


__all__ = ["QuerySettings"]
