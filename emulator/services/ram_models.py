"""RAM state and rules: users, groups, roles, custom policies, attachments, tags, quotas.

One :class:`RamState` per account enforces every write-time rule as the
documented :class:`CloudError`; names compare case-insensitively, and the
per-grant calls never scan every role. Indexes and quotas: docs/design/emulator.md.
"""
from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import json
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

from ..catalogue import system_policy
from ..errors import conflict, invalid, not_found
from ..policy_grammar import validate_permission_policy, validate_trust_policy
from ..world import random_digits, random_token

if TYPE_CHECKING:
    from ..world import Account, World

T = TypeVar("T")

# Documented quotas (RAM "limits" page); the names are the keys accepted in
# world.extras["quotas"].
ROLES_PER_ACCOUNT = 1000  # ledger: RAM-QUOTAS
USERS_PER_ACCOUNT = 1000  # ledger: RAM-QUOTAS
GROUPS_PER_ACCOUNT = 300  # ledger: RAM-QUOTAS
GROUPS_PER_USER = 10  # ledger: RAM-QUOTAS
CUSTOM_POLICIES_PER_ACCOUNT = 1500  # ledger: RAM-QUOTAS
SYSTEM_POLICIES_PER_ENTITY = 20  # ledger: RAM-POLICIES-PER-ENTITY
CUSTOM_POLICIES_PER_ENTITY = 10  # ledger: RAM-POLICIES-PER-ENTITY
VERSIONS_PER_POLICY = 5  # ledger: RAM-POLICY-VERSIONS
TAGS_PER_RESOURCE = 20  # ledger: RAM-TAG-LIMIT
ACCESS_KEYS_PER_USER = 2  # ledger: RAM-QUOTAS
# Unverified: no page gives the number (the error code
# InvalidParameter.AssumeRolePolicyDocument.Length is documented, the limit is not);
# chosen generously so that only clearly oversized trust policies are refused.
# `rolegate canary` measures the real limit.
TRUST_POLICY_CHARS = 4096  # ledger: RAM-TRUST-LENGTH

# Fixed limits of parameters (not quotas).
POLICY_DOCUMENT_CHARS = 6144  # ledger: RAM-POLICY-DOCUMENT-SIZE
DESCRIPTION_CHARS = 1024  # ledger: RAM-ROLE-DESCRIPTION
COMMENTS_CHARS = 128  # ledger: RAM-USER-GROUP-NAMES
# ledger: RAM-MAX-SESSION-DURATION
MIN_SESSION_DURATION, MAX_SESSION_DURATION, DEFAULT_SESSION_DURATION = 3600, 43200, 3600
TAG_KEY_CHARS, TAG_VALUE_CHARS = 128, 256  # ledger: RAM-TAG-KEY-VALUE-LENGTH
TAGS_PER_CALL = 20  # ledger: RAM-TAG-LIMIT
RESOURCES_PER_TAG_CALL = 50  # ledger: RAM-TAG-RESOURCES-PER-CALL
POLICY_TYPES = ("System", "Custom")  # ledger: RAM-POLICY-TYPE

_ROLE_NAME = re.compile(r"^[A-Za-z0-9.-]+$")  # ledger: RAM-ROLE-NAME
_USER_NAME = re.compile(r"^[A-Za-z0-9._@-]+$")  # ledger: RAM-USER-GROUP-NAMES
_GROUP_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # ledger: RAM-USER-GROUP-NAMES
_POLICY_NAME = re.compile(r"^[A-Za-z0-9-]+$")  # ledger: RAM-POLICY-NAME
_VERSION_ID = re.compile(r"^v[1-9][0-9]*$")  # ledger: RAM-POLICY-VERSIONS
_RESERVED_TAG_PREFIXES = ("acs:", "aliyun")  # ledger: RAM-TAG-RESERVED-KEY
# The tag rules reserve acs: at the start of a value as well; whether RAM itself enforces it is not
# confirmed, so the emulator does (the stricter reading: a product that passes here passes there).
_RESERVED_TAG_VALUE_PREFIX = "acs:"  # ledger: RAM-TAG-VALUE-ACS


