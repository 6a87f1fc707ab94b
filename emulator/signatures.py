"""Verification of the request signatures the Alibaba Cloud SDKs produce: ACS3, RPC v1, ROA v1 and FC's own.

Each verifier re-derives the signature from the bytes received with a
``secret_for(access_key_id)`` lookup; which client signs how: docs/design/emulator.md.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote

from .errors import CloudError

SecretLookup = Callable[[str], str]


@dataclass(frozen=True)
class Signed:
    """What a valid signature proves: who signed, and the scheme used."""

    access_key_id: str
    scheme: str  # "acs3" | "rpc1" | "roa1" | "fc"
    timestamp: str = ""
    nonce: str = ""
    security_token: str = ""


def _pct(value: str) -> str:
    return quote(value, safe="-_.~")


def _hex_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mismatch() -> CloudError:
    return CloudError("SignatureDoesNotMatch",
                      "Specified signature is not matched with our calculation.", 400)


def _incomplete(why: str) -> CloudError:
    return CloudError("IncompleteSignature", f"The request signature does not conform to Aliyun standards. {why}", 400)


def form_pairs(raw: str) -> list[tuple[str, str]]:
    return parse_qsl(raw, keep_blank_values=True)


def _b64_hmac(key: str, text: str, digest: Callable[..., Any]) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), digest).digest()).decode()


def _proven(claim: Signed, signature: str, *expected: str) -> Signed:
    """``claim``, once ``signature`` is one of the ``expected`` ones: compared in constant time, so a refusal's
    timing does not tell how much of a forged signature was right."""
    if not any(hmac.compare_digest(e, signature) for e in expected):
        raise _mismatch()
    return claim


def _shared_key_request(headers: dict[str, list[str]], scheme: str, own_prefix: str,
                        secret_for: SecretLookup) -> tuple[str, str, str, dict[str, str], str]:
    """What ROA v1 and FC read alike from ``Authorization: <scheme> AK:signature``.

    (access key id, claimed signature, its secret, first value of each header,
    the canonical ``name:value\\n`` lines of the headers named ``own_prefix*``).
    """
    ak, _, signature = headers.get("authorization", [""])[0][len(scheme) + 1:].partition(":")
    h = {k: v[0] for k, v in headers.items()}
    own = "".join(f"{k}:{h[k]}\n" for k in sorted(k for k in h if k.startswith(own_prefix)))
    return ak, signature, secret_for(ak), h, own


def verify_acs3(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                body: bytes, secret_for: SecretLookup) -> Signed:
    auth = headers.get("authorization", [""])[0]
    scheme, _, rest = auth.partition(" ")
    if scheme != "ACS3-HMAC-SHA256":
        raise _incomplete("Unsupported signature algorithm.")
    parts = dict(p.split("=", 1) for p in rest.split(",") if "=" in p)
    try:
        ak, signed_names, signature = parts["Credential"], parts["SignedHeaders"], parts["Signature"]
    except KeyError as missing:
        raise _incomplete(f"Missing {missing.args[0]}.") from None
    secret = secret_for(ak)
    names = signed_names.split(";")
    if "host" not in names or "x-acs-date" not in names:
        raise _incomplete("host and x-acs-date must be signed.")
    for name in headers:
        if name.startswith("x-acs-") and name not in names:
            raise _incomplete(f"Header {name} is not signed.")
    payload_hash = _hex_sha256(body)
    claimed = headers.get("x-acs-content-sha256", [payload_hash])[0]
    if claimed != payload_hash:
        raise CloudError("InvalidContentSha256", "x-acs-content-sha256 does not match the body.", 400)
    pairs = sorted(form_pairs(raw_query), key=lambda kv: kv[0])
    canonical_query = "&".join(f"{k}={_pct(v)}" for k, v in pairs)
    canonical_headers = "".join(
        f"{n}:{','.join(sorted(v.strip() for v in headers.get(n, [''])))}\n" for n in names
    )
    canonical = "\n".join([method.upper(), raw_path or "/", canonical_query, canonical_headers,
                           signed_names, payload_hash])
    to_sign = "ACS3-HMAC-SHA256\n" + _hex_sha256(canonical.encode())
    expected = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    return _proven(Signed(ak, "acs3", headers.get("x-acs-date", [""])[0],
                          headers.get("x-acs-signature-nonce", [""])[0],
                          headers.get("x-acs-security-token", [""])[0]), signature, expected)


def verify_rpc1(method: str, params: list[tuple[str, str]], secret_for: SecretLookup) -> Signed:
    values = dict(params)
    signature = values.get("Signature")
    ak = values.get("AccessKeyId")
    if not signature or not ak:
        raise _incomplete("Signature and AccessKeyId are required.")
    if values.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise _incomplete("Only HMAC-SHA1 is supported for this signature version.")
    secret = secret_for(ak)
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(
        ((k, v) for k, v in params if k != "Signature"), key=lambda kv: kv[0]))
    to_sign = f"{method.upper()}&{_pct('/')}&{_pct(canonical)}"
    return _proven(Signed(ak, "rpc1", values.get("Timestamp", ""), values.get("SignatureNonce", ""),
                          values.get("SecurityToken", "")), signature, _b64_hmac(secret + "&", to_sign, hashlib.sha1))


def verify_roa1(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
                secret_for: SecretLookup) -> Signed:
    ak, signature, secret, h, acs_headers = _shared_key_request(headers, "acs", "x-acs-", secret_for)
    resource = unquote(raw_path)
    pairs = sorted(form_pairs(raw_query), key=lambda kv: kv[0])
    if pairs:
        resource += "?" + "&".join(f"{k}={v}" if v != "" else k for k, v in pairs)
    to_sign = "\n".join([method.upper(), h.get("accept", ""), h.get("content-md5", ""),
                         h.get("content-type", ""), h.get("date", "")]) + "\n" + acs_headers + resource
    return _proven(Signed(ak, "roa1", h.get("date", ""), h.get("x-acs-signature-nonce", ""),
                          h.get("x-acs-security-token", "")), signature, _b64_hmac(secret, to_sign, hashlib.sha1))


def verify_fc(method: str, raw_path: str, raw_query: str, headers: dict[str, list[str]],
              secret_for: SecretLookup) -> Signed:
    ak, signature, secret, h, fc_headers = _shared_key_request(headers, "FC", "x-fc-", secret_for)
    params = sorted(f"{k}={v}" if v != "" else k for k, v in form_pairs(raw_query))
    path = unquote(raw_path)
    # The client signs ``path\n<params>`` when it passes its query to the signer,
    # and the bare path when it does not (its list calls sign the path alone).
    candidates = [path, path + "\n" + "\n".join(params)]
    head = "\n".join([method.upper(), h.get("content-md5", ""), h.get("content-type", ""), h.get("date", "")])
    expected = [_b64_hmac(secret, head + "\n" + fc_headers + resource, hashlib.sha256) for resource in candidates]
    return _proven(Signed(ak, "fc", h.get("date", ""), "", h.get("x-fc-security-token", "")), signature, *expected)
