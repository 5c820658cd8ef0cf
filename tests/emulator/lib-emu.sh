# SPDX-License-Identifier: Apache-2.0
# Helpers for the DPS emulator tests (sourced by tests/emulator/*.sh):
# start/stop/reload the emulator on a free loopback port, make software
# device keys and certificates, call the three DPS routes with curl, and
# read JSON with python3.

# shellcheck disable=SC2034  # variables for the scripts that source this
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
EMU_BIN=${DEVID_DPS_EMULATOR:-$top_builddir/devid-dps-emulator}
DEVID_DPS_EMULATOR=$EMU_BIN
export DEVID_DPS_EMULATOR
SCOPE=0ne00000001
GA=2021-06-01
CSRV=2025-07-01-preview
LEGACY=2021-11-01-preview
EMU_PID=""
FAILS=0

# tests/run-sh stops a test that runs past its time limit with TERM: exit,
# so that the test's EXIT trap (emu_cleanup) still stops the emulator.
trap 'echo "stopped by a signal" >&2; exit 143' TERM INT HUP

T=$(mktemp -d "${TMPDIR:-/tmp}/devid-emu.XXXXXX")
STATE=$T/state

emu_cleanup() {
    if [ -n "$EMU_PID" ]; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    if [ -f "$STATE/hub.pid" ]; then
        kill "$(cat "$STATE/hub.pid")" 2>/dev/null || true
    fi
    rm -rf "$T"
}

say() { echo "== $*"; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
die() { echo "FATAL: $*"; [ -f "$T/emu.log" ] && tail -20 "$T/emu.log"; exit 1; }

# check DESCRIPTION COMMAND...: run a command, report ok/FAIL
check() {
    desc=$1; shift
    if "$@"; then ok "$desc"; else fail "$desc"; fi
}

# finish: exit non-zero when anything failed
finish() {
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) failed"
        [ -f "$T/emu.log" ] && tail -30 "$T/emu.log"
        exit 1
    fi
    echo "all checks passed"
}

# emu_start [CONFIG]: start the emulator, wait for STATE/dps.port (10 s);
# with EMU_MQTT=1 it serves MQTT too, on MQTT_PORT
emu_start() {
    rm -f "$STATE/dps.port"
    set -- "${1:-}" --state "$STATE" --verbose
    [ -z "$1" ] || set -- "$@" --config "$1"
    [ -z "${EMU_MQTT:-}" ] || set -- "$@" --mqtt-port 0
    shift
    "$EMU_BIN" "$@" >> "$T/emu.log" 2>&1 &
    EMU_PID=$!
    i=0
    while [ ! -s "$STATE/dps.port" ]; do
        kill -0 "$EMU_PID" 2>/dev/null || die "the emulator exited at start"
        [ $i -lt 200 ] || die "the emulator did not start"
        sleep 0.05; i=$((i + 1))
    done
    PORT=$(cat "$STATE/dps.port")
    BASE="https://127.0.0.1:$PORT/$SCOPE/registrations"
    MQTT_PORT=$(cat "$STATE/dps-mqtt.port" 2>/dev/null || true)
}

# emu_stop: SIGTERM; the exit status must be 0 (sanitizer reports fail it)
emu_stop() {
    kill "$EMU_PID"
    rc=0
    wait "$EMU_PID" || rc=$?
    EMU_PID=""
    [ "$rc" -eq 0 ] || { tail -40 "$T/emu.log"; fail "the emulator exited with $rc"; return 1; }
    ok "the emulator stopped cleanly"
}

# emu_reload CONFIG: install CONFIG as the running config and SIGHUP
emu_reload() {
    cp "$1" "$T/config.json"
    gen=$(cat "$STATE/dps.generation")
    kill -HUP "$EMU_PID"
    i=0
    while [ "$(cat "$STATE/dps.generation")" = "$gen" ]; do
        [ $i -lt 200 ] || die "the emulator did not reload"
        sleep 0.05; i=$((i + 1))
    done
}

