#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid register against the DPS emulator, keys in a SoftHSM2 token:
# issuance with a CSR (2025-07-01-preview), no CSR, the legacy shape, and
# the refusals: failed, disabled, unknown device, untrusted DPS server.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-register.sh"
trap reg_cleanup EXIT

reg_setup
emu_conf "$T/ok.json" 0 ""
cp "$T/ok.json" "$T/config.json"
emu_start

# --help tells the exit codes and every option
"$DEVID" register --help > "$T/help" || fail "register --help"
for o in --id-scope --registration-id --auth-key --auth-cert --csr --endpoint \
    --trust --api-version --out-chain --timeout --payload; do
    has "$T/help" "$o" "--help names $o"
done
ok "register --help lists the options"

# 1. CSR: the chain is issued for the token key and written, leaf first
reg --csr "$T/op.csr" --out-chain "$T/issued.pem" --payload '{"modelId":"dtmi:x:y;1"}'
expect_rc 0 "registration with a CSR"
has "$T/out" "assigned_hub: localhost" "assigned hub printed"
has "$T/out" "device_id: dev-01" "device id printed"
has "$T/out" "status: assigned" "status printed"
has "$T/out" "substatus: initialAssignment" "substatus printed"
has "$T/err" "registering dev-01 with 127.0.0.1:$PORT (api-version 2025-07-01-preview)" \
    "progress line names the endpoint and api-version"
has "$T/emu.log" "register?api-version=2025-07-01-preview -> 202" "the emulator saw the PUT"
[ "$(split_chain "$T/issued.pem" "$T/c")" = 3 ] || fail "issued chain is not 3 certificates"
openssl x509 -in "$T/c0.pem" -noout -subject -nameopt multiline | grep -q 'commonName *= dev-01' \
    || fail "issued leaf CN is not dev-01"
[ "$(pubkey_of_cert "$T/c0.pem")" = "$(pubkey_of_csr "$T/op.csr")" ] \
    || fail "issued leaf key is not the CSR key"
openssl verify -CAfile "$T/c2.pem" -untrusted "$T/c1.pem" "$T/c0.pem" >/dev/null \
    || fail "issued leaf does not verify against its chain"
[ "$(stat -c %a "$T/issued.pem")" = 644 ] || fail "issued chain mode"
ok "CSR: chain written (leaf CN dev-01, CSR key, verifies against the chain)"

# --json gives the same as one object
RC=0
"$DEVID" --config "$T/devid.conf" --json register --id-scope "$SCOPE" \
    --registration-id dev-01 --auth-key "$T/onb.ref" --auth-cert "$T/onb.pem" \
    --endpoint "127.0.0.1:$PORT" --trust "$STATE/server-a/root.pem" \
    --csr "$T/op.csr" --out-chain "$T/issued2.pem" > "$T/json" 2> "$T/err" || RC=$?
expect_rc 0 "--json registration"
python3 - "$T/json" <<'PY' || fail "--json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["assigned_hub"] == "localhost" and d["device_id"] == "dev-01", d
assert d["status"] == "assigned" and d["substatus"] == "deviceDataMigrated", d
assert d["issued_chain"].endswith("issued2.pem"), d
PY
ok "--json: one object with hub, device id, status, substatus (re-registration)"

# 2. no CSR: plain api-version, no chain
reg --out-chain "$T/none.pem"
expect_rc 0 "registration without a CSR"
has "$T/err" "(api-version 2021-06-01)" "default api-version without a CSR"
has "$T/out" "status: assigned" "assigned without a CSR"
[ ! -e "$T/none.pem" ] || fail "a chain file was written without a CSR"
ok "no CSR: assigned with api-version 2021-06-01, no chain written"

# 3. legacy shape: clientCertificateCsr -> PEM chain + trust bundle
reg --csr "$T/op.csr" --api-version 2021-11-01-preview --out-chain "$T/legacy.pem" \
    --out-trust-bundle "$T/bundle.pem"
expect_rc 0 "legacy registration"
[ "$(split_chain "$T/legacy.pem" "$T/l")" = 2 ] || fail "legacy chain is not leaf + CA"
[ "$(pubkey_of_cert "$T/l0.pem")" = "$(pubkey_of_csr "$T/op.csr")" ] \
    || fail "legacy leaf key is not the CSR key"
cmp -s "$T/bundle.pem" "$STATE/server-a/root.pem" \
    || [ "$(openssl x509 -in "$T/bundle.pem" -noout -fingerprint)" = \
         "$(openssl x509 -in "$STATE/server-a/root.pem" -noout -fingerprint)" ] \
    || fail "trust bundle is not the DPS server root"
