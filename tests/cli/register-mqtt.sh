#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid register --transport mqtt (setting dps-transport) against the DPS
# emulator's MQTT listener, keys in a SoftHSM2 token: issuance with a CSR,
# no CSR, the legacy shape, --json, provision following the setting; failed, disabled, an unknown device
# (refused at CONNECT), an untrusted server; 429 with retry-after, 5xx and a
# dropped connection retried as over HTTPS; the overall timeout; the same
# exit codes as HTTPS throughout.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
trap reg_cleanup EXIT

reg_setup
emu_conf "$T/ok.json" 0 ""
cp "$T/ok.json" "$T/config.json"
REG_MQTT=1
emu_start
[ -n "$MQTT_PORT" ] || fail "the emulator wrote no dps-mqtt.port"

# regm ARGS...: devid register over MQTT with the onboarding identity;
# stdout in $T/out, stderr in $T/err, exit code in RC
regm() {
    RC=0
    "$DEVID" --config "$T/devid.conf" register --transport mqtt \
        --id-scope "$SCOPE" --registration-id dev-01 --auth-key "$T/onb.ref" \
        --auth-cert "$T/onb.pem" --endpoint "127.0.0.1:$MQTT_PORT" \
        --trust "$STATE/server-a/root.pem" --timeout 20 "$@" \
        > "$T/out" 2> "$T/err" || RC=$?
}
# elapsed COMMAND...: runs it, sets MS to the wall time in milliseconds
elapsed() {
    _t0=$(date +%s%N)
    "$@"
    MS=$(( ($(date +%s%N) - _t0) / 1000000 ))
}

"$DEVID" register --help > "$T/help" || fail "register --help"
has "$T/help" "--transport" "--help names --transport"
has "$T/help" "dps-transport" "--help names the dps-transport setting"
ok "register --help tells --transport and its setting"

# 1. CSR over MQTT: the chain is issued for the token key
regm --csr "$T/op.csr" --out-chain "$T/issued.pem"
expect_rc 0 "registration over MQTT with a CSR"
has "$T/out" "assigned_hub: localhost" "assigned hub printed"
has "$T/out" "status: assigned" "status printed"
has "$T/err" "registering dev-01 with 127.0.0.1:$MQTT_PORT over MQTT (api-version 2025-07-01-preview)" \
    "progress line names MQTT, the endpoint and the api-version"
has "$T/emu.log" "dev-01: registering over mqtt" "the emulator registered over MQTT"
[ "$(split_chain "$T/issued.pem" "$T/c")" = 3 ] || fail "issued chain is not 3 certificates"
[ "$(pubkey_of_cert "$T/c0.pem")" = "$(pubkey_of_csr "$T/op.csr")" ] \
    || fail "issued leaf key is not the CSR key"
openssl verify -CAfile "$T/c2.pem" -untrusted "$T/c1.pem" "$T/c0.pem" >/dev/null \
    || fail "issued leaf does not verify against its chain"
ok "CSR over MQTT: chain written for the token key, leaf first"

# 2. --json, no CSR; the setting dps-transport instead of the flag
cp "$T/devid.conf" "$T/mqtt.conf"
echo "dps-transport = mqtt" >> "$T/mqtt.conf"
RC=0
"$DEVID" --config "$T/mqtt.conf" --json register --id-scope "$SCOPE" \
    --registration-id dev-01 --auth-key "$T/onb.ref" --auth-cert "$T/onb.pem" \
    --endpoint "127.0.0.1:$MQTT_PORT" --trust "$STATE/server-a/root.pem" \
    > "$T/json" 2> "$T/err" || RC=$?
expect_rc 0 "dps-transport = mqtt, --json"
python3 - "$T/json" <<'PY' || fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["assigned_hub"] == "localhost" and d["device_id"] == "dev-01", d
assert d["status"] == "assigned" and d["substatus"] == "deviceDataMigrated", d
PY
has "$T/err" "over MQTT (api-version 2021-06-01)" "the setting chose MQTT, no CSR: GA api-version"
ok "dps-transport = mqtt in the config file; --json; no CSR"

# devid provision reaches DPS the way the setting says, too
cat > "$T/prov.conf" <<EOF
pkcs11-module-path = $SOFTHSM_MODULE
pin-source = file:$T/pin
state-dir = $T/prov
key = pkcs11:token=dev;object=prov
registration-id = dev-01
id-scope = $SCOPE
dps-endpoint = 127.0.0.1:$MQTT_PORT
dps-transport = mqtt
dps-trust = $STATE/server-a/root.pem
onboarding-key = $T/onb.ref
onboarding-cert = $T/onb.pem
install-to = files
EOF
RC=0
"$DEVID" --config "$T/prov.conf" provision > "$T/out" 2> "$T/err" || RC=$?
expect_rc 0 "provision over MQTT"
has "$T/err" "over MQTT" "provision registered over MQTT"
openssl x509 -in "$T/prov/device-chain.pem" -noout -subject | grep -q 'CN *= *dev-01' \
    || fail "provision over MQTT installed no chain for dev-01"
