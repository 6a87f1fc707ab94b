"""Serving the emulator over HTTP on 127.0.0.1, in a thread or in the foreground."""
from __future__ import annotations

import json
import threading
import urllib.request
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp
from .world import World


class _QuietHandler(WSGIRequestHandler):
    """Keeps test and benchmark output clean; the call log is the record of traffic.

    HTTP/1.1 keeps connections open between calls, as the SDKs' pooled
    sessions expect of the real endpoints (every response carries its length).
    """

    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class EmulatorServer:
    """The emulator on a free port in a background thread; a context manager.

    ``endpoint`` is the ``host:port`` to give SDK clients (``ROLEGATE_ENDPOINT``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, world: World | None = None,
                 quiet: bool = True) -> None:
        self.app = EmulatorApp(world)
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True,
                                                   request_handler=_QuietHandler if quiet else None)
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
