"""shared.clock follows the emulator's clock when ROLEGATE_ENDPOINT is set, real time otherwise."""
from __future__ import annotations

import socket
import time
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


def test_anchored_reads_once_and_then_follows_the_monotonic_clock() -> None:
    """One read of the source, however many callers; later values advance by elapsed time, not by re-reading."""
    start = datetime(2030, 1, 1, tzinfo=timezone.utc)
    reads: list[datetime] = []

    def source() -> datetime:
        reads.append(start)
        return start

    anchored = clock.Anchored(source)
    assert reads == []  # lazy: nothing asked until the time is needed
    first = anchored()
    time.sleep(0.05)
    later = anchored()
    assert len(reads) == 1
    assert start <= first < later < start + timedelta(seconds=5)
    assert later - first >= timedelta(seconds=0.04)


def test_anchored_does_not_keep_a_failed_reading() -> None:
    """A source that fails is asked again next time, so an unreachable clock is never replaced by a guess."""
    answers: list[Any] = [CloudUnavailable("down", action="GetClock"), datetime(2030, 1, 1, tzinfo=timezone.utc)]

    def source() -> datetime:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    anchored = clock.Anchored(source)
    with pytest.raises(CloudUnavailable):
        anchored()
    assert anchored().year == 2030


def test_a_new_anchored_clock_sees_the_emulator_clock_moved(use_emulator: Any) -> None:
    """Each Anchored takes its own reading: one made after the emulator's clock moves sees the move."""
    before = clock.Anchored()()
    use_emulator.advance_clock(86_400)
    after = clock.Anchored()()
    assert timedelta(days=1) <= after - before < timedelta(days=1, seconds=5)
