"""Policy document parsing, canonical form and hashing (shared.policies.document)."""
from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.policies.document import (
    HASH_CHARS,
    PolicyDocumentError,
    canonical_json,
    parse_policy,
    policy_hash,
    json_path,
)
from shared.policies.lint import lint_permission_policy
from tests.strategies import permission_policies, respelled
from tests.unit.policy_samples import SEED_002_OPS_ANNOTATED, SEED_004_OSS_READ, without_comments

SIMPLE = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}]}


# --- parse_policy ------------------------------------------------------------

def test_parse_accepts_text_bytes_and_mappings_alike():
    """The same policy given as JSON text, UTF-8 bytes or a dict parses to the same object."""
    text = json.dumps(SIMPLE)
    assert parse_policy(text) == parse_policy(text.encode("utf-8")) == parse_policy(SIMPLE) == SIMPLE


def test_parse_returns_a_private_copy():
    """Mutating the parsed policy cannot change the caller's dict (policies are compared later)."""
    parsed = parse_policy(SIMPLE)
    parsed["Statement"][0]["Action"] = "*"
    assert SIMPLE["Statement"][0]["Action"] == "oss:GetObject"


def test_parse_reports_line_and_column_of_bad_json():
    """Broken JSON is reported at the root path with the line and column of the error."""
    with pytest.raises(PolicyDocumentError) as err:
        parse_policy('{\n  "Version": "1",\n  "Statement": [}\n}')
    assert err.value.path == "$"
    assert "line 3 column" in err.value.message


def test_published_annotated_policy_is_not_json():
    """Seed 002 as published carries // comments; it must be refused, and parses once they are removed."""
    with pytest.raises(PolicyDocumentError) as err:
        parse_policy(SEED_002_OPS_ANNOTATED)
    assert err.value.message.startswith("invalid JSON at line 4 column 5")
    assert len(parse_policy(without_comments(SEED_002_OPS_ANNOTATED))["Statement"]) == 3


@pytest.mark.parametrize(
    ("source", "kind"),
    [("[]", "array"), ('"policy"', "string"), ("42", "number"), ("null", "null"), ("true", "boolean")],
)
def test_parse_refuses_non_objects(source, kind):
    """Valid JSON that is not an object is refused, naming what it was."""
    with pytest.raises(PolicyDocumentError) as err:
        parse_policy(source)
    assert err.value.path == "$"
    assert err.value.message.endswith(f"got {kind}")


def test_parse_refuses_duplicate_keys_naming_the_key():
    """A key repeated in one object is refused instead of silently keeping the last value."""
    with pytest.raises(PolicyDocumentError) as err:
        parse_policy('{"Version":"1","Statement":[{"Effect":"Deny","Effect":"Allow"}]}')
    assert err.value.path == "$..Effect"


@pytest.mark.parametrize(
    "source",
    [
        '{"Version": NaN}',
        '{"Version": Infinity}',
        {"Version": float("nan")},
        {"Version": "1", "Statement": {1, 2}},
        b"\xff\xfe{}",
        42,
        None,
    ],
)
def test_parse_refuses_what_ram_could_never_receive(source):
    """NaN, sets, non-UTF-8 bytes and non-document types are refused with PolicyDocumentError."""
    with pytest.raises(PolicyDocumentError) as err:
        parse_policy(source)
    assert err.value.path == "$"


def test_error_exposes_field_like_principal_error():
    """PolicyDocumentError is a ValueError whose ``field`` equals its path (webhook replies use ``field``)."""
    error = PolicyDocumentError("$.Statement[0]", "bad")
    assert isinstance(error, ValueError)
    assert error.field == error.path == "$.Statement[0]"
    assert str(error) == "$.Statement[0]: bad"


@pytest.mark.parametrize(
    ("base", "step", "expected"),
    [
        ("$", "Statement", "$.Statement"),
        ("$.Statement", 2, "$.Statement[2]"),
        ("$.Condition.StringEquals", "sts:ExternalId", "$.Condition.StringEquals['sts:ExternalId']"),
        ("$", "it's", "$['it\\'s']"),
    ],
)
def test_json_path_steps(base, step, expected):
    """Paths use dots for plain keys, [n] for indices and quoted brackets for other keys."""
    assert json_path(base, step) == expected


# --- canonical_json ----------------------------------------------------------

def test_bare_string_and_single_element_list_are_the_same_policy():
    """``"Action": "x"`` and ``"Action": ["x"]`` canonicalise (and hash) identically."""
    as_list = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"], "Resource": ["*"]}]}
    assert canonical_json(SIMPLE) == canonical_json(as_list)
    assert policy_hash(SIMPLE) == policy_hash(as_list)


def test_statement_object_equals_one_element_statement_list():
    """RAM's single-statement object form is the same policy as a one-element list."""
    single = {"Version": "1", "Statement": SIMPLE["Statement"][0]}
    assert canonical_json(single) == canonical_json(SIMPLE)


