"""The WSGI application: admin API, authentication, routing, faults, call log.

One port serves every product. RPC requests (``POST /`` or ``GET /``) are routed
on ``x-acs-action``/``x-acs-version`` or, for legacy clients, on the ``Action``
and ``Version`` parameters; ROA requests on their path. Every request is
authenticated against the keys the emulator issued before it reaches a service.
"""
from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from . import admin as _admin  # noqa: F401  (registers the admin routes)
from . import services as _services  # noqa: F401  (registers the service actions)
from . import trail
from .errors import CloudError
from .identity import Identity
from .policy import authorize
from .protocol import ApiRequest
from .registry import ADMIN_ROUTES, HOSTS, ROA_ROUTES, RPC_ACTIONS, RPC_PRODUCTS, ActionSpec
from .signatures import Signed, form_pairs, verify_acs3, verify_fc, verify_roa1, verify_rpc1
from .world import World

MAX_SKEW = timedelta(minutes=15)
ANONYMOUS = Identity("anonymous", "")
SIGNATURE_PARAMS = {"Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce", "SignatureType",
                    "AccessKeyId", "Timestamp", "Format", "SecurityToken", "Action", "Version"}
# Parameters the call log leaves out: credentials, and the values of KMS secrets.
SECRET_PARAMS = {"AccessKeySecret", "SecurityToken", "Signature", "SecretData"}


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    data = b"" if body is None else json.dumps(body).encode()
    resp = Response(data, status=status, content_type="application/json;charset=utf-8")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class NonceLedger:
    """Signature nonces seen within the timestamp window, each refused a second time.

    Entries are kept in arrival order, so those older than the window are
    dropped from the front as new ones come in: O(1) amortised per call, however
    many nonces a load test sends. A nonce older than the window may be reused;
    its request is refused anyway, for its timestamp.
    """

    def __init__(self, window: timedelta = MAX_SKEW, *, now: Callable[[], float] = time.monotonic) -> None:
        self._window = window.total_seconds()
        self._now = now
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def use(self, access_key_id: str, nonce: str) -> bool:
        """Record the nonce of this key; False when it was already used within the window."""
        now = self._now()
        key = f"{access_key_id}:{nonce}"
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self._window:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class EmulatorApp:
    def __init__(self, world: World | None = None) -> None:
        self.world = world or World()
        self.nonces = NonceLedger()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith("/_emulator"):
            response = self._admin(request)
        else:
            response = self._api(request, environ)
        return response(environ, start_response)

    # ---------------------------------------------------------------- admin
    def _admin(self, request: Request) -> Response:
        handler = ADMIN_ROUTES.get((request.method, request.path))
        if handler is None:
            return _json_response(404, {"error": f"no admin route {request.method} {request.path}"})
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            status, out = handler(self.world, body, dict(request.args))
        except CloudError as err:
            return _json_response(err.status, {"error": err.message, "code": err.code})
        except (ValueError, TypeError, KeyError) as err:
            return _json_response(400, {"error": str(err)})
        return _json_response(status, out)

    # ------------------------------------------------------------------ api
    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        world = self.world
        request_id = str(uuid.uuid4()).upper()
        headers = {k.lower(): [v] for k, v in request.headers.items()}
        raw_path = environ.get("RAW_URI", request.path).split("?", 1)[0]
        raw_query = environ.get("QUERY_STRING", "")
        body = request.get_data()
        spec: ActionSpec | None = None
        product, action, version = "unknown", "", ""
        caller: Identity | None = None
        req: ApiRequest | None = None
        params: dict[str, str] = {}
        started = time.perf_counter()
        detail: str | None = None
        try:
            spec, params, path_params = self._route(request, raw_path, raw_query, headers, body)
            product, action = spec.product, spec.name
            version = headers.get("x-acs-version", [params.get("Version", "")])[0]
            if not spec.anonymous:  # anonymous actions are served unsigned, with caller left None in the log
                caller = self._authenticate(request.method, raw_path, raw_query, headers, body, params)
            req = ApiRequest(product, action, version, params, caller or ANONYMOUS, world, request_id,
                             request.method, raw_path, path_params, self._json_body(request, body),
                             {k: v[0] for k, v in headers.items()}, request.remote_addr or "127.0.0.1",
                             request.headers.get("User-Agent", ""))
            delay = world.faults.delay_seconds(product, action)
            if delay:
                time.sleep(delay)
            world.faults.check_throttle(product, action, caller.account_id if caller else "")
            injected = world.faults.error_for(product, action, "before")
            if injected:
                raise injected
            with world.lock:
                if world.enforce_authorization and spec.ram_action and caller and caller.kind != "root":
                    resources = spec.resource(req) if spec.resource else ["*"]
                    authorize(world, caller, spec.ram_action, resources, req)
                result = spec.handler(req)
                if spec.write:
                    trail.record(world, req, result)
            injected = world.faults.error_for(product, action, "after")
            if injected:
                raise injected
            response = self._render_ok(spec, result, request_id)
            outcome, status = "ok", response.status_code
        except CloudError as err:
            if spec is not None and spec.write and caller is not None and err.code != "Throttling.User":
                trail.record_failure(world, product, action, params, caller, request_id, err, req=req)
            response = self._render_error(product, err, request_id)
            outcome, status = err.code, err.status
            detail = getattr(err, "log_detail", None) or err.detail
        world.calls.record({
            "time": world.clock.now().isoformat(), "request_id": request_id, "product": product,
            "action": action, "version": version, "method": request.method, "path": raw_path,
            "caller": caller.arn if caller else None, "account_id": caller.account_id if caller else None,
            "params": {k: v for k, v in params.items() if k not in SECRET_PARAMS},
            "outcome": outcome, "status": status, "detail": detail,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        })
        return response

    @staticmethod
    def _json_body(request: Request, body: bytes) -> Any:
        if body and "json" in (request.content_type or ""):
            try:
                return json.loads(body)
            except ValueError:
                raise CloudError("InvalidArgument", "The request body is not valid JSON.", 400) from None
        return None

    def _route(self, request: Request, raw_path: str, raw_query: str, headers: dict[str, list[str]],
               body: bytes) -> tuple[ActionSpec, dict[str, str], dict[str, str]]:
        query = form_pairs(raw_query)
        if raw_path in ("", "/"):
            pairs = list(query)
            if "application/x-www-form-urlencoded" in (request.content_type or "") and body:
                pairs += form_pairs(body.decode())
            params = dict(pairs)
            action = headers.get("x-acs-action", [params.get("Action", "")])[0]
            version = headers.get("x-acs-version", [params.get("Version", "")])[0]
            product = RPC_PRODUCTS.get(version)
            spec = RPC_ACTIONS.get((product, action)) if product else None
            if spec is None:
                raise CloudError("InvalidAction.NotFound",
                                 f"Specified api {action or '(none)'} is not found in version {version or '(none)'}.", 404)
            return spec, params, {}
        for spec in ROA_ROUTES:
            if spec.method != request.method or spec.pattern is None:
                continue
            match = spec.pattern.match(raw_path)
            if match:
                from urllib.parse import unquote
                return spec, dict(query), {k: unquote(v) for k, v in match.groupdict().items()}
        raise CloudError("NotFound", f"No API matches {request.method} {raw_path}.", 404)

    # --------------------------------------------------------- authentication
    def _secret_for(self, access_key_id: str) -> str:
        record = self.world.keys.get(access_key_id)
        if record is None or record.status != "Active":
            raise CloudError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        return record.secret

    def _authenticate(self, method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                      body: bytes, params: dict[str, str]) -> Identity:
        auth = headers.get("authorization", [""])[0]
        if auth.startswith("ACS3-"):
            signed = verify_acs3(method, raw_path, raw_query, headers, body, self._secret_for)
            when = self._parse_iso(signed.timestamp)
        elif auth.startswith("acs "):
            signed = verify_roa1(method, raw_path, raw_query, headers, self._secret_for)
            when = self._parse_http_date(signed.timestamp)
        elif auth.startswith("FC "):
            signed = verify_fc(method, raw_path, raw_query, headers, self._secret_for)
            when = self._parse_http_date(signed.timestamp)
        elif "Signature" in params:
            pairs = form_pairs(raw_query)
            if body and "application/x-www-form-urlencoded" in headers.get("content-type", [""])[0]:
                pairs += form_pairs(body.decode())
            signed = verify_rpc1(method, pairs, self._secret_for)
            when = self._parse_iso(signed.timestamp)
        else:
            raise CloudError("MissingSignature", "The request is not signed.", 400)
        if when is None or abs(datetime.now(timezone.utc) - when) > MAX_SKEW:
            raise CloudError("InvalidTimeStamp.Expired",
                             "Specified time stamp or date value is expired.", 400)
        self._check_nonce(signed)
        record = self.world.keys[signed.access_key_id]
        if record.security_token is not None:
            if not signed.security_token:
                raise CloudError("MissingSecurityToken", "The security token is required for STS credentials.", 400)
            if signed.security_token != record.security_token:
                raise CloudError("InvalidSecurityToken.MismatchWithAccessKey",
                                 "The security token does not match the access key.", 400)
            if record.expires_at is not None and self.world.clock.now() >= record.expires_at:
                raise CloudError("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.", 400)
        elif signed.security_token:
            raise CloudError("InvalidSecurityToken.MismatchWithAccessKey",
                             "A security token was sent with a permanent access key.", 400)
        return record.identity

    def _check_nonce(self, signed: Signed) -> None:
        if signed.nonce and not self.nonces.use(signed.access_key_id, signed.nonce):
            raise CloudError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _parse_iso(value: str) -> datetime | None:
        """A signed timestamp (cached: concurrent calls sign with the same second, and strptime is slow)."""
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return None

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _parse_http_date(value: str) -> datetime | None:
        """A signed HTTP date, cached like :meth:`_parse_iso`."""
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None

    # ------------------------------------------------------------- rendering
    @staticmethod
    def _render_ok(spec: ActionSpec, result: Any, request_id: str) -> Response:
        if spec.pattern is None:  # RPC
            return _json_response(200, {"RequestId": request_id, **(result or {})})
        status, body, extra = result if isinstance(result, tuple) else (200, result, {})
        headers = {"x-acs-request-id": request_id, **(extra or {})}
        if spec.product == "fc2":
            headers["x-fc-request-id"] = request_id
        return _json_response(status, body, headers)

    @staticmethod
    def _render_error(product: str, err: CloudError, request_id: str) -> Response:
        body: dict[str, Any] = {
            "RequestId": request_id, "HostId": HOSTS.get(product, "aliyuncs.com"), "Code": err.code,
            "Message": err.message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product={product}",
        }
        if err.detail:
            body["AccessDeniedDetail"] = err.detail
        headers: dict[str, str] = {"x-acs-request-id": request_id}
        if product == "fc2":
            body.update({"ErrorCode": err.code, "ErrorMessage": err.message})
            headers["x-fc-request-id"] = request_id
        if err.retry_after is not None:
            headers["x-acs-retry-after"] = str(err.retry_after)
        return _json_response(err.status, body, headers)
