"""The emulator's HTTP serving: connections stay open between calls, as the SDKs' pooled sessions expect."""
from __future__ import annotations

import http.client
import json
from collections import Counter

from emulator import EmulatorServer
from emulator.world import random_token


def _connect(emulator: EmulatorServer) -> http.client.HTTPConnection:
    host, port = emulator.endpoint.rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=10)


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    return response, response.read()


def test_connection_stays_open_across_calls(emulator: EmulatorServer) -> None:
    """Several calls travel on one connection, each answered with its length and no ``Connection: close``."""
    conn = _connect(emulator)
    try:
        response, body = _call(conn, "POST", "/_emulator/accounts", json.dumps({"alias": "kept"}).encode(),
                               {"Content-Type": "application/json"})
        assert response.status == 201 and json.loads(body)["account_id"]
        assert response.getheader("Connection") is None
        assert response.getheader("Content-Length") == str(len(body))
        sock = conn.sock
        response, body = _call(conn, "GET", "/_emulator/clock")
        assert response.status == 200 and "epoch" in json.loads(body)
        assert conn.sock is sock
    finally:
        conn.close()


def test_unread_body_does_not_leak_into_the_next_call(emulator: EmulatorServer) -> None:
    """A body the application never reads (an unknown route) is consumed, so the next call on the line is intact."""
    conn = _connect(emulator)
    try:
        response, _ = _call(conn, "POST", "/_emulator/nowhere", b'{"padding": "' + b"x" * 5000 + b'"}',
                            {"Content-Type": "application/json"})
        assert response.status == 404
        response, body = _call(conn, "GET", "/_emulator/clock")
        assert response.status == 200 and "epoch" in json.loads(body)
    finally:
        conn.close()


def test_connection_closes_when_the_client_asks(emulator: EmulatorServer) -> None:
    conn = _connect(emulator)
    try:
        response, _ = _call(conn, "GET", "/_emulator/clock", headers={"Connection": "close"})
        assert response.status == 200 and response.getheader("Connection") == "close"
    finally:
        conn.close()


def test_chunked_body_is_served_then_the_connection_closes(emulator: EmulatorServer) -> None:
    """A body without ``Content-Length`` is still read whole; its connection is not reused."""
    conn = _connect(emulator)
    try:
        conn.request("POST", "/_emulator/accounts", body=iter([b'{"alias": ', b'"chunked"}']),
                     headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 201 and json.loads(response.read())["account_id"]
        assert response.getheader("Connection") == "close"
    finally:
        conn.close()


def test_random_token_draws_evenly_from_its_alphabet() -> None:
    assert random_token(0) == ""
    assert len(random_token(320)) == 320
    token = random_token(36_000, "abc123")
    counts = Counter(token)
    assert set(counts) == set("abc123")
    assert all(5_000 < n < 7_000 for n in counts.values())
