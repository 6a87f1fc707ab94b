"""Policies published in Alibaba Cloud documentation, kept verbatim as test data.

The documentation masks account ids ("100******0719") and some names. Those
asterisks are literal characters of the published JSON, and in a principal an
asterisk is a wildcard, so the verbatim documents are linted as wildcard
trust. ``unmasked`` substitutes stand-in values to get the documents' intended
meaning.
"""
from __future__ import annotations

import re
from typing import Any

STAND_IN_ACCOUNT = "1000000000000719"

# Seed 000: only RAM user Alice of the partner account may assume the role.
SEED_000_TRUST_ALICE = """{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "RAM": "acs:ram::100******0719:user/Alice"
      },
      "Action": "sts:AssumeRole"
    }
  ]
}"""

# Seed 002: O&M engineer policy, exactly as published (with // comments).
SEED_002_OPS_ANNOTATED = """{
  "Version": "1",
  "Statement": [
    // 1. リソースステータスを表示するための読み取り専用権限
    {
      "Effect": "Allow",
      "Action": [
        // ECS リソースの表示
        "ecs:DescribeInstances",        // インスタンスステータスの表示
        "ecs:DescribeInstanceStatus",   // インスタンスステータス情報のクエリ
        "ecs:DescribeNetworkInterfaces", // NIC ステータスの表示
        "ecs:DescribeDisks",            // ディスクステータスの表示 (ドキュメントのコンテキストから推測)
        "ecs:DescribeSecurityGroups",   // セキュリティグループステータスの表示
        "ecs:DescribeSecurityGroupReferences", // 承認済みセキュリティグループのクエリ
        // VPC と vSwitch の表示
        "vpc:DescribeVpcs",             // VPC ステータスのクエリ
        "vpc:DescribeVSwitches",        // vSwitch ステータスのクエリ
        "vpc:DescribeVSwitchAttributes" // 詳細な vSwitch 構成のクエリ
      ],
      "Resource": "*"  // すべてのリソースへのアクセスを許可
    },
    // 2. Workbench 権限 (ログインと読み取り)
    {
      "Effect": "Allow",
      "Action": [
        "ecs-workbench:LoginInstance",  // Workbench を使用してインスタンスにログインする権限
        "ecs:DescribeTerminalSessions"  // Workbench セッションレコードの表示
      ],
      "Resource": "*"
    },
    // 3. クラウドアシスタント権限 (読み取り、ログイン、コマンド実行)
    {
      "Effect": "Allow",
      "Action": [
        // クラウドアシスタントの読み取り権限
        "ecs:DescribeCommands",         // コマンドリストの表示
        "ecs:DescribeInvocations",       // コマンド実行レコードの表示
        "ecs:DescribeInvocationResults", // コマンド実行結果の表示
        "ecs:DescribeCloudAssistantStatus", // クラウドアシスタントのステータスのクエリ
        // クラウドアシスタントを使用したコマンド実行権限
        "ecs:InvokeCommand",             // コマンドの実行
        "ecs:RunCommand"                 // コマンドの即時実行
      ],
      "Resource": "*",
      // コマンドの実行を一般ユーザーに制限 (セキュリティのベストプラクティス)
      "Condition": {
        "StringNotEqualsIgnoreCase": {
          "ecs:CommandRunAs": ["system", "root"]  // root または system アカウントの使用を禁止
        }
      }
    }
  ]
}"""

# Seed 003: role for a SAML identity provider.
SEED_003_TRUST_SAML = """{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "acs:ram::100*******0719:saml-provider/Azure-AD"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
        "StringEquals": {
          "saml:recipient": [
            "https://signin.alibabacloud.com/saml-role/sso"
          ]
        }
      }
    }
  ]
}"""

# Seed 003: role for an OIDC identity provider.
SEED_003_TRUST_OIDC = """{
  "Version": "1",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "Federated": "acs:ram::100*******0719:oidc-provider/xiyun****"
      },
      "Action": "sts:AssumeRole",
      "Condition": {
        "StringEquals": {
          "oidc:iss": [
            "https://dev-xxxxxx.okta.com"
          ],
          "oidc:aud": [
            "0oa294vi1vJoClev****"
          ]
        }
      }
    }
  ]
}"""

# Seed 004: permissions needed to manage instance RAM roles.
SEED_004_INSTANCE_ROLE_ADMIN = """{
    "Version": "1",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecs:Describe*",
                "ecs:List*",
                "ecs:AttachInstanceRamRole",
                "ecs:DetachInstanceRAMRole"
            ],
            "Resource": "*"
        },
        {
          "Effect": "Allow",
          "Action": [
            "ram:Describe*",              
            "ram:List*",
            "ram:Get*",
            "ram:CreateRole", 
            "ram:CreatePolicy", 
            "ram:AttachPolicyToRole"
          ],
          "Resource": "*"
        },
        {
            "Effect": "Allow",
            "Action": "ram:PassRole",
            "Resource": "*"
        }
    ]
}"""

# Seed 004: trust policy of an instance RAM role (service principal ECS).
SEED_004_TRUST_ECS = """{
     "Statement": [
       {
           "Action": "sts:AssumeRole",
           "Effect": "Allow",
           "Principal": {
             "Service": [
               "ecs.aliyuncs.com"
             ]
           }
       }
     ],
     "Version": "1"
 }"""

# Seed 004: custom read-only OSS policy for the instance role.
SEED_004_OSS_READ = """{
     "Statement": [
         {
         "Action": [
             "oss:Get*",
             "oss:List*"
         ],
         "Effect": "Allow",
         "Resource": "*"
         }
     ],
     "Version": "1"
 }"""

