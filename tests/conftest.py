"""Test-wide configuration: the emulator fixtures."""
pytest_plugins = ["emulator.pytest_plugin"]
