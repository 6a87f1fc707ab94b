"""Looking into partner accounts' Function Compute through the roles they granted.

``settings`` (environment), ``request`` (the request, its schema
``query_request.json`` and its checks), ``budget`` (the time a target may
use), ``run`` (assume, list, per-target failures, concurrency and deadline),
``api`` (HTTP trigger and direct invocation, replies and logs). The calls
themselves are made through the STS and FC seams, :mod:`shared.sts` and
:mod:`shared.fc`.
"""
from shared.query.api import handle_event
from shared.query.request import QueryRequest, Target, parse_query
from shared.query.run import Query, TargetResult
from shared.query.settings import QuerySettings

__all__ = ["Query", "QueryRequest", "QuerySettings", "Target", "TargetResult", "handle_event", "parse_query"]
