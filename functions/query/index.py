"""Function Compute handler of the query function (HTTP trigger or direct): :func:`shared.query.api.handle_event`."""
from shared.handler import entry
from shared.query.api import handle_event

handler = entry("query", handle_event)
