# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2154  # top_builddir comes from tests/lib.sh and make
# Helpers for the `devid register` tests (sourced after tests/lib.sh): a
# SoftHSM2 token with the onboarding key and an operational key made by
# `devid keygen`, their CSRs made by `devid csr`, the onboarding certificate
# issued by the DPS emulator's factory CA, and the emulator itself on a free
# loopback port with its config reloaded per case (SIGHUP).
# shellcheck shell=sh

DEVID=$top_builddir/devid
EMU_BIN=${DEVID_DPS_EMULATOR:-$top_builddir/devid-dps-emulator}
SCOPE=0ne00000001
EMU_PID=""

reg_cleanup() {
    if [ -n "$EMU_PID" ]; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
    fi
    [ -z "${TESTDIR:-}" ] || rm -rf "$TESTDIR"
}

# reg_setup: token "dev" with keys "onboarding" (P-256) and "op" (P-384),
# onb.csr and op.csr for CN dev-01, the config file $T/devid.conf, and the
# emulator's PKI in $STATE. Sets T and STATE.
reg_setup() {
    devid_tmpdir
    T=$TESTDIR
    STATE=$T/state
    devid_mktoken "$T" dev
    printf '%s' "$DEVID_USER_PIN" > "$T/pin"
    chmod 600 "$T/pin"   # devid refuses PIN files others can read
    printf 'pkcs11-module-path = %s\npin-source = file:%s\n' \
        "$SOFTHSM_MODULE" "$T/pin" > "$T/devid.conf"
    "$DEVID" --config "$T/devid.conf" keygen --type ec-p256 \
        --out "$T/onb.ref" "pkcs11:token=dev;object=onboarding" >/dev/null 2>&1 \
        || fail "devid keygen (onboarding)"
    "$DEVID" --config "$T/devid.conf" keygen --type ec-p384 \
        --out "$T/op.ref" "pkcs11:token=dev;object=op" >/dev/null 2>&1 \
        || fail "devid keygen (operational)"
    "$DEVID" --config "$T/devid.conf" csr --key "$T/onb.ref" --cn dev-01 \
        --out "$T/onb.csr" >/dev/null || fail "devid csr (onboarding)"
    "$DEVID" --config "$T/devid.conf" csr --key "$T/op.ref" --cn dev-01 \
        --out "$T/op.csr" >/dev/null || fail "devid csr (operational)"
    "$EMU_BIN" init --state "$STATE" 2>/dev/null || fail "emulator init"
    "$EMU_BIN" issue-onboarding --state "$STATE" --csr "$T/onb.csr" \
        --out "$T/onb.pem" >/dev/null || fail "issue-onboarding"
}

# emu_conf FILE ASSIGNING_POLLS FAULTS [GROUP_EXTRA] [TOP_EXTRA]: an emulator
# config with the factory group (GROUP_EXTRA: more members of it)
emu_conf() {
    cat > "$1" <<JSON
{
  "id_scope": "$SCOPE",
  "assigning_polls": $2,
  "retry_after": 1,
  ${5:-}
  "enrollment_groups": [{"id": "factory", "ca": "factory" ${4:-}}],
  "faults": {"poll_limit": 0 ${3:+, $3}}
}
JSON
}

# emu_start: the emulator with $T/config.json, logging every answer to
# $T/emu.log; waits (10 s at most) for its port. Sets PORT, and with
# REG_MQTT=1 serves DPS over MQTT too, on MQTT_PORT.
emu_start() {
    rm -f "$STATE/dps.port"
    "$EMU_BIN" serve --state "$STATE" --config "$T/config.json" --verbose \
        ${REG_MQTT:+--mqtt-port 0} >> "$T/emu.log" 2>&1 &
    EMU_PID=$!
    _i=0
    while [ ! -s "$STATE/dps.port" ]; do
        kill -0 "$EMU_PID" 2>/dev/null || fail "the emulator exited at start"
        [ "$_i" -lt 200 ] || fail "the emulator did not start"
        sleep 0.05
        _i=$((_i + 1))
    done
    PORT=$(cat "$STATE/dps.port")
    # shellcheck disable=SC2034  # for the tests that source this file
    MQTT_PORT=$(cat "$STATE/dps-mqtt.port" 2>/dev/null || true)
}

# emu_use FILE: make FILE the running config (SIGHUP, 10 s at most)
emu_use() {
    cp "$1" "$T/config.json"
    _gen=$(cat "$STATE/dps.generation")
    kill -HUP "$EMU_PID"
    _i=0
    while [ "$(cat "$STATE/dps.generation")" = "$_gen" ]; do
        [ "$_i" -lt 200 ] || fail "the emulator did not reload"
        sleep 0.05
        _i=$((_i + 1))
    done
}

# emu_stop: SIGTERM; a non-zero exit (sanitizer report) fails the test
emu_stop() {
    kill "$EMU_PID"
    _rc=0
    wait "$EMU_PID" || _rc=$?
    EMU_PID=""
    [ "$_rc" -eq 0 ] || { tail -20 "$T/emu.log"; fail "emulator exit $_rc"; }
}

# reg ARGS...: devid register against the emulator with the onboarding
# identity; stdout in $T/out, stderr in $T/err, exit code in RC
reg() {
    RC=0
    "$DEVID" --config "$T/devid.conf" register --id-scope "$SCOPE" \
        --registration-id dev-01 --auth-key "$T/onb.ref" \
        --auth-cert "$T/onb.pem" --endpoint "127.0.0.1:$PORT" \
        --trust "$STATE/server-a/root.pem" --timeout 20 "$@" \
        > "$T/out" 2> "$T/err" || RC=$?
}

# expect_rc WANT DESCRIPTION: the last reg exited WANT
expect_rc() {
    if [ "$RC" -ne "$1" ]; then
        echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
        fail "$2: exit $RC, expected $1"
    fi
}

# has FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string)
has() {
    grep -qF -- "$2" "$1" || { echo "--- $1"; cat "$1"; fail "$3"; }
}

# hasnt FILE TEXT DESCRIPTION: FILE does not contain TEXT
hasnt() {
    if grep -qF -- "$2" "$1"; then echo "--- $1"; cat "$1"; fail "$3"; fi
}

# split_chain FILE PREFIX: PREFIX0.pem (leaf), PREFIX1.pem, ...; prints count
split_chain() {
    awk -v p="$2" '/-----BEGIN CERTIFICATE-----/ {f = p n++ ".pem"}
        f != "" {print > f} /-----END CERTIFICATE-----/ {f = ""}
        END {print n + 0}' "$1"
}

# pubkey_of_cert FILE / pubkey_of_csr FILE: the public key, PEM
pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey; }
pubkey_of_csr() { openssl req -in "$1" -noout -pubkey; }
