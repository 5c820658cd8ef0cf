#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Issue 14, item 2: text from a DPS server is checked and escaped. A hostile
# DPS (tests/cli/hostile-dps.py) sends an assignedHub that forges a line or
# is no DNS name, a deviceId outside IoT Hub's alphabet, and control
# characters in other strings: provision exits 4 naming the field and
# nothing changes. A state file written by an older devid from such an
# answer is printed escaped by status (text and --json) and print-config,
# whose output stays one command line that a shell runs as it reads.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
. "$top_srcdir/tests/cli/lib-hostile.sh"
trap reg_cleanup EXIT

hostile_setup
ESC=$(printf '\033')

hostile_mode '{}'
dev provision
expect_rc 0 "provision with a good answer"
first=$(readlink "$T/dev/current")

# bad STATE_JSON FIELD DESCRIPTION: provision --force with the fake DPS
# answering STATE_JSON in registrationState exits 4 naming FIELD
bad() {
    hostile_mode "{\"state\": $1}"
    dev provision --force
    expect_rc 4 "$3"
    has "$T/err" "$2" "$3: the field is not named"
    hasnt "$T/err" "$ESC" "$3: ESC on stderr"
    if grep -q '^assigned_hub: evil' "$T/out" "$T/err" \
        || grep -q '^devid: provisioned OK' "$T/out" "$T/err"; then
        fail "$3: a forged line"
    fi
    [ "$(readlink "$T/dev/current")" = "$first" ] || fail "$3: current switched"
    ok "$3: exit 4 naming $2"
}

bad '{"assignedHub": "hub.example\n assigned_hub: evil.example.net"}' \
    "registrationState.assignedHub is not a DNS host name" \
    "an assignedHub that forges a line"
bad '{"assignedHub": "evil.example.net;touch${IFS}pwned"}' \
    "registrationState.assignedHub is not a DNS host name" \
    "an assignedHub with shell syntax"
bad '{"assignedHub": "-oProxyCommand.example"}' \
    "registrationState.assignedHub is not a DNS host name" \
    "an assignedHub that looks like an option"
bad '{"assignedHub": "a..example"}' \
    "registrationState.assignedHub is not a DNS host name" \
    "an assignedHub with an empty label"
bad '{"deviceId": "dev 01"}' "registrationState.deviceId is not an IoT Hub device ID" \
    "a deviceId with a space"
bad '{"deviceId": "dev\u001b[2J"}' \
    "registrationState.deviceId is not an IoT Hub device ID" \
    "a deviceId with an ESC sequence"
bad '{"errorMessage": "x\ndevid: provisioned OK"}' \
    "registrationState.errorMessage holds control characters" \
    "an errorMessage that forges a line"
bad '{"substatus": "initial\u001b]0;owned\u0007"}' \
    "registrationState.substatus holds control characters" \
    "a substatus with an OSC sequence"
hostile_mode '{"status": "assigned\u001b[31m"}'
dev provision --force
expect_rc 4 "a status with ESC"
has "$T/err" "status holds control characters" "status: field not named"
hasnt "$T/err" "$ESC" "status: ESC on stderr"
ok "a status with an ESC sequence: exit 4 naming status"
[ ! -e "$T/pwned" ] && [ ! -e pwned ] || fail "something ran a command"

# a refusal (HTTP 401) quotes DPS's message and trackingId: only clean ones
hostile_mode '{"http": 401, "body": {"errorCode": 401002, "trackingId": "t-1", "message": "Unauthorized\ndevid: provisioned OK"}}'
dev provision --force
expect_rc 4 "a refusal whose message forges a line"
has "$T/err" "malformed DPS answer: message holds control characters" "refusal message: field"
grep -q '^devid: provisioned OK' "$T/err" && fail "refusal: a forged line"
hostile_mode '{"http": 401, "body": {"errorCode": 401002, "trackingId": "t-1\u001b[2J", "message": "Unauthorized"}}'
dev provision --force
expect_rc 4 "a refusal with ESC in trackingId"
has "$T/err" "malformed DPS answer: trackingId holds control characters" "refusal trackingId: field"
hasnt "$T/err" "$ESC" "refusal trackingId: ESC on stderr"
hostile_mode '{"http": 401, "body": {"errorCode": 401002, "trackingId": "t-1", "message": "Unauthorized"}}'
dev provision --force
expect_rc 5 "a clean refusal"
has "$T/err" "401002 Unauthorized" "clean refusal: message"
ok "a 401 whose message or trackingId holds control characters: exit 4 naming it; a clean one: exit 5"

# a state file as an older devid wrote it from a hostile answer
python3 - "$T/dev/current/state.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["assigned_hub"] = "hub.example\n assigned_hub: evil.example.net\u001b[2J"
s["device_id"] = "dev-01'$(touch pwned)'\u009b31m"
json.dump(s, open(p, "w"))
PY
dev status
grep -q '^ *assigned_hub: evil' "$T/out" && fail "status: a forged line"
hasnt "$T/out" "$ESC" "status: ESC on stdout"
LC_ALL=C grep -q "$(printf '\302\233')" "$T/out" && fail "status: a C1 control on stdout"
has "$T/out" 'assigned_hub: hub.example\x0a assigned_hub: evil.example.net\x1b[2J' \
    "status: the escaped hub"
ok "status: server strings escaped (newline, ESC, C1)"
dev --json status
hasnt "$T/out" "$ESC" "status --json: ESC on stdout"
python3 - "$T/out" <<'PY' || fail "status --json: the values"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["assigned_hub"] == "hub.example\n assigned_hub: evil.example.net\u001b[2J", r
assert r["device_id"] == "dev-01'$(touch pwned)'\u009b31m", r
PY
ok "status --json: the same strings, JSON-escaped"
dev print-config mosquitto
expect_rc 6 "print-config with a hub holding control characters"
has "$T/err" "assigned_hub holds control characters" "print-config: field"
hasnt "$T/out" "evil" "print-config printed a hostile hub"
ok "print-config refuses a state value no quoting keeps on one line (exit 6)"

# shell syntax alone is quoted: the line runs as printed, and runs nothing
python3 - "$T/dev/current/state.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["assigned_hub"] = "hub.example"
s["device_id"] = "dev-01'$(touch pwned)';touch pwned2 #"
json.dump(s, open(p, "w"))
PY
dev print-config mosquitto
expect_rc 0 "print-config mosquitto"
[ "$(wc -l < "$T/out")" = 2 ] || { cat "$T/out"; fail "print-config: not 2 lines"; }
cd "$T"
line=$(head -1 "$T/out")
eval "set -- $line"
[ "$#" = 16 ] || fail "print-config: $# words, expected 16"
[ "${12}" = "dev-01'\$(touch pwned)';touch pwned2 #" ] || fail "print-config: -i ${12}"
[ "${14}" = "hub.example/dev-01'\$(touch pwned)';touch pwned2 #/?api-version=2021-04-12" ] \
    || fail "print-config: -u ${14}"
[ ! -e pwned ] && [ ! -e pwned2 ] || fail "print-config: the line ran a command"
ok "print-config mosquitto: one line of 16 shell words, quoted, runs nothing"
