"""Fixtures for the operator tooling, shared with the other suites.

``clean_env`` (autouse): no ambient credentials or Rolegate setting leaks into
a test, and the process-wide client and credential caches start empty.
``isolated_chain``: the credentials library's default chain with every source
switched off.
"""
from tests.core.conftest import isolated_chain  # noqa: F401  (fixtures, re-exported)
from tests.functions.conftest import clean_env  # noqa: F401
