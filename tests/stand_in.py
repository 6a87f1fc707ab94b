"""A stand-in cloud endpoint: what a client sends, and answers the emulator never gives, through real HTTP."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class StandIn:
    """A loopback server answering each POST and GET with ``answer(request)``: (HTTP status, JSON body).

    ``request`` holds ``method``, ``path``, ``raw_query``, ``query`` and
    ``form`` (both dicts) and ``headers``. Use it as a context manager;
    ``endpoint`` is the ``host:port`` a client factory takes.
    """

    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status, reply = answer({"method": self.command, "path": url.path, "raw_query": url.query,
                                        "query": dict(parse_qsl(url.query, keep_blank_values=True)),
                                        "form": dict(parse_qsl(body, keep_blank_values=True)),
                                        "headers": self.headers})
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815 - the stdlib's name

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Recorder:
    """A stand-in endpoint keeping what each request carried, for comparing two clients' requests on the wire.

    Each request is kept as its method, path, query (``VOLATILE`` parameters
    left out: they differ between any two requests) and the order of its
    names, form and the ``headers`` named; ``answer(request)`` answers it
    unless ``refuse`` names the error code every request gets.
    """

    VOLATILE = frozenset({"SignatureNonce", "Timestamp", "Signature"})

    def __init__(self, answer: Answer, headers: tuple[str, ...]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.refuse: tuple[int, str] | None = None
        self._answer, self._headers = answer, headers
        self.stand_in = StandIn(self._record)

    def _record(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        query = {k: v for k, v in request["query"].items() if k not in self.VOLATILE}
        self.requests.append({"method": request["method"], "path": request["path"], "query": query,
                              "order": list(query), "form": request["form"],
                              "headers": {h: request["headers"].get(h) for h in self._headers}})
        if self.refuse is not None:
            status, code = self.refuse
            return status, {"Code": code, "Message": "refused by the stand-in", "RequestId": "r"}
        return self._answer(request)

    def take(self) -> list[dict[str, Any]]:
        taken, self.requests = self.requests, []
        return taken

    def reset(self) -> Recorder:
        """Nothing recorded, nothing refused: one serving shared by a module's tests, fresh for each."""
        self.take()
        self.refuse = None
        return self


def recorder_fixtures(answer: Answer, headers: tuple[str, ...]) -> tuple[Any, Any]:
    """A test module's two fixtures: ``endpoint``, one :class:`Recorder` serving the whole module, and
    ``recorder``, that one reset for each test. ``endpoint, recorder = recorder_fixtures(...)`` at module level."""
    @pytest.fixture(scope="module")
    def endpoint() -> Iterator[Recorder]:
        served = Recorder(answer, headers)
        with served.stand_in:
            yield served

    @pytest.fixture
    def recorder(endpoint: Recorder) -> Recorder:
        return endpoint.reset()

    return endpoint, recorder
