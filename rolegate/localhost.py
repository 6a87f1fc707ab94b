"""The local host: the emulator, the demo world and all four functions on 127.0.0.1.

One :class:`LocalHost` starts, in this process:

* the emulator (:class:`emulator.EmulatorServer`), seeded by
  :func:`rolegate.demo_world.seed`, the grant-record key's KMS secret included,
  and one named webhook client, partner B's portal, in company A's clients
  secret (as ``rolegate clients add`` makes it; the shared webhook secret
  keeps working beside it);
* one HTTP server per HTTP-triggered function (onboard, query, and partner B's
  own query deployment), each on its own port, because on Function Compute
  each HTTP trigger has its own address and the function sees the request path
  unchanged -- the webhook signature covers that path, so a shared port with
  a path prefix would make clients sign a path they never sent;
* a control server: ``POST /events`` delivers one CloudEvent or a list of them
  to the remediate function (each through the filter patterns of its
  EventBridge triggers, one invocation per event that passes any of them),
  ``POST /timers/<name>`` fires a timer trigger now (the body, if any,
  replaces the configured payload), ``GET /`` shows the host's state and
  recent invocations;
* the timer: each enabled timer trigger of ``s.yaml`` (default: the revoke
  function every five minutes) fires on its cron schedule, in real time;
* the ActionTrail forwarder: polls the emulator's ``GET /_emulator/events``
  and hands each new event of the owner account that passes one of those
  patterns (the root identity's calls of any service among them) to the
  remediate function, in order. Events the remediate function caused itself
  are delivered too; telling them apart is that function's job, as it is on
  the cloud.

Every invocation runs with the function's own role session and settings, the
way FC provides them: ``ALIBABA_CLOUD_ACCESS_KEY_ID``/``_SECRET``/
``_SECURITY_TOKEN`` and ``FC_*`` in the environment (the python3.12 runtime's
way, the only one every handler reads) and ``context.credentials`` too (the
python3.10 runtime's). The environment is one per process, so invocations run
one at a time, each under :attr:`LocalHost.lock` with its own variables set and
the previous values restored afterwards; a sweep therefore holds back webhook
requests until it ends, which a laptop can afford.
"""
from __future__ import annotations

import importlib
import json
import os
import secrets
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from emulator import EmulatorServer, admin_call
from rolegate.demo_world import REGION, DemoWorld, FunctionIdentity, seed
from rolegate.environ import patched_environ
from rolegate.eventpattern import matches
from rolegate.fcruntime import (ContextCredentials, FakeContext, FunctionMeta, InvocationError, new_request_id,
                                timer_event, trigger_app)
from rolegate.project import FunctionSpec, Project, TimerSpec
from shared.onboarding.clients import DEFAULT_SECRET_NAME as CLIENTS_SECRET
from shared.onboarding.clients import Client

HOST = "127.0.0.1"
DEFAULT_BASE_PORT = 8780
POLL_SECONDS = 0.2
HISTORY = 200
PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
# Set per invocation from the function's identity, never taken from the host's own environment.
CREDENTIAL_VARS = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")
LOCAL_CLIENT = "partner-b-portal"  # the named webhook client the local host makes: partner B's grants only
CLIENTS_MANAGER = "RolegateWebhookClientsManager"  # the operator's policy for `rolegate --local clients`

__all__ = ["ContextCredentials", "FakeContext", "FunctionMeta", "HostedFunction", "Invocation", "LocalHost",
           "DEFAULT_BASE_PORT"]


