"""RAM policy evaluation for the emulator, independent of Rolegate's own policy code.

* :func:`evaluate` - the decision of a set of permission policies for one request;
* :func:`authorize` / :func:`decide` - a caller's identity (and session) policies;
* :func:`trust_allows` / :func:`trust_verdict` - whether a role's trust policy admits a caller.

The grammar RAM enforces on documents is :mod:`emulator.policy_grammar`.
"""
from .authz import add_context, authorize, decide, request_context
from .engine import Decision, evaluate
from .trust import trust_allows, trust_caller, trust_verdict

__all__ = ["Decision", "add_context", "authorize", "decide", "evaluate", "request_context", "trust_allows",
           "trust_caller", "trust_verdict"]
