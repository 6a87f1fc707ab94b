"""Operator-side tooling for Rolegate; never deployed to Function Compute.

``rolegate.localhost`` runs the four functions on a laptop against the
emulator, ``rolegate.demo`` walks a grant through its whole life there, and
``rolegate.cli`` is the ``rolegate`` command that manages grants through the
shared core, against the local host or the real cloud alike.
"""
