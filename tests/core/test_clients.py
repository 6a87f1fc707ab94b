"""ClientFactory: lazily built, reused SDK clients pointed at the emulator or the real endpoints."""
from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from alibabacloud_fc20230330.client import Client as Fc3Client

from shared import clients
from shared.ram import RamGateway
from shared.clients import ClientFactory, for_credentials
from shared.credentials import Credentials
from shared.errors import ConfigError

KEY = Credentials("LTAIexample", "secret-one")


def test_clients_are_built_once_and_reused() -> None:
    """Each product's client is created on first use and the same object is returned afterwards."""
    factory = ClientFactory(KEY, region="cn-shanghai", endpoint="")
    assert factory.ram() is factory.ram()
    assert factory.sts() is factory.sts()
    assert factory.ecs() is factory.ecs()
    assert factory.fc3("123") is factory.fc3("123") and factory.fc3("123") is not factory.fc3("456")
    assert factory.fc2("123") is factory.fc2("123")


def test_real_endpoints_follow_region_and_sdk_rules() -> None:
    """Without an override: global RAM, regional STS/ECS, FC 3.0 from the SDK table or the account address."""
    factory = ClientFactory(KEY, region="cn-shanghai", endpoint="")
    assert factory.ram()._endpoint == "ram.aliyuncs.com"
    assert factory.sts()._endpoint == "sts.cn-shanghai.aliyuncs.com"
    assert factory.ecs()._endpoint == "ecs.cn-shanghai.aliyuncs.com"
    assert Fc3Client(factory.fc_config(None))._endpoint == "fcv3.cn-shanghai.aliyuncs.com"  # the stock SDK's rule
    assert factory.fc3("1234567890123456")._endpoint == "1234567890123456.cn-shanghai.fc.aliyuncs.com"
    assert factory.fc2("1234567890123456")._endpoint == "1234567890123456.cn-shanghai.fc.aliyuncs.com"
    for client in (factory.ram(), factory.sts(), factory.fc3("1")):
        assert client._protocol is None  # the SDK's per-operation default, HTTPS


def test_ram_stays_global_in_regions_missing_from_the_sdk_table() -> None:
    """RAM is one global endpoint even where the SDK would derive a regional name."""
    assert ClientFactory(KEY, region="cn-wulanchabu", endpoint="").ram()._endpoint == "ram.aliyuncs.com"


def test_fc2_needs_an_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """FC 2.0 without an account id is a ConfigError naming FC_ACCOUNT_ID; the env var supplies it."""
    factory = ClientFactory(KEY, region="cn-hangzhou", endpoint="")
    with pytest.raises(ConfigError) as info:
        factory.fc2()
    assert info.value.field == "FC_ACCOUNT_ID"
    monkeypatch.setenv("FC_ACCOUNT_ID", "5555")
    assert factory.fc2()._endpoint == "5555.cn-hangzhou.fc.aliyuncs.com"


def test_endpoint_override_sends_every_product_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLEGATE_ENDPOINT is the default endpoint of every client, spoken over plain HTTP."""
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:9999")
    factory = ClientFactory(KEY)
    for client in (factory.ram(), factory.sts(), factory.ecs(), factory.fc3("1"), factory.fc2()):
        assert client._endpoint == "127.0.0.1:9999"
        assert client._protocol == "http"


def test_region_and_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Region defaults from config; connect/read timeouts are set explicitly and tunable."""
    monkeypatch.setenv("FC_REGION", "eu-central-1")
    monkeypatch.setenv("ROLEGATE_READ_TIMEOUT_MS", "2500")
    client = ClientFactory(KEY).sts()
    assert client._region_id == "eu-central-1"
    assert client._connect_timeout == clients.DEFAULT_CONNECT_TIMEOUT_MS
    assert client._read_timeout == 2500


