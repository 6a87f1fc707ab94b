"""Routing, the order of the gatekeeping checks, replay refusal and the per-request log line (no cloud)."""
from __future__ import annotations

import functools
import json
from typing import Any, Iterator

import pytest

from shared.errors import CloudUnavailable, NotFound
from shared.handler import entry
from shared.onboarding.api import handle_event, match_route
from shared.onboarding.auth import ReplayCache
from shared.events.http import MethodNotAllowed
from tests.functions.conftest import WEBHOOK_SECRET, FakeContext, Webhook

OWNER = "1111222233334444"
GRANT_PATH = "/grants/g-abcdefghijkl"
CREATE = {"partner_account_id": "5555666677778888", "principal": {"type": "user", "name": "Alice"},
          "policies": [{"name": "AliyunFCReadOnlyAccess"}], "duration_seconds": 3600}


class EmptyStore:
    """A grant store holding no grants; counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def find(self, grant_id: str) -> Any:
        self.calls += 1
        raise NotFound(f"grant {grant_id} does not exist", field="grant_id")

    def list(self) -> Iterator[Any]:
        self.calls += 1
        return iter(())


class NoCloud(BaseException):
    """Raised by a store factory that must never be called (escapes the handler's catch-all)."""


def no_cloud(settings: Any) -> Any:
    raise NoCloud("the request reached the cloud")


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    # An inline key is accepted only against the emulator: one is named (nothing here reaches it), its clock is not.
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:9")
    monkeypatch.setenv("ROLEGATE_CLOCK", "machine")
    monkeypatch.setenv("ROLEGATE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("FC_ACCOUNT_ID", OWNER)


def webhook(store_factory: Any = no_cloud, replays: ReplayCache | None = None) -> Webhook:
    handler = functools.partial(handle_event, replays=ReplayCache() if replays is None else replays,
                                store_factory=store_factory)
    return Webhook(entry("onboard", handler, http=True), FakeContext(account_id=OWNER))


def test_route_table_matches_paths_with_and_without_trailing_slash() -> None:
    """Templates bind {grant_id}; a trailing slash is the same path."""
    route, params = match_route("PATCH", GRANT_PATH + "/")
    assert (route.operation, params) == ("update_grant", {"grant_id": "g-abcdefghijkl"})
    assert match_route("GET", "/grants")[0].operation == "list_grants"


def test_unknown_path_is_404_and_unknown_method_is_405_with_allow() -> None:
    """404 means no such route; 405 lists the methods the path answers."""
    with pytest.raises(NotFound):
        match_route("GET", "/grants/g-abcdefghijkl/extra")
    with pytest.raises(MethodNotAllowed) as err:
        match_route("PUT", GRANT_PATH)
    assert err.value.allowed == ("GET", "PATCH", "DELETE")


@pytest.mark.parametrize("method,path,body,kwargs,status,code", [
    ("POST", "/grants", b"x" * 70_000, {"signed": False}, 413, "PayloadTooLarge"),
    ("POST", "/grants", CREATE, {"signed": False}, 401, "SignatureMissing"),
    ("GET", "/grants", None, {"timestamp": 1}, 401, "SignatureExpired"),
    ("GET", "/nowhere", None, {}, 404, "NotFound"),
    ("PUT", "/grants", CREATE, {}, 405, "MethodNotAllowed"),
    ("DELETE", GRANT_PATH, None, {"query": {"dry_run": "true"}}, 400, "InvalidInput"),
    ("POST", "/grants", CREATE, {"content_type": "text/plain"}, 415, "UnsupportedMediaType"),
    ("POST", "/grants", CREATE, {"content_type": None}, 415, "UnsupportedMediaType"),
    ("POST", "/grants", b"{not json", {}, 400, "InvalidInput"),
    ("POST", "/grants", {**CREATE, "policies": [{"name": "AdministratorAccess"}]}, {}, 403, "PolicyDenied"),
    ("PATCH", GRANT_PATH, {"duration_seconds": 5}, {}, 422, "ExpiryOutOfRange"),
    ("GET", "/grants", None, {"query": {"partner": "nope"}}, 400, "InvalidInput"),
    ("GET", "/grants", None, {"query": {"partner_id": "5555666677778888"}}, 400, "InvalidInput"),
])
def test_refusals_happen_before_any_cloud_call(method: str, path: str, body: Any, kwargs: dict[str, Any],
                                               status: int, code: str) -> None:
    """Each gate answers with its status and code, and the store is never built."""
    reply = webhook().call(method, path, body, **kwargs)
    assert (reply.status, reply.json["error"]["code"]) == (status, code)
    assert set(reply.json) == {"error"} and reply.json["error"]["message"]


def test_405_answer_carries_the_allow_header() -> None:
    """Clients learn which methods the path does answer."""
    reply = webhook().call("PUT", GRANT_PATH, {"x": 1})
    assert reply.headers["Allow"] == "GET, PATCH, DELETE"


def test_malformed_grant_id_is_404_without_asking_the_cloud() -> None:
    """An id that could never have been issued is simply unknown."""
    reply = webhook().call("GET", "/grants/not-a-grant")
    assert (reply.status, reply.json["error"]["field"]) == (404, "grant_id")


def test_exact_replay_of_a_mutating_request_is_409_replayed() -> None:
    """The second delivery of one signed DELETE never reaches the store."""
    store = EmptyStore()
    hook = webhook(lambda settings: store)
    event = hook.event("DELETE", GRANT_PATH)
    assert hook.send(event).status == 404
    replay = hook.send(event)
    assert (replay.status, replay.json["error"]["code"]) == (409, "Replayed")
    assert store.calls == 1


def test_reads_may_be_repeated() -> None:
    """GET is not tracked: polling with one signed request is harmless."""
    store = EmptyStore()
    hook = webhook(lambda settings: store)
    event = hook.event("GET", "/grants")
    assert [hook.send(event).status for _ in range(3)] == [200, 200, 200]


def test_a_request_that_failed_retryably_may_be_resent_as_is() -> None:
    """A 5xx releases the signature: resending the same request is a retry, not a replay."""
    def unavailable(settings: Any) -> Any:
        raise CloudUnavailable("RAM is throttling", action="ListRoles", request_id="RID-9")

    hook = webhook(unavailable)
    event = hook.event("POST", "/grants", CREATE)
    first, second = hook.send(event), hook.send(event)
    assert first.status == second.status == 503
    assert second.json["error"]["retryable"] is True and second.json["error"]["request_id"] == "RID-9"


def test_the_replay_cache_is_shared_by_the_instance_not_per_request() -> None:
    """Two handler calls with the same cache see each other's signatures."""
    cache = ReplayCache()
    event = webhook(lambda s: EmptyStore(), cache).event("DELETE", GRANT_PATH)
    assert webhook(lambda s: EmptyStore(), cache).send(event).status == 404
    assert webhook(lambda s: EmptyStore(), cache).send(event).status == 409


def test_missing_settings_are_a_500_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a webhook secret the function refuses everything, saying which variable is missing."""
    monkeypatch.delenv("ROLEGATE_WEBHOOK_SECRET")
    reply = webhook().call("GET", "/grants")
    assert (reply.status, reply.json["error"]["code"], reply.json["error"]["field"]) == \
        (500, "ConfigError", "ROLEGATE_WEBHOOK_SECRET")


def test_non_http_event_is_a_400() -> None:
    """A timer or hand-made event is refused, not crashed on."""
    response = handle_event(b'{"triggerName": "timer"}', FakeContext(), replays=ReplayCache())
    assert response["statusCode"] == 400 and json.loads(response["body"])["error"]["field"] == "event"


def test_each_request_logs_one_line_with_the_invocation_id_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """One structured onboard_request line per request, under the FC request id; no secret or signature."""
    hook = webhook()
    reply = hook.call("POST", "/grants", {**CREATE, "policies": [{"name": "AdministratorAccess"}]})
    assert reply.status == 403
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "onboard_request"]
    assert len(requests) == 1
    line = requests[0]
    assert line["request_id"] == hook.context.request_id and line["function"] == "onboard"
    assert (line["method"], line["path"], line["status"], line["decision"]) == ("POST", "/grants", 403, "refused")
    assert (line["error_code"], line["error_field"]) == ("PolicyDenied", "policies[0].name")
    assert WEBHOOK_SECRET not in out and "sha256=" not in out