ok "provision with dps-transport = mqtt registers over MQTT and installs the chain"

# 3. the legacy shape: PEM chain and trust bundle
regm --csr "$T/op.csr" --api-version 2021-11-01-preview --out-chain "$T/legacy.pem" \
    --out-trust-bundle "$T/bundle.pem"
expect_rc 0 "legacy registration over MQTT"
[ "$(split_chain "$T/legacy.pem" "$T/l")" = 2 ] || fail "legacy chain is not leaf + CA"
[ "$(openssl x509 -in "$T/bundle.pem" -noout -fingerprint)" = \
  "$(openssl x509 -in "$STATE/server-a/root.pem" -noout -fingerprint)" ] \
    || fail "trust bundle is not the DPS server root"
ok "legacy 2021-11-01-preview over MQTT: PEM chain and trust bundle"

# 4. terminal refusals: exit 5
emu_conf "$T/nopolicy.json" 0 "" ', "policy": null'
emu_use "$T/nopolicy.json"
regm --csr "$T/op.csr" --out-chain "$T/failed.pem"
expect_rc 5 "failed registration"
has "$T/err" "'failed'" "failed status in the message"
has "$T/err" "400000" "DPS errorCode in the message"
[ ! -e "$T/failed.pem" ] || fail "a chain was written for a failed registration"
emu_conf "$T/disabled.json" 1 "" ', "status": "disabled"'
emu_use "$T/disabled.json"
regm
expect_rc 5 "disabled registration"
has "$T/err" "'disabled'" "disabled status in the message"
ok "failed (400000) and disabled after an assigning poll: exit 5"

# 5. an unknown device is refused at CONNECT: exit 5
emu_use "$T/ok.json"
"$EMU_BIN" issue-device --state "$STATE" --csr "$T/onb.csr" --out "$T/stranger.pem" \
    >/dev/null || fail "issue-device"
regm --auth-cert "$T/stranger.pem"
expect_rc 5 "unknown device"
has "$T/err" "CONNACK 5" "the CONNACK code in the message"
ok "unknown device: exit 5, refused at CONNECT"

# 6. an untrusted DPS server: exit 4, nothing registered
n=$(grep -c 'registering over mqtt' "$T/emu.log" || true)
regm --csr "$T/op.csr" --trust "$STATE/server-b/root.pem" --out-chain "$T/untrusted.pem"
expect_rc 4 "untrusted server"
has "$T/err" "is not trusted (trust file" "untrusted server named as such"
[ "$(grep -c 'registering over mqtt' "$T/emu.log" || true)" = "$n" ] \
    || fail "a registration went through an untrusted connection"
ok "untrusted DPS certificate: exit 4, nothing sent"

# nothing listens: exit 4 at once, as over HTTPS
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
elapsed regm --endpoint "127.0.0.1:$dead"
expect_rc 4 "nothing listens"
[ "$MS" -lt 5000 ] || fail "a refused connection took $MS ms"
ok "no DPS at the endpoint: exit 4 in $MS ms"

# 7. faults: 429 with retry-after, 5xx, a dropped connection; retried
emu_conf "$T/c.json" 0 '"register_429": 1, "retry_after_429": 2, "poll_500": 1, "poll_503": 1'
emu_use "$T/c.json"
elapsed regm --csr "$T/op.csr" --out-chain "$T/a.pem"
expect_rc 0 "429 and 5xx over MQTT"
has "$T/err" "status 429, throttled, retrying in 2.0 s" "429 progress line with retry-after"
has "$T/err" "status 500, retrying in" "500 progress line"
has "$T/err" "status 503, retrying in" "503 progress line"
[ "$MS" -ge 2000 ] || fail "retry-after 2 not honoured ($MS ms)"
[ -s "$T/a.pem" ] || fail "no chain after the retries"
ok "429 (retry-after 2 honoured), 500 and 503: retried, then assigned ($MS ms)"
emu_conf "$T/c.json" 0 '"close_register": 1, "close_poll": 1'
emu_use "$T/c.json"
regm
expect_rc 0 "dropped connections"
[ "$(grep -c 'connection closed without an answer' "$T/err")" = 2 ] \
    || fail "two dropped connections reported"
ok "connections closed on register and on poll: reconnected, retried, assigned"

# 8. the overall timeout while DPS keeps assigning: exit 8
emu_conf "$T/c.json" 1000 ""
emu_use "$T/c.json"
elapsed regm --timeout 3
expect_rc 8 "timeout"
has "$T/err" "finish assigning dev-01" "the timeout says what it waited for"
[ "$MS" -lt 6000 ] || fail "the timeout took $MS ms"
ok "timeout: exit 8 after $MS ms"

# 9. configuration errors: exit 2
regm --transport carrier-pigeon
expect_rc 2 "a transport that does not exist"
has "$T/err" "https or mqtt" "the message says what is accepted"
regm --endpoint "127.0.0.1:notaport"
expect_rc 2 "an endpoint whose port is no number"
ok "bad --transport and --endpoint: exit 2"

emu_stop
ok "the emulator stopped cleanly"
