"""The events Function Compute hands a handler, each read through one view.

``payload`` is any invocation's event as JSON data (what a direct invocation
sends, and what every trigger's event is first); ``http`` the HTTP trigger's
request and the reply it expects; ``timer`` the timer trigger's event;
``actiontrail`` the ActionTrail records EventBridge delivers. Nothing here
calls the cloud or imports an SDK.
"""