class FunctionUnavailable(RuntimeError):
    """The function's code is not in the repository (yet), or does not import."""


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Invocation:
    """One run of a handler, as the host's history and ``GET /`` show it."""

    function: str
    trigger: str
    request_id: str
    started: datetime
    duration_ms: float = 0.0
    result: Any = None
    error: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        out = {"function": self.function, "trigger": self.trigger, "request_id": self.request_id,
               "started": self.started.isoformat(), "duration_ms": self.duration_ms, "ok": self.ok}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class HostedFunction:
    """One deployment of one function: its code, its configuration and the identity it runs as."""

    key: str  # "onboard", "query", "query-b", ...
    spec: FunctionSpec
    identity: FunctionIdentity
    label: str
    http: bool = False  # has an HTTP trigger
    port: int | None = None  # where that trigger listens, once started
    _handler: Callable[[Any, Any], Any] | None = field(default=None, init=False, repr=False)

    def handler(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            try:
                module = importlib.import_module(self.spec.module)
                self._handler = getattr(module, self.spec.attribute)
            except (ImportError, AttributeError) as exc:
                raise FunctionUnavailable(f"{self.spec.module}.{self.spec.attribute} is not available: {exc}") \
                    from exc
        return self._handler


class LocalHost:
    """Everything of the local run; a context manager (see the module docstring)."""

    def __init__(self, project: Project | None = None, *, base_port: int = 0, webhook_secret: str | None = None,
                 schedule_timers: bool = True, forward_events: bool = True,
                 say: Callable[[str], None] | None = None) -> None:
        self.project = project or Project.load()
        self.webhook_secret = webhook_secret or secrets.token_urlsafe(24)
        self.schedule_timers = schedule_timers
        self.forward_events = forward_events
        self.say = say or (lambda message: None)  # the host's own one-line reports
        self._base_port = base_port
        self.lock = threading.Lock()
        self.history: deque[Invocation] = deque(maxlen=HISTORY)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._servers: list[BaseWSGIServer] = []
        self.emulator: EmulatorServer | None = None
        self.world: DemoWorld | None = None
        self.client: Client | None = None  # the named webhook client, once made
        self.functions: dict[str, HostedFunction] = {}
        self.control_port: int | None = None
        self.forwarder = EventForwarder(self)
        self.next_fire: dict[str, datetime] = {}

    # ------------------------------------------------------------ lifecycle
    def _port(self, offset: int) -> int:
        return self._base_port + offset if self._base_port else 0

    def start(self) -> "LocalHost":
        for name in PROXY_VARS:  # the SDKs would send loopback calls to a proxy
            os.environ.pop(name, None)
        try:
            self.emulator = EmulatorServer(HOST, self._port(0)).start()
            self.world = seed(self.emulator, self.project)
            self.client = add_local_client(self.endpoint, self.world)
            self._build_functions()
            served = [f for f in self.functions.values() if f.http]
            for offset, hosted in enumerate(served, 1):
                hosted.port = self._serve(self._port(offset), self._http_app(hosted), hosted.key).port
            self.control_port = self._serve(self._port(len(served) + 1), self._control_app, "control").port
            if self.schedule_timers:
                for timer in self.timers():
                    if timer.enabled:
                        self._thread(f"timer-{timer.name}", lambda t=timer: self._run_timer(t))
            if self.forward_events and "remediate" in self.functions:
                self.forwarder.skip_existing()  # a trigger sees only events after it was created
                self._thread("event-forwarder", self.forwarder.run)
        except SystemExit as exc:  # werkzeug's answer to a port in use: print, then exit
            self.stop()
            raise OSError(f"a port from {self._base_port} on is in use") from exc
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._stop.set()
        # Each server notices a shutdown request within its poll interval: stop them all at once.
        # Daemon threads: a shutdown that never returns is waited for 5 s, and never keeps the process from exiting.
        stops = [threading.Thread(target=server.shutdown, daemon=True) for server in self._servers]
        if self.emulator is not None:
            stops.append(threading.Thread(target=self.emulator.stop, daemon=True))
        for thread in stops:
            thread.start()
        for thread in stops + self._threads:
            thread.join(timeout=5)
        for server in self._servers:
            server.server_close()
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> "LocalHost":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self) -> None:
        """Block until :meth:`stop` (or Ctrl-C in the caller)."""
        while not self._stop.wait(0.5):
            pass

    def _serve(self, port: int, app: Callable[..., Any], name: str) -> BaseWSGIServer:
        server = make_server(HOST, port, app, threaded=True, request_handler=_QuietHandler)
        self._servers.append(server)
        self._thread(f"http-{name}", server.serve_forever)
        return server

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"rolegate-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _build_functions(self) -> None:
        assert self.world is not None
        specs = self.project.functions
        world = self.world
        self.functions = {
            "onboard": HostedFunction("onboard", specs["onboard"], world.functions["onboard"],
                                      "onboard (webhook)", http=True),
            "query": HostedFunction("query", specs["query"], world.functions["query"],
                                    "query (company A's deployment)", http=True),
            "query-b": HostedFunction("query-b", specs["query"], world.partner_query,
                                      "query (partner B's deployment)", http=True),
            "revoke": HostedFunction("revoke", specs["revoke"], world.functions["revoke"], "revoke (timer)"),
            "remediate": HostedFunction("remediate", specs["remediate"], world.functions["remediate"],
                                        "remediate (EventBridge)"),
        }

    # ------------------------------------------------------------- addresses
    @property
    def endpoint(self) -> str:
        assert self.emulator is not None
        return self.emulator.endpoint

    def url(self, key: str) -> str:
        if key == "control":
            return f"http://{HOST}:{self.control_port}"
        port = self.functions[key].port
        if port is None:
            raise KeyError(f"{key} has no HTTP trigger")
        return f"http://{HOST}:{port}"

    def profile(self) -> dict[str, str]:
        """What ``rolegate --local`` needs: the emulator, company A's operator and keys, the webhook secret."""
        assert self.world is not None
        return {"ROLEGATE_ENDPOINT": self.endpoint, "ROLEGATE_OWNER_ACCOUNT_ID": self.world.owner_id,
                "ROLEGATE_RECORD_KEY_SECRET": self.world.record_key_secret,
                "ROLEGATE_WEBHOOK_SECRET": self.webhook_secret,
                "ALIBABA_CLOUD_ACCESS_KEY_ID": self.world.operator.access_key_id,
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.world.operator.access_key_secret}

    def timers(self) -> list[TimerSpec]:
        """The revoke function's timer triggers (enabled or not)."""
        return list(self.functions["revoke"].spec.timers) if "revoke" in self.functions else []

    # ------------------------------------------------------------- invoking
    def context(self, hosted: HostedFunction, request_id: str, creds: Any) -> FakeContext:
        spec = hosted.spec
        return FakeContext(
            request_id=request_id,
            function=FunctionMeta(spec.function_name, spec.handler, spec.memory, spec.timeout),
            account_id=hosted.identity.account_id, region=REGION,
            credentials=ContextCredentials(creds.access_key_id, creds.access_key_secret, creds.security_token))

    def environment(self, hosted: HostedFunction, creds: Any) -> dict[str, str | None]:
        """The variables one invocation sees: s.yaml's, then what FC and the host set (which win).

        The host sets the record key's secret (the one it made in the emulator, as
        ``rolegate keys init`` does in the cloud) whatever the shell's own setting says.
        """
        assert self.world is not None
        spec = hosted.spec
        values: dict[str, str | None] = dict(spec.environment)
        if spec.name == "onboard":  # the one function that holds the webhook secret and reads the clients
            values["ROLEGATE_WEBHOOK_SECRET"] = self.webhook_secret
            values["ROLEGATE_WEBHOOK_CLIENTS"] = f"kms:{CLIENTS_SECRET}"
        values.update({
            "ROLEGATE_RECORD_KEY_SECRET": self.world.record_key_secret,
            "ROLEGATE_ENDPOINT": self.endpoint,
            "ROLEGATE_OWNER_ACCOUNT_ID": hosted.identity.account_id,
            # Company A is a hub; its Resource Directory lists company M (rolegate/demo_world.py).
            "ROLEGATE_MEMBERS": "resource-directory" if hosted.identity.account_id == self.world.owner_id else "",
            "FC_ACCOUNT_ID": hosted.identity.account_id,
            "FC_REGION": REGION,
            "FC_FUNCTION_NAME": spec.function_name,
            "FC_FUNCTION_HANDLER": spec.handler,
            "FC_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "FC_TIMEOUT": str(spec.timeout),
        })
        values.update(dict.fromkeys(CREDENTIAL_VARS))
        values.update(creds.env())
        return values

    def invoke(self, key: str, event: Any, trigger: str, request_id: str | None = None) -> Invocation:
        """Run function ``key``'s handler on ``event`` (JSON-encoded to bytes, as FC delivers it)."""
        assert self.emulator is not None
        hosted = self.functions[key]
        record = Invocation(key, trigger, request_id or new_request_id(), datetime.now(timezone.utc))
        payload = event if isinstance(event, bytes) else json.dumps(event).encode("utf-8")
        started = time.perf_counter()
        with self.lock:
            try:
                handler = hosted.handler()
                creds = hosted.identity.session(self.emulator.world)
                with patched_environ(self.environment(hosted, creds)):
                    record.result = handler(payload, self.context(hosted, record.request_id, creds))
            except Exception as exc:  # FC reports it as the invocation's error; the host keeps running
                record.error = {"errorType": type(exc).__name__, "errorMessage": _error_message(exc)}
                if not isinstance(exc, FunctionUnavailable):
                    traceback.print_exc(file=sys.stderr)
        record.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        self.history.append(record)
        self.say(_describe(record))
        return record

    def fire_timer(self, name: str | None = None, payload: str | None = None) -> Invocation:
        """Invoke the revoke function with the timer trigger's event now (``payload`` replaces the configured one)."""
        timers = {t.name: t for t in self.timers()}
        if not timers:
            raise KeyError("no timer trigger is configured")
        timer = timers[name] if name is not None else next(iter(timers.values()))
        event = timer_event(timer.name, timer.payload if payload is None else payload, datetime.now(timezone.utc))
        return self.invoke("revoke", event, f"timer:{timer.name}")

    def deliver(self, events: list[Any]) -> dict[str, Any]:
        """Hand CloudEvents to the remediate function, each once if it passes any trigger's filter pattern.

        On the cloud every trigger is a rule of its own, so an event passing two
        patterns would be delivered twice; the patterns in ``s.yaml`` are kept
        disjoint, which makes "any of them, once" what the cloud does as well.
        """
        patterns = self.functions["remediate"].spec.event_patterns
        delivered: list[dict[str, Any]] = []
        filtered: list[Any] = []
        for event in events:
            if not any(matches(p, event) for p in patterns):
                filtered.append(event.get("id") if isinstance(event, dict) else None)
                continue
            record = self.invoke("remediate", event, "eventbridge")
            delivered.append({"id": event.get("id"), "request_id": record.request_id, "ok": record.ok,
                              "result": record.result if record.ok else None, "error": record.error})
        return {"delivered": delivered, "filtered_out": filtered}

    # ------------------------------------------------------------------ timers
    def _run_timer(self, timer: TimerSpec) -> None:
        while not self._stop.is_set():
            fire_at = timer.schedule.next_after(datetime.now(timezone.utc))
            self.next_fire[timer.name] = fire_at
            while not self._stop.is_set():
                left = (fire_at - datetime.now(timezone.utc)).total_seconds()
                if left <= 0:
                    break
                self._stop.wait(min(left, 1.0))
            if self._stop.is_set():
                return
            event = timer_event(timer.name, timer.payload, fire_at)
            self.invoke("revoke", event, f"timer:{timer.name}")

    # ------------------------------------------------------------ HTTP apps
    def _http_app(self, hosted: HostedFunction) -> Callable[..., Any]:
        def run(event: dict[str, Any], request_id: str) -> Any:
            http = event["requestContext"]["http"]
            record = self.invoke(hosted.key, event, f"http {http['method']} {http['path']}", request_id)
            if record.error is not None:
                raise InvocationError(record.error["errorType"], record.error["errorMessage"])
            return record.result

        return trigger_app(run, hosted.identity.account_id)

    def _control_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        status, body = self._control(request)
        response = Response(json.dumps(body, default=str, ensure_ascii=False), status=status,
                            content_type="application/json")
        return response(environ, start_response)

    def _control(self, request: Request) -> tuple[int, Any]:
        path = request.path.rstrip("/") or "/"
        if path == "/" and request.method == "GET":
            return 200, self.status()
        if path == "/events" and request.method == "POST":
            try:
                data = json.loads(request.get_data() or b"null")
            except ValueError:
                return 400, {"error": "the body must be one CloudEvent (a JSON object) or a JSON list of them"}
            events = data if isinstance(data, list) else [data]
            if not all(isinstance(e, dict) for e in events) or not events:
                return 400, {"error": "the body must be one CloudEvent (a JSON object) or a JSON list of them"}
            return 200, self.deliver(events)
        if path.startswith("/timers/") and request.method == "POST":
            name = path[len("/timers/"):]
            if name not in {t.name for t in self.timers()}:
                return 404, {"error": f"no timer trigger named {name!r}",
                             "timers": [t.name for t in self.timers()]}
            body = request.get_data(as_text=True)
            record = self.fire_timer(name, body if body else None)
            return 200, {**record.to_dict(), "result": record.result}
        return 404, {"error": "try GET /, POST /events or POST /timers/<name>"}

    def status(self) -> dict[str, Any]:
        return {
            "emulator": f"http://{self.endpoint}",
            "functions": {k: {"label": f.label, "url": self.url(k) if f.http else None,
                              "role": f.identity.role_arn, "available": self.project.has_code(f.spec.name)}
                          for k, f in self.functions.items()},
            "timers": [{"name": t.name, "schedule": t.schedule.expression, "payload": t.payload,
                        "enabled": t.enabled, "next": self.next_fire.get(t.name)} for t in self.timers()],
            "forwarder": self.forwarder.stats(),
            "recent": [r.to_dict() for r in list(self.history)[-20:]],
        }


