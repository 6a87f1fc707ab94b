"""Every cloud API call goes through :func:`call`: the retry policy, the conversion of SDK errors, one log line.

Why retrying is decided here, for which failures, and how it backs off: docs/design/cloud-calls.md.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from shared import config
from shared.errors import CloudCallError, CloudUnavailable
from shared.logs import log_event

DEFAULT_RETRY_BASE_MS = 200
DEFAULT_RETRY_CAP_MS = 5_000
DEFAULT_MAX_ATTEMPTS = 4
MAX_RETRY_AFTER_MS = 10_000
MAX_MESSAGE_CHARS = 500


def retry_base_ms() -> int:
    return config.env_int("ROLEGATE_RETRY_BASE_MS", DEFAULT_RETRY_BASE_MS, minimum=0)


def retry_cap_ms() -> int:
    return config.env_int("ROLEGATE_RETRY_CAP_MS", DEFAULT_RETRY_CAP_MS, minimum=0)


def max_attempts() -> int:
    return config.env_int("ROLEGATE_RETRY_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, minimum=1, maximum=20)


# ----------------------------------------------------------------- classification
def _present(value: Any) -> Any:
    """The SDK stringifies missing values as ``"None"``; treat that as absent."""
    return None if value in (None, "None", "") else value


def _data(exc: BaseException) -> dict[str, Any]:
    data = getattr(exc, "data", None)
    return data if isinstance(data, dict) else {}


def _cloud_code(exc: BaseException) -> str | None:
    data = _data(exc)
    code = _present(getattr(exc, "code", None)) or _present(data.get("ErrorCode")) or _present(data.get("errorCode"))
    return str(code) if code is not None else None


def _http_status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None) or _data(exc).get("statusCode")
    try:
        return int(status) if status is not None else None
    except (TypeError, ValueError):
        return None


def _transport_kind(exc: BaseException) -> str | None:
    """``"timeout"``/``"connection"`` when ``exc`` is the SDK's wrapper of an I/O failure, else None.

    darabonba raises ``UnretryableException`` whose ``inner_exception`` is its
    ``RetryError`` built from the ``requests`` IOError; a non-JSON answer is
    wrapped the same way but with another inner type, and is not transport.
    """
    inner = getattr(exc, "inner_exception", None)
    if inner is None:
        return None
    if not (isinstance(inner, OSError) or type(inner).__name__ == "RetryError"):
        return None
    text = str(getattr(inner, "message", "") or inner).lower()
    return "timeout" if "timed out" in text or "timeout" in text else "connection"


def _retry_after_ms(exc: BaseException) -> int:
    value = getattr(exc, "retry_after", None)
    try:
        return max(0, int(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def is_throttling(exc: BaseException) -> bool:
    code = _cloud_code(exc) or ""
    return type(exc).__name__ == "ThrottlingException" or code.startswith("Throttling")


def _is_transient(exc: BaseException) -> bool:
    """Whether the cloud would likely answer differently if asked again later."""
    if is_throttling(exc):
        return True
    status = _http_status(exc)
    if status is not None and status >= 500:
        return True
    return _transport_kind(exc) is not None


def _should_retry(exc: BaseException) -> bool:
    return _is_transient(exc) and _retry_after_ms(exc) <= MAX_RETRY_AFTER_MS


def to_cloud_error(exc: BaseException, action: str, target: str = "") -> CloudCallError:
    """The Rolegate error for an SDK exception (``CloudUnavailable`` when transient)."""
    code = _cloud_code(exc)
    status = _http_status(exc)
    data = _data(exc)
    request_id = _present(getattr(exc, "request_id", None)) or _present(data.get("RequestId")) \
        or _present(data.get("requestId"))
    details: dict[str, Any] = {}
    if target:
        details["target"] = target
    transport = _transport_kind(exc)
    if transport is not None:
        details["transport"] = transport
        message = f"{action} failed: {transport} error talking to the cloud API."
    else:
        cloud_message = _present(data.get("Message")) or _present(data.get("message")) \
            or _present(data.get("errorMessage")) or _present(data.get("ErrorMessage"))
        message = f"{action} failed: {code or 'unknown error'}"
        if status is not None:
            message += f" (HTTP {status})"
        if cloud_message:
            message += f": {str(cloud_message)[:MAX_MESSAGE_CHARS]}"
    if _retry_after_ms(exc):
        details["retry_after_ms"] = _retry_after_ms(exc)
    cls = CloudUnavailable if _is_transient(exc) else CloudCallError
    return cls(message, action=action, cloud_code=code, request_id=str(request_id) if request_id else None,
               http_status=status, details=details)


def is_code(exc: BaseException, *codes: str) -> bool:
    """Whether ``exc`` (a CloudCallError or a raw SDK exception) carries one of ``codes``.

    For callers that treat an answer such as ``EntityNotExist.Role`` as success.
    """
    code = exc.cloud_code if isinstance(exc, CloudCallError) else _cloud_code(exc)
    return code is not None and code in codes


# --------------------------------------------------------------------------- call
def call(method: Callable[..., Any], request: Any = None, *, action: str, target: str = "",
         safe_to_retry: bool, attempts: int | None = None, runtime: Any = None) -> Any:
    """Call one SDK operation and return ``response.body``.

    ``method`` is a bound client method: ``client.get_role`` with ``request``,
    or ``client.get_caller_identity`` without. When ``runtime`` (SDK
    ``RuntimeOptions``) is given, pass the ``*_with_options`` method; keep the
    SDK's own ``autoretry`` off so attempts are not multiplied.
    ``attempts`` defaults to ``ROLEGATE_RETRY_MAX_ATTEMPTS`` (4); ``target``
    names the resource for the log line.
    """
    from Tea.exceptions import TeaException

    limit = (attempts if attempts is not None else max_attempts()) if safe_to_retry else 1
    base, cap = retry_base_ms() / 1000, retry_cap_ms() / 1000  # read (and checked) before the first attempt
    args = [a for a in (request, runtime) if a is not None]
    tries = 0

    def attempt() -> Any:
        nonlocal tries
        tries += 1
        return method(*args)

    started = time.perf_counter()

    def log(outcome: str, level: str, **extra: Any) -> None:
        # The cloud's request id is logged as cloud_request_id: request_id is the bound invocation id.
        log_event("cloud_call", level, action=action, target=target, outcome=outcome, attempts=tries,
                  duration_ms=round((time.perf_counter() - started) * 1000, 1), **extra)

    try:
        response = _with_retries(attempt, limit, base, cap)
    except TeaException as exc:
        error = to_cloud_error(exc, action, target)
        log(error.cloud_code or error.details.get("transport", error.code), "warning",
            http_status=error.http_status, cloud_request_id=error.request_id)
        raise error from exc
    except Exception as exc:
        log(type(exc).__name__, "error")
        raise
    log("ok", "info")
    return getattr(response, "body", response)


def _with_retries(attempt: Callable[[], Any], limit: int, base: float, cap: float) -> Any:
    """``attempt()`` until it succeeds, fails for good or ``limit`` attempts are spent.

    The first attempt runs bare: most calls succeed at once, and neither a
    tenacity loop per call nor tenacity's import is paid for them
    (docs/design/cloud-calls.md). A failure worth retrying is replayed as
    tenacity's first attempt, so the waits and the stop are one loop's.
    """
    try:
        return attempt()
    except Exception as exc:
        if limit <= 1 or not _should_retry(exc):
            raise
        first: BaseException | None = exc

    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    jitter = wait_random_exponential(multiplier=base, max=cap)

    def wait(state: Any) -> float:
        floor = _retry_after_ms(state.outcome.exception()) / 1000
        return max(jitter(state), floor)

    def replay_then_attempt() -> Any:
        nonlocal first
        if first is not None:
            failure, first = first, None
            raise failure
        return attempt()

    retrying = Retrying(stop=stop_after_attempt(limit), wait=wait, retry=retry_if_exception(_should_retry),
                        reraise=True)
    return retrying(replay_then_attempt)