def test_canonical_form_is_compact_sorted_and_uses_lists():
    """Exact canonical text: sorted keys, no spaces, set-valued elements as sorted unique lists."""
    doc = {
        "Statement": [{
            "Resource": "*",
            "Effect": "Allow",
            "Condition": {"StringEquals": {"acs:Service": "fc.aliyuncs.com"}},
            "Action": ["oss:PutObject", "oss:GetObject", "oss:PutObject"],
        }],
        "Version": "1",
    }
    assert canonical_json(doc) == (
        '{"Statement":[{"Action":["oss:GetObject","oss:PutObject"],'
        '"Condition":{"StringEquals":{"acs:Service":["fc.aliyuncs.com"]}},'
        '"Effect":"Allow","Resource":["*"]}],"Version":"1"}'
    )


def test_principal_and_condition_value_lists_are_sets():
    """Principal values and condition values are compared as sets, in any order and with repeats."""
    a = {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"RAM": ["acs:ram::1111222233334444:root", "acs:ram::5555666677778888:root"]},
        "Condition": {"StringEquals": {"sts:ExternalId": ["b", "a"]}},
    }]}
    b = {"Version": "1", "Statement": [{
        "Principal": {"RAM": ["acs:ram::5555666677778888:root", "acs:ram::1111222233334444:root",
                              "acs:ram::5555666677778888:root"]},
        "Condition": {"StringEquals": {"sts:ExternalId": ["a", "b", "a"]}},
        "Action": ["sts:AssumeRole"], "Effect": "Allow",
    }]}
    assert canonical_json(a) == canonical_json(b)


def test_statement_order_does_not_matter():
    """Statements are a set: reordering them keeps the canonical form."""
    first = {"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*"}
    second = {"Effect": "Deny", "Action": "oss:DeleteObject", "Resource": "*"}
    assert canonical_json({"Version": "1", "Statement": [first, second]}) == canonical_json(
        {"Version": "1", "Statement": [second, first]}
    )


def test_canonical_form_keeps_non_ascii_text():
    """Non-ASCII condition values survive unescaped, so the hash covers the real characters."""
    doc = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": "*",
                                          "Condition": {"StringEquals": {"acs:Tag": "東京"}}}]}
    assert "東京" in canonical_json(doc)


def test_malformed_documents_still_have_a_stable_form():
    """A document the linter would reject still canonicalises, so it can be logged and compared."""
    broken = {"Version": 1, "Statement": "nonsense", "Extra": [3, 1]}
    assert canonical_json(broken) == '{"Extra":[3,1],"Statement":"nonsense","Version":1}'
    odd = {"Version": "1", "Statement": ["text", {"Action": 5, "Condition": {"Bool": "x"}}]}
    assert canonical_json(odd) == canonical_json(json.loads(canonical_json(odd)))


def test_seed_policy_text_and_compact_dict_agree():
    """Seed 004's OSS policy as published (indented text) canonicalises like its compact dict form."""
    compact = {"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": ["oss:List*", "oss:Get*"]}]}
    assert canonical_json(SEED_004_OSS_READ) == canonical_json(compact)


# --- policy_hash -------------------------------------------------------------

def test_hash_is_short_hex_prefix_of_sha256_of_canonical_form():
    """policy_hash is the first HASH_CHARS hex digits of sha256(canonical_json)."""
    digest = hashlib.sha256(canonical_json(SIMPLE).encode("utf-8")).hexdigest()
    assert policy_hash(SIMPLE) == digest[:HASH_CHARS]
    assert len(policy_hash(SIMPLE)) == HASH_CHARS == 16
    int(policy_hash(SIMPLE), 16)


@pytest.mark.parametrize(
    "change",
    [
        {"Effect": "Deny"},
        {"Action": "oss:PutObject"},
        {"Action": ["oss:GetObject", "oss:PutObject"]},
        {"Resource": "acs:oss:*:*:bucket/x"},
        {"Condition": {"Bool": {"acs:SecureTransport": "true"}}},
    ],
)
def test_hash_changes_when_meaning_changes(change):
    """Any change in effect, actions, resources or conditions changes the hash (drift is seen)."""
    changed = {"Version": "1", "Statement": [{**SIMPLE["Statement"][0], **change}]}
    assert policy_hash(changed) != policy_hash(SIMPLE)


# --- properties --------------------------------------------------------------

@given(permission_policies)
def test_canonical_json_is_idempotent(doc):
    """Canonicalising the canonical form changes nothing."""
    once = canonical_json(doc)
    assert canonical_json(once) == once
    assert canonical_json(json.loads(once)) == once


@given(st.data(), permission_policies)
def test_canonical_json_ignores_spelling(data, doc):
    """Reordered keys, lists and statements, repeated entries and bare-vs-list spellings hash equal."""
    variant = data.draw(respelled(doc))
    assert canonical_json(variant) == canonical_json(doc)
    assert policy_hash(variant) == policy_hash(doc)


@given(permission_policies)
def test_canonical_json_keeps_every_action_and_resource(doc):
    """Normalising loses nothing: the canonical policy grants exactly the original actions and resources."""
    canonical = json.loads(canonical_json(doc))
    for field in ("Action", "Resource"):
        before = {v for s in doc["Statement"] for v in s[field]}
        after = {v for s in canonical["Statement"] for v in s[field]}
        assert after == before


@given(permission_policies)
def test_well_formed_policies_have_no_grammar_findings(doc):
    """The linter reports no grammar (RG0xx) problem for any well-formed policy, in either spelling."""
    for form in (doc, canonical_json(doc)):
        assert [f.id for f in lint_permission_policy(form) if f.id.startswith("RG0")] == []
