"""Deployment tests share the function tests' environment hygiene (no ambient credentials or settings)."""
from tests.functions.conftest import clean_env  # noqa: F401  (autouse fixture, re-exported for this folder)
