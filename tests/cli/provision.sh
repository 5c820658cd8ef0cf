#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid provision end to end for a device whose keys live in a SoftHSM2
# token: status before and after, idempotence, the certificate in the token
# beside a non-extractable key, telemetry through the hub stand-in with the
# unmodified mosquitto_pub, and a failed install that leaves the old
# identity in place.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
prov_need_test_hooks            # the failed install uses DEVID_TEST_FAIL_WRITE
devid_tmpdir
SUB_PID=
cleanup() {
    [ -n "$SUB_PID" ] && kill "$SUB_PID" 2>/dev/null || true
    prov_emulators_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" dev-hsm
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin   # devid refuses PIN files others can read
prov_emulators "$TESTDIR"
prov_device hsm hsm-01 "pkcs11:token=dev-hsm;object=device" \
    "pkcs11:token=dev-hsm;object=onboarding"
conf="$TESTDIR/hsm.conf"

rc=0
"$DEVID" --config "$conf" --json status > before.json || rc=$?
[ "$rc" -eq 7 ] || fail "status before provisioning: exit $rc, want 7"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["provisioned"] is False, d' before.json \
    || fail "status --json before: provisioned is not false"
ok "status before provisioning: not provisioned (exit 7)"

"$DEVID" --config "$conf" --json provision > prov.json 2> prov.err || { cat prov.err; fail "provision"; }
python3 - prov.json <<'PY' || fail "provision --json output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["changed"] == "yes" and d["assigned_hub"] == "localhost", d
assert d["device_id"] == "hsm-01", d
assert set(d["timings_ms"]) == {"keygen", "csr", "register", "install"}, d
PY
grep -q 'step 3/4: DPS registration' prov.err || fail "no progress lines"
ok "provision: keygen, csr, register, install (timings reported)"

openssl x509 -in hsm/device-chain.pem -noout -subject -nameopt sep_multiline,sname,utf8,esc_2253 | grep -qx ' *CN=hsm-01' \
    || fail "leaf CN is not the registration id"
openssl verify -CAfile "$DEVICE_ROOT" -untrusted hsm/device-chain.pem hsm/device-chain.pem >/dev/null \
    || fail "the installed chain does not verify to the DPS issuing root"
grep -q 'BEGIN PKCS#11 PROVIDER URI' hsm/device-key.pem || fail "no reference key file"
if grep -qE 'BEGIN (EC |RSA |ENCRYPTED )?PRIVATE KEY' hsm/device-key.pem; then
    fail "the key file holds key material"
fi
ok "chain (leaf CN = registration id) and reference key file installed"

devid_p11tool -O > objects.txt 2>/dev/null
awk '/Private Key Object/{p=1} p&&/label: *device$/{f=1} END{exit !f}' objects.txt \
    || { cat objects.txt; fail "no private key labelled device"; }
grep -A12 'Private Key Object; EC' objects.txt | grep -A10 'label: *device$' | grep -q 'Access: *sensitive, always sensitive, never extractable' \
    || { cat objects.txt; fail "device key is not sensitive/non-extractable"; }
grep -A3 'Certificate Object' objects.txt | grep -q 'label: *device$' \
    || { cat objects.txt; fail "no certificate object beside the key"; }
grep -A3 'Certificate Object' objects.txt | grep -q 'label: *device-ca1$' \
    && grep -A3 'Certificate Object' objects.txt | grep -q 'label: *device-ca2$' \
    || { cat objects.txt; fail "the chain's CA certificates are not in the token"; }
[ "$(grep -c 'Certificate Object' objects.txt)" -eq 3 ] \
    || { cat objects.txt; fail "expected 3 certificate objects (leaf, issuing CA, root)"; }
ok "key in the token is sensitive and never extractable; the chain is stored beside it"

"$DEVID" --config "$conf" --json status > after.json || fail "status after provisioning"
python3 - after.json <<'PY' || fail "status --json after"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["provisioned"] is True and d["problems"] == [], d
assert d["registration_id"] == "hsm-01" and d["assigned_hub"] == "localhost", d
assert "CN = hsm-01" in d["subject"] or "CN=hsm-01" in d["subject"], d
PY
ok "status --json after: provisioned, hub, subject, no problems"

before=$(readlink hsm/current)
"$DEVID" --config "$conf" --json provision > again.json 2>again.err || fail "provision again"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["changed"] == "no"' again.json \
    || fail "second provision changed something"
[ "$(readlink hsm/current)" = "$before" ] || fail "second provision switched identity"
ok "provision again: nothing to do"

prov_expect_telemetry hsm hsm-01 '{"t":21}' \
    || { cat "$TESTDIR/got-hsm-01.txt"; fail "telemetry with the issued identity not received"; }
ok "mosquitto_pub publishes with the issued certificate and resident key; the hub receives it"

# a write error during a forced re-provisioning leaves the old identity
cp hsm/device-chain.pem old-chain.pem
rc=0
DEVID_TEST_FAIL_WRITE=key.pem "$DEVID" --config "$conf" provision --force 2> fail.err || rc=$?
[ "$rc" -eq 6 ] || { cat fail.err; fail "failed install: exit $rc, want 6"; }
cmp -s old-chain.pem hsm/device-chain.pem || fail "failed install changed the chain"
[ "$(readlink hsm/current)" = "$before" ] || fail "failed install switched identity"
"$DEVID" --config "$conf" status > /dev/null || fail "status after a failed install"
ok "a write error during install leaves the old identity in use (exit 6)"

"$DEVID" --config "$conf" provision --force 2> force.err || { cat force.err; fail "provision --force"; }
[ "$(readlink hsm/current)" != "$before" ] || fail "--force did not install a new identity"
"$DEVID" --config "$conf" status > /dev/null || fail "status after --force"
devid_p11tool -O > objects2.txt 2>/dev/null
[ "$(grep -A1 'Certificate Object' objects2.txt | grep -c 'label: *device-ca[12]$')" -eq 2 ] \
    || { cat objects2.txt; fail "re-provisioning duplicated the CA certificates in the token"; }
ok "provision --force installs a new identity (CA certificates in the token not duplicated)"
