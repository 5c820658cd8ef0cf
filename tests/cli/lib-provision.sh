# SPDX-License-Identifier: Apache-2.0
# Helpers for provisioning tests: the DPS emulator and hub stand-in started
# together in the test's directory, and a device (token or TPM) with a
# factory onboarding certificate. Sourced after tests/lib.sh.
# shellcheck shell=sh

DEVID=$top_builddir/devid
DEVID_DPS_EMULATOR=${DEVID_DPS_EMULATOR:-$top_builddir/devid-dps-emulator}
export DEVID_DPS_EMULATOR
# the waits between DPS tries (a poll's Retry-After, backoff) last a
# twentieth of what devid decides in a test-hooks build: these tests are
# about what provisioning and renewal leave behind, not about the waiting,
# which tests/cli/register*.sh and tests/emulator/ check at full length.
# The deadline checks and the messages still use the full waits.
DEVID_TEST_WAIT_DIVISOR=${DEVID_TEST_WAIT_DIVISOR:-20}
export DEVID_TEST_WAIT_DIVISOR

# prov_need_test_hooks: for tests that drive devid through its DEVID_TEST_*
# hooks, which only a build configured with --enable-test-hooks has. Without
# them such a test fails here, loudly, instead of passing untested.
prov_need_test_hooks() {
    grep -q '^#define DEVID_TEST_HOOKS 1' "$top_builddir/config.h" \
        || fail "this test needs the DEVID_TEST_* hooks: configure with --enable-test-hooks (scripts/test.sh does)"
}

# prov_emulators DIR [CONFIG]: starts DPS and the hub; sources DIR/emu/env
prov_emulators() {
    if [ -n "${2:-}" ]; then
        "$top_srcdir/emulator/devid-emulators" start --state "$1/emu" \
            --config "$2" > "$1/emu.out" 2>&1 || { cat "$1/emu.out"; fail "emulators do not start"; }
    else
        "$top_srcdir/emulator/devid-emulators" start --state "$1/emu" \
            > "$1/emu.out" 2>&1 || { cat "$1/emu.out"; fail "emulators do not start"; }
    fi
    PROV_EMU=$1/emu
    # shellcheck disable=SC1091
    . "$1/emu/env"
}

prov_emulators_stop() {
    if [ -n "${PROV_EMU:-}" ]; then
        "$top_srcdir/emulator/devid-emulators" stop --state "$PROV_EMU" >/dev/null 2>&1 || true
    fi
}

# prov_device NAME REGID KEY ONBKEY: config DIR/NAME.conf for one device
# and its onboarding certificate from the factory CA (key made in place)
prov_device() {
    cat > "$TESTDIR/$1.conf" <<CONF
state-dir = $TESTDIR/$1
registration-id = $2
key = $3
key-type = ec-p384
id-scope = $ID_SCOPE
dps-endpoint = $DPS_ENDPOINT
dps-trust = $DPS_ROOT
onboarding-key = $4
onboarding-cert = $TESTDIR/$1-onb.pem
pin-source = file:$TESTDIR/pin
CONF
    "$DEVID" --config "$TESTDIR/$1.conf" keygen --type ec-p256 "$4" > /dev/null \
        || fail "$1: onboarding keygen"
    "$DEVID" --config "$TESTDIR/$1.conf" csr --key "$4" --cn "$2" \
        --out "$TESTDIR/$1-onb.csr" || fail "$1: onboarding csr"
    "$DEVID_DPS_EMULATOR" issue-onboarding --state "$PROV_EMU" \
        --csr "$TESTDIR/$1-onb.csr" --out "$TESTDIR/$1-onb.pem" >/dev/null \
        || fail "$1: onboarding certificate"
}

# prov_openssl_cnf CONF OUT: an openssl.cnf activating devid for CONF's device
prov_openssl_cnf() {
    "$DEVID" --config "$1" print-config openssl > "$2"
}

# prov_publish NAME REGID MSG: mosquitto_pub as the device, with its
# installed chain and reference key, devid active through openssl.cnf; it
# connects as IoT Hub wants: client id = device id (the registration ID of
# a group device), user name {hub}/{deviceId}/?api-version=... It trusts
# DPS_ROOT, or the directory PROV_HUB_CAPATH names (a device's trust-dir).
prov_publish() {
    prov_openssl_cnf "$TESTDIR/$1.conf" "$TESTDIR/$1-openssl.cnf"
    if [ -n "${PROV_HUB_CAPATH:-}" ]; then
        set -- "$1" "$2" "$3" --capath "$PROV_HUB_CAPATH"
    else
        set -- "$1" "$2" "$3" --cafile "$DPS_ROOT"
    fi
    OPENSSL_CONF="$TESTDIR/$1-openssl.cnf" mosquitto_pub -h 127.0.0.1 -p "$HUB_PORT" \
        "$4" "$5" --cert "$TESTDIR/$1/device-chain.pem" \
        --key "$TESTDIR/$1/device-key.pem" -i "$2" \
        -u "$HUB_HOST/$2/?api-version=2021-04-12" -q 1 \
        -t "devices/$2/messages/events/" -m "$3"
}

# prov_expect_telemetry NAME REGID MSG: a service subscriber on the device's
# topic, and the device publishing MSG (again every 0.5 s, for a subscriber
# that was not subscribed yet) until the subscriber has it. Returns 1 when
# nothing arrives within about 20 s or a publish fails.
prov_expect_telemetry() {
    _got="$TESTDIR/got-$2.txt"
    # the service trusts both server roots: the hub follows a root switch
    cat "$DPS_ROOT" "$DPS_ROOT_B" > "$TESTDIR/service-roots.pem"
    mosquitto_sub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$TESTDIR/service-roots.pem" \
        --cert "$HUB_SERVICE_CERT" --key "$HUB_SERVICE_KEY" -i "service-$2-$$" \
        -t "devices/$2/#" -v -C 1 -W 25 > "$_got" 2>&1 &
    _sub=$!
    _try=0
    while kill -0 "$_sub" 2>/dev/null && [ "$_try" -lt 40 ]; do
        prov_publish "$1" "$2" "$3" || { kill "$_sub" 2>/dev/null; return 1; }
        _try=$((_try + 1))
        sleep 0.5
    done
    wait "$_sub" || true
    grep -qF "devices/$2/messages/events/ $3" "$_got"
}
