"""Calling the local host over HTTP, and signing webhook requests the way the onboard function checks them.

The signature scheme itself is :mod:`shared.onboarding.auth`'s (one HMAC over
timestamp, method, path and body); this module only puts it on requests and
renders it for ``curl -K``, so a shell user signs exactly the bytes curl sends.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from shared.onboarding.auth import CLIENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or the text when it is not JSON
    headers: dict[str, str]


def signature_headers(secret: str, method: str, path: str, body: bytes, timestamp: int | None = None,
                      client: str | None = None) -> dict[str, str]:
    """The headers that authenticate one webhook request (with ``client``, also the client's name, which is signed)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    named = {CLIENT_HEADER: client} if client is not None else {}
    return {**named, TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, method.upper(), path, body, client)}


def curl_config(headers: dict[str, str]) -> str:
    """``header = "Name: value"`` lines, for ``curl -K <(rolegate sign ...)``."""
    return "".join(f'header = "{name}: {value}"\n' for name, value in headers.items())


def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    """One HTTP call without any proxy; ``body`` is sent as given (bytes) or as JSON."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode("utf-8")
    all_headers = {"Content-Type": "application/json"} if data else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method.upper(), headers=all_headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=TIMEOUT_SECONDS) as resp:
            return _reply(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return _reply(err.code, err.read(), dict(err.headers))


def _reply(status: int, raw: bytes, headers: dict[str, str]) -> Reply:
    text = raw.decode("utf-8", "replace")
    try:
        return Reply(status, json.loads(text) if text else None, headers)
    except ValueError:
        return Reply(status, text, headers)


def signed(base_url: str, secret: str, method: str, path: str, body: Any = None) -> Reply:
    """A webhook call signed with ``secret`` (the path is what the function sees, e.g. ``/grants``)."""
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return request(method, base_url.rstrip("/") + path, data or None,
                   signature_headers(secret, method, path, data))


__all__ = ["Reply", "curl_config", "request", "signature_headers", "signed"]
