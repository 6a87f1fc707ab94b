"""Webhook signatures: what is signed, the freshness window, constant-time checks and the replay cache."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from shared.errors import Unauthenticated
from shared.events.http import HttpRequest
from shared.onboarding import auth
from tests.functions.conftest import WEBHOOK_SECRET, http_event, signature_headers

NOW = 1_800_000_000


def _request(method: str = "POST", path: str = "/grants", body: bytes = b'{"x":1}',
             headers: dict[str, str] | None = None) -> HttpRequest:
    return HttpRequest.from_event(http_event(method, path, body, headers=headers))


def _signed(method: str = "POST", path: str = "/grants", body: bytes = b'{"x":1}', *, timestamp: int = NOW,
            secret: str = WEBHOOK_SECRET) -> HttpRequest:
    return _request(method, path, body, signature_headers(method, path, body, secret=secret, timestamp=timestamp))


def _verify(request: HttpRequest) -> auth.Verified:
    return auth.verify(request, WEBHOOK_SECRET, now=lambda: NOW)


def test_signature_is_hmac_sha256_of_timestamp_method_path_and_body() -> None:
    """The documented string to sign, reproduced independently, is what the server accepts."""
    body = b'{"partner_account_id": "1"}'
    expected = hmac.new(WEBHOOK_SECRET.encode(), f"{NOW}.POST./grants.".encode() + body, hashlib.sha256).hexdigest()
    assert auth.sign(WEBHOOK_SECRET, str(NOW), "post", "/grants", body) == "sha256=" + expected
    request = _request(body=body, headers={"X-Rolegate-Timestamp": str(NOW), "X-Rolegate-Signature": "sha256=" + expected})
    assert _verify(request) == auth.Verified(expected, NOW)


def test_header_names_and_hex_case_do_not_matter() -> None:
    """Lower-case header names (as some proxies send) and upper-case hex still verify."""
    headers = signature_headers("POST", "/grants", b"{}", timestamp=NOW)
    lowered = {k.lower(): v.upper().replace("SHA256=", "sha256=") for k, v in headers.items()}
    assert _verify(_request(body=b"{}", headers=lowered)).timestamp == NOW


@pytest.mark.parametrize("change", ["body", "path", "method", "secret"])
def test_any_change_to_a_signed_part_is_refused(change: str) -> None:
    """Tampering with body, path or method, or signing with another secret, fails with SignatureMismatch."""
    good = signature_headers("POST", "/grants", b'{"x":1}', timestamp=NOW)
    request = {
        "body": _request(body=b'{"x":2}', headers=good),
        "path": _request(path="/grants/g-aaaaaaaaaaaa", headers=good),
        "method": _request(method="PATCH", headers=good),
        "secret": _signed(secret="another-secret-of-enough-length"),
    }[change]
    with pytest.raises(Unauthenticated) as err:
        _verify(request)
    assert err.value.code == "SignatureMismatch"


@pytest.mark.parametrize("offset", [-301, 301, -10_000])
def test_stale_or_future_timestamps_are_refused(offset: int) -> None:
    """A correctly signed request stamped more than 300 s away from now is refused."""
    with pytest.raises(Unauthenticated) as err:
        _verify(_signed(timestamp=NOW + offset))
    assert err.value.code == "SignatureExpired"


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamps_inside_the_window_are_accepted(offset: int) -> None:
    """The window is inclusive on both sides."""
    assert _verify(_signed(timestamp=NOW + offset)).timestamp == NOW + offset


@pytest.mark.parametrize("headers,code", [
    ({}, "SignatureMissing"),
    ({"X-Rolegate-Timestamp": str(NOW)}, "SignatureMissing"),
    ({"X-Rolegate-Timestamp": "soon", "X-Rolegate-Signature": "sha256=00"}, "TimestampMalformed"),
    ({"X-Rolegate-Timestamp": "١٢٣", "X-Rolegate-Signature": "sha256=00"}, "TimestampMalformed"),
    ({"X-Rolegate-Timestamp": str(NOW), "X-Rolegate-Signature": "md5=00"}, "SignatureMalformed"),
    ({"X-Rolegate-Timestamp": str(NOW), "X-Rolegate-Signature": "sha256=zz"}, "SignatureMismatch"),
    ({"X-Rolegate-Timestamp": str(NOW), "X-Rolegate-Signature": "sha256=é"}, "SignatureMismatch"),
])
def test_missing_or_malformed_signature_headers_are_401(headers: dict[str, str], code: str) -> None:
    """Each way of not proving the request is a 401 with a code naming the failed check."""
    with pytest.raises(Unauthenticated) as err:
        _verify(_request(headers=headers))
    assert err.value.code == code and err.value.status == 401


def test_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The digest comparison goes through hmac.compare_digest, never ``==``."""
    seen = []
    real = hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    _verify(_signed())
    assert len(seen) == 1


