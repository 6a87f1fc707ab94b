"""Looking into partner accounts' Function Compute through the roles they granted.

``request`` judges the request, ``run`` runs its targets through the STS and
FC seams, ``api`` answers; how and why: docs/design/query.md.
"""
from shared.query.api import handle_event
from shared.query.request import QueryRequest, Target, parse_query
from shared.query.run import Query, TargetResult
from shared.query.settings import QuerySettings

__all__ = ["Query", "QueryRequest", "QuerySettings", "Target", "TargetResult", "handle_event", "parse_query"]