# devkey NAME [CURVE]: software key $T/NAME.key
devkey() {
    openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:${2:-P-256}" \
        -out "$T/$1.key" 2>/dev/null
}

# csr_b64 NAME CN: base64 DER CSR for $T/NAME.key (no line breaks)
csr_b64() {
    openssl req -new -key "$T/$1.key" -subj "/CN=$2" -outform DER | openssl base64 -A
}

# onboard NAME CN: key + factory-issued chain $T/NAME.pem (leaf + factory CA)
onboard() {
    devkey "$1"
    openssl req -new -key "$T/$1.key" -subj "/CN=$2" -out "$T/$1.csr"
    "$EMU_BIN" issue-onboarding --state "$STATE" --csr "$T/$1.csr" \
        --out "$T/$1.pem" >/dev/null
}

# selfsigned NAME CN: key + self-signed certificate $T/NAME.pem
selfsigned() {
    devkey "$1"
    openssl req -new -x509 -key "$T/$1.key" -subj "/CN=$2" -days 2 \
        -out "$T/$1.pem" 2>/dev/null
}

# dps METHOD PATH_AFTER_REGISTRATIONS CERTNAME [BODY] [CONTENT-TYPE]:
# prints the status code; headers in $T/h, body in $T/b
ROOT_CA=""
dps() {
    set -- "$1" "$2" "$3" "${4-}" "${5-application/json}"
    cacert=${ROOT_CA:-$STATE/server-a/root.pem}
    if [ "$3" = none ]; then
        set -- "$@" ""
        certopts=""
    else
        certopts="--cert $T/$3.pem --key $T/$3.key"
    fi
    if [ "$1" = GET ]; then
        # shellcheck disable=SC2086
        curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --cacert "$cacert" \
            $certopts "$BASE/$2" || echo "curl-$?"
    else
        printf '%s' "$4" > "$T/req"
        # shellcheck disable=SC2086
        curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --cacert "$cacert" \
            $certopts -X "$1" -H "Content-Type: $5" --data-binary "@$T/req" \
            "$BASE/$2" || echo "curl-$?"
    fi
}

# j EXPR [FILE]: evaluate a python expression over d = the JSON in FILE ($T/b)
j() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[2])); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list)) else v)' \
        "$1" "${2:-$T/b}"
}

# header NAME: value of a response header in $T/h
header() {
    tr -d '\r' < "$T/h" | awk -v n="$1" 'BEGIN{IGNORECASE=1} tolower($0) ~ "^"tolower(n)":" {sub(/^[^:]*: */, ""); print; exit}'
}

# eq A B: string equality, printing both on mismatch
eq() {
    if [ "$1" = "$2" ]; then return 0; fi
    echo "   expected [$2], got [$1]"
    return 1
}

# register NAME REGID APIVERSION BODY: PUT then poll to the end; final body in
# $T/b, status of the last answer printed
register() {
    code=$(dps PUT "$2/register?api-version=$3" "$1" "$4")
    [ "$code" = 202 ] || { echo "$code"; return 0; }
    op=$(j 'd["operationId"]')
    i=0
    while [ $i -lt 20 ]; do
        code=$(dps GET "$2/operations/$op?api-version=$3" "$1")
        if [ "$code" = 429 ]; then
            sleep "$(header Retry-After)"   # the poll limit: honour it
        elif [ "$code" != 202 ]; then
            break
        fi
        i=$((i + 1))
    done
    echo "$code"
}

# error_is STATUS CODE: last answer is STATUS with errorCode CODE, a body
# with trackingId/message/timestampUtc and the x-ms-error-code header
error_is() {
    got=$1 want=$2 code=$3
    eq "$got" "$want" && eq "$(j 'd["errorCode"]')" "$code" \
        && eq "$(header x-ms-error-code)" "$code" \
        && j 'd["trackingId"] and d["message"] and d["timestampUtc"]' >/dev/null
}
