"""The KMS seam: Rolegate's record key, a KMS generic secret whose version ids are the key ids.

A generic secret needs one permission (``kms:GetSecretValue``); rotation is a
new version, and older ones stay readable by id, so records signed before a
rotation keep verifying. The key is read once per warm instance and never logged.
Calls go through the SDK core's generic client (:mod:`shared.rpc`) with the
parameters the KMS SDK (``alibabacloud_kms20160120``) sends: the secret's data
in the form body, everything else in the query.
"""
from __future__ import annotations

import base64
import secrets
import threading
import time
from typing import Any, Callable

from shared import config
from shared.errors import CloudCallError, ConfigError
from shared.grants.proof import KEY_ID_RE, RecordKey
from shared.rpc import call_rpc, wrapped_items

SECRET_ENV = "ROLEGATE_RECORD_KEY_SECRET"
DEFAULT_SECRET_NAME = "rolegate-record-key"
DEFAULT_WEBHOOK_SECRET_NAME = "rolegate-webhook-secret"
DEFAULT_NOTIFY_SECRET_NAME = "rolegate-notify-secret"
# The HMAC keys `rolegate keys init` makes, each with its KMS description (who may be given it).
TEXT_SECRETS = {
    DEFAULT_WEBHOOK_SECRET_NAME: "Rolegate webhook HMAC key; give it to partners' systems only",
    DEFAULT_NOTIFY_SECRET_NAME: "Rolegate notification HMAC key; give it to the notification receiver only",
}
KEY_BYTES = 32
CURRENT_TTL_SECONDS = 3600  # a warm instance signs with a rotated key within the hour
VERSIONS_TTL_SECONDS = 60  # how stale the list of key versions may be when a proof names an unknown one
_MISSING_CODES = ("Forbidden.ResourceNotFound", "Rejected.ResourceNotFound", "Forbidden.SecretNotFound")
KMS_VERSION = "2016-01-20"


def _kms(client: Any, action: str, name: str, query: dict[str, Any], *, safe_to_retry: bool = True,
         form: dict[str, Any] | None = None) -> dict[str, Any]:
    """One KMS action on secret ``name``; ``form``: what the SDK sends in the form body (a secret's value)."""
    return call_rpc(client, KMS_VERSION, action, {**query, "SecretName": name}, target=name,
                    safe_to_retry=safe_to_retry, form=form)


def _get_secret(client: Any, name: str, version_id: str | None = None) -> dict[str, Any]:
    return _kms(client, "GetSecretValue", name, {"VersionId": version_id}, form={})  # the SDK's empty form


def secret_name() -> str:
    """The secret holding the record key: ``ROLEGATE_RECORD_KEY_SECRET``, by default ``rolegate-record-key``.

    Without the secret nothing can be signed or proven, so every grant
    operation fails (closed) until ``rolegate keys init`` has made it.
    """
    return config.env_str(SECRET_ENV) or DEFAULT_SECRET_NAME


def _is_missing(exc: CloudCallError) -> bool:
    """Whether KMS answered that the secret does not exist (as opposed to failing)."""
    return exc.cloud_code in _MISSING_CODES or exc.http_status == 404


def _key_from(body: dict[str, Any]) -> RecordKey:
    try:
        return RecordKey(str(body.get("VersionId")), base64.b64decode(str(body.get("SecretData")), validate=True))
    except ValueError:  # binascii.Error is a ValueError too
        raise ConfigError("The record-key secret does not hold a base64 key of 32 bytes or more; "
                          "rotate it with `rolegate keys rotate`.", field=SECRET_ENV) from None


