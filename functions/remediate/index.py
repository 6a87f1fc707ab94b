"""Function Compute handler of remediation (ActionTrail events): :func:`shared.remediation.engine.handle_event`."""
from shared.handler import entry
from shared.remediation.engine import handle_event

handler = entry("remediate", handle_event, log_name="remediation")
