"""RPC-style cloud APIs called through the SDK core's generic client, with no product SDK.

A generated product SDK turns each request into query parameters and one
``Params`` (action, version, RPC style, form body, JSON answer) and hands both
to the core's ``call_api``; calling ``call_api`` the same way sends the same
signed request. Rolegate does so where the product SDK lacks the API (RAM's
identity providers, Ims 2019-08-15) and where it is too large to ship and load
for the few calls made (ECS 2014-05-26: 15 MiB, every model imported at once;
KMS 2016-01-20: about 45 ms of every cold start for one GetSecretValue).
docs/design/cold-start.md says what that saves.
"""
from __future__ import annotations

from typing import Any

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
    utils = load("alibabacloud_tea_openapi.utils").Utils
    params = models.Params(action=action, version=version, protocol="HTTPS", pathname="/", method="POST",
                           auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    present = {k: v for k, v in query.items() if v is not None}
    # Text and numbers as the core's Utils.query spells them (str), without its walk; anything else through it.
    flat = all(type(v) in _SCALARS for v in present.values())
    request = models.OpenApiRequest(query={k: str(v) for k, v in present.items()} if flat else utils.query(present))
    if form is not None:
        request.body = utils.parse_to_map({k: v for k, v in form.items() if v is not None})
    runtime = load("darabonba.runtime").RuntimeOptions()
    answer = call(lambda req, rt: client.call_api(params, req, rt), request, runtime=runtime,
                  action=action, target=target, safe_to_retry=safe_to_retry)
    body = answer.get("body") if isinstance(answer, dict) else None  # call_api answers {"body", "headers", ...}
    return body if isinstance(body, dict) else {}


def wrapped_items(body: dict[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    """An RPC answer's wrapped list (``{"Outer": {"Inner": [...]}}``), the dicts among it; [] when absent."""
    wrapper = body.get(outer)
    rows = wrapper.get(inner) if isinstance(wrapper, dict) else None
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


__all__ = ["call_rpc", "wrapped_items"]
