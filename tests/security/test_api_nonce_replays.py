"""A signed cloud API call captured on the wire and sent again: the emulator refuses its nonce a second time.

Requests are signed here by hand (RPC v1, HMAC-SHA1, as the credentials
library signs AssumeRole), so a replay is byte for byte the same request.
The ledger's bound is checked on its own clock, so no test waits.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlencode

from emulator import EmulatorServer
from emulator.app import MAX_SKEW, NonceLedger


def _pct(value: str) -> str:
    return quote(value, safe="-_.~")


def signed_url(emulator: EmulatorServer, key: dict, nonce: str) -> str:
    """An STS GetCallerIdentity call signed with ``key`` and ``nonce``."""
    params = {"Action": "GetCallerIdentity", "Version": "2015-04-01", "Format": "JSON",
              "AccessKeyId": key["access_key_id"], "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
              "SignatureNonce": nonce, "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"GET&{_pct('/')}&{_pct(canonical)}"
    params["Signature"] = base64.b64encode(hmac.new((key["access_key_secret"] + "&").encode(), to_sign.encode(),
                                                    hashlib.sha1).digest()).decode()
    return f"{emulator.url}/?{urlencode(params)}"


def call(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_a_captured_call_sent_again_is_refused_for_its_nonce(emulator: EmulatorServer) -> None:
    key = emulator.create_account("company-a")
    url = signed_url(emulator, key, uuid.uuid4().hex)

    first, again = call(url), call(url)

    assert first[0] == 200 and first[1]["AccountId"] == key["account_id"]
    assert (again[0], again[1]["Code"]) == (400, "SignatureNonceUsed")
    assert call(signed_url(emulator, key, uuid.uuid4().hex))[0] == 200  # a fresh nonce is served


def test_a_nonce_is_per_access_key(emulator: EmulatorServer) -> None:
    """Another key's use of the same nonce neither is refused nor uses this key's up."""
    a, b = emulator.create_account("company-a"), emulator.create_account("company-b")
    nonce = uuid.uuid4().hex
    assert call(signed_url(emulator, a, nonce))[0] == 200
    assert call(signed_url(emulator, b, nonce))[0] == 200
    assert call(signed_url(emulator, a, nonce))[1]["Code"] == "SignatureNonceUsed"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_ledger_forgets_nonces_only_once_their_window_has_passed() -> None:
    clock = Clock()
    ledger = NonceLedger(now=clock)
    assert ledger.use("AK1", "n1") and ledger.use("AK1", "n2")

    clock.now += MAX_SKEW.total_seconds() - 1
    assert not ledger.use("AK1", "n1")  # still inside the window: a replay
    assert ledger.use("AK1", "n3")

    clock.now += 1
    assert ledger.use("AK1", "n1")  # its window has passed (the request's own timestamp is refused anyway)
    assert len(ledger) == 2  # n3 and the new n1; n2 was dropped from the front


def test_the_ledger_holds_only_the_window_however_many_calls_pass() -> None:
    """A steady 200 calls a second for an hour: the ledger never holds more than one window's worth."""
    clock = Clock()
    ledger = NonceLedger(timedelta(minutes=15), now=clock)
    per_window = 15 * 60 * 200
    largest = 0
    for i in range(4 * per_window):
        clock.now += 1 / 200
        assert ledger.use("AK1", f"n{i}")
        largest = max(largest, len(ledger))
    assert per_window - 2 <= largest <= per_window + 2
