"""A stand-in for the ``aliyun`` CLI's RPC form, ``aliyun ram <Action> --Param value ...``, aimed at the emulator.

Answers like the CLI: the response body as JSON on stdout and exit 0, or an
``ERROR: ... ErrorCode: <code>`` text on stderr and exit 1. Credentials and
endpoint come from ``FAKE_ALIYUN_ACCESS_KEY_ID``, ``FAKE_ALIYUN_ACCESS_KEY_SECRET``
and ``FAKE_ALIYUN_ENDPOINT``; every call is appended to ``FAKE_ALIYUN_LOG``.
Standard library only (it starts once per CLI call): the request is signed
with the RPC HMAC-SHA1 ``Signature`` parameter, which the emulator verifies.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

VERSIONS = {"ram": "2015-05-01"}


def _encode(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def signed(params: dict[str, str], key_id: str, secret: str) -> dict[str, str]:
    full = {**params, "Format": "JSON", "AccessKeyId": key_id, "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(full.items()))
    to_sign = f"POST&{_encode('/')}&{_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return {**full, "Signature": base64.b64encode(digest).decode()}


def main(argv: list[str]) -> int:
    product, action, rest = argv[0], argv[1], argv[2:]
    params = {rest[i].lstrip("-"): rest[i + 1] for i in range(0, len(rest), 2)}
    with open(os.environ["FAKE_ALIYUN_LOG"], "a") as log:
        log.write(json.dumps({"product": product, "action": action, "params": params}) + "\n")
    query = signed({"Action": action, "Version": VERSIONS[product], **params},
                   os.environ["FAKE_ALIYUN_ACCESS_KEY_ID"], os.environ["FAKE_ALIYUN_ACCESS_KEY_SECRET"])
    request = urllib.request.Request(f"http://{os.environ['FAKE_ALIYUN_ENDPOINT']}/",
                                     data=urllib.parse.urlencode(query).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}")
        print(f"ERROR: SDK.ServerError\nErrorCode: {error.get('Code')}\nMessage: {error.get('Message')}",
              file=sys.stderr)
        return 1
    print(json.dumps(body, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
