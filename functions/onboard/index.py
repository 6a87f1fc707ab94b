"""Function Compute handler of the onboarding webhook (HTTP trigger): :func:`shared.onboarding.api.handle_event`."""
from shared.handler import entry
from shared.onboarding.api import handle_event

handler = entry("onboard", handle_event, http=True)
