"""The STS seam against the emulator: role sessions and their cache, who a set of credentials is, the owner account."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from shared.clients import ClientFactory
from shared.credentials import Credentials
from shared.errors import CloudCallError, ConfigError
from shared.sts import (CacheInfo, CallerIdentity, RoleAssumer, assume_role, caller_identity, default_assumer,
                        forget_caller_identities, owner_account_id, runtime_account_id)

from .helpers import calls_of, log_lines, make_operator

EXPLICIT = Credentials("LTAIexplicit", "explicit-secret")


def set_env_creds(monkeypatch: pytest.MonkeyPatch, key_id: str, secret: str) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)


def whoami(creds: Credentials) -> str:
    return caller_identity(ClientFactory(creds)).arn


# ---------------------------------------------------------------- role sessions
def test_assumed_credentials_work(operator: Credentials, partner_role: str, account_id: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    """AssumeRole yields STS credentials (token sent by the client) acting as the role session."""
    creds = RoleAssumer(operator).assume(partner_role, "rolegate-test")
    assert creds.is_sts and creds.access_key_id.startswith("STS.") and creds.expiration is not None
    assert whoami(creds) == f"acs:ram::{account_id}:assumed-role/partner-access/rolegate-test"
    out = capsys.readouterr().out
    assert creds.access_key_secret not in out and creds.security_token not in out
    (line,) = log_lines(out, "role_assumed")
    assert line["role_arn"] == partner_role and line["session_name"] == "rolegate-test"


def test_the_session_arn_sts_answered_is_kept_with_the_cached_credentials(
        operator: Credentials, partner_role: str, use_emulator: Any) -> None:
    """assumed_role_arn is STS's AssumedRoleUser.Arn, and a cache hit hands it back unchanged."""
    from alibabacloud_sts20150401.models import AssumeRoleRequest

    direct = ClientFactory(operator).sts().assume_role(
        AssumeRoleRequest(role_arn=partner_role, role_session_name="named-session")).body.assumed_role_user.arn
    assumer = RoleAssumer(operator)

    first = assumer.assume(partner_role, "named-session")
    again = assumer.assume(partner_role, "named-session")

    assert first.assumed_role_arn == direct and direct.endswith("/named-session")
    assert again is first and again.assumed_role_arn == direct
    assert assumer.cache_info() == CacheInfo(hits=1, misses=1, currsize=1)
    assert len(calls_of(use_emulator, "AssumeRole")) == 2  # the direct call and the assumer's one


def test_one_sts_call_for_twenty_concurrent_threads(operator: Credentials, partner_role: str,
                                                    use_emulator: Any) -> None:
    """Twenty threads asking at once share one AssumeRole (single flight) and get the same session."""
    assumer = RoleAssumer(operator)
    barrier = threading.Barrier(20)
    results: list[Credentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            results.append(assumer.assume(partner_role, "shared-session"))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(results) == 20 and len({c.access_key_id for c in results}) == 1
    assert len(calls_of(use_emulator, "AssumeRole")) == 1
    assert assumer.cache_info() == CacheInfo(hits=19, misses=1, currsize=1)


def test_refreshes_only_when_less_than_the_margin_is_left(operator: Credentials, partner_role: str,
                                                          use_emulator: Any) -> None:
    """A 900 s session is reused for 600 s (margin 300 s) and re-assumed once less than that remains."""
    assumer = RoleAssumer(operator)
    first = assumer.assume(partner_role, "sess", duration_seconds=900)
    use_emulator.advance_clock(590)
    assert assumer.assume(partner_role, "sess", duration_seconds=900) is first
    use_emulator.advance_clock(15)  # 295 s left
    second = assumer.assume(partner_role, "sess", duration_seconds=900)
    assert second.access_key_id != first.access_key_id
    assert second.expiration > first.expiration
    assert len(calls_of(use_emulator, "AssumeRole")) == 2
    assert whoami(second).endswith("/sess")


def test_a_clock_given_per_call_judges_freshness_instead_of_the_assumers(operator: Credentials, partner_role: str,
                                                                         use_emulator: Any) -> None:
    """``assume(clock=...)`` decides freshness for that call: a time near expiry forces a new session."""
    assumer = RoleAssumer(operator)
    first = assumer.assume(partner_role, "sess", duration_seconds=900)
    assert first.expiration is not None
    assert assumer.assume(partner_role, "sess", clock=lambda: first.expiration - timedelta(seconds=301)) is first
    second = assumer.assume(partner_role, "sess", duration_seconds=900,
                            clock=lambda: first.expiration - timedelta(seconds=299))
    assert second.access_key_id != first.access_key_id
    assert len(calls_of(use_emulator, "AssumeRole")) == 2


def test_cache_key_separates_external_id_session_and_policy(operator: Credentials, partner_role: str,
                                                            use_emulator: Any) -> None:
    """Different external ids, session names or session policies are different sessions; repeats hit."""
    assumer = RoleAssumer(operator)
    policy = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ecs:Describe*",
                                                        "Resource": "*"}]})
    a = assumer.assume(partner_role, "sess", external_id="ext-a")
    b = assumer.assume(partner_role, "sess", external_id="ext-b")
    c = assumer.assume(partner_role, "other", external_id="ext-a")
    d = assumer.assume(partner_role, "sess", external_id="ext-a", policy=policy)
    assert len({x.access_key_id for x in (a, b, c, d)}) == 4
    assert assumer.assume(partner_role, "sess", external_id="ext-a") is a
    assumed = calls_of(use_emulator, "AssumeRole")
    assert [x["params"].get("ExternalId") for x in assumed] == ["ext-a", "ext-b", "ext-a", "ext-a"]
    assert assumer.cache_info().misses == 4 and assumer.cache_info().hits == 1


