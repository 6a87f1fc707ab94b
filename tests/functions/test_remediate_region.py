"""Remediation and the region RAM's events arrive in: the site's RAM event region, and console operations."""
from __future__ import annotations

import json
from typing import Any

import pytest

from shared.remediation import engine
from shared.events.actiontrail import ActionTrailEvent, load_events
from tests.deploy.samples import DOCUMENTED_SHAPE


def _warnings(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "remediation_region_mismatch"]


@pytest.mark.parametrize(("site", "region", "warned"), [
    (None, "cn-hangzhou", False), (None, "cn-shanghai", True), ("international", "ap-southeast-1", False),
    ("international", "cn-hangzhou", True),
])
def test_running_outside_the_sites_ram_event_region_is_logged_once(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   site: str | None, region: str,
                                                                   warned: bool) -> None:
    """RAM's events reach cn-hangzhou (China site) or ap-southeast-1 (international) only."""
    engine._REGION_WARNED.clear()
    monkeypatch.setenv("FC_REGION", region)
    if site is not None:
        monkeypatch.setenv("ROLEGATE_SITE", site)
    capsys.readouterr()
    engine.warn_outside_ram_region()
    engine.warn_outside_ram_region()
    found = _warnings(capsys)
    assert len(found) == (1 if warned else 0)
    if warned:
        assert found[0]["region"] == region and found[0]["ram_event_region"] in ("cn-hangzhou", "ap-southeast-1")


def test_a_console_operation_of_the_documented_shape_is_read_like_an_api_call() -> None:
    """A ConsoleOperation record: eventType ConsoleOperation, no apiVersion, eventName the recorded operation;
    it is routed by serviceName and eventName as an API call is, and a record without parameters still loads."""
    [event] = load_events(json.dumps(DOCUMENTED_SHAPE["AttachPolicyToRole, console operation"]).encode())
    assert isinstance(event, ActionTrailEvent)
    assert (event.data["eventType"], event.event_name, event.service_name) == ("ConsoleOperation", "AttachPolicyToRole", "Ram")
    assert event.type == "ram:ActionTrail:ConsoleOperation" and event.param("RoleName") == "r"
    bare = {**DOCUMENTED_SHAPE["AttachPolicyToRole, console operation"]}
    bare["data"] = {k: v for k, v in bare["data"].items() if k not in ("requestParameters", "apiVersion")}
    [loaded] = load_events(bare)
    assert isinstance(loaded, ActionTrailEvent) and loaded.request_parameters == {}


def test_a_console_operation_is_remediated_like_the_api_call(remediate_lab: Any) -> None:
    """AdministratorAccess attached in the console (recorded as a ConsoleOperation, no apiVersion): detached."""
    from tests.functions.remediate_support import only

    lab = remediate_lab
    lab.role("AppRole")
    event = lab.attach_to_role("AppRole", "AdministratorAccess")
    event["type"] = event["type"].replace(":ApiCall", ":ConsoleOperation")
    event["data"] = {**{k: v for k, v in event["data"].items() if k != "apiVersion"}, "eventType": "ConsoleOperation"}

    decision = only(lab.invoke(event), "high-risk-policy")

    assert decision["outcome"] == "remediated" and lab.role_policies("AppRole") == []
