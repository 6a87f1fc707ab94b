"""Emulated RAM tagging of roles and policies through the real SDK: TagResources, UntagResources, ListTagResources."""
from __future__ import annotations

from alibabacloud_ram20150501 import models as m

from tests.emulator.ram_support import (account, assert_fully_read, cloud_error, make_policy, make_role,  # noqa: F401
                                        ram)


def tag(ram, names: list[str], pairs: dict[str, str], resource_type: str = "role") -> None:
    ram.tag_resources(m.TagResourcesRequest(resource_type=resource_type, resource_names=names,
                                            tag=[m.TagResourcesRequestTag(key=k, value=v) for k, v in pairs.items()]))


def listed(ram, resource_type: str = "role", **fields) -> list[tuple[str, str, str]]:
    body = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type=resource_type, **fields)).body
    return [(r.resource_name, r.tag_key, r.tag_value) for r in body.tag_resources]


def test_tag_untag_and_list_roles_and_policies(ram) -> None:
    """Tags are added, overwritten and removed per key or all at once; ListTagResources is a flat list."""
    make_role(ram, "r1")
    make_role(ram, "r2")
    make_policy(ram, "p1")
    tag(ram, ["r1", "r2"], {"env": "dev", "team": "a"})
    tag(ram, ["r1"], {"env": "prod"})
    tag(ram, ["p1"], {"owner": "ops"}, "policy")
    body = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="role")).body
    assert_fully_read(body, absent={"next_token"})
    assert [(r.resource_name, r.resource_type, r.tag_key, r.tag_value) for r in body.tag_resources] == [
        ("r1", "role", "env", "prod"), ("r1", "role", "team", "a"),
        ("r2", "role", "env", "dev"), ("r2", "role", "team", "a")]
    assert listed(ram, "policy") == [("p1", "owner", "ops")]
    assert listed(ram, resource_names=["r2"]) == [("r2", "env", "dev"), ("r2", "team", "a")]
    assert listed(ram, tag=[m.ListTagResourcesRequestTag(key="env", value="prod")]) == [
        ("r1", "env", "prod"), ("r1", "team", "a")]

    ram.untag_resources(m.UntagResourcesRequest(resource_type="role", resource_names=["r1", "r2"],
                                                tag_keys=["team", "absent"]))
    assert listed(ram) == [("r1", "env", "prod"), ("r2", "env", "dev")]
    ram.untag_resources(m.UntagResourcesRequest(resource_type="role", resource_names=["r1"], all=True))
    assert listed(ram) == [("r2", "env", "dev")]
    role = ram.list_roles(m.ListRolesRequest()).body.roles.role
    assert {r.role_name: [t.tag_key for t in r.tags.tag] for r in role} == {"r1": [], "r2": ["env"]}


def test_list_tag_resources_pages(ram) -> None:
    """ListTagResources pages by PageSize with NextToken; PageSize is 1..100."""
    for i in range(3):
        make_role(ram, f"p{i}", tag=[m.CreateRoleRequestTag(key=f"k{j}", value=str(j)) for j in range(3)])
    rows, token, pages = [], None, 0
    while True:
        body = ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="role", page_size=4,
                                                                next_token=token)).body
        pages += 1
        rows += [(r.resource_name, r.tag_key) for r in body.tag_resources]
        token = body.next_token
        if token is None:
            break
    assert pages == 3 and len(rows) == len(set(rows)) == 9
    with cloud_error("InvalidParameter.PageSize", 400):
        ram.list_tag_resources(m.ListTagResourcesRequest(resource_type="role", page_size=101))


def test_tag_limits_per_call_and_per_resource(ram) -> None:
    """At most 20 tags per call and per resource; a refused call changes nothing."""
    make_role(ram, "lim")
    with cloud_error("InvalidParameter.Tag", 400):
        tag(ram, ["lim"], {f"k{i}": "v" for i in range(21)})
    tag(ram, ["lim"], {f"a{i}": "v" for i in range(15)})
    tag(ram, ["lim"], {f"a{i}": "w" for i in range(10)})  # overwriting keys does not add tags
    with cloud_error("LimitExceeded.Tag", 409):
        tag(ram, ["lim"], {f"b{i}": "v" for i in range(6)})
    assert len(listed(ram)) == 15
    tag(ram, ["lim"], {f"b{i}": "v" for i in range(5)})
    assert len(listed(ram)) == 20
    with cloud_error("InvalidParameter.Tag", 400):
        make_role(ram, "many", tag=[m.CreateRoleRequestTag(key=f"k{i}", value="v") for i in range(21)])


def test_tag_key_and_value_rules(ram) -> None:
    """Keys are 1..128 chars, not acs:/aliyun-prefixed, without URLs; values at most 256 chars, no URLs, no acs: start.

    The tag rules: keys "cannot start with aliyun or acs: and cannot contain http:// or https://", values
    "cannot start with acs: and cannot contain http:// or https://" (Alibaba Cloud's Tag structure).
    """
    make_role(ram, "kv")
    for bad_key in ("k" * 129, "acs:thing", "aliyun-x", "Aliyun", "", "see http://x", "https://x"):
        with cloud_error("InvalidParameter.Tag.Key", 400):
            tag(ram, ["kv"], {bad_key: "v"})
    for bad_value in ("v" * 257, "see http://x", "https://x", "acs:ram::1234567890123456:user/alice", "ACS:x"):
        with cloud_error("InvalidParameter.Tag.Value", 400):
            tag(ram, ["kv"], {"k": bad_value})
    tag(ram, ["kv"], {"k" * 128: "v" * 256})
    tag(ram, ["kv"], {"k": "user acs:ram::1:root", "k2": "", "k3": "aliyun"})  # only the start is reserved
    with cloud_error("InvalidParameter.Tag.Key", 400):
        make_role(ram, "reserved", tag=[m.CreateRoleRequestTag(key="acs:x", value="v")])


def test_tag_target_errors(ram) -> None:
    """Resource type, name count (≤50) and existence are checked before anything is tagged."""
    make_role(ram, "exists")
    with cloud_error("InvalidParameter.ResourceType", 400):
        tag(ram, ["exists"], {"k": "v"}, "user")
    with cloud_error("InvalidParameter.ResourceNames", 400):
        tag(ram, [f"r{i}" for i in range(51)], {"k": "v"})
    with cloud_error("EntityNotExist.Role", 404):
        tag(ram, ["exists", "ghost"], {"k": "v"})
    assert listed(ram) == []
    with cloud_error("EntityNotExist.Policy", 404):
        tag(ram, ["AdministratorAccess"], {"k": "v"}, "policy")
    with cloud_error("MissingParameter.TagKeys", 400):
        ram.untag_resources(m.UntagResourcesRequest(resource_type="role", resource_names=["exists"]))
