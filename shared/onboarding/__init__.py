"""The onboarding webhook: settings, request signatures, request judgement and the HTTP API.

``functions/onboard/index.py`` is a thin adapter over :func:`shared.onboarding.api.handle_event`.
"""