@dataclass(frozen=True)
class Quotas:
    """The limits in force for one world: documented defaults, optionally lowered by a test."""

    roles_per_account: int = ROLES_PER_ACCOUNT
    users_per_account: int = USERS_PER_ACCOUNT
    groups_per_account: int = GROUPS_PER_ACCOUNT
    groups_per_user: int = GROUPS_PER_USER
    custom_policies_per_account: int = CUSTOM_POLICIES_PER_ACCOUNT
    system_policies_per_entity: int = SYSTEM_POLICIES_PER_ENTITY
    custom_policies_per_entity: int = CUSTOM_POLICIES_PER_ENTITY
    versions_per_policy: int = VERSIONS_PER_POLICY
    tags_per_resource: int = TAGS_PER_RESOURCE
    access_keys_per_user: int = ACCESS_KEYS_PER_USER
    trust_policy_chars: int = TRUST_POLICY_CHARS

    @classmethod
    def of(cls, world: "World") -> "Quotas":
        overrides = world.extras.get("quotas") or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in overrides.items() if k in known})


DEFAULT_QUOTAS: dict[str, int] = {f.name: getattr(Quotas(), f.name) for f in fields(Quotas)}


# ----------------------------------------------------------------- entities
@dataclass
class AttachedPolicy:
    policy_type: str  # "System" | "Custom"
    policy_name: str
    resource_group_id: str | None
    attach_date: str


@dataclass
class User:
    name: str
    user_id: str
    create_date: str
    attached: list[AttachedPolicy] = field(default_factory=list)
    access_keys: list[str] = field(default_factory=list)
    display_name: str = ""
    comments: str = ""
    email: str = ""
    mobile_phone: str = ""
    update_date: str = ""


@dataclass
class Group:
    name: str
    group_id: str
    comments: str
    create_date: str
    update_date: str
    attached: list[AttachedPolicy] = field(default_factory=list)
    members: dict[str, str] = field(default_factory=dict)  # lower-cased user name -> join date, in join order


@dataclass
class Role:
    name: str
    role_id: str
    arn: str
    description: str
    trust_policy: dict[str, Any]
    trust_policy_text: str
    max_session_duration: int
    create_date: str
    update_date: str
    attached: list[AttachedPolicy] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    allow_console_login: bool = False


@dataclass
class CustomPolicy:
    name: str
    description: str
    versions: dict[str, tuple[str, str]]  # version id -> (document text, create date), oldest first
    default_version: str
    create_date: str
    tags: dict[str, str] = field(default_factory=dict)
    update_date: str = ""
    next_version: int = 2

    def document(self) -> dict[str, Any]:
        """The default version's document, shared and read-only like a system policy's."""
        return _parsed_document(self.versions[self.default_version][0])


@functools.lru_cache(maxsize=1024)
def _parsed_document(text: str) -> dict[str, Any]:
    """A stored document's text parsed once: authorization reads it on every call of its holders."""
    return json.loads(text)


@dataclass(frozen=True)
class PolicyRef:
    """A system or custom policy as list and get calls render it."""

    policy_type: str
    name: str
    description: str
    default_version: str
    document_text: str
    create_date: str
    update_date: str
    tags: dict[str, str]
    version_date: str  # when the default version was created


Attachable = User | Group | Role


def entity_kind(entity: Attachable) -> str:
    """The word RAM's error codes use for an entity (``EntityNotExist.<Kind>.Policy``)."""
    return type(entity).__name__


def role_arn(account_id: str, name: str) -> str:
    """Role ARNs carry the role name lower-cased."""
    # ledger: RAM-ROLE-ARN
    return f"acs:ram::{account_id}:role/{name.lower()}"


# ------------------------------------------------------------------ checks
def check_role_name(name: str) -> str:  # ledger: RAM-ROLE-NAME
    if not 1 <= len(name) <= 64:
        raise invalid("InvalidParameter.RoleName.Length", "The length of the role name must be 1 to 64 characters.")
    if not _ROLE_NAME.match(name):
        raise invalid("InvalidParameter.RoleName.InvalidChars",
                      "The role name may only contain letters, digits, periods (.) and hyphens (-).")
    return name


def check_user_name(name: str) -> str:  # ledger: RAM-USER-GROUP-NAMES
    if not 1 <= len(name) <= 64:
        raise invalid("InvalidParameter.UserName.Length", "The length of the user name must be 1 to 64 characters.")
    if not _USER_NAME.match(name):
        raise invalid("InvalidParameter.UserName.InvalidChars",
                      "The user name may only contain letters, digits, periods (.), at signs (@), "
                      "hyphens (-) and underscores (_).")
    return name


