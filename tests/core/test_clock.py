"""shared.clock follows the emulator's clock when ROLEGATE_ENDPOINT is set, real time otherwise."""
from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared import clock
from shared.errors import CloudUnavailable


def test_real_time_without_endpoint() -> None:
    """Unset endpoint: the machine's UTC clock, timezone-aware."""
    before = datetime.now(timezone.utc)
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(timezone.utc)


def test_follows_emulator_clock(use_emulator: Any) -> None:
    """Advancing the emulator's clock by a day moves Rolegate's clock by a day."""
    start = clock.now()
    assert abs((start - datetime.now(timezone.utc)).total_seconds()) < 5
    use_emulator.advance_clock(86_400)
    moved = clock.now()
    assert timedelta(days=1) <= moved - start < timedelta(days=1, seconds=5)
    assert moved.utcoffset() == timedelta(0)


def test_ignores_proxy_settings(use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment must not intercept the loopback clock read."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    use_emulator.advance_clock(3600)
    assert clock.now() - datetime.now(timezone.utc) > timedelta(minutes=59)


def test_unreachable_emulator_is_an_error_not_a_silent_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead endpoint raises CloudUnavailable rather than quietly using the machine clock."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ROLEGATE_ENDPOINT", f"127.0.0.1:{port}")
    with pytest.raises(CloudUnavailable) as info:
        clock.now()
    assert info.value.retryable and info.value.status == 503
