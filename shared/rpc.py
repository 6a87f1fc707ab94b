"""Cloud APIs called through the SDK core's generic client, with no product SDK.

A generated product SDK turns each request into query parameters and one
``Params`` (action, version, style, body, JSON answer) and hands both
to the core's ``call_api``; calling ``call_api`` the same way sends the same
signed request. Rolegate does so where the product SDK lacks the API (RAM's
identity providers, Ims 2019-08-15) and where it is too large to ship and load
for the calls made (RAM 2015-05-01, ECS 2014-05-26: 15 MiB, KMS 2016-01-20, and
FC 2023-03-30 and 2021-04-06, whose listings are ROA-style GETs: each SDK
imports every model at once).
docs/design/cold-start.md says what that saves.
"""
from __future__ import annotations

from typing import Any, Callable

from shared.calls import call
from shared.lazy import load

_SCALARS = (str, int, bool)


def call_rpc(client: Any, version: str, action: str, query: dict[str, Any], *, target: str,
             safe_to_retry: bool, form: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body of ``action``, its ``None`` parameters left out as the product SDKs leave them out.

    ``form``: the parameters a product SDK sends in the form body rather than
    the query (KMS's ``SecretData``), so a secret never stands in a URL; ``{}``
    where the SDK sends an empty form (an action whose only body parameters are
    unset), None where it sends no body at all.
    """
    models = load("alibabacloud_tea_openapi.utils_models")
    params = models.Params(action=action, version=version, protocol="HTTPS", pathname="/", method="POST",
                           auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    request = models.OpenApiRequest(query=_query(query))
    if form is not None:
        request.body = load("alibabacloud_tea_openapi.utils").Utils.parse_to_map(
            {k: v for k, v in form.items() if v is not None})
    return _send(client, params, request, load("darabonba.runtime").RuntimeOptions(), action=action, target=target,
                 safe_to_retry=safe_to_retry)


def call_roa_get(client: Any, version: str, action: str, pathname: str, query: dict[str, Any], *, target: str,
                 runtime: Any, headers: dict[str, str] | None = None,
                 guard: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda send: send) -> dict[str, Any]:
    """The JSON body of a ROA-style GET (FC's listings), as its product SDK sends it.

    ``runtime``: the SDK's ``RuntimeOptions`` (timeouts); ``headers``: the
    action's own (FC 2.0's ``X-Fc-Account-Id``); ``guard`` wraps each attempt
    (a query's time budget refusing to start one past its deadline).
    """
    models = load("alibabacloud_tea_openapi.utils_models")
    params = models.Params(action=action, version=version, protocol="HTTPS", pathname=pathname, method="GET",
                           auth_type="AK", style="ROA", req_body_type="json", body_type="json")
    request = models.OpenApiRequest(headers=dict(headers or {}), query=_query(query))
    return _send(client, params, request, runtime, action=action, target=target, safe_to_retry=True, guard=guard)


def _query(query: dict[str, Any]) -> dict[str, str]:
    """The query as a product SDK builds it: its parameters in name order (the order generated SDKs assign
    them in, so the URL is the SDK's), each value's text as the core's ``Utils.query`` spells it, None left
    out; without ``Utils.query``'s walk when every value is plain text or a number."""
    present = {k: v for k, v in sorted(query.items()) if v is not None}
    if all(type(v) in _SCALARS for v in present.values()):
        return {k: str(v) for k, v in present.items()}
    return load("alibabacloud_tea_openapi.utils").Utils.query(present)


def _send(client: Any, params: Any, request: Any, runtime: Any, *, action: str, target: str, safe_to_retry: bool,
          guard: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda send: send) -> dict[str, Any]:
    answer = call(guard(lambda req, rt: client.call_api(params, req, rt)), request, runtime=runtime,
                  action=action, target=target, safe_to_retry=safe_to_retry)
    body = answer.get("body") if isinstance(answer, dict) else None  # call_api answers {"body", "headers", ...}
    return body if isinstance(body, dict) else {}


def wrapped_items(body: dict[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    """An RPC answer's wrapped list (``{"Outer": {"Inner": [...]}}``), the dicts among it; [] when absent."""
    wrapper = body.get(outer)
    rows = wrapper.get(inner) if isinstance(wrapper, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


__all__ = ["call_roa_get", "call_rpc", "wrapped_items"]