def check_group_name(name: str, param: str = "GroupName") -> str:  # ledger: RAM-USER-GROUP-NAMES
    if not 1 <= len(name) <= 64:
        raise invalid(f"InvalidParameter.{param}.Length", f"The {param} must be 1 to 64 characters long.")
    if not _GROUP_NAME.match(name):
        raise invalid(f"InvalidParameter.{param}.InvalidChars",
                      f"The {param} may only contain letters, digits, periods (.), hyphens (-) and underscores (_).")
    return name


def check_comments(value: str, param: str = "Comments") -> str:
    if len(value) > COMMENTS_CHARS:
        raise invalid(f"InvalidParameter.{param}.Length", f"The {param} must be at most {COMMENTS_CHARS} characters.")
    return value


def check_policy_name(name: str) -> str:  # ledger: RAM-POLICY-NAME
    if not 1 <= len(name) <= 128:
        raise invalid("InvalidParameter.PolicyName.Length",
                      "The length of the policy name is invalid. It must be 1 to 128 characters in length.")
    if not _POLICY_NAME.match(name):
        raise invalid("InvalidParameter.PolicyName.InvalidChars",
                      "The policy name contains invalid characters. It must only contain upper or lower case "
                      "letters, numbers, and dash (-).")
    return name


def check_policy_type(value: str) -> str:  # ledger: RAM-POLICY-TYPE
    if value not in POLICY_TYPES:
        raise invalid("InvalidParameter.PolicyType",
                      f"The parameter PolicyType must be System or Custom, not {value!r}.")
    return value


def check_description(value: str, param: str = "Description") -> str:  # ledger: RAM-ROLE-DESCRIPTION
    if len(value) > DESCRIPTION_CHARS:
        raise invalid(f"InvalidParameter.{param}.Length",
                      f"The {param} must be at most {DESCRIPTION_CHARS} characters.")
    return value


def check_session_duration(value: int) -> int:  # ledger: RAM-MAX-SESSION-DURATION
    if not MIN_SESSION_DURATION <= value <= MAX_SESSION_DURATION:
        raise invalid("InvalidParameter.MaxSessionDuration",
                      f"MaxSessionDuration must be between {MIN_SESSION_DURATION} and {MAX_SESSION_DURATION} seconds.")
    return value


def check_trust_policy(text: str, quotas: Quotas) -> dict[str, Any]:  # ledger: RAM-TRUST-LENGTH, RAM-TRUST-GRAMMAR
    # ledger: RAM-TRUST-NOBODY, RAM-TRUST-DENY-ONLY
    if not 1 <= len(text) <= quotas.trust_policy_chars:
        raise invalid("InvalidParameter.AssumeRolePolicyDocument.Length",
                      f"The AssumeRolePolicyDocument must be 1 to {quotas.trust_policy_chars} characters.")
    return validate_trust_policy(text)


def check_policy_document(text: str) -> dict[str, Any]:  # ledger: RAM-POLICY-DOCUMENT-SIZE
    if not 1 <= len(text) <= POLICY_DOCUMENT_CHARS:
        raise invalid("InvalidParameter.PolicyDocument.Length",
                      f"The policy document must be 1 to {POLICY_DOCUMENT_CHARS} characters.")
    return validate_permission_policy(text)


