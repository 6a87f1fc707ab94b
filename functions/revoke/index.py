"""Function Compute handler of the expiry sweep (timer trigger): :func:`shared.sweep.run.handle_event`."""
from shared.handler import entry
from shared.sweep.run import fails_invocation, handle_event

handler = entry("revoke", handle_event, log_name="sweep", fails_invocation=fails_invocation)
