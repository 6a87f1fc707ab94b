"""Settings of the query function, read from the environment at each invocation.

Every variable is described in docs/configuration.md; a malformed value is a
:class:`~shared.errors.ConfigError` naming it.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared import config
from shared.errors import ConfigError
from shared.sts import SESSION_NAME_RE

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
