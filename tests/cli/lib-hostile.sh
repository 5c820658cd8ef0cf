# SPDX-License-Identifier: Apache-2.0
# Helpers for the tests against a hostile DPS (tests/cli/hostile-dps.py):
# a SoftHSM2 token with the onboarding and operational keys (from
# lib-register.sh's reg_setup), the fake DPS on a free loopback port, and a
# device config for provision and renew against it. Sourced after
# tests/lib.sh and tests/cli/lib-register.sh.
# shellcheck shell=sh

# hostile_setup: reg_setup, the test CA and an impostor CA of the same name,
# the fake DPS started (PORT, FAKE_PID) and $T/dev.conf for provision
hostile_setup() {
    reg_setup
    mkdir "$T/ca" "$T/impostor"
    devid_mkca "$T/ca"
    devid_mkca "$T/impostor"
    devid_mkserver "$T/ca" server ec
    echo '{}' > "$T/mode.json"
    python3 "$top_srcdir/tests/cli/hostile-dps.py" "$T" 2>> "$T/fake.log" &
    FAKE_PID=$!
    _i=0
    while [ ! -s "$T/fake.port" ]; do
        kill -0 "$FAKE_PID" 2>/dev/null || fail "the fake DPS exited"
        [ "$_i" -lt 100 ] || fail "the fake DPS did not start"
        sleep 0.1
        _i=$((_i + 1))
    done
    PORT=$(cat "$T/fake.port")
    cp "$T/devid.conf" "$T/dev.conf"
    cat >> "$T/dev.conf" <<CONF
state-dir = $T/dev
key = pkcs11:token=dev;object=op
registration-id = dev-01
id-scope = $SCOPE
dps-endpoint = 127.0.0.1:$PORT
dps-trust = $T/ca/ca.pem
onboarding-cert = $T/onb.pem
onboarding-key = $T/onb.ref
dps-timeout = 15
CONF
}

# hostile_mode JSON: what the fake DPS answers from now on
hostile_mode() {
    printf '%s\n' "$1" > "$T/mode.json"
}

# dev ARGS...: devid with the device's config; stdout in $T/out, stderr in
# $T/err, exit code in RC
dev() {
    RC=0
    "$DEVID" --config "$T/dev.conf" "$@" > "$T/out" 2> "$T/err" || RC=$?
}

# token_certs: the number of certificate objects in the token
token_certs() {
    devid_p11tool --token-label dev -O --type cert 2>/dev/null \
        | grep -c '^Certificate Object' || true
}

# identities: the number of identity directories of the device
identities() {
    find "$T/dev/identities" -mindepth 1 -maxdepth 1 -type d 2>/dev/null \
        | wc -l
}