class KmsKeyring:
    """Record keys read from one KMS secret; implements ``Keyring``."""

    def __init__(self, kms_client: Any, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``kms_client`` is the client, or a function making it: then the SDK core loads only when a key is read."""
        self._client_source = kms_client
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, RecordKey] = {}
        self._versions: tuple[frozenset[str], float] | None = None
        self._current: tuple[RecordKey, float] | None = None

    @property
    def _client(self) -> Any:
        if callable(self._client_source):  # a client is not callable; a factory method is
            self._client_source = self._client_source()
        return self._client_source

    def _get(self, version_id: str | None) -> dict[str, Any]:
        return _get_secret(self._client, self.name, version_id)

    def signing_key(self) -> RecordKey:
        with self._lock:
            if self._current is not None and self._clock() - self._current[1] < CURRENT_TTL_SECONDS:
                return self._current[0]
            key = _key_from(self._get(None))
            self._keys[key.key_id] = key
            self._current = (key, self._clock())
            return key

    def key(self, key_id: str) -> RecordKey | None:
        """The key version ``key_id``, or None when the secret has no such version.

        Unknown ids are checked against the secret's version list (one call,
        at most once a minute), never looked up one by one, so proofs forged
        with made-up ids cost no KMS calls; a transient KMS failure raises
        rather than calling a genuine record forged.
        """
        if self._current is None:  # most records are signed with the current key: one call learns it
            self.signing_key()
        with self._lock:
            if key_id in self._keys:
                return self._keys[key_id]
            if not KEY_ID_RE.match(key_id) or key_id not in self._version_ids():
                return None
            key = _key_from(self._get(key_id))
            self._keys[key.key_id] = key
            return key

    def _version_ids(self) -> frozenset[str]:
        if self._versions is None or self._clock() - self._versions[1] >= VERSIONS_TTL_SECONDS:
            body = _kms(self._client, "ListSecretVersionIds", self.name,
                        {"IncludeDeprecated": "true", "PageSize": 100})
            ids = (row.get("VersionId") for row in wrapped_items(body, "VersionIds", "VersionId"))
            self._versions = (frozenset(str(i) for i in ids if i), self._clock())
        return self._versions[0]


_texts: dict[tuple[str, str | None, str], tuple[str, float]] = {}
_texts_lock = threading.Lock()
TEXT_TTL_SECONDS = 300  # a rotated webhook secret reaches warm instances within five minutes


def text_secret(factory: Any, name: str, *, clock: Callable[[], float] = time.monotonic) -> str:
    """The current value of a text secret (the webhook's HMAC key), cached per instance for five minutes."""
    key = (name, factory.endpoint, factory.region)
    with _texts_lock:
        cached = _texts.get(key)
        if cached is not None and clock() - cached[1] < TEXT_TTL_SECONDS:
            return cached[0]
    value = str(_get_secret(factory.kms(), name).get("SecretData") or "")
    with _texts_lock:
        _texts[key] = (value, clock())
    return value


_keyrings: dict[tuple[str, str | None, str], tuple[str, KmsKeyring]] = {}
_keyrings_lock = threading.Lock()


def keyring_for(factory: Any, name: str | None = None) -> KmsKeyring:
    """The instance-wide keyring of the record secret, reached with ``factory``'s credentials.

    It is kept while the credentials stay the same. Other credentials (a renewed
    role session, another account's) get a keyring of their own, so a keyring
    never calls KMS with a session that has expired, nor answers with another
    account's key.
    """
    name = name or secret_name()
    key = (name, factory.endpoint, factory.region)
    caller = factory.credentials.access_key_id
    with _keyrings_lock:
        cached = _keyrings.get(key)
        if cached is None or cached[0] != caller:
            cached = _keyrings[key] = (caller, KmsKeyring(factory.kms, name))
        return cached[1]


def clear_cache() -> None:
    with _keyrings_lock:
        _keyrings.clear()
    with _texts_lock:
        _texts.clear()


def _new_version_id() -> str:
    return f"k{int(time.time())}-{secrets.token_hex(4)}"


def _new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _current(kms_client: Any, name: str) -> dict[str, Any] | None:
    """The answer of GetSecretValue for the current version, read now; None when the secret does not exist."""
    try:
        return _get_secret(kms_client, name)
    except CloudCallError as exc:
        if exc.retryable or not _is_missing(exc):
            raise
    return None


def _ensure_secret(kms_client: Any, name: str, data: Callable[[], str],
                   description: str) -> tuple[dict[str, Any] | None, str]:
    """Create the secret unless it exists: (the existing value's answer, or None when created now; its version)."""
    body = _current(kms_client, name)
    if body is not None:
        return body, str(body.get("VersionId"))
    version = _new_version_id()
    _kms(kms_client, "CreateSecret", name,
         {"Description": description, "SecretDataType": "text", "VersionId": version},
         form={"SecretData": data()}, safe_to_retry=False)
    return None, version


def init_text_secret(kms_client: Any, name: str) -> bool:
    """Create a text secret holding 32 random bytes (hex) unless it exists; whether it was created now."""
    found, _ = _ensure_secret(kms_client, name, lambda: secrets.token_hex(32), TEXT_SECRETS[name])
    return found is None


def init_secret(kms_client: Any, name: str = DEFAULT_SECRET_NAME) -> tuple[str, bool]:
    """Create the record-key secret unless it exists: (its current key id, whether it was created now)."""
    found, version = _ensure_secret(kms_client, name, _new_secret,
                                    "Rolegate grant-record key (HMAC-SHA256); do not share")
    if found is not None:
        version = _key_from(found).key_id  # an existing secret that holds no usable key is said now
    return version, found is None


def _put(kms_client: Any, name: str, data: str) -> str:
    """A new current version holding ``data``; its version id."""
    version = _new_version_id()
    _kms(kms_client, "PutSecretValue", name, {"SecretDataType": "text", "VersionId": version},
         form={"SecretData": data})
    return version


def rotate_secret(kms_client: Any, name: str = DEFAULT_SECRET_NAME) -> str:
    """A new key version, made current; older versions keep verifying the records they signed."""
    return _put(kms_client, name, _new_secret())


def read_text(kms_client: Any, name: str) -> str | None:
    """A text secret's current value, read now and never cached (None when there is no such secret).

    For read-change-write by operators, who must not change a value a
    cache has kept from before someone else's change.
    """
    body = _current(kms_client, name)
    return None if body is None else str(body.get("SecretData") or "")


def write_text(kms_client: Any, name: str, data: str, description: str) -> str:
    """Make ``data`` the current value of a text secret, creating the secret on first use; the version id."""
    found, version = _ensure_secret(kms_client, name, lambda: data, description)
    return version if found is None else _put(kms_client, name, data)


__all__ = ["DEFAULT_SECRET_NAME", "DEFAULT_WEBHOOK_SECRET_NAME", "KmsKeyring", "SECRET_ENV", "clear_cache",
           "init_secret", "init_text_secret", "keyring_for", "read_text", "rotate_secret", "secret_name", "text_secret",
           "write_text"]
