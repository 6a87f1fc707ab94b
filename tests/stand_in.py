"""A stand-in cloud endpoint: what a client sends, and answers the emulator never gives, through real HTTP."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

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
