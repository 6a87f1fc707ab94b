"""The sweep's pure parts: payload options, settings, deadline, guard, pacing, webhook signing."""
from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest

from shared.errors import ConfigError, InvalidInput
from shared.notify import NotifySettings, sign, verify
from shared.sweep import Deadline, Pacer, SweepSettings, function_timeout, guard_verdict, options_from_event
from shared.sweep.lanes import in_flight_per_account, sweep_in_lanes, width_needed


def timer(payload: str) -> bytes:
    return json.dumps({"triggerTime": "2030-01-01T00:00:00Z", "triggerName": "t", "payload": payload}).encode()


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("event", [timer(""), timer("   "), timer("null"), b"", None, {"triggerName": "t"}])
def test_empty_payloads_mean_defaults(event: object) -> None:
    """A timer without a payload (or an empty one) runs with the deployment's settings."""
    assert options_from_event(event) == {}  # type: ignore[arg-type]


def test_json_payload_is_decoded_a_second_time() -> None:
    """The payload string holds JSON; its options come out typed."""
    payload = '{"dry_run": true, "grace_seconds": 30, "max_revocations": 5, "warn_within_seconds": 60, "max_share": 1}'
    assert options_from_event(timer(payload)) == {"dry_run": True, "grace_seconds": 30, "max_revocations": 5,
                                                   "warn_within_seconds": 60, "max_share": 1.0}


def test_manual_invocation_may_send_the_options_as_the_event() -> None:
    """``s invoke -e '{"dry_run": true}'`` works without wrapping it in a timer event."""
    assert options_from_event(b'{"dry_run": true}') == {"dry_run": True}
    assert options_from_event({"payload": {"max_share": 0.9}}) == {"max_share": 0.9}


@pytest.mark.parametrize("payload, field", [
    ("awesome-fc", "payload"),            # a plain string: not JSON
    ("{dry_run: true}", "payload"),       # almost JSON: must not silently become a real run
    ("[1, 2]", "payload"),
    ('{"dryrun": true}', "dryrun"),       # misspelt option
    ('{"dry_run": "yes"}', "dry_run"),
    ('{"grace_seconds": -1}', "grace_seconds"),
    ('{"max_revocations": 1.5}', "max_revocations"),
    ('{"max_share": 0}', "max_share"),
    ('{"max_share": 1.5}', "max_share"),
    ('{"max_share": true}', "max_share"),
])
def test_invalid_payloads_are_refused_with_the_field(payload: str, field: str) -> None:
    """Anything but empty or a valid options object is an error naming what is wrong."""
    with pytest.raises(InvalidInput) as info:
        options_from_event(timer(payload))
    assert info.value.field == field


def test_event_that_is_not_json_is_refused() -> None:
    with pytest.raises(InvalidInput):
        options_from_event(b"not json")


