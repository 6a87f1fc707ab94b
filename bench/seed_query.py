"""The fan-out baseline: partner accounts queried the way the published cross-account sample does it.

The sample (Function Compute's "grant permissions across Alibaba Cloud
accounts" topic) builds an STS client from the caller's AccessKey, calls
AssumeRole (``duration_seconds=3600``, session ``fc-python-sdk``), builds a
Function Compute client from the temporary credentials, and lists. Here that
is repeated for each target, one after another, with new clients every time
and nothing cached -- the sample's approach, made to work: it lists FC 3.0
functions (the sample lists FC 2.0 services) and follows ``nextToken`` to the
last page, so it returns the same data as the query function.
"""
from __future__ import annotations

from typing import Any

from alibabacloud_fc20230330.client import Client as FcClient
from alibabacloud_fc20230330.models import ListFunctionsRequest
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_sts20150401.models import AssumeRoleRequest
from alibabacloud_tea_openapi.models import Config


def list_functions_sequentially(targets: list[dict[str, str]], page_size: int, *, endpoint: str,
                                access_key_id: str, access_key_secret: str,
                                region: str = "cn-hangzhou") -> dict[str, list[str]]:
    """Function names per target account, each ``{"account_id", "role_arn"}`` assumed and listed in turn."""
    found: dict[str, list[str]] = {}
    for target in targets:
        config = Config(access_key_id=access_key_id, access_key_secret=access_key_secret, region_id=region,
                        endpoint=endpoint, protocol="http")
        client = StsClient(config)
        response = client.assume_role(AssumeRoleRequest(duration_seconds=3600, role_arn=target["role_arn"],
                                                        role_session_name="fc-python-sdk"))
        credentials: Any = response.body.credentials
        fc = FcClient(Config(access_key_id=credentials.access_key_id,
                             access_key_secret=credentials.access_key_secret,
                             security_token=credentials.security_token, region_id=region, endpoint=endpoint,
                             protocol="http"))
        names: list[str] = []
        token = None
        while True:
            body = fc.list_functions(ListFunctionsRequest(limit=page_size, next_token=token)).body
            names += [f.function_name for f in body.functions or []]
            token = body.next_token
            if not token:
                break
        found[target["account_id"]] = names
    return found
