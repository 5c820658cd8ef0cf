#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Provisioning through the DPS emulator, as a factory line does it: for each
# device, its own SoftHSM token and a factory onboarding certificate (made
# first, not timed), then `devid provision` timed step by step (keygen, CSR,
# registration, install). The emulator answers without Retry-After
# (retry_after 0, no assigning polls), so registration is the protocol and
# the crypto, not DPS's pacing. Sourced by run.sh after bench/lib.sh:
#   bench_provision DIR COUNT   prints one JSON line per device and one for
#                               the batch
# shellcheck shell=sh
# shellcheck disable=SC2153  # BENCH_* are set by run.sh

bench_provision() {
    _pdir=$1/provision-$2
    mkdir -p "$_pdir"
    printf '{"assigning_polls": 0, "retry_after": 0, "enrollment_groups": [{"id": "factory", "ca": "factory"}]}\n' \
        > "$_pdir/emu.json"
    DEVID_DPS_EMULATOR=$BENCH_BUILD/devid-dps-emulator
    export DEVID_DPS_EMULATOR
    bench_pin "$BENCH_TOP/emulator/devid-emulators" start --state "$_pdir/emu" \
        --config "$_pdir/emu.json" > "$_pdir/emu.out" 2>&1 \
        || bench_die "emulators do not start: $(cat "$_pdir/emu.out")"
    BENCH_EMU=$_pdir/emu
    # shellcheck disable=SC1091
    . "$_pdir/emu/env"
    # the CLI refuses a PIN file others can read
    (umask 077 && printf '%s' "$BENCH_PIN" > "$_pdir/pin")
    _i=1
    while [ "$_i" -le "$2" ]; do
        (bench_provision_device "$_pdir" "$(printf 'bench-%03d' "$_i")") \
            || exit 1
        _i=$((_i + 1))
    done
    _t0=$(date +%s.%N)
    _i=1
    while [ "$_i" -le "$2" ]; do
        _id=$(printf 'bench-%03d' "$_i")
        SOFTHSM2_CONF=$_pdir/$_id/softhsm2.conf \
            python3 "$BENCH_TOP/bench/proc.py" --one "$_pdir/$_id.json" \
            taskset -c "$BENCH_CPU" "$BENCH_DEVID" --config "$_pdir/$_id.conf" \
            --json provision > "$_pdir/$_id.out" 2> "$_pdir/$_id.err" \
            || bench_die "$_id: provision: $(cat "$_pdir/$_id.err")"
        python3 - "$_pdir/$_id.out" "$_pdir/$_id.json" "$2" "$_id" \
            "$_pdir/$_id.err" <<'EOF'
import json, re, sys
out = json.load(open(sys.argv[1]))
wall = json.load(open(sys.argv[2]))
# the waits the CLI makes between polls (DPS's Retry-After, at least 1 s as
# Azure's SDKs do), from its progress lines
waits = sum(int(m) for m in re.findall(r"next poll in (\d+) s",
                                         open(sys.argv[5]).read()))
print(json.dumps({"driver": "provision", "count": int(sys.argv[3]),
                  "device": sys.argv[4], "timings_ms": out["timings_ms"],
                  "poll_wait_ms": waits * 1000, "wall_ms": wall["wall_ms"]}))
EOF
        _i=$((_i + 1))
    done
    _t1=$(date +%s.%N)
    printf '{"driver": "provision-batch", "count": %d, "wall_s": %s}\n' "$2" \
        "$(awk "BEGIN {print $_t1 - $_t0}")"
    "$BENCH_TOP/emulator/devid-emulators" stop --state "$BENCH_EMU" >/dev/null 2>&1 || :
    BENCH_EMU=
}

# bench_provision_device DIR ID: the device's token, its settings and its
# factory onboarding certificate (run in a subshell: it sets SOFTHSM2_CONF)
bench_provision_device() {
    mkdir -p "$1/$2/tokens"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$1/$2" > "$1/$2/softhsm2.conf"
    SOFTHSM2_CONF=$1/$2/softhsm2.conf softhsm2-util --init-token --free \
        --label dev --so-pin "$BENCH_SO_PIN" --pin "$BENCH_PIN" >/dev/null \
        || bench_die "$2: token"
    cat > "$1/$2.conf" <<CONF
state-dir = $1/$2/state
registration-id = $2
key = pkcs11:token=dev;object=device
key-type = ec-p256
id-scope = $ID_SCOPE
dps-endpoint = $DPS_ENDPOINT
dps-trust = $DPS_ROOT
onboarding-key = pkcs11:token=dev;object=onboarding
onboarding-cert = $1/$2-onb.pem
pin-source = file:$1/pin
pkcs11-module-path = $SOFTHSM_MODULE
CONF
    SOFTHSM2_CONF=$1/$2/softhsm2.conf
    export SOFTHSM2_CONF
    "$BENCH_DEVID" --config "$1/$2.conf" keygen --type ec-p256 \
        "pkcs11:token=dev;object=onboarding" >/dev/null 2>"$1/$2.err" \
        || bench_die "$2: onboarding key: $(cat "$1/$2.err")"
    "$BENCH_DEVID" --config "$1/$2.conf" csr --key \
        "pkcs11:token=dev;object=onboarding" --cn "$2" --out "$1/$2-onb.csr" \
        2>"$1/$2.err" || bench_die "$2: onboarding CSR: $(cat "$1/$2.err")"
    "$BENCH_BUILD/devid-dps-emulator" issue-onboarding --state \
        "$BENCH_EMU" --csr "$1/$2-onb.csr" --out "$1/$2-onb.pem" >/dev/null \
        2>"$1/$2.err" || bench_die "$2: onboarding certificate: $(cat "$1/$2.err")"
}