def test_process_cache_keys_on_credentials_region_and_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same credentials/region/endpoint share a factory; a rotated secret, region or endpoint does not."""
    first = for_credentials(KEY, region="cn-hangzhou")
    assert for_credentials(Credentials("LTAIexample", "secret-one"), region="cn-hangzhou") is first
    assert for_credentials(Credentials("LTAIexample", "secret-two"), region="cn-hangzhou") is not first
    assert for_credentials(KEY, region="cn-beijing") is not first
    monkeypatch.setenv("ROLEGATE_ENDPOINT", "127.0.0.1:1")
    assert for_credentials(KEY, region="cn-hangzhou") is not first
    assert first.with_credentials(KEY) is first


def test_process_cache_is_bounded() -> None:
    """Rotating credentials cannot grow the factory cache without limit."""
    made = [for_credentials(Credentials(f"LTAI{i}", "s"), region="r") for i in range(clients.MAX_CACHED_FACTORIES + 5)]
    assert for_credentials(Credentials("LTAI0", "s"), region="r") is not made[0]
    assert for_credentials(made[-1].credentials, region="r") is made[-1]


def test_repr_hides_the_secret() -> None:
    """A factory printed in a traceback shows the key id only."""
    text = repr(ClientFactory(Credentials("LTAIid", "top-secret", "tok"), region="r", endpoint=""))
    assert "LTAIid" in text and "top-secret" not in text and "tok'" not in text


def test_importing_shared_modules_loads_no_product_sdk() -> None:
    """Importing the core modules (and the package) costs no SDK import; clients import on first use."""
    code = (
        "import sys, shared, shared.clients, shared.credentials, shared.calls, shared.logs, shared.clock, "
        "shared.config, shared.errors\n"
        "heavy = [m for m in sys.modules if m.startswith(('alibabacloud_', 'Tea', 'darabonba', 'tenacity'))]\n"
        "assert not heavy, heavy\n"
        "from shared.clients import ClientFactory\n"
        "from shared.credentials import Credentials\n"
        "ClientFactory(Credentials('a', 'b'), region='cn-hangzhou', endpoint='').sts()\n"
        "assert 'alibabacloud_sts20150401.client' in sys.modules\n"
        "assert 'alibabacloud_ram20150501' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=".")
    assert result.returncode == 0, result.stderr


def test_factory_talks_to_the_emulator(root: Credentials, account_id: str, use_emulator: Any) -> None:
    """A factory built from the root key reaches the emulator and is authenticated as that account."""
    trust = ('{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
             f'"Principal":{{"RAM":["acs:ram::{account_id}:root"]}}}}]}}')
    ram = RamGateway(ClientFactory(root).ram())
    assert ram.create_role("probe", trust, None, 3600, [])
    assert [r.name for r in ram.list_roles()] == ["probe"]
    # Only this account's calls: a call another test left in flight may land in the log after the reset.
    assert [c["product"] for c in use_emulator.calls() if c["account_id"] == account_id] == ["ram", "ram"]


# Regions of the ECS SDK's endpoint table that no customer runs in (internal, test and edge zones).
ECS_INTERNAL_REGIONS = {
    "ap-northeast-2-pop", "cn-beijing-finance-pop", "cn-beijing-gov-1", "cn-beijing-nu16-b01", "cn-edge-1",
    "cn-fujian", "cn-haidian-cm12-c01", "cn-hangzhou-bj-b01", "cn-hangzhou-finance", "cn-hangzhou-internal-prod-1",
    "cn-hangzhou-internal-test-1", "cn-hangzhou-internal-test-2", "cn-hangzhou-internal-test-3",
    "cn-hangzhou-test-306", "cn-hongkong-finance-pop", "cn-huhehaote-nebula-1", "cn-shanghai-et15-b01",
    "cn-shanghai-et2-b01", "cn-shanghai-inner", "cn-shanghai-internal-test-1", "cn-shenzhen-inner",
    "cn-shenzhen-st4-d01", "cn-shenzhen-su18-b01", "cn-wuhan", "cn-yushanfang", "cn-zhangbei",
    "cn-zhangbei-na61-b01", "cn-zhangjiakou-na62-a01", "cn-zhengzhou-nebula-1", "eu-west-1-oxs", "rus-west-1-pop"}


def test_ecs_endpoints_are_the_ecs_sdks() -> None:
    """The generic ECS client goes where the ECS SDK's client would; an SDK upgrade that moves one fails here."""
    from alibabacloud_ecs20140526.client import Client as EcsClient

    def sdk_endpoint(region: str) -> str:
        return EcsClient(clients.sdk_config(KEY, region, None))._endpoint

    table = EcsClient(clients.sdk_config(KEY, "cn-shanghai", None))._endpoint_map
    assert set(table) - ECS_INTERNAL_REGIONS == set(clients.ECS_ENDPOINTS)  # a new public entry fails here
    public = sorted(clients.ECS_ENDPOINTS) + ["cn-shanghai", "cn-beijing", "cn-shenzhen", "cn-hongkong",
                                              "ap-southeast-1", "eu-central-1", "us-west-1", "cn-wulanchabu"]
    for region in public:
        generic = ClientFactory(KEY, region=region, endpoint="").ecs()
        assert generic._endpoint == clients.ecs_endpoint(region) == sdk_endpoint(region), region
    assert clients.ecs_endpoint("cn-hangzhou") == "ecs-cn-hangzhou.aliyuncs.com"
