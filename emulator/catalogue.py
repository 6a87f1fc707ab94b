"""The RAM system policies the emulated cloud knows, with their documents.

Documents not confirmed against a published page are marked ``UNVERIFIED``,
guessed no narrower than the name promises (docs/design/emulator.md).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SystemPolicy:
    name: str
    description: str
    document: dict[str, Any] = field(hash=False)
    version: str = "v1"
    create_date: str = "2015-04-28T16:15:45Z"
    update_date: str = "2015-04-28T16:15:45Z"

    @property
    def document_text(self) -> str:
        """The document as RAM returns it from GetPolicy: indented JSON text."""
        return json.dumps(self.document, indent=2)


def _allow(action: str | list[str], resource: str | list[str] = "*", condition: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    statement: dict[str, Any] = {"Action": action, "Resource": resource, "Effect": "Allow"}
    if condition:
        statement["Condition"] = condition
    return statement


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "1", "Statement": list(statements)}


# ledger: RAM-SYSTEM-POLICIES
_POLICIES = [
    # ledger: RAM-SYSTEM-POLICY-UNSOURCED
    # UNVERIFIED document: no published copy was found; "*" on "*" is what its
    # description ("manage all Alibaba Cloud resources") means.
    SystemPolicy("AdministratorAccess", "Provides full access to Alibaba Cloud services and resources.",
                 _doc(_allow("*"))),
    # UNVERIFIED document: read-style action prefixes across every service, the
    # form custom copies of this policy use.
    SystemPolicy("ReadOnlyAccess", "Provides read-only access to Alibaba Cloud services and resources.",
                 _doc(_allow(["*:Describe*", "*:List*", "*:Get*", "*:BatchGet*", "*:Query*", "*:BatchQuery*",
                              "actiontrail:LookupEvents", "actiontrail:Check*",
                              "ram:GenerateCredentialReport"]))),
    # UNVERIFIED document: ram:* is the plausible content. Note it lets the holder
    # grant itself anything (attach AdministratorAccess to itself), so it is
    # effectively an administrator policy.
    SystemPolicy("AliyunRAMFullAccess",
                 "Provides full access to Resource Access Management(RAM) via Management Console.",
                 _doc(_allow("ram:*"))),
    SystemPolicy("AliyunRAMReadOnlyAccess",
                 "Provides read-only access to Resource Access Management(RAM) via Management Console.",
                 _doc(_allow(["ram:Get*", "ram:List*", "ram:GenerateCredentialReport"]),
                      _allow(["accessanalyzer:Get*", "accessanalyzer:List*"])),
                 "v3", "2015-04-28T16:15:45Z", "2025-12-03T10:03:48Z"),
    SystemPolicy("AliyunSTSAssumeRoleAccess", "Provides access to the API AssumeRole of Security Token Service(STS).",
                 _doc(_allow("sts:AssumeRole")), "v1", "2015-08-03T04:52:09Z", "2017-04-27T16:48:07Z"),
    SystemPolicy("AliyunFCFullAccess", "Provides full access to Function Compute via Management Console.",
                 _doc(_allow("fc:*"),
                      _allow("ram:PassRole", condition={"StringEquals": {"acs:Service": "fc.aliyuncs.com"}})),
                 "v2", "2017-05-17T10:43:57Z", "2021-05-07T12:55:13Z"),
    SystemPolicy("AliyunFCReadOnlyAccess", "Provides read-only access to Function Compute via Management Console.",
                 _doc(_allow(["fc:Get*", "fc:List*"])), "v1", "2017-05-17T10:44:09Z", "2017-05-17T10:44:09Z"),
    SystemPolicy("AliyunFCInvocationAccess", "Provides invocation access to Function Compute via Management Console.",
                 _doc(_allow(["fc:InvokeFunction"])), "v1", "2017-05-17T10:44:06Z", "2017-05-17T10:44:06Z"),
    # Only the first five statements of the current version were retrievable;
    # the remaining log-related statements are UNVERIFIED and left out (arms:*
    # on * is the grant that matters for ARMS actions).
    SystemPolicy("AliyunARMSFullAccess", "Provides full access to Application Real-Time Monitoring Service(ARMS).",
                 _doc(_allow("arms:*"), _allow("cms:*"),
                      _allow(["xtrace:Describe*", "xtrace:Get*", "xtrace:Read*"]),
                      _allow("ram:CreateServiceLinkedRole", condition={"StringEquals": {"ram:ServiceName": [
                          "arms.aliyuncs.com", "audit.log.aliyuncs.com", "security.arms.aliyuncs.com"]}}),
                      _allow(["log:GetLogStoreLogs", "log:QueryPrometheusMetrics", "log:QueryMetrics",
                              "log:PostLogStoreLogs", "log:RemoteWritePrometheus", "log:RemoteWrite"],
                             ["acs:log:*:*:project/*/logstore/aliyun-prom-*",
                              "acs:log:*:*:project/*/storeview/aliyun_prom_*"])),
                 "v16", "2017-02-21T08:51:17Z", "2026-01-30T01:44:35Z"),
    # The English description is UNVERIFIED (only the Chinese one was found).
    SystemPolicy("AliyunARMSReadOnlyAccess",
                 "Provides read-only access to Application Real-Time Monitoring Service(ARMS).",
                 _doc(_allow(["arms:DoInsightsAction", "arms:Describe*", "arms:List*", "arms:Get*", "arms:Search*",
                              "arms:Check*", "arms:Query*", "xtrace:Read*", "xtrace:Get*", "xtrace:Describe*"]),
                      _allow(["cms:Get*", "cms:List*", "cms:Query*", "cms:BatchQuery*", "cms:Describe*",
                              "cms:Cursor", "cms:BatchGet", "cms:BatchExport", "cms:Check*",
                              "log:GetAgentInstanceConfig"]),
                      _allow("log:GetMLServiceResults"),
                      _allow(["log:GetLogStoreLogs", "log:QueryPrometheusMetrics", "log:QueryMetrics"],
                             "acs:log:*:*:project/*/logstore/aliyun-prom-*"),
                      _allow(["log:GetLogStoreLogs", "log:GetIndex"], "acs:log:*:*:project/proj-xtrace-*/logstore/*")),
                 "v13", "2019-05-09T12:04:42Z", "2025-11-28T07:44:07Z"),
    # ECS documents are the published examples; version metadata and the English
    # descriptions are UNVERIFIED.
    SystemPolicy("AliyunECSFullAccess", "Provides full access to Elastic Compute Service(ECS) via Management Console.",
                 _doc(_allow("ecs:*"), _allow(["vpc:DescribeVpcs", "vpc:DescribeVSwitches"]))),
    SystemPolicy("AliyunECSReadOnlyAccess",
                 "Provides read-only access to Elastic Compute Service(ECS) via Management Console.",
                 _doc(_allow("ecs:Describe*"), _allow("ecs:List*"),
                      _allow(["vpc:DescribeVpcs", "vpc:DescribeVSwitches"]))),
    SystemPolicy("AliyunVPCFullAccess", "Provides full access to Virtual Private Cloud(VPC) via Management Console.",
                 _doc(_allow(["vpc:*HaVip*", "vpc:*RouteTable*", "vpc:*VRouter*", "vpc:*RouteEntry*",
                              "vpc:*RouteEntries*", "vpc:*VSwitch*", "vpc:*Vpc*", "vpc:*Cen*", "vpc:*Tag*",
                              "vpc:*NetworkAcl*", "vpc:*FlowLog*", "vpc:*Ipv4Gateway*", "vpc:*PrefixList*",
                              "vpc:*DhcpOptionsSet*", "vpc:DeletionProtection", "vpc:*TagResource*",
                              "vpc:MoveResourceGroup"])),
                 "v12", "2015-12-24T01:37:35Z", "2023-04-07T10:06:51Z"),
    # UNVERIFIED document: EIP actions live under the vpc namespace; the read-only
    # sibling covers vpc:DescribeEip* and public IP address pools, so full access
    # is taken to be every EIP and address-pool action.
    SystemPolicy("AliyunEIPFullAccess", "Provides full access to Elastic IP Address(EIP) via Management Console.",
                 _doc(_allow(["vpc:*Eip*", "vpc:*PublicIpAddressPool*"])),
                 "v1", "2015-12-29T00:00:00Z", "2015-12-29T00:00:00Z"),
    SystemPolicy("AliyunEIPReadOnlyAccess",
                 "Provides read-only access to Elastic IP Address(EIP) via Management Console.",
                 _doc(_allow(["vpc:DescribeEip*", "vpc:ListPublicIpAddressPool*"])),
                 "v2", "2015-12-29T00:00:00Z", "2022-06-27T00:00:00Z"),
    SystemPolicy("AliyunOSSReadOnlyAccess",
                 "Provides read-only access to Object Storage Service(OSS) via Management Console.",
                 _doc(_allow(["oss:Get*", "oss:List*"])), "v1", "2015-04-28T16:15:45Z", "2017-08-17T08:57:31Z"),
    # UNVERIFIED document: taken from a copy published outside the policy pages.
    SystemPolicy("AliyunOSSFullAccess", "Provides full access to Object Storage Service(OSS) via Management Console.",
                 _doc(_allow(["oss:*"], ["*"]))),
    # UNVERIFIED document: taken from a copy published outside the policy pages.
    SystemPolicy("AliyunLogFullAccess", "Provides full access to Log Service(Log) via Management Console.",
                 _doc(_allow(["log:*"], ["*"]),
                      _allow(["ram:CreateServiceLinkedRole"], ["*"], {"StringEquals": {"ram:ServiceName": [
                          "audit.log.aliyuncs.com", "alert.log.aliyuncs.com", "middlewarelens.log.aliyuncs.com",
                          "storagelens.log.aliyuncs.com", "ai-lens.log.aliyuncs.com",
                          "securitylens.log.aliyuncs.com"]}}))),
    SystemPolicy("AliyunActionTrailFullAccess", "Provides full access to ActionTrail.",
                 _doc(_allow("actiontrail:*"),
                      _allow("ram:PassRole", condition={"StringEquals": {"acs:Service": "actiontrail.aliyuncs.com"}}),
                      _allow("ram:CreateServiceLinkedRole",
                             condition={"StringEquals": {"ram:ServiceName": "actiontrail.aliyuncs.com"}})),
                 "v2", "2016-01-25T04:10:08Z", "2020-08-05T05:32:30Z"),
]


# ledger: RAM-SYSTEM-POLICY-UNSOURCED
def _service_pair(product: str, service_name: str, namespace: str) -> list[SystemPolicy]:
    """The usual read-only/full pair of a product, in the common published shape.

    UNVERIFIED documents: these products' pages were not consulted; the pair
    follows the pattern the verified read-only/full policies share
    (read prefixes on ``*`` / ``<namespace>:*`` on ``*``), so that grants naming
    them can be attached and evaluated.
    """
    return [
        SystemPolicy(f"Aliyun{product}ReadOnlyAccess",
                     f"Provides read-only access to {service_name} via Management Console.",
                     _doc(_allow([f"{namespace}:Describe*", f"{namespace}:List*", f"{namespace}:Get*",
                                  f"{namespace}:Query*"]))),
        SystemPolicy(f"Aliyun{product}FullAccess", f"Provides full access to {service_name} via Management Console.",
                     _doc(_allow(f"{namespace}:*"))),
    ]


_FAMILIES = [
    ("RDS", "ApsaraDB RDS", "rds"), ("SLB", "Server Load Balancer(SLB)", "slb"),
    ("KMS", "Key Management Service(KMS)", "kms"), ("CS", "Container Service(CS)", "cs"),
    ("CloudMonitor", "CloudMonitor", "cms"), ("DNS", "Alibaba Cloud DNS", "alidns"),
    ("CDN", "Alibaba Cloud CDN", "cdn"), ("BSS", "Billing Management(BSS)", "bss"),
    ("VPC", "Virtual Private Cloud(VPC)", "vpc"), ("Log", "Log Service(Log)", "log"),
    ("ActionTrail", "ActionTrail", "actiontrail"),
]
_SOURCED = {p.name for p in _POLICIES}
_POLICIES += [p for family in _FAMILIES for p in _service_pair(*family) if p.name not in _SOURCED]

SYSTEM_POLICIES: dict[str, SystemPolicy] = {p.name: p for p in _POLICIES}
_BY_LOWER = {name.lower(): policy for name, policy in SYSTEM_POLICIES.items()}


def system_policy(name: str) -> SystemPolicy | None:
    """Look a system policy up by name; RAM policy names are matched case-insensitively."""
    # ledger: RAM-ROLE-NAME-CASE
    return _BY_LOWER.get(name.lower())
