#!/usr/bin/env bash
# The RAM roles Rolegate's functions run as, with their least-privilege policies.
#
# For each function <fn> (default: every deploy/policies/<fn>.json):
#   role   fc-rolegate-<fn>   trusted by fc.aliyuncs.com only (s.yaml: role: acs:ram::<account>:role/fc-rolegate-<fn>)
#   policy fc-rolegate-<fn>   custom policy whose document is deploy/policies/<fn>.json, attached to that role only
#
#   deploy/roles.sh [fn ...]                 in the account the functions are deployed to
#   deploy/roles.sh --hub                    in a hub (ROLEGATE_MEMBERS), after the functions' roles: policy
#                                            fc-rolegate-hub (deploy/hub-policy.json: AssumeRole of RolegateManager,
#                                            the Resource Directory's ListAccounts) attached to the onboard, revoke
#                                            and remediate roles
#   deploy/roles.sh --manager HUB_ACCOUNT    in a member the hub acts in, when `rolegate members enroll` cannot
#                                            reach it: role RolegateManager, trusted by the hub's onboard, revoke
#                                            and remediate roles only, holding policy RolegateManager
#                                            (deploy/manager-policy.json)
#
# Uses the aliyun CLI as configured (`aliyun configure`), with rights to manage RAM roles and
# policies (e.g. AliyunRAMFullAccess). Safe to run again: an existing role gets its trust policy
# set again, an existing policy gets the file as a new default version when the document changed
# (the oldest non-default version is rotated out at RAM's limit of five), an attachment that is
# already there is kept. The names stay outside "rolegate-", the prefix of grants' roles and
# policies, which the functions' own policies may create, change and delete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="fc-rolegate-"
fc_trust='{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["fc.aliyuncs.com"]}}]}'

say() { printf '%s\n' "$*" >&2; }

# One RAM call through the aliyun CLI: its answer on stdout; on failure the CLI's error text (with the
# error code the callers look for) on stdout instead, and status 1.
ram() {
    local err status=0
    err="$(mktemp)"
    aliyun ram "$@" 2>"$err" || status=$?
    if [[ $status -ne 0 ]]; then cat "$err"; fi
    rm -f "$err"
    return $status
}

# Same JSON document? (key order and whitespace do not count)
same_document() {
    python3 - "$1" "$2" <<'PY'
import json, sys
current = json.loads(sys.argv[1])
wanted = json.loads(open(sys.argv[2]).read())
sys.exit(0 if current == wanted else 1)
PY
}

ensure_role() {  # name trust description
    local name="$1" trust="$2" description="$3" out
    if out="$(ram GetRole --RoleName "$name")"; then
        ram UpdateRole --RoleName "$name" --NewAssumeRolePolicyDocument "$trust" >/dev/null
        say "role $name: trust policy set"
    elif grep -q 'EntityNotExist.Role' <<<"$out"; then
        ram CreateRole --RoleName "$name" --AssumeRolePolicyDocument "$trust" --Description "$description" >/dev/null
        say "role $name: created"
    else
        say "$out"; return 1
    fi
}

ensure_policy() {  # name file description
    local name="$1" file="$2" description="$3" out current
    if out="$(ram GetPolicy --PolicyType Custom --PolicyName "$name")"; then
        current="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["DefaultPolicyVersion"]["PolicyDocument"])' <<<"$out")"
        if same_document "$current" "$file"; then
            say "policy $name: unchanged"
        else
            ram CreatePolicyVersion --PolicyName "$name" --PolicyDocument "$(cat "$file")" --SetAsDefault true \
                --RotateStrategy DeleteOldestNonDefaultVersionWhenLimitExceeded >/dev/null
            say "policy $name: new default version from $file"
        fi
    elif grep -q 'EntityNotExist.Policy' <<<"$out"; then
        ram CreatePolicy --PolicyName "$name" --PolicyDocument "$(cat "$file")" --Description "$description" >/dev/null
        say "policy $name: created from $file"
    else
        say "$out"; return 1
    fi
}

ensure_attached() {  # role policy
    local out
    if out="$(ram AttachPolicyToRole --PolicyType Custom --PolicyName "$2" --RoleName "$1")"; then
        say "policy $2 attached to role $1"
    elif grep -q 'EntityAlreadyExists' <<<"$out"; then
        say "policy $2 already attached to role $1"
    else
        say "$out"; return 1
    fi
}

setup_function() {  # fn
    local fn="$1" file="$here/policies/$1.json"
    [[ -f "$file" ]] || { say "no policy file $file"; return 1; }
    ensure_role "$prefix$fn" "$fc_trust" "Rolegate $fn function (Function Compute)"
    ensure_policy "$prefix$fn" "$file" "Least privilege of the Rolegate $fn function"
    ensure_attached "$prefix$fn" "$prefix$fn"
}

setup_manager() {  # hub account id
    local hub="$1"
    [[ "$hub" =~ ^[0-9]{16}$ ]] || { say "--manager needs the hub's 16-digit account id"; return 1; }
    local p="acs:ram::$hub:role/$prefix"
    local trust="{\"Version\":\"1\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Principal\":{\"RAM\":[\"${p}onboard\",\"${p}remediate\",\"${p}revoke\"]}}]}"
    ensure_role "RolegateManager" "$trust" "Rolegate's functions of hub account $hub"
    ensure_policy "RolegateManager" "$here/manager-policy.json" "Rolegate's hub functions in this member account"
    ensure_attached "RolegateManager" "RolegateManager"
}

setup_hub() {
    ensure_policy "${prefix}hub" "$here/hub-policy.json" "Rolegate's functions reaching the member accounts"
    for fn in onboard revoke remediate; do ensure_attached "$prefix$fn" "${prefix}hub"; done
}

main() {
    case "${1:-}" in
        --manager) setup_manager "${2:-}"; return ;;
        --hub) setup_hub; return ;;
    esac
    local fns=("$@")
    if [[ ${#fns[@]} -eq 0 ]]; then
        for file in "$here"/policies/*.json; do fns+=("$(basename "$file" .json)"); done
    fi
    for fn in "${fns[@]}"; do setup_function "$fn"; done
}

main "$@"
