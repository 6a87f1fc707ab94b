"""Where each service declares the actions it serves.

An action names its RAM action and how to compute the resource ARNs a caller
needs permission on, so authorization is applied uniformly by the application
before any handler runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

Handler = Callable[..., Any]
ResourceFn = Callable[..., list[str]]

# API versions of the RPC products, for routing on x-acs-version / Version.
RPC_PRODUCTS = {"2015-05-01": "ram", "2019-08-15": "ims", "2015-04-01": "sts", "2014-05-26": "ecs",
                "2016-01-20": "kms", "2020-03-31": "resourcemanager"}  # ledger: RD-API
HOSTS = {"ram": "ram.aliyuncs.com", "ims": "ims.aliyuncs.com", "sts": "sts.aliyuncs.com", "ecs": "ecs.aliyuncs.com",
         "fc3": "fcv3.aliyuncs.com", "fc2": "fc.aliyuncs.com", "kms": "kms.aliyuncs.com",
         "resourcemanager": "resourcemanager.aliyuncs.com"}


@dataclass(frozen=True)
class ActionSpec:
    product: str
    name: str
    handler: Handler
    ram_action: str | None
    resource: ResourceFn | None
    write: bool
    method: str = "POST"
    pattern: re.Pattern[str] | None = None
    anonymous: bool = False


RPC_ACTIONS: dict[tuple[str, str], ActionSpec] = {}
ROA_ROUTES: list[ActionSpec] = []
ADMIN_ROUTES: dict[tuple[str, str], Handler] = {}


def rpc(product: str, name: str, *, ram_action: str | None = None, resource: ResourceFn | None = None,
        write: bool = False, anonymous: bool = False) -> Callable[[Handler], Handler]:
    """Register an RPC action. ``ram_action=None`` means no identity policy is checked (e.g. GetCallerIdentity);
    ``anonymous=True`` serves unsigned requests (STS AssumeRoleWithOIDC/SAML) with :data:`ANONYMOUS` as caller."""
    def deco(fn: Handler) -> Handler:
        RPC_ACTIONS[(product, name)] = ActionSpec(product, name, fn, ram_action, resource, write,
                                                  anonymous=anonymous)
        return fn
    return deco


def roa(product: str, method: str, template: str, name: str, *, ram_action: str | None,
        resource: ResourceFn | None = None, write: bool = False) -> Callable[[Handler], Handler]:
    """Register a ROA route; ``{param}`` segments of ``template`` become ``req.path_params``."""
    regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "/?$"

    def deco(fn: Handler) -> Handler:
        ROA_ROUTES.append(ActionSpec(product, name, fn, ram_action, resource, write, method.upper(),
                                     re.compile(regex)))
        return fn
    return deco


def admin(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register an admin endpoint under ``/_emulator/``; handler gets (world, json_body, query)."""
    def deco(fn: Handler) -> Handler:
        ADMIN_ROUTES[(method.upper(), path)] = fn
        return fn
    return deco
