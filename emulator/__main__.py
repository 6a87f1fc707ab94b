"""``python -m emulator serve --host 127.0.0.1 --port PORT``: the emulator in the foreground."""
from __future__ import annotations

import argparse
import sys

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="Local emulator of RAM, STS, ECS and FC.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only by default)")
    serve.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    serve.add_argument("--no-authorization", action="store_true", help="skip permission policy evaluation")
    args = parser.parse_args(argv)
    server = EmulatorServer(args.host, args.port)
    server.world.enforce_authorization = not args.no_authorization
    print(f"emulator listening on {server.endpoint}", flush=True)
    print(f"  export ROLEGATE_ENDPOINT={server.endpoint}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