def test_sessions_are_not_shared_between_base_principals(root: Credentials, operator: Credentials,
                                                         partner_role: str, use_emulator: Any) -> None:
    """A session fetched with one base identity is never handed to another (trust is per caller)."""
    other = make_operator(root, "operator-two")
    current = [operator]
    assumer = RoleAssumer(lambda: current[0])
    first = assumer.assume(partner_role, "sess")
    current[0] = other
    second = assumer.assume(partner_role, "sess")
    assert first.access_key_id != second.access_key_id
    callers = [c["caller"].rsplit("/", 1)[-1] for c in calls_of(use_emulator, "AssumeRole")]
    assert callers == ["operator", "operator-two"]


def test_sts_errors_are_cloud_errors_and_not_cached(operator: Credentials, account_id: str,
                                                    use_emulator: Any) -> None:
    """AssumeRole on a missing role raises CloudCallError with the STS code; a later call asks again."""
    assumer = RoleAssumer(operator)
    missing = f"acs:ram::{account_id}:role/nope"
    for _ in range(2):
        with pytest.raises(CloudCallError) as info:
            assumer.assume(missing, "sess")
        assert info.value.cloud_code == "EntityNotExist.Role" and info.value.action == "AssumeRole"
        assert info.value.request_id
    assert len(calls_of(use_emulator, "AssumeRole")) == 2
    assert assumer.cache_info().currsize == 0


def test_throttled_assume_role_is_retried(operator: Credentials, partner_role: str, use_emulator: Any) -> None:
    """AssumeRole is safe to repeat, so a throttled attempt is retried transparently."""
    use_emulator.add_fault(kind="error", action="AssumeRole", code="Throttling.User", status=400, times=1)
    assert RoleAssumer(operator).assume(partner_role, "sess").is_sts
    assert [c["outcome"] for c in calls_of(use_emulator, "AssumeRole")] == ["Throttling.User", "ok"]


