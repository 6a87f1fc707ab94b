"""The Function Compute seam: one account's FC 3.0 functions and FC 2.0 services, every page, within a time budget.

``ListFunctions`` is called with ``fcVersion=v3`` (else FC 2.0 functions come
too); FC 2.0 calls name the account in ``X-Fc-Account-Id``. Each page and
retry fits in the caller's :class:`~shared.query.budget.TimeBudget`, so no
call outlives the request. Empty strings become ``None``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator

from shared.calls import call
from shared.clients import ClientFactory
from shared.lazy import load
from shared.rpc import call_roa_get

if TYPE_CHECKING:
    from shared.query.budget import TimeBudget

# ListFunctions' fcVersion: "v3" lists FC 3.0 functions only; left out, FC 2.0 functions are listed too
# (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/developer-reference/api-fc-2023-03-30-listfunctions).
FC3_ONLY = "v3"
FC3_VERSION = "2023-03-30"


def _text(value: Any) -> Any:
    return value if value not in ("", None) else None


def function_view(f: dict[str, Any]) -> dict[str, Any]:
    """An FC 3.0 function, as ListFunctions answers it, as the query reports it."""
    return {
        "name": f.get("functionName"),
        "runtime": _text(f.get("runtime")),
        "memory_mb": f.get("memorySize"),
        "timeout_seconds": f.get("timeout"),
        "role": _text(f.get("role")),
        "last_modified": _text(f.get("lastModifiedTime")),
        "description": _text(f.get("description")),
    }


def service_view(s: Any) -> dict[str, Any]:
    """An FC 2.0 service as the query reports it."""
    return {
        "name": s.service_name,
        "description": _text(s.description),
        "role": _text(s.role),
        "internet_access": s.internet_access,
        "last_modified": _text(s.last_modified_time),
    }


def _pages(fetch: Callable[[str | None], Any], key: str, budget: TimeBudget, what: str) -> Iterator[Any]:
    """Every item of a ``nextToken``-paged listing; ``fetch(token)`` returns one page's body (a dict, or an SDK
    model)."""
    token: str | None = None
    page = 0
    while True:
        page += 1
        budget.check(f"{what} page {page}" if page > 1 else what)
        body = fetch(token)
        if isinstance(body, dict):
            items, token = body.get(key), body.get("nextToken")
            yield from (item for item in items if isinstance(item, dict)) if isinstance(items, list) else []
        else:
            yield from getattr(body, key, None) or []
            token = getattr(body, "next_token", None)
        token = token or None
        if token is None:
            return


def list_functions(factory: ClientFactory, account_id: str, prefix: str | None, page_size: int,
                   budget: TimeBudget) -> list[dict[str, Any]]:
    """Every FC 3.0 function of ``account_id`` in the factory's region.

    Through the SDK core's generic client: the FC 3.0 SDK imports all its
    models (about 130 ms of a cold start) for this one GET. The query is the
    SDK's, parameters in name order (tests/core/test_fc_requests.py compares
    the two on the wire).
    """
    client = factory.fc3(account_id)
    RuntimeOptions = load("darabonba.runtime").RuntimeOptions

    def fetch(token: str | None) -> dict[str, Any]:
        connect, read = budget.timeouts_ms()
        query = {"fcVersion": FC3_ONLY, "limit": page_size, "nextToken": token, "prefix": prefix}
        return call_roa_get(client, FC3_VERSION, "ListFunctions", f"/{FC3_VERSION}/functions", query,
                            target=account_id, runtime=RuntimeOptions(connect_timeout=connect, read_timeout=read),
                            guard=lambda send: budget.guard(send, "ListFunctions"))

    return [function_view(f) for f in _pages(fetch, "functions", budget, "listing functions")]


def list_services(factory: ClientFactory, account_id: str, prefix: str | None, page_size: int,
                  budget: TimeBudget, count_functions: bool = False) -> list[dict[str, Any]]:
    """Every FC 2.0 service of ``account_id`` in the factory's region, optionally with its function count."""
    client = factory.fc2(account_id)
    models = load("alibabacloud_fc_open20210406.models")
    RuntimeOptions = load("alibabacloud_tea_util.models").RuntimeOptions

    def runtime() -> RuntimeOptions:
        connect, read = budget.timeouts_ms()
        return RuntimeOptions(connect_timeout=connect, read_timeout=read)

    def fetch_services(token: str | None) -> Any:
        request = models.ListServicesRequest(limit=page_size, next_token=token, prefix=prefix)
        headers = models.ListServicesHeaders(x_fc_account_id=account_id)
        return call(budget.guard(lambda req, rt: client.list_services_with_options(req, headers, rt), "ListServices"),
                    request, runtime=runtime(), action="ListServices", target=account_id, safe_to_retry=True)

    def count(service: str) -> int:
        def fetch_functions(token: str | None) -> Any:
            request = models.ListFunctionsRequest(limit=page_size, next_token=token)
            headers = models.ListFunctionsHeaders(x_fc_account_id=account_id)
            method = budget.guard(lambda req, rt: client.list_functions_with_options(service, req, headers, rt),
                                  "ListFunctions")
            return call(method, request, runtime=runtime(), action="ListFunctions", target=f"{account_id}/{service}",
                        safe_to_retry=True)

        return sum(1 for _ in _pages(fetch_functions, "functions", budget,
                                     f"counting the functions of service {service}"))

    items = []
    for service in _pages(fetch_services, "services", budget, "listing services"):
        item = service_view(service)
        if count_functions:
            item["function_count"] = count(service.service_name)
        items.append(item)
    return items


__all__ = ["function_view", "list_functions", "list_services", "service_view"]
