"""Serving the emulator over HTTP on 127.0.0.1, in a thread or in the foreground."""
from __future__ import annotations

import io
import json
import threading
import traceback
import urllib.request
from types import TracebackType
from typing import Any, Callable, Iterable

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp
from .world import World

WsgiResult = tuple[str, list[tuple[str, str]], bytes]


def _run_app(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> WsgiResult:
    """Run a WSGI application to the end: its status line, headers and whole body."""
    started: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started[0], started[1], b"".join(chunks)


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with connections kept open between calls, as the SDKs' pooled sessions expect of the real endpoints.

    Werkzeug's own handler closes every connection, since it cannot know where
    an unread request body ends. This one reads each body whole (its
    ``Content-Length``) before the application runs and sends every response
    with its length, in one write, so the next request starts where this one
    ended. A request whose body length is not given that way (chunked, or
    ``Expect: 100-continue``) is left to Werkzeug, which closes the connection
    after it. Opening a connection and a thread per call cost the emulator
    more CPU than most calls themselves.
    """

    protocol_version = "HTTP/1.1"
    wbufsize = -1  # buffered: the status line, headers and body leave in one write
    disable_nagle_algorithm = True  # a kept-open connection must not hold back the reply

    def run_wsgi(self) -> None:
        self.environ = environ = self.make_environ()
        length = _body_length(environ)
        if length is None:
            super().run_wsgi()
            return
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(length))
        try:
            status, headers, body = _run_app(self.server.app, environ)
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.close_connection = True
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())
            status, headers, body = _run_app(InternalServerError(), environ)
        self._send(status, headers, body)

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code, _, reason = status.partition(" ")
        status_code = int(code)
        self.send_response(status_code, reason)
        for key, value in headers:
            self.send_header(key, value)
        if _has_body(status_code) and not any(key.lower() == "content-length" for key, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class _QuietHandler(_KeepAliveHandler):
    """Keeps test and benchmark output clean; the call log is the record of traffic."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _body_length(environ: dict[str, Any]) -> int | None:
    """The request body's length when ``Content-Length`` gives it (0 when absent), else None."""
    if "HTTP_TRANSFER_ENCODING" in environ or environ.get("HTTP_EXPECT", "").strip():
        return None
    raw = environ.get("CONTENT_LENGTH", "0").strip()
    return int(raw) if raw.isdecimal() else None


def _has_body(status: int) -> bool:
    """Whether a response with this status carries a body, and so a length (RFC 9110, section 8.6)."""
    return status >= 200 and status not in (204, 304)


class EmulatorServer:
    """The emulator on a free port in a background thread; a context manager.

    ``endpoint`` is the ``host:port`` to give SDK clients (``ROLEGATE_ENDPOINT``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, world: World | None = None,
                 quiet: bool = True) -> None:
        self.app = EmulatorApp(world)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True,
                                                   request_handler=_QuietHandler if quiet else _KeepAliveHandler)
        self._thread: threading.Thread | None = None

    @property
    def world(self) -> World:
        return self.app.world

    @property
    def endpoint(self) -> str:
        return f"{self._server.host}:{self._server.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # Convenience wrappers over the admin API, used by tests and the local host.
    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return admin_call(self.url, method, path, body)

    def create_account(self, alias: str = "") -> dict[str, str]:
        return self.admin("POST", "/_emulator/accounts", {"alias": alias})

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self.admin("POST", "/_emulator/clock", {"advance_seconds": seconds})

    def calls(self, since: int = 0) -> list[dict[str, Any]]:
        return self.admin("GET", f"/_emulator/calls?since={since}")["calls"]

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return self.admin("POST", "/_emulator/faults", rule)

    def clear_faults(self) -> None:
        self.admin("DELETE", "/_emulator/faults")

    def reset(self) -> None:
        self.admin("POST", "/_emulator/reset")


def admin_call(base_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One admin API call, bypassing any proxy configured in the environment."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as resp:
        return json.loads(resp.read() or b"null")