# ----------------------------------------------------------------- settings
def test_settings_from_env_and_payload_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment sets the defaults; the payload's options win for one run."""
    monkeypatch.setenv("ROLEGATE_SWEEP_MAX_SHARE", "0.25")
    monkeypatch.setenv("ROLEGATE_SWEEP_CONCURRENCY", "4")
    monkeypatch.setenv("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "2")
    settings = SweepSettings.from_env()
    assert (settings.max_share, settings.concurrency, settings.parallel_accounts) == (0.25, 4, 2)
    assert settings.with_options({"max_share": 0.9, "dry_run": True}).max_share == 0.9


@pytest.mark.parametrize("name, value", [
    ("ROLEGATE_SWEEP_MAX_SHARE", "0"), ("ROLEGATE_SWEEP_MAX_SHARE", "half"),
    ("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "0"), ("ROLEGATE_SWEEP_CONCURRENCY", "100"),
    ("ROLEGATE_SWEEP_MAX_CALLS_PER_SECOND", "-1"), ("ROLEGATE_SWEEP_PARALLEL_ACCOUNTS", "9"),
])
def test_malformed_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        SweepSettings.from_env()
    assert info.value.field == name


# -------------------------------------------------------------------- lanes
@pytest.mark.parametrize("waiting, durations, remaining, width", [
    (10, [20.0], 100.0, 2),   # five waves fit: two lanes
    (10, [20.0], 20.0, 10),   # one wave left: every account at once
    (10, [5.0, 40.0], 95.0, 5),  # the longest (40 s) costs them, not the mean: two waves
    (10, [20.0], 10.0, 0),    # not even one account fits: widening would only start what the deadline stops
    (0, [20.0], 5.0, 0), (10, [], 5.0, 0), (10, [20.0], None, 0),
])
def test_width_needed_to_finish_before_the_deadline(waiting: int, durations: list[float], remaining: float | None,
                                                    width: int) -> None:
    assert width_needed(waiting, durations, remaining) == width


def test_in_flight_calls_per_account_keep_every_worker_on_a_pooled_connection() -> None:
    assert [in_flight_per_account(8, w) for w in (1, 4, 5, 8, 16, 64)] == [8, 8, 8, 5, 2, 1]


def test_lanes_widen_when_the_accounts_left_would_miss_the_deadline() -> None:
    """One lane; the first account takes 10 s of a 35 s budget: the five left need three lanes to finish in time."""
    now = [0.0]
    widths: dict[str, int] = {}

    def work(account: str, width: int) -> str:
        widths[account] = width
        now[0] += 10
        return account.upper()

    accounts = ["a", "b", "c", "d", "e", "f"]
    results, widest = sweep_in_lanes(accounts, work, 1, Deadline(35.0, lambda: now[0]), clock=lambda: now[0])
    assert results == ["A", "B", "C", "D", "E", "F"] and widths["a"] == 1
    assert all(widths[a] == 3 for a in accounts[1:]) and widest == 3


def test_lanes_stay_as_set_without_a_deadline() -> None:
    """The first account alone, then two at a time."""
    widths = []
    results, widest = sweep_in_lanes(["a", "b", "c"], lambda a, w: widths.append(w) or a, 2, Deadline(None))
    assert results == ["a", "b", "c"] and widths == [1, 2, 2] and widest == 2


def test_the_first_account_is_swept_alone_then_the_others_side_by_side() -> None:
    """Nothing starts beside the first account (it loads what every lane needs); then three run at once."""
    lock = threading.Lock()
    running: list[str] = []
    beside: dict[str, set[str]] = {}
    three_started = threading.Barrier(3, timeout=30)

    def work(account: str, width: int) -> str:
        with lock:
            running.append(account)
            beside[account] = set(running) - {account}
        if account != "hub":
            three_started.wait()  # b, c and d must all be running for any of them to finish
        with lock:
            running.remove(account)
        return account

    results, widest = sweep_in_lanes(["hub", "b", "c", "d"], work, 3, Deadline(None))
    assert results == ["hub", "b", "c", "d"] and widest == 3
    assert beside["hub"] == set()


# ----------------------------------------------------------------- deadline
def test_deadline_comes_from_the_context_timeout_minus_margin() -> None:
    """start + timeout - margin; the margin never eats more than half the timeout."""
    now = [100.0]
    context = SimpleNamespace(function=SimpleNamespace(timeout=60))
    deadline = Deadline.for_invocation(context, 100.0, 10, clock=lambda: now[0])
    assert deadline.at == 150.0 and not deadline.passed()
    now[0] = 150.0
    assert deadline.passed()
    short = Deadline.for_invocation(SimpleNamespace(function=SimpleNamespace(timeout=4)), 0.0, 10)
    assert short.at == 2.0


def test_deadline_falls_back_to_the_fc_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FC_FUNCTION_TIMEOUT", raising=False)
    monkeypatch.delenv("FC_TIMEOUT", raising=False)
    assert function_timeout(object()) is None
    assert Deadline.for_invocation(None, 0.0, 10).remaining() is None
    monkeypatch.setenv("FC_TIMEOUT", "30")
    assert function_timeout(None) == 30.0


# -------------------------------------------------------------------- guard
@pytest.mark.parametrize("expired, total, trips", [
    (5, 5, False),     # at the floor: a tiny fleet may lose everything
    (6, 12, False),    # exactly half
    (7, 12, True),
    (3, 100, False),
])
def test_blast_radius_guard(expired: int, total: int, trips: bool) -> None:
    """Trips only above both the share and the absolute floor."""
    assert (guard_verdict(expired, total, SweepSettings()) is not None) is trips


def test_guard_is_off_at_share_one() -> None:
    assert guard_verdict(100, 100, SweepSettings(max_share=1.0)) is None


# ------------------------------------------------------------------- pacing
class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacer_spaces_calls_at_the_ceiling() -> None:
    """With a known ceiling, calls are evenly spaced at it from the first one."""
    t = FakeTime()
    pacer = Pacer(50, clock=t.clock, sleep=t.sleep)
    slots = [pacer.acquire() for _ in range(51)]
    assert slots[-1] - slots[0] == pytest.approx(1.0)


def test_pacer_without_ceiling_learns_the_rate_from_the_first_throttle() -> None:
    """Unpaced until throttled; then 0.9 of what the cloud admitted in the last second."""
    t = FakeTime()
    pacer = Pacer(0, clock=t.clock, sleep=t.sleep)
    for _ in range(40):
        slot = pacer.acquire()
        pacer.admitted()
    t.now += 0.01
    pacer.throttled(slot)
    assert pacer.rate == pytest.approx(36.0)


def test_pacer_first_throttle_before_anything_got_through_does_not_crawl() -> None:
    """A throttle on an unpaced sweep's very first call paces at 0.9 x 10 calls/s, not at the 1 call/s floor,
    and the rate climbs fast from there: six more calls take half a second, not six."""
    t = FakeTime()
    pacer = Pacer(0, clock=t.clock, sleep=t.sleep)
    pacer.throttled(pacer.acquire())
    assert pacer.rate == pytest.approx(9.0)
    for _ in range(6):
        pacer.acquire()
        pacer.admitted()
    assert t.now < 0.6
    assert pacer.rate == pytest.approx(9.0 + 6 * 0.7)


def test_pacer_probe_ends_at_a_throttle_that_shows_the_limit() -> None:
    """While probing the rate climbs by 0.7 a call; a throttle after a second in which most of it got through
    cuts to 0.9 of what got through, and from there the rate climbs by 0.05 a call."""
    t = FakeTime()
    pacer = Pacer(0, clock=t.clock, sleep=t.sleep)
    pacer.throttled(pacer.acquire())
    for i in range(20):  # 20 calls get through in the second after the first
        t.now = 1.0 + i * 0.05
        pacer.admitted()
    assert pacer.rate == pytest.approx(9.0 + 20 * 0.7)
    t.now = 1.97
    pacer.throttled(t.now)
    assert pacer.rate == pytest.approx(18.0)
    for _ in range(10):
        pacer.admitted()
    assert pacer.rate == pytest.approx(18.5)


def test_pacer_ignores_a_second_it_did_not_fill() -> None:
    """A sweep sending one call a second (slowed by latency, not by its pace) is throttled once: its 50 calls/s
    ceiling is cut to 45, not to what that second let through."""
    t = FakeTime()
    pacer = Pacer(50, clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        pacer.acquire()
        pacer.admitted()
        t.now += 0.9
    pacer.throttled(pacer.acquire())
    assert pacer.rate == pytest.approx(45.0)


def test_pacer_cuts_once_per_round_and_recovers_additively() -> None:
    """Throttles of calls sent before the last cut are ignored; successes raise the rate back."""
    t = FakeTime()
    pacer = Pacer(100, clock=t.clock, sleep=t.sleep)
    stale = [pacer.acquire() for _ in range(5)]
    t.now += 0.01
    pacer.throttled(stale[0])
    assert pacer.rate == pytest.approx(90.0)
    for slot in stale[1:]:
        pacer.throttled(slot)
    assert pacer.rate == pytest.approx(90.0) and pacer.snapshot()["slowdowns"] == 1
    for _ in range(100):
        pacer.acquire()
        pacer.admitted()
    assert pacer.rate == pytest.approx(95.0)
    for _ in range(1000):
        pacer.admitted()
    assert pacer.rate == 100  # never above the ceiling


def test_pacer_never_drops_below_its_floor() -> None:
    t = FakeTime()
    pacer = Pacer(2, clock=t.clock, sleep=t.sleep)
    for _ in range(20):
        slot = pacer.acquire()
        pacer.throttled(slot)
    assert pacer.rate == 1.0


# ---------------------------------------------------------------- notify
def test_signature_round_trip_and_replay_window() -> None:
    """A receiver accepts the exact body at a recent timestamp, and nothing else."""
    body = b'{"event":"expiring_soon"}'
    signature = sign("s3cret", "1000", body)
    assert signature.startswith("sha256=")
    assert verify("s3cret", "1000", body, signature, now=1010)
    assert not verify("s3cret", "1000", body + b" ", signature, now=1010)
    assert not verify("other", "1000", body, signature, now=1010)
    assert not verify("s3cret", "1000", body, signature, now=5000)


@pytest.mark.parametrize("url, secret, field", [
    ("http://hooks.example.com/x", "s", "ROLEGATE_NOTIFY_URL"),
    ("https://hooks.example.com/x", None, "ROLEGATE_NOTIFY_SECRET"),
])
def test_notify_settings_refuse_unsafe_configuration(monkeypatch: pytest.MonkeyPatch, url: str,
                                                     secret: str | None, field: str) -> None:
    """Plain http off loopback, or an unsigned webhook, is a configuration error."""
    monkeypatch.setenv("ROLEGATE_NOTIFY_URL", url)
    if secret is None:
        monkeypatch.delenv("ROLEGATE_NOTIFY_SECRET", raising=False)
    else:
        monkeypatch.setenv("ROLEGATE_NOTIFY_SECRET", secret)
    with pytest.raises(ConfigError) as info:
        NotifySettings.from_env()
    assert info.value.field == field