def test_replay_cache_refuses_a_signature_seen_before_and_forgets_released_ones() -> None:
    """reserve() is True once per signature; release() makes an exact resend acceptable again."""
    cache = auth.ReplayCache(now=lambda: NOW)
    assert cache.reserve("abc", NOW) is True
    assert cache.reserve("abc", NOW) is False
    cache.release("abc")
    assert cache.reserve("abc", NOW) is True


def test_replay_cache_drops_entries_once_their_timestamp_is_out_of_the_window() -> None:
    """An entry lives until its signature would be refused as stale anyway, so memory stays bounded by time."""
    clock = [NOW]
    cache = auth.ReplayCache(now=lambda: clock[0])
    cache.reserve("old", NOW)
    clock[0] = NOW + auth.WINDOW_SECONDS + 1
    cache.reserve("new", clock[0])
    assert len(cache) == 1


def test_replay_cache_expires_entries_by_their_own_timestamps_whatever_order_they_came_in() -> None:
    """Clients' clocks differ: a later request may carry an earlier timestamp; each entry leaves at its own time."""
    clock = [NOW]
    cache = auth.ReplayCache(now=lambda: clock[0])
    cache.reserve("late", NOW + 200)
    cache.reserve("early", NOW - 200)
    cache.reserve("released", NOW - 250)
    cache.release("released")
    assert cache.reserve("released", NOW + 100) is True  # reserved again: its new time counts, not the old
    clock[0] = NOW - 200 + auth.WINDOW_SECONDS + 1
    assert cache.reserve("now", clock[0]) is True
    assert cache.reserve("early", NOW - 200) is True  # expired, so no longer remembered
    assert cache.reserve("late", NOW + 200) is False and cache.reserve("released", NOW + 100) is False
    clock[0] = NOW + 200 + auth.WINDOW_SECONDS + 1
    assert cache.reserve("late", NOW + 200) is True and cache.reserve("released", NOW + 100) is True


def test_replay_cache_expiry_order_stays_bounded_when_entries_are_dropped_or_released() -> None:
    """Dropped and released entries leave stale expiry marks; they are compacted, and replays are still caught."""
    clock = [NOW]
    cache = auth.ReplayCache(capacity=3, now=lambda: clock[0])
    for i in range(50):
        assert cache.reserve(f"s{i}", NOW + i % 7) is True
        if i % 5 == 0:
            cache.release(f"s{i}")
    assert len(cache) == 3 and len(cache._expiries) <= 2 * 3  # noqa: SLF001 - the bound is the point
    assert [cache.reserve(s, NOW) for s in ("s47", "s48", "s49")] == [False, False, False]
    clock[0] = NOW + 7 + auth.WINDOW_SECONDS
    assert cache.reserve("fresh", clock[0]) is True and len(cache) == 1


def test_replay_cache_is_bounded_in_size() -> None:
    """Beyond its capacity the oldest signatures are dropped first."""
    cache = auth.ReplayCache(capacity=3, now=lambda: NOW)
    for sig in "abcd":
        cache.reserve(sig, NOW)
    assert len(cache) == 3
    assert cache.reserve("a", NOW) is True and cache.reserve("d", NOW) is False
