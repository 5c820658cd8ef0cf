#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# devid provision for a device whose keys live in a TPM 2.0 (a fresh swtpm):
# onboarding and operational keys are TSS2 key files made inside the TPM,
# the issued certificate is installed as files, and mosquitto_pub publishes
# with the TSS2 reference file.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/cli/lib-provision.sh"
devid_tmpdir
SUB_PID=
cleanup() {
    [ -n "$SUB_PID" ] && kill "$SUB_PID" 2>/dev/null || true
    prov_emulators_stop
    devid_tpm_stop
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_tpm_start "$TESTDIR"
printf '' > pin
chmod 600 pin   # devid refuses PIN files others can read
prov_emulators "$TESTDIR"
prov_device tpm tpm-01 "$TESTDIR/device.tss2.pem" "$TESTDIR/onboarding.tss2.pem"
conf="$TESTDIR/tpm.conf"
echo "tcti = $DEVID_TCTI" >> "$conf"
grep -q 'BEGIN TSS2 PRIVATE KEY' onboarding.tss2.pem || fail "no TSS2 onboarding key file"

"$DEVID" --config "$conf" provision 2> prov.err || { cat prov.err; fail "provision"; }
grep -q 'BEGIN TSS2 PRIVATE KEY' tpm/device-key.pem || fail "reference is not a TSS2 key file"
openssl x509 -in tpm/device-chain.pem -noout -subject -nameopt sep_multiline,sname,utf8,esc_2253 | grep -qx ' *CN=tpm-01' \
    || fail "leaf CN is not the registration id"
"$DEVID" --config "$conf" --json status > status.json || fail "status"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["provisioned"] and not d["problems"], d' status.json \
    || fail "status --json"
ok "TPM device provisioned: TSS2 key file, chain, status"

# the device key is fixedTPM/fixedParent: tpm2_print decodes the public
# area (TPM2B_PUBLIC) stored in the TSS2 key file
python3 "$top_srcdir/tests/tss2-public.py" tpm/device-key.pem pub.bin \
    || fail "cannot read the TSS2 key file"
tpm2_print -t TPM2B_PUBLIC pub.bin > attrs.txt 2>&1 || { cat attrs.txt; fail "tpm2_print"; }
grep -q 'fixedtpm' attrs.txt && grep -q 'fixedparent' attrs.txt \
    && grep -q 'sensitivedataorigin' attrs.txt || { cat attrs.txt; fail "key is not fixedTPM/fixedParent"; }
ok "the device key is fixedTPM, fixedParent, sensitiveDataOrigin (tpm2_print)"

prov_expect_telemetry tpm tpm-01 '{"tpm":1}' \
    || { cat "$TESTDIR/got-tpm-01.txt"; fail "telemetry with the TPM identity not received"; }
ok "mosquitto_pub publishes with the TPM-resident key; the hub receives it"