def check_tags(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Validate tags given in one call; later duplicates of a key win."""
    # ledger: RAM-TAG-LIMIT, RAM-TAG-KEY-VALUE-LENGTH, RAM-TAG-RESERVED-KEY, RAM-TAG-VALUE-ACS
    if len(pairs) > TAGS_PER_CALL:
        raise invalid("InvalidParameter.Tag", f"At most {TAGS_PER_CALL} tags can be given in one request.")
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not key or len(key) > TAG_KEY_CHARS:
            raise invalid("InvalidParameter.Tag.Key", f"A tag key must be 1 to {TAG_KEY_CHARS} characters.")
        if key.lower().startswith(_RESERVED_TAG_PREFIXES):
            raise invalid("InvalidParameter.Tag.Key", f"The tag key {key!r} must not start with acs: or aliyun.")
        if "http://" in key or "https://" in key:
            raise invalid("InvalidParameter.Tag.Key", f"The tag key {key!r} must not contain http:// or https://.")
        if len(value) > TAG_VALUE_CHARS:
            raise invalid("InvalidParameter.Tag.Value", f"A tag value must be at most {TAG_VALUE_CHARS} characters.")
        if "http://" in value or "https://" in value:
            raise invalid("InvalidParameter.Tag.Value", "A tag value must not contain http:// or https://.")
        if value.lower().startswith(_RESERVED_TAG_VALUE_PREFIX):  # ledger: RAM-TAG-VALUE-ACS
            raise invalid("InvalidParameter.Tag.Value", f"The tag value {value[:40]!r} must not start with acs:.")
        tags[key] = value
    return tags


def matches_tags(tags: dict[str, str], wanted: Sequence[tuple[str, str | None]]) -> bool:
    """AND of the wanted pairs; a pair without a value only requires the key."""
    # ledger: RAM-LISTROLES-TAG-FILTER
    return all(key in tags and (value is None or tags[key] == value) for key, value in wanted)


# ------------------------------------------------------------------ paging
# ledger: RAM-LIST-PAGING, RAM-MARKER-OPAQUE
# A marker encodes the key of the first item of the next page, so a page
# boundary stays put when earlier items are deleted between calls.
def read_marker(marker: str | None, code: str = "InvalidParameter.Marker") -> str:
    """The key a marker names: where the page starts ("" for the first page)."""
    if not marker:
        return ""
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid(code, "The marker is invalid.") from None


def take_page(ordered: Iterable[T], key: Callable[[T], str], limit: int) -> tuple[list[T], str | None]:
    """The first ``limit`` items of ``ordered`` and the marker of the item after them, if any.

    Only ``limit + 1`` items are drawn, so a listing that walks an index pays
    for one page, not for the whole account.
    """
    items = iter(ordered)
    page = list(itertools.islice(items, limit))
    rest = next(items, None)
    return page, None if rest is None else base64.urlsafe_b64encode(key(rest).encode()).decode()


def paginate(items: Sequence[T], key: Callable[[T], str], marker: str | None, limit: int,
             code: str = "InvalidParameter.Marker") -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) starting at ``marker``; returns the page and the next marker."""
    ordered = sorted(items, key=key)
    return take_page(ordered[bisect.bisect_left(ordered, read_marker(marker, code), key=key):], key, limit)


class SortedKeys:
    """Lower-cased names kept in order, so a listing page starts by bisection instead of sorting the account."""

    def __init__(self) -> None:
        self._keys: list[str] = []

    def add(self, key: str) -> None:
        bisect.insort(self._keys, key)

    def remove(self, key: str) -> None:
        del self._keys[bisect.bisect_left(self._keys, key)]

    def starting_at(self, first: str) -> Iterator[str]:
        """The keys from ``first`` on (``first`` itself, or the next one after it)."""
        return itertools.islice(self._keys, bisect.bisect_left(self._keys, first), None)


def _named(table: dict[str, T], kind: str, name: str) -> T:
    """The entity of ``table`` named ``name`` in any case, or RAM's ``EntityNotExist.<kind>``."""
    found = table.get(name.lower())
    if found is None:
        raise not_found(f"EntityNotExist.{kind}", f"The {kind.lower()} {name} does not exist.")
    return found


def _check_room(count: int, kind: str, noun: str, limit: int) -> None:
    """RAM's ``LimitExceeded.<kind>`` once the account holds ``limit`` of them."""
    if count >= limit:  # ledger: RAM-QUOTAS
        raise conflict(f"LimitExceeded.{kind}", f"The count of {noun} beyond the current limit ({limit}).")


# ------------------------------------------------------------------- state
class RamState:
    """One account's RAM entities and the rules for changing them."""

    def __init__(self, account: "Account") -> None:
        self.account_id = account.account_id
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.roles: dict[str, Role] = {}  # ledger: RAM-ROLE-NAME-CASE
        self.policies: dict[str, CustomPolicy] = {}
        # (policy type, lower-cased policy name) -> id(attachment) -> (holder, attachment), in attach order;
        # kept by attach, detach and delete_policy, the only writers of an entity's ``attached``.
        self._holders: dict[tuple[str, str], dict[int, tuple[Attachable, AttachedPolicy]]] = {}
        # The keys of ``roles`` and ``policies`` in order, for ListRoles, ListPolicies and ListTagResources.
        self._role_keys = SortedKeys()
        self._policy_keys = SortedKeys()

    # lookups ---------------------------------------------------------------
    def find_role(self, name: str) -> Role | None:
        return self.roles.get(name.lower())

    def find_user(self, name: str) -> User | None:
        return self.users.get(name.lower())

    def find_group(self, name: str) -> Group | None:
        return self.groups.get(name.lower())

    def find_policy(self, name: str) -> CustomPolicy | None:
        return self.policies.get(name.lower())

    def roles_from(self, first: str) -> Iterator[Role]:
        """Roles by lower-cased name, from ``first`` on: a listing walks only as far as its page."""
        return (self.roles[key] for key in self._role_keys.starting_at(first))

    def policies_from(self, first: str) -> Iterator[CustomPolicy]:
        """Custom policies by lower-cased name, from ``first`` on."""
        return (self.policies[key] for key in self._policy_keys.starting_at(first))

    def groups_of(self, user_name: str) -> list[Group]:
        """The groups ``user_name`` belongs to, by group name."""
        key = user_name.lower()
        return sorted((g for g in self.groups.values() if key in g.members), key=lambda g: g.name.lower())

    def get_role(self, name: str) -> Role:
        return _named(self.roles, "Role", name)  # ledger: RAM-ROLE-NOT-EXIST

    def get_user(self, name: str) -> User:
        return _named(self.users, "User", name)

    def get_group(self, name: str) -> Group:
        return _named(self.groups, "Group", name)

    def get_custom_policy(self, name: str) -> CustomPolicy:
        return _named(self.policies, "Policy", name)

    def resolve_policy(self, policy_type: str, name: str) -> PolicyRef:  # ledger: RAM-POLICY-TYPE
        """The system or custom policy named, or EntityNotExist.Policy."""
        check_policy_type(policy_type)
        if policy_type == "System":
            system = system_policy(name)
            if system is None:
                raise not_found("EntityNotExist.Policy", f"The system policy {name} does not exist.")
            return PolicyRef("System", system.name, system.description, system.version, system.document_text,
                             system.create_date, system.update_date, {}, system.update_date)
        custom = self.get_custom_policy(name)
        text, version_date = custom.versions[custom.default_version]
        return PolicyRef("Custom", custom.name, custom.description, custom.default_version, text,
                         custom.create_date, custom.update_date or custom.create_date, custom.tags, version_date)

    # users -----------------------------------------------------------------
    def create_user(self, name: str, now: str, quotas: Quotas, *, display_name: str = "", comments: str = "",
                    email: str = "", mobile_phone: str = "") -> User:
        check_user_name(name)
        if name.lower() in self.users:
            raise conflict("EntityAlreadyExists.User", f"The user {name} already exists.")
        _check_room(len(self.users), "User", "users", quotas.users_per_account)
        user = User(name, random_digits(17), now, display_name=display_name or name, comments=comments,
                    email=email, mobile_phone=mobile_phone, update_date=now)
        self.users[name.lower()] = user
        return user

    def delete_user(self, name: str) -> User:
        user = self.get_user(name)
        if self.groups_of(user.name):
            raise conflict("DeleteConflict.User.Group",
                           f"The user {user.name} must leave every group before it can be deleted.")
        if user.access_keys:
            raise conflict("DeleteConflict.User.AccessKey",
                           "The user CAN NOT has any access key while deleting the user.")
        if user.attached:
            raise conflict("DeleteConflict.User.Policy",
                           "The user CAN NOT has any attached policy while deleting the user.")
        del self.users[name.lower()]
        return user

    @staticmethod
    def check_access_key_room(user: User, quotas: Quotas) -> None:
        if len(user.access_keys) >= quotas.access_keys_per_user:
            raise conflict("LimitExceeded.User.AccessKey",
                           f"The user {user.name} already has {quotas.access_keys_per_user} AccessKey pairs.")

    @staticmethod
    def remove_access_key(user: User, key_id: str) -> None:
        if key_id not in user.access_keys:
            raise not_found("EntityNotExist.User.AccessKey",
                            f"The AccessKey {key_id} does not exist for user {user.name}.")
        user.access_keys.remove(key_id)

    # groups ----------------------------------------------------------------
    def create_group(self, name: str, now: str, quotas: Quotas, *, comments: str = "") -> Group:
        check_group_name(name)
        check_comments(comments)
        if name.lower() in self.groups:
            raise conflict("EntityAlreadyExists.Group", f"The group {name} already exists.")
        _check_room(len(self.groups), "Group", "groups", quotas.groups_per_account)
        group = Group(name, "g-" + random_token(12), comments, now, now)
        self.groups[name.lower()] = group
        return group

    def update_group(self, name: str, now: str, *, new_name: str | None = None,
                     new_comments: str | None = None) -> Group:
        group = self.get_group(name)
        if new_name is not None:
            check_group_name(new_name, "NewGroupName")
        if new_comments is not None:
            check_comments(new_comments, "NewComments")
        if new_name is not None and new_name.lower() != group.name.lower() and new_name.lower() in self.groups:
            raise conflict("EntityAlreadyExists.Group", f"The group {new_name} already exists.")
        if new_name is not None:
            del self.groups[group.name.lower()]
            group.name = new_name
            self.groups[new_name.lower()] = group
        if new_comments is not None:
            group.comments = new_comments
        group.update_date = now
        return group

    def delete_group(self, name: str) -> Group:
        group = self.get_group(name)
        if group.members:
            raise conflict("DeleteConflict.Group.User",
                           f"The group {group.name} must have no member while it is deleted.")
        if group.attached:
            raise conflict("DeleteConflict.Group.Policy",
                           f"The group {group.name} must hold no policy while it is deleted.")
        del self.groups[group.name.lower()]
        return group

    def add_user_to_group(self, user_name: str, group_name: str, now: str, quotas: Quotas) -> None:
        group = self.get_group(group_name)
        user = self.get_user(user_name)
        if user.name.lower() in group.members:
            raise conflict("EntityAlreadyExists.User.Group",
                           f"The user {user.name} is already a member of the group {group.name}.")
        if len(self.groups_of(user.name)) >= quotas.groups_per_user:
            raise conflict("LimitExceeded.User.Group", f"The user {user.name} cannot join more than "
                                                       f"{quotas.groups_per_user} groups.")
        group.members[user.name.lower()] = now

    def remove_user_from_group(self, user_name: str, group_name: str) -> None:  # ledger: RAM-GROUP-MEMBERSHIP
        group = self.get_group(group_name)
        user = self.get_user(user_name)
        if group.members.pop(user.name.lower(), None) is None:
            raise not_found("EntityNotExist.User.Group",
                            f"The user {user.name} is not a member of the group {group.name}.")

    def members_of(self, group: Group) -> list[tuple[User, str]]:
        """(user, join date) of every member of ``group``."""
        return [(self.users[key], joined) for key, joined in group.members.items()]

    # roles -----------------------------------------------------------------
    def create_role(self, name: str, trust_text: str, now: str, quotas: Quotas, *, description: str = "",
                    max_session_duration: int = DEFAULT_SESSION_DURATION, allow_console_login: bool = False,
                    tags: Sequence[tuple[str, str]] = ()) -> Role:
        check_role_name(name)
        check_description(description)
        check_session_duration(max_session_duration)
        trust = check_trust_policy(trust_text, quotas)
        tag_map = check_tags(tags)
        if len(tag_map) > quotas.tags_per_resource:
            raise conflict("LimitExceeded.Tag", f"A resource can have at most {quotas.tags_per_resource} tags.")
        if name.lower() in self.roles:
            raise conflict("EntityAlreadyExists.Role", "The role does already EXIST.")  # ledger: RAM-ROLE-EXISTS
        _check_room(len(self.roles), "Role", "roles", quotas.roles_per_account)
        role = Role(name, random_digits(18), role_arn(self.account_id, name), description, trust, trust_text,
                    max_session_duration, now, now, tags=tag_map, allow_console_login=allow_console_login)
        self.roles[name.lower()] = role
        self._role_keys.add(name.lower())
        return role

    def update_role(self, name: str, now: str, quotas: Quotas, *, trust_text: str | None = None,
                    description: str | None = None, max_session_duration: int | None = None,
                    allow_console_login: bool | None = None) -> Role:
        role = self.get_role(name)
        new_trust = (check_trust_policy(trust_text, quotas), trust_text) if trust_text is not None else None
        if description is not None:
            check_description(description, "NewDescription")
        if max_session_duration is not None:
            check_session_duration(max_session_duration)
        if new_trust is not None:
            role.trust_policy, role.trust_policy_text = new_trust
        if description is not None:
            role.description = description
        if max_session_duration is not None:
            role.max_session_duration = max_session_duration
        if allow_console_login is not None:
            role.allow_console_login = allow_console_login
        role.update_date = now
        return role

    def delete_role(self, name: str) -> Role:  # ledger: RAM-DELETE-CONFLICT, RAM-RG-DELETE-CONFLICT
        role = self.get_role(name)
        if role.attached:
            raise conflict("DeleteConflict.Role.Policy",
                           "The role CAN NOT has any attached policy while deleting the role.")
        del self.roles[name.lower()]
        self._role_keys.remove(name.lower())
        return role

    # policies --------------------------------------------------------------
    def create_policy(self, name: str, document_text: str, now: str, quotas: Quotas, *, description: str = "",
                      tags: Sequence[tuple[str, str]] = ()) -> CustomPolicy:
        check_policy_name(name)
        check_description(description)
        check_policy_document(document_text)
        tag_map = check_tags(tags)
        if len(tag_map) > quotas.tags_per_resource:
            raise conflict("LimitExceeded.Tag", f"A resource can have at most {quotas.tags_per_resource} tags.")
        if name.lower() in self.policies or system_policy(name) is not None:
            raise conflict("EntityAlreadyExists.Policy", f"The policy {name} already exists.")
        _check_room(len(self.policies), "Policy", "custom policies", quotas.custom_policies_per_account)
        policy = CustomPolicy(name, description, {"v1": (document_text, now)}, "v1", now, tag_map, now)
        self.policies[name.lower()] = policy
        self._policy_keys.add(name.lower())
        return policy

    def attachments_of(self, policy_type: str, name: str) -> list[tuple[Attachable, AttachedPolicy]]:
        """Every (user, group or role, attachment) of the named policy in this account, in attach order."""
        # ledger: RAM-RG-COUNTS
        return list(self._holders.get((policy_type, name.lower()), {}).values())

    def attachment_count(self, policy_type: str, name: str) -> int:
        """How many attachments the named policy has, whatever their scope (``AttachmentCount``)."""
        # ledger: RAM-RG-COUNTS
        return len(self._holders.get((policy_type, name.lower()), ()))

    def delete_policy(self, name: str, cascade: bool = False) -> CustomPolicy:  # ledger: RAM-POLICY-DELETE-CONFLICT
        policy = self.get_custom_policy(name)
        attachments = self.attachments_of("Custom", name)
        if cascade:
            for entity, att in attachments:
                entity.attached.remove(att)
        else:
            if any(isinstance(entity, User) for entity, _ in attachments):
                raise conflict("DeleteConflict.Policy.User",
                               "The policy CAN NOT been attached to any user while deleting the policy.")
            if any(isinstance(entity, Group) for entity, _ in attachments):
                raise conflict("DeleteConflict.Policy.Group",
                               f"The policy {policy.name} must be detached from every group before it is deleted.")
            if attachments:
                raise conflict("DeleteConflict.Policy.Role",
                               "The policy CAN NOT been attached to any role while deleting the policy.")
            if len(policy.versions) > 1:
                raise conflict("DeleteConflict.Policy.Version",
                               "The policy CAN NOT has any version except the default version.")
        self._holders.pop(("Custom", name.lower()), None)
        del self.policies[name.lower()]
        self._policy_keys.remove(name.lower())
        return policy

    def create_policy_version(self, name: str, document_text: str, now: str, quotas: Quotas, *,
                              set_as_default: bool = False, rotate: str = "None") -> str:
        policy = self.get_custom_policy(name)
        if rotate not in ("None", "DeleteOldestNonDefaultVersionWhenLimitExceeded"):
            raise invalid("InvalidParameter.RotateStrategy",
                          "RotateStrategy must be None or DeleteOldestNonDefaultVersionWhenLimitExceeded.")
        check_policy_document(document_text)
        if len(policy.versions) >= quotas.versions_per_policy:  # ledger: RAM-POLICY-VERSIONS
            oldest = next((v for v in policy.versions if v != policy.default_version), None)
            if rotate == "None" or oldest is None:
                raise conflict("LimitExceeded.Policy.Version",
                               f"The policy {policy.name} already has {quotas.versions_per_policy} versions.")
            del policy.versions[oldest]
        version_id = f"v{policy.next_version}"
        policy.next_version += 1
        policy.versions[version_id] = (document_text, now)
        if set_as_default:
            policy.default_version = version_id
        policy.update_date = now
        return version_id

    def get_policy_version(self, policy: CustomPolicy, version_id: str) -> tuple[str, str]:
        if not _VERSION_ID.match(version_id):
            raise invalid("InvalidParameter.VersionId.Format", "The specified version ID is invalid.")
        if version_id not in policy.versions:
            raise not_found("EntityNotExist.Policy.Version", "The policy version does not exist.")
        return policy.versions[version_id]

    def set_default_policy_version(self, name: str, version_id: str, now: str) -> CustomPolicy:
        policy = self.get_custom_policy(name)
        self.get_policy_version(policy, version_id)
        policy.default_version = version_id
        policy.update_date = now
        return policy

    def delete_policy_version(self, name: str, version_id: str) -> None:
        policy = self.get_custom_policy(name)
        self.get_policy_version(policy, version_id)
        if version_id == policy.default_version:
            raise conflict("DeleteConflict.Policy.Version.Default", "You cannot delete the default policy version.")
        del policy.versions[version_id]

    # attachments -----------------------------------------------------------
    def attach(self, entity: Attachable, policy_type: str, policy_name: str, resource_group_id: str | None,
               now: str, quotas: Quotas) -> AttachedPolicy:
        # ledger: RAM-ATTACH-CODES, RAM-POLICIES-PER-ENTITY, RAM-RG-SCOPE
        kind = entity_kind(entity)
        ref = self.resolve_policy(policy_type, policy_name)
        for att in entity.attached:
            if (att.policy_type, att.policy_name.lower(), att.resource_group_id) == (
                    ref.policy_type, ref.name.lower(), resource_group_id):
                raise conflict(f"EntityAlreadyExists.{kind}.Policy",
                               f"The {kind.lower()} has already been attached this policy.")
        limit = quotas.system_policies_per_entity if ref.policy_type == "System" else quotas.custom_policies_per_entity
        if sum(1 for att in entity.attached if att.policy_type == ref.policy_type) >= limit:
            raise conflict(f"LimitExceeded.{kind}.Policy",
                           f"The {ref.policy_type.lower()} policy count of the {kind.lower()} beyond the current "
                           f"limit ({limit}).")
        attachment = AttachedPolicy(ref.policy_type, ref.name, resource_group_id, now)
        entity.attached.append(attachment)
        self._holders.setdefault((ref.policy_type, ref.name.lower()), {})[id(attachment)] = (entity, attachment)
        return attachment

    def detach(self, entity: Attachable, policy_type: str, policy_name: str, resource_group_id: str | None) -> None:
        # ledger: RAM-ATTACH-CODES, RAM-RG-DETACH-SCOPE
        kind = entity_kind(entity)
        check_policy_type(policy_type)
        for att in entity.attached:
            if (att.policy_type, att.policy_name.lower(), att.resource_group_id) == (
                    policy_type, policy_name.lower(), resource_group_id):
                entity.attached.remove(att)
                holders = self._holders[(att.policy_type, att.policy_name.lower())]
                del holders[id(att)]
                if not holders:
                    del self._holders[(att.policy_type, att.policy_name.lower())]
                return
        raise not_found(f"EntityNotExist.{kind}.Policy", f"The policy {policy_name} is not attached to the "
                                                         f"{kind.lower()} {entity.name}.")

    # tags ------------------------------------------------------------------
    def taggable(self, resource_type: str, name: str) -> Role | CustomPolicy:  # ledger: RAM-TAG-RESOURCES-PER-CALL
        if resource_type == "role":
            return self.get_role(name)
        if resource_type == "policy":
            return self.get_custom_policy(name)
        raise invalid("InvalidParameter.ResourceType", "ResourceType must be role or policy.")

    def tag(self, targets: Sequence[Role | CustomPolicy], tags: dict[str, str], quotas: Quotas) -> None:
        """Add or overwrite tags on every target, all or nothing."""
        # ledger: RAM-TAG-LIMIT
        for target in targets:
            if len({**target.tags, **tags}) > quotas.tags_per_resource:
                raise conflict("LimitExceeded.Tag",
                               f"A resource can have at most {quotas.tags_per_resource} tags; {target.name} would "
                               f"have {len({**target.tags, **tags})}.")
        for target in targets:
            target.tags.update(tags)

    @staticmethod
    def untag(targets: Sequence[Role | CustomPolicy], keys: Sequence[str] | None) -> None:
        """Remove the given keys (absent keys are ignored), or every tag when ``keys`` is None."""
        for target in targets:
            if keys is None:
                target.tags.clear()
            else:
                for key in keys:
                    target.tags.pop(key, None)


def ram_state(account: "Account") -> RamState:
    return account.state("ram", RamState)


def policy_document(account: "Account", policy_type: str, name: str) -> dict[str, Any] | None:
    """The document a policy grants: a system policy's, or a custom policy's default version."""
    if policy_type == "System":
        system = system_policy(name)
        return system.document if system else None
    if policy_type == "Custom":
        custom = ram_state(account).find_policy(name)
        return custom.document() if custom else None
    return None