# System policy documents (reference: system-policies-and-events.md).
SYSTEM_POLICIES: dict[str, dict[str, Any]] = {
    "AliyunSTSAssumeRoleAccess": {
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": "*"}], "Version": "1",
    },
    "AliyunFCFullAccess": {"Version": "1", "Statement": [
        {"Action": "fc:*", "Resource": "*", "Effect": "Allow"},
        {"Action": "ram:PassRole", "Resource": "*", "Effect": "Allow",
         "Condition": {"StringEquals": {"acs:Service": "fc.aliyuncs.com"}}},
    ]},
    "AliyunFCReadOnlyAccess": {
        "Version": "1", "Statement": [{"Action": ["fc:Get*", "fc:List*"], "Resource": "*", "Effect": "Allow"}],
    },
    "AliyunFCInvocationAccess": {
        "Version": "1", "Statement": [{"Action": ["fc:InvokeFunction"], "Resource": "*", "Effect": "Allow"}],
    },
    "AliyunRAMReadOnlyAccess": {"Version": "1", "Statement": [
        {"Action": ["ram:Get*", "ram:List*", "ram:GenerateCredentialReport"], "Resource": "*", "Effect": "Allow"},
        {"Effect": "Allow", "Action": ["accessanalyzer:Get*", "accessanalyzer:List*"], "Resource": "*"},
    ]},
    "AliyunOSSReadOnlyAccess": {
        "Statement": [{"Action": ["oss:Get*", "oss:List*"], "Effect": "Allow", "Resource": "*"}], "Version": "1",
    },
    "AliyunECSFullAccess": {"Version": "1", "Statement": [
        {"Action": "ecs:*", "Resource": "*", "Effect": "Allow"},
        {"Action": ["vpc:DescribeVpcs", "vpc:DescribeVSwitches"], "Resource": "*", "Effect": "Allow"},
    ]},
    "AliyunECSReadOnlyAccess": {"Version": "1", "Statement": [
        {"Action": "ecs:Describe*", "Resource": "*", "Effect": "Allow"},
        {"Action": "ecs:List*", "Resource": "*", "Effect": "Allow"},
        {"Action": ["vpc:DescribeVpcs", "vpc:DescribeVSwitches"], "Resource": "*", "Effect": "Allow"},
    ]},
    "AliyunVPCFullAccess": {"Version": "1", "Statement": [{"Action": [
        "vpc:*HaVip*", "vpc:*RouteTable*", "vpc:*VRouter*", "vpc:*RouteEntry*", "vpc:*RouteEntries*",
        "vpc:*VSwitch*", "vpc:*Vpc*", "vpc:*Cen*", "vpc:*Tag*", "vpc:*NetworkAcl*", "vpc:*FlowLog*",
        "vpc:*Ipv4Gateway*", "vpc:*PrefixList*", "vpc:*DhcpOptionsSet*", "vpc:DeletionProtection",
        "vpc:*TagResource*", "vpc:MoveResourceGroup"], "Resource": "*", "Effect": "Allow"}]},
    "AliyunActionTrailFullAccess": {"Version": "1", "Statement": [
        {"Action": "actiontrail:*", "Resource": "*", "Effect": "Allow"},
        {"Action": "ram:PassRole", "Resource": "*", "Effect": "Allow",
         "Condition": {"StringEquals": {"acs:Service": "actiontrail.aliyuncs.com"}}},
        {"Action": "ram:CreateServiceLinkedRole", "Resource": "*", "Effect": "Allow",
         "Condition": {"StringEquals": {"ram:ServiceName": "actiontrail.aliyuncs.com"}}},
    ]},
    "AliyunARMSReadOnlyAccess": {"Version": "1", "Statement": [
        {"Action": ["arms:DoInsightsAction", "arms:Describe*", "arms:List*", "arms:Get*", "arms:Search*",
                    "arms:Check*", "arms:Query*", "xtrace:Read*", "xtrace:Get*", "xtrace:Describe*"],
         "Resource": "*", "Effect": "Allow"},
        {"Action": ["cms:Get*", "cms:List*", "cms:Query*", "cms:BatchQuery*", "cms:Describe*", "cms:Cursor",
                    "cms:BatchGet", "cms:BatchExport", "cms:Check*", "log:GetAgentInstanceConfig"],
         "Resource": "*", "Effect": "Allow"},
        {"Action": "log:GetMLServiceResults", "Resource": "*", "Effect": "Allow"},
        {"Action": ["log:GetLogStoreLogs", "log:QueryPrometheusMetrics", "log:QueryMetrics"],
         "Resource": "acs:log:*:*:project/*/logstore/aliyun-prom-*", "Effect": "Allow"},
        {"Action": ["log:GetLogStoreLogs", "log:GetIndex"],
         "Resource": "acs:log:*:*:project/proj-xtrace-*/logstore/*", "Effect": "Allow"},
    ]},
}


def unmasked(text: str) -> str:
    """The documented policy with its masks replaced: a stand-in account id, '0000' for other masks."""
    return re.sub(r"\*{4}", "0000", re.sub(r"100\*+0719", STAND_IN_ACCOUNT, text))


def without_comments(text: str) -> str:
    """Drop ``//`` comments that follow whitespace (the published samples have no ``//`` inside strings)."""
    return re.sub(r"(?m)(^|\s)//.*$", r"\1", text)

