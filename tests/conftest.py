"""Test-wide configuration: the emulator fixtures and a Hypothesis profile for shared, noisy machines."""
from hypothesis import HealthCheck, settings

pytest_plugins = ["emulator.pytest_plugin"]

# Machines here are shared: timing-based checks would fail on load, not on behaviour.
settings.register_profile("rolegate", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rolegate")