has "$T/out" "trust_bundle_etag: " "etag printed"
ok "legacy 2021-11-01-preview: PEM chain for our key, trust bundle and etag"

# a CSR with an api-version that cannot carry one is refused locally
reg --csr "$T/op.csr" --api-version 2021-06-01
expect_rc 2 "CSR with 2021-06-01"
has "$T/err" "cannot carry a CSR" "CSR/api-version message"
ok "a CSR with api-version 2021-06-01 is refused before sending"

# 4. failed: the enrollment has no issuance policy (400000)
emu_conf "$T/nopolicy.json" 0 "" ', "policy": null'
emu_use "$T/nopolicy.json"
reg --csr "$T/op.csr" --out-chain "$T/failed.pem"
expect_rc 5 "failed registration"
has "$T/err" "'failed'" "failed status in the message"
has "$T/err" "400000" "DPS errorCode in the message"
has "$T/err" "Device sent CSR but it is not configured" "DPS message in the message"
[ ! -e "$T/failed.pem" ] || fail "a chain was written for a failed registration"
ok "failed: exit 5 with 400000 and DPS's message"

# failed: the enrollment's hub does not exist (400208)
emu_conf "$T/nohub.json" 1 "" ', "hub": "nowhere.example"'
emu_use "$T/nohub.json"
reg
expect_rc 5 "no hub"
has "$T/err" "400208" "400208 in the message"
ok "failed after an assigning poll: exit 5 with 400208"

# 5. disabled
emu_conf "$T/disabled.json" 0 "" ', "status": "disabled"'
emu_use "$T/disabled.json"
reg
expect_rc 5 "disabled registration"
has "$T/err" "'disabled'" "disabled status in the message"
ok "disabled: exit 5"

# 6. unknown device: a certificate from a CA no enrollment names
emu_use "$T/ok.json"
"$EMU_BIN" issue-device --state "$STATE" --csr "$T/onb.csr" --out "$T/stranger.pem" \
    >/dev/null || fail "issue-device"
RC=0
"$DEVID" --config "$T/devid.conf" register --id-scope "$SCOPE" \
    --registration-id dev-01 --auth-key "$T/onb.ref" --auth-cert "$T/stranger.pem" \
    --endpoint "127.0.0.1:$PORT" --trust "$STATE/server-a/root.pem" \
    > "$T/out" 2> "$T/err" || RC=$?
expect_rc 5 "unknown device"
has "$T/err" "401002" "401002 in the message"
has "$T/err" "HTTP 401" "HTTP status in the message"
ok "unknown device: exit 5 with 401002"

# 7. untrusted DPS server: refused in TLS, nothing reaches the emulator
puts=$(grep -c ' PUT ' "$T/emu.log" || true)
reg --csr "$T/op.csr" --trust "$STATE/server-b/root.pem" --out-chain "$T/untrusted.pem"
expect_rc 4 "untrusted server"
has "$T/err" "is not trusted (trust file" "untrusted server named as such"
has "$T/err" "127.0.0.1:$PORT" "endpoint named"
[ "$(grep -c ' PUT ' "$T/emu.log" || true)" = "$puts" ] \
    || fail "a request reached the emulator through an untrusted connection"
[ ! -e "$T/untrusted.pem" ] || fail "chain written after a TLS failure"
ok "untrusted DPS certificate: exit 4, certificate problem, no request arrived"

# the trust file is required: there is no way around verification
RC=0
"$DEVID" --config "$T/devid.conf" register --id-scope "$SCOPE" \
    --registration-id dev-01 --auth-key "$T/onb.ref" --auth-cert "$T/onb.pem" \
    --endpoint "127.0.0.1:$PORT" > "$T/out" 2> "$T/err" || RC=$?
expect_rc 1 "no trust file"
has "$T/err" "--trust" "missing --trust named"
ok "no trust file: usage error naming --trust"

# settings from the config file stand in for the flags
cat >> "$T/devid.conf" <<EOF
id-scope = $SCOPE
registration-id = dev-01
onboarding-key = $T/onb.ref
onboarding-cert = $T/onb.pem
dps-endpoint = 127.0.0.1:$PORT
dps-trust = $STATE/server-a/root.pem
dps-timeout = 20
EOF
RC=0
"$DEVID" --config "$T/devid.conf" register > "$T/out" 2> "$T/err" || RC=$?
expect_rc 0 "registration from the config file"
has "$T/out" "status: assigned" "assigned from the config file"
ok "config file settings replace the flags"

emu_stop
ok "the emulator stopped cleanly"
