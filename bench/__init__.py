"""Benchmarks of the four functions against the emulator: ``python -m bench [name ...] [--scale S]``.

Each benchmark measures Rolegate and its baseline side by side in one run and
reports the ratio, since the machines it runs on are shared and noisy. This
package's ``__init__`` imports nothing, so a child interpreter started with
``python -m bench.child`` pays no import cost that would skew a cold start.
"""