def add_local_client(endpoint: str, world: DemoWorld) -> Client:
    """Partner B's portal as a named client of company A's webhook, made as ``rolegate clients add`` makes one.

    It may create, read, extend and end grants for partner B in A only; the
    operator ops-admin may manage the clients' secret, so
    ``rolegate --local clients`` works as it would for a real operator.
    """
    from alibabacloud_ram20150501 import models

    from rolegate.cli_clients import save
    from rolegate.environ import patched_environ
    from shared.onboarding.clients import Registry, new_secret

    client = Client(LOCAL_CLIENT, new_secret(), (world.owner_id,), (world.partner_id,), True)
    with patched_environ({"ROLEGATE_LOG_LEVEL": "error"}):  # "not found yet" is the expected first answer
        save(world.owner_root.clients(endpoint).kms(), CLIENTS_SECRET, Registry().with_client(client))
    document = {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["kms:GetSecretValue", "kms:CreateSecret", "kms:PutSecretValue"],
        "Resource": f"acs:kms:*:{world.owner_id}:secret/{CLIENTS_SECRET}"}]}
    ram = world.owner_root.stock_ram(endpoint)
    ram.create_policy(models.CreatePolicyRequest(policy_name=CLIENTS_MANAGER, policy_document=json.dumps(document),
                                                 description="manages the webhook clients (rolegate clients)"))
    ram.attach_policy_to_user(models.AttachPolicyToUserRequest(policy_type="Custom", policy_name=CLIENTS_MANAGER,
                                                               user_name="ops-admin"))
    return client


