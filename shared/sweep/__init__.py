"""The expiry sweep: end every grant whose expiry has passed, safely and within the invocation's time.

``settings`` (environment), ``options`` (the timer payload's options),
``pacing`` (RAM call rate), ``account`` (one account's survey, guard and
revocations), ``orphans`` (grant policies left without their role),
``failures`` (how a failed piece is reported) and ``run`` (all accounts,
summary). The invocation's time is :mod:`shared.deadline`'s.
"""
from shared.sweep.account import AccountReport, AccountSweep, Budget, guard_verdict
from shared.deadline import Deadline, function_timeout
from shared.sweep.options import options_from_event
from shared.sweep.pacing import PacedClient, Pacer
from shared.sweep.run import Sweep, SweepFailed, run_sweep
from shared.sweep.settings import SweepSettings

__all__ = ["AccountReport", "AccountSweep", "Budget", "Deadline", "PacedClient", "Pacer", "Sweep", "SweepFailed",
           "SweepSettings", "function_timeout", "guard_verdict", "options_from_event", "run_sweep"]
