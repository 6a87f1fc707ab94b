"""RPC-style cloud APIs called through the SDK core's generic client, with no product SDK.

A generated product SDK turns each request into query parameters and one
``Params`` (action, version, RPC style, form body, JSON answer) and hands both
to the core's ``call_api``; calling ``call_api`` the same way sends the same
signed request. Rolegate does so where the product SDK lacks the API (RAM's
identity providers, Ims 2019-08-15) and where it is too large to ship and load
for the two calls made (ECS 2014-05-26: 15 MiB, every model imported at once).
docs/design/cold-start.md says what that saves.
"""
from __future__ import annotations

from typing import Any

from shared.calls import call
from shared.lazy import load


def call_rpc(client: Any, version: str, action: str, query: dict[str, Any], *, target: str,
             safe_to_retry: bool) -> dict[str, Any]:
    """The JSON body of ``action``, its ``None`` parameters left out as the product SDKs leave them out."""
    models = load("alibabacloud_tea_openapi.utils_models")
    utils = load("alibabacloud_tea_openapi.utils").Utils
    params = models.Params(action=action, version=version, protocol="HTTPS", pathname="/", method="POST",
                           auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    request = models.OpenApiRequest(query=utils.query({k: v for k, v in query.items() if v is not None}))
    runtime = load("darabonba.runtime").RuntimeOptions()
    answer = call(lambda req, rt: client.call_api(params, req, rt), request, runtime=runtime,
                  action=action, target=target, safe_to_retry=safe_to_retry)
    body = answer.get("body") if isinstance(answer, dict) else None  # call_api answers {"body", "headers", ...}
    return body if isinstance(body, dict) else {}


__all__ = ["call_rpc"]