def test_given_factory_supplies_region_and_endpoint(operator: Credentials, partner_role: str,
                                                    use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory passed in is used for its endpoint even when the environment points elsewhere."""
    factory = ClientFactory(operator, endpoint=use_emulator.endpoint)
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:9")  # would fail if used for STS
    assumer = RoleAssumer(operator, factory, clock=lambda: datetime.now(timezone.utc))
    assert assumer.assume(partner_role, "sess").is_sts
    assert len(calls_of(use_emulator, "AssumeRole")) == 1


def test_margin_must_leave_room_below_the_minimum_duration() -> None:
    """A margin of 900 s or more would make every minimum-length session stale on arrival."""
    with pytest.raises(ValueError):
        RoleAssumer(EXPLICIT, margin_seconds=900)
    with pytest.raises(ValueError):
        RoleAssumer(EXPLICIT, margin_seconds=-1)


def test_default_assumer_is_process_wide_and_uses_resolved_credentials(
        operator: Credentials, partner_role: str, use_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """default_assumer() is one instance that acts with the FC environment's credentials."""
    set_env_creds(monkeypatch, operator.access_key_id, operator.access_key_secret)
    assumer = default_assumer()
    assert default_assumer() is assumer
    creds = assumer.assume(partner_role, "warm")
    assert assumer.assume(partner_role, "warm") is creds
    (served,) = calls_of(use_emulator, "AssumeRole")
    assert served["caller"].endswith("user/operator")


def test_an_assume_role_not_safe_to_retry_answers_the_first_refusal(operator: Credentials, partner_role: str,
                                                                     use_emulator: Any) -> None:
    """``safe_to_retry=False`` makes one attempt: a throttled AssumeRole is raised, not retried, and mints nothing."""
    use_emulator.add_fault(kind="error", action="AssumeRole", code="Throttling.User", status=400, times=1)
    with pytest.raises(CloudCallError) as info:
        assume_role(ClientFactory(operator), partner_role, "probe", safe_to_retry=False)
    assert info.value.cloud_code == "Throttling.User"
    assert [c["outcome"] for c in calls_of(use_emulator, "AssumeRole")] == ["Throttling.User"]


# ------------------------------------------------------------------------- who
def test_caller_identity_names_each_kind_of_caller_as_records_name_their_signer(
        root: Credentials, operator: Credentials, partner_role: str, account_id: str) -> None:
    """A RAM user, any session of a role, the root: account, ARN, type, principal and signer name."""
    user = caller_identity(ClientFactory(operator))
    assert (user.account_id, user.arn, user.identity_type, user.access_key_id) == \
        (account_id, f"acs:ram::{account_id}:user/operator", "RAMUser", operator.access_key_id)
    assert user.principal == ("user", "operator") and user.writer == "user/operator"

    session = caller_identity(ClientFactory(RoleAssumer(operator).assume(partner_role, "alice")))
    assert session.identity_type == "AssumedRoleUser" and session.arn.endswith(":assumed-role/partner-access/alice")
    assert session.principal == ("role", "partner-access") and session.writer == "role/partner-access"

    owner = caller_identity(ClientFactory(root))
    assert (owner.identity_type, owner.principal, owner.writer) == ("Account", None, "root")


@pytest.mark.parametrize(("arn", "principal", "writer"), [
    ("acs:ram::1234567890123456:user/ops-admin", ("user", "ops-admin"), "user/ops-admin"),
    ("acs:ram::1234567890123456:assumed-role/OpsRole/alice", ("role", "OpsRole"), "role/OpsRole"),
    ("acs:ram::1234567890123456:root", None, "root"),
    ("acs:ram::1234567890123456:rootless", None, None),
    ("not-an-arn", None, None),
])
def test_the_principal_is_read_from_the_caller_arn(arn: str, principal: tuple[str, str] | None,
                                                   writer: str | None) -> None:
    """An operator's signature names the identity ActionTrail will name for its TagResources call."""
    identity = CallerIdentity("1234567890123456", arn, "", "LTAIkey")
    assert (identity.principal, identity.writer) == (principal, writer)


def test_a_remembered_identity_is_asked_once_per_credentials(root: Credentials, operator: Credentials,
                                                             use_emulator: Any) -> None:
    """``remember=True`` asks STS once per credentials until forgotten; without it every call asks."""
    forget_caller_identities()
    first = caller_identity(ClientFactory(operator), remember=True)
    assert caller_identity(ClientFactory(operator), remember=True) is first
    assert caller_identity(ClientFactory(root), remember=True).writer == "root"
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 2
    caller_identity(ClientFactory(operator))
    forget_caller_identities()
    assert caller_identity(ClientFactory(operator), remember=True) is not first
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 4
    forget_caller_identities()


# ---------------------------------------------------------------- owner account
def test_the_owner_account_is_the_first_known_then_the_credentials_own(operator: Credentials, account_id: str,
                                                                        use_emulator: Any) -> None:
    """What is known wins without a call; with nothing known, STS names the credentials' account."""
    def asked() -> str:
        return caller_identity(ClientFactory(operator)).account_id

    assert owner_account_id(None, "1111222233334444", "5555666677778888", ask=asked) == "1111222233334444"
    assert calls_of(use_emulator, "GetCallerIdentity") == []
    assert owner_account_id(None, None, ask=asked) == account_id
    assert len(calls_of(use_emulator, "GetCallerIdentity")) == 1


@pytest.mark.parametrize("known", [(None,), ("12345",), ("acs:ram::1111222233334444:root",)])
def test_an_unknown_or_malformed_owner_is_a_config_error_naming_the_setting(known: tuple[str | None, ...]) -> None:
    """Without a way to ask, nothing known is refused; a known value that is not 16 digits always is."""
    with pytest.raises(ConfigError) as info:
        owner_account_id(*known, field="ROLEGATE_OWNER_ACCOUNT_ID")
    assert info.value.field == "ROLEGATE_OWNER_ACCOUNT_ID" and "16-digit" in info.value.message
    with pytest.raises(ConfigError):
        owner_account_id("12345", ask=lambda: "1111222233334444")


def test_the_runtime_names_its_account_by_environment_else_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """``FC_ACCOUNT_ID`` first, then the invocation context's ``account_id``; None outside Function Compute."""
    context = SimpleNamespace(account_id="5555666677778888")
    assert runtime_account_id(None) is None
    assert runtime_account_id(context) == "5555666677778888"
    monkeypatch.setenv("FC_ACCOUNT_ID", "1111222233334444")
    assert runtime_account_id(context) == "1111222233334444"
