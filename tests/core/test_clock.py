"""shared.clock follows the emulator's clock when ROLEGATE_ENDPOINT is set, real time otherwise."""
from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from shared import clock

# Reading a clock takes time, and on a busy machine a read can take seconds: every bound below leaves an hour of
# room, far more than any read, and far less than the day the emulator's clock is moved, so a move seen and a
# move missed stay told apart however slow the machine is.
ROOM = timedelta(hours=1)
DAY = timedelta(days=1)
from shared.errors import CloudUnavailable, ConfigError


def test_real_time_without_endpoint() -> None:
    """Unset endpoint: the machine's UTC clock, timezone-aware."""
    before = datetime.now(timezone.utc)
    now = clock.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(timezone.utc)


def test_follows_emulator_clock(use_emulator: Any) -> None:
    """Advancing the emulator's clock by a day moves Rolegate's clock by a day."""
    start = clock.now()
    assert abs(start - datetime.now(timezone.utc)) < ROOM
    use_emulator.advance_clock(86_400)
    moved = clock.now()
    assert DAY <= moved - start < DAY + ROOM
    assert moved.utcoffset() == timedelta(0)


def test_ignores_proxy_settings(use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy in the environment must not intercept the loopback clock read."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    use_emulator.advance_clock(3600)
    assert clock.now() - datetime.now(timezone.utc) > timedelta(minutes=30)


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
    assert start <= first < later < start + ROOM
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
    # An Anchored runs ahead of the emulator by the time its reading took, so ``before`` may be ahead by a slow read.
    assert DAY - ROOM < after - before < DAY + ROOM


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of the emulator's clock, by endpoint."""
    seen: list[str] = []
    real = clock._emulator_now

    def counted(endpoint: str) -> datetime:
        seen.append(endpoint)
        return real(endpoint)

    monkeypatch.setattr(clock, "_emulator_now", counted)
    return seen


def test_one_read_per_invocation(use_emulator: Any, reads: list[str]) -> None:
    """Inside an invocation the emulator is asked once; later calls add the kept offset to the machine clock."""
    with clock.invocation():
        first = clock.now()
        time.sleep(0.02)
        second = clock.now()
        third = clock.now()
    assert len(reads) == 1
    assert first <= second <= third and second - first >= timedelta(seconds=0.01)
    assert third.utcoffset() == timedelta(0)


def test_the_next_invocation_sees_the_clock_moved(use_emulator: Any, reads: list[str]) -> None:
    """A move between invocations is seen by the next one; a move during one is not (one reading per invocation)."""
    with clock.invocation():
        before = clock.now()
        use_emulator.advance_clock(86_400)
        assert clock.now() - before < ROOM
    with clock.invocation():
        after = clock.now()
    assert DAY <= after - before < DAY + ROOM
    assert len(reads) == 2


def test_an_invocation_that_never_asks_the_time_reads_nothing(use_emulator: Any, reads: list[str]) -> None:
    with clock.invocation():
        pass
    assert reads == []


def test_outside_an_invocation_every_call_reads(use_emulator: Any, reads: list[str]) -> None:
    """Code called directly (tests, tools) is not inside an invocation: nothing is kept between calls."""
    with clock.invocation():
        clock.now()
    clock.now()
    clock.now()
    assert len(reads) == 3


def test_the_offset_follows_the_endpoint(use_emulator: Any, reads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """An offset is kept for the endpoint it was read from; another endpoint is asked, not assumed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    with clock.invocation():
        clock.now()
        monkeypatch.setenv("ROLEGATE_ENDPOINT", dead)
        with pytest.raises(CloudUnavailable):
            clock.now()
    assert reads == [use_emulator.endpoint, dead]


def test_without_endpoint_an_invocation_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product path: the machine clock, no request, nothing kept."""
    def refuse(endpoint: str) -> datetime:
        raise AssertionError("the emulator's clock was read without ROLEGATE_ENDPOINT")

    monkeypatch.setattr(clock, "_emulator_now", refuse)
    with clock.invocation():
        before = datetime.now(timezone.utc)
        assert before <= clock.now() <= datetime.now(timezone.utc)
    assert clock._offset is None


def test_overlapping_invocations(use_emulator: Any, reads: list[str]) -> None:
    """An invocation starting while another runs takes a new reading; the offset is dropped when the last one ends."""
    first = clock.invocation()
    with first:
        clock.now()
        with clock.invocation():
            clock.now()
            clock.now()
        clock.now()
        assert clock._offset is not None
    assert clock._offset is None
    assert len(reads) == 2


@pytest.mark.parametrize("function", ["onboard", "query", "remediate", "revoke"])
def test_every_handler_runs_inside_an_invocation(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each deployed handler enters clock.invocation, so a warm instance reads the emulator's clock once per request."""
    import importlib

    entered: list[str] = []

    class Recorded(clock.invocation):
        def __enter__(self) -> "Recorded":
            entered.append(function)
            return super().__enter__()

    monkeypatch.setattr(clock, "invocation", Recorded)
    module = importlib.import_module(f"functions.{function}.index")
    module.handler(b"\xff not an event", SimpleNamespace(request_id="r-1", function=None, credentials=None))
    assert entered == [function]


def test_machine_clock_setting_keeps_the_machine_clock_beside_the_emulator(
        use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_CLOCK=machine: the emulator still serves the calls, but its moved clock is not read."""
    monkeypatch.setenv("ROLEGATE_CLOCK", "machine")
    use_emulator.advance_clock(86_400)
    assert clock.emulator_endpoint() is None
    assert clock.now() - datetime.now(timezone.utc) < timedelta(hours=1)
    monkeypatch.setenv("ROLEGATE_CLOCK", "emulator")
    assert clock.now() - datetime.now(timezone.utc) > timedelta(hours=23)


def test_an_unknown_clock_setting_is_a_config_error(use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEGATE_CLOCK", "sundial")
    with pytest.raises(ConfigError) as refused:
        clock.now()
    assert refused.value.field == "ROLEGATE_CLOCK"
