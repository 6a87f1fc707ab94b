"""Each function's RAM policy holds nothing it does not need, and nothing it needs is missing.

For every (statement, action) of ``deploy/policies/<fn>.json`` there is one
test: the function runs one of its behaviours twice in a fresh emulator world
with authorization on -- once as an identity holding the full policy (it
succeeds, and no call is refused), once holding the policy with only that
action removed from only that statement (the function's own result reports
``NoPermission``). The cases come from the policy files, so an action added
without a behaviour that needs it fails here. Deny statements are proven the
other way round: with the Deny the identity cannot do what it names, without it
it can.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from emulator import EmulatorServer
from tests.deploy.behaviours import BEHAVIOURS, Cell, attach_high_risk_directly
from tests.functions.conftest import function_policy as policy

FUNCTIONS = ("onboard", "revoke", "query", "remediate")


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class Case:
    """One action of one statement of a function's policy."""

    function: str
    statement: int
    action: str
    effect: str
    resources: tuple[str, ...]

    def __str__(self) -> str:
        sid = policy(self.function)["Statement"][self.statement].get("Sid", f"s{self.statement}")
        return f"{self.function}-{sid}-{self.action}"

    def reduced(self) -> dict[str, Any]:
        """The policy with this action removed from this statement only (the statement goes if it empties)."""
        document = copy.deepcopy(policy(self.function))
        statement = document["Statement"][self.statement]
        remaining = [a for a in _as_list(statement["Action"]) if a != self.action]
        if remaining:
            statement["Action"] = remaining
        else:
            del document["Statement"][self.statement]
        return document


def cases(effect: str) -> list[Case]:
    found = []
    for function in FUNCTIONS:
        for index, statement in enumerate(policy(function)["Statement"]):
            if statement["Effect"] != effect:
                continue
            for action in _as_list(statement["Action"]):
                found.append(Case(function, index, action, effect, tuple(_as_list(statement["Resource"]))))
    return found


def test_policies_are_what_the_cases_cover() -> None:
    """Every policy is Version 1 with only Allow/Deny statements of explicit actions: the cases below see them all."""
    for function in FUNCTIONS:
        document = policy(function)
        assert document["Version"] == "1"
        for statement in document["Statement"]:
            assert statement["Effect"] in ("Allow", "Deny")
            assert "NotAction" not in statement and "NotResource" not in statement
            assert all("*" not in a for a in _as_list(statement["Action"])), f"{function}: wildcard action"
    assert {c.function for c in cases("Allow")} == set(FUNCTIONS)


@pytest.mark.parametrize("case", cases("Allow"), ids=str)
def test_every_allowed_action_is_needed(case: Case, emulator: EmulatorServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the full policy the behaviour succeeds; without this one action the function reports NoPermission."""
    behaviour = BEHAVIOURS.get(case.function, {}).get(case.action)
    if behaviour is None:
        pytest.fail(f"{case}: no behaviour of the {case.function} function shows why it needs {case.action}; "
                    f"add one to tests/deploy/behaviours.py or drop the action from its policy")

    full = behaviour(Cell(emulator, monkeypatch, case.function).deploy(policy(case.function)))
    assert full.ok and not full.denied, f"full policy: {behaviour.__name__} should succeed ({full.what}): {full.text}"

    reduced = behaviour(Cell(emulator, monkeypatch, case.function).deploy(case.reduced()))
    assert not reduced.ok, f"without {case.action}: {behaviour.__name__} still succeeded ({reduced.what})"
    assert reduced.denied, f"without {case.action}: the failure does not say NoPermission: {reduced.text}"


@pytest.mark.parametrize("case", cases("Deny"), ids=str)
def test_every_deny_statement_holds(case: Case, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the Deny the function's identity cannot attach a high-risk policy; without it, it could."""
    assert case.action == "ram:AttachPolicyToRole", f"{case}: no probe written for denying {case.action}"
    names = sorted({r.rsplit("/", 1)[1] for r in case.resources}, key=str.lower)
    for name in {n.lower(): n for n in names}.values():
        guarded = attach_high_risk_directly(Cell(emulator, monkeypatch, case.function).deploy(policy(case.function)),
                                            name)
        assert not guarded.ok and "NoPermission" in guarded.text, f"{name}: {guarded.text}"
        document = policy(case.function)
        del document["Statement"][case.statement]
        unguarded = attach_high_risk_directly(Cell(emulator, monkeypatch, case.function).deploy(document), name)
        assert unguarded.ok, f"without the Deny, attaching {name} is still refused: {unguarded.text}"