def _error_message(exc: BaseException) -> str:
    """A Rolegate error's own message (safe by contract); any other exception only by type."""
    from shared.errors import RolegateError

    if isinstance(exc, (RolegateError, FunctionUnavailable)):
        return str(exc)
    return f"{type(exc).__name__} (see the host's log)"


def _describe(record: Invocation) -> str:
    outcome = "ok" if record.error is None else f"failed: {record.error['errorMessage']}"
    if record.ok and isinstance(record.result, dict) and "statusCode" in record.result:
        outcome = str(record.result["statusCode"])
    return f"{record.function:<10} {record.trigger:<28} {outcome} ({record.duration_ms:.0f} ms)"


class EventForwarder:
    """Polls the emulator's ActionTrail feed and delivers the owner account's events to remediate."""

    def __init__(self, host: LocalHost) -> None:
        self.host = host
        self.cursor = 0
        self.delivered = 0
        self.filtered = 0
        self.failed = 0
        self.undeliverable = 0  # while functions/remediate has no code
        self._cycles = 0
        self._changed = threading.Condition()
        self._wake = threading.Event()

    def stats(self) -> dict[str, int]:
        return {"seen": self.cursor, "delivered": self.delivered, "filtered_out": self.filtered,
                "failed": self.failed, "undeliverable": self.undeliverable}

    def skip_existing(self) -> None:
        assert self.host.emulator is not None
        self.cursor = len(admin_call(self.host.emulator.url, "GET", "/_emulator/events")["events"])

    def run(self) -> None:
        while not self.host.stopping:
            try:
                self.poll()
            except OSError as exc:  # the emulator is stopping, or briefly unreachable
                self.host.say(f"event forwarder: {exc}")
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def poll(self) -> None:
        """Fetch what is new and deliver it in order; one cycle."""
        assert self.host.emulator is not None and self.host.world is not None
        events = admin_call(self.host.emulator.url, "GET", f"/_emulator/events?since={self.cursor}")["events"]
        owner = self.host.world.owner_id
        ready = self.host.project.has_code("remediate")
        for event in events:
            self.cursor += 1
            if event.get("aliyunaccountid") != owner:
                continue  # another account's bus
            if not ready:
                self.undeliverable += 1
                continue
            outcome = self.host.deliver([event])
            self.filtered += len(outcome["filtered_out"])
            self.delivered += len(outcome["delivered"])
            self.failed += sum(1 for d in outcome["delivered"] if not d["ok"])
        with self._changed:
            self._cycles += 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every event recorded before this call has been delivered (True) or ``timeout`` passes.

        Two cycles after the call started guarantee one that began after it,
        and so saw every event already in the feed.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self._cycles + 2
            while self._cycles < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.set()  # no need to sleep out the polling interval
                self._changed.wait(min(left, POLL_SECONDS))
        return True
