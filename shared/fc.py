"""The Function Compute seam: one account's FC 3.0 functions and FC 2.0 services, every page, within a time budget.

Every listing is a ROA-style GET through the SDK core's generic client: each FC
SDK imports all its models at once (the FC 3.0 SDK's 307, about 130 ms of a
cold start) for these few calls. Each request is the SDK's, query in name order
(tests/core/test_fc_requests.py compares the two on the wire). ``ListFunctions``
is called with ``fcVersion=v3`` (else FC 2.0 functions come too); FC 2.0 calls
name the account in ``X-Fc-Account-Id``. Each page and retry fits in the
caller's :class:`~shared.query.budget.TimeBudget`, so no call outlives the
request. Empty strings become ``None``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import quote

from shared.clients import ClientFactory
from shared.lazy import load
from shared.rpc import call_roa_get

if TYPE_CHECKING:
    from shared.query.budget import TimeBudget

# ListFunctions' fcVersion: "v3" lists FC 3.0 functions only; left out, FC 2.0 functions are listed too
# (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/developer-reference/api-fc-2023-03-30-listfunctions).
FC3_ONLY = "v3"
FC3_VERSION = "2023-03-30"
FC2_VERSION = "2021-04-06"


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


def service_view(s: dict[str, Any]) -> dict[str, Any]:
    """An FC 2.0 service, as ListServices answers it, as the query reports it."""
    return {
        "name": s.get("serviceName"),
        "description": _text(s.get("description")),
        "role": _text(s.get("role")),
        "internet_access": s.get("internetAccess"),
        "last_modified": _text(s.get("lastModifiedTime")),
    }


def _pages(fetch: Callable[[str | None], dict[str, Any]], key: str, budget: TimeBudget,
           what: str) -> Iterator[dict[str, Any]]:
    """Every item of a ``nextToken``-paged listing; ``fetch(token)`` returns one page's JSON body."""
    token: str | None = None
    page = 0
    while True:
        page += 1
        budget.check(f"{what} page {page}" if page > 1 else what)
        body = fetch(token)
        items = body.get(key)
        yield from (item for item in items if isinstance(item, dict)) if isinstance(items, list) else []
        token = body.get("nextToken") or None
        if token is None:
            return


def _listing(factory: ClientFactory, account_id: str, budget: TimeBudget) -> Callable[..., dict[str, Any]]:
    """One page of an FC listing in ``account_id``, within ``budget``: ``page(version, action, path, query,
    target, headers)``."""
    RuntimeOptions = load("darabonba.runtime").RuntimeOptions

    def page(version: str, action: str, path: str, query: dict[str, Any], target: str,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        connect, read = budget.timeouts_ms()
        client = factory.fc3(account_id) if version == FC3_VERSION else factory.fc2(account_id)
        return call_roa_get(client, version, action, f"/{version}{path}", query, target=target, headers=headers,
                            runtime=RuntimeOptions(connect_timeout=connect, read_timeout=read),
                            guard=lambda send: budget.guard(send, action))

    return page


def list_functions(factory: ClientFactory, account_id: str, prefix: str | None, page_size: int,
                   budget: TimeBudget) -> list[dict[str, Any]]:
    """Every FC 3.0 function of ``account_id`` in the factory's region."""
    page = _listing(factory, account_id, budget)

    def fetch(token: str | None) -> dict[str, Any]:
        return page(FC3_VERSION, "ListFunctions", "/functions",
                    {"fcVersion": FC3_ONLY, "limit": page_size, "nextToken": token, "prefix": prefix}, account_id)

    return [function_view(f) for f in _pages(fetch, "functions", budget, "listing functions")]


def list_services(factory: ClientFactory, account_id: str, prefix: str | None, page_size: int,
                  budget: TimeBudget, count_functions: bool = False) -> list[dict[str, Any]]:
    """Every FC 2.0 service of ``account_id`` in the factory's region, optionally with its function count."""
    page = _listing(factory, account_id, budget)
    headers = {"X-Fc-Account-Id": account_id}

    def fetch_services(token: str | None) -> dict[str, Any]:
        return page(FC2_VERSION, "ListServices", "/services",
                    {"limit": page_size, "nextToken": token, "prefix": prefix}, account_id, headers)

    def count(service: str) -> int:
        def fetch_functions(token: str | None) -> dict[str, Any]:
            return page(FC2_VERSION, "ListFunctions", f"/services/{quote(service, safe='~')}/functions",
                        {"limit": page_size, "nextToken": token}, f"{account_id}/{service}", headers)

        return sum(1 for _ in _pages(fetch_functions, "functions", budget,
                                     f"counting the functions of service {service}"))

    items = []
    for service in _pages(fetch_services, "services", budget, "listing services"):
        item = service_view(service)
        if count_functions:
            item["function_count"] = count(str(service.get("serviceName") or ""))
        items.append(item)
    return items


__all__ = ["function_view", "list_functions", "list_services", "service_view"]
