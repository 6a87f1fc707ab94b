"""The pure policy layer: principals, trust policies, documents, the linter and the one judgment of risk.

Nothing here imports an SDK or does I/O, so onboarding, remediation and tests
judge a policy the same way before any cloud call is made. The package
re-exports nothing, so importing one module loads only what that module needs.
"""
