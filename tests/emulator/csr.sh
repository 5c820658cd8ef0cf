#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# DPS emulator: certificate issuance from CSRs (2025-07-01-preview "csr" and
# the legacy 2021-11-01-preview shape) and every CSR refusal.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT

"$EMU_BIN" init --state "$STATE" 2>/dev/null
onboard dev-01 dev-01
onboard dev-02 dev-02
onboard dev-03 dev-03
onboard rsa-01 rsa-01
cat > "$T/config.json" <<JSON
{
  "id_scope": "$SCOPE",
  "assigning_polls": 1,
  "faults": {"poll_limit": 0},
  "policies": {
    "default": {"key_types": ["P-256", "P-384"], "validity": "30d"},
    "short": {"key_types": ["P-384"], "validity": "90s"},
    "rsa": {"key_types": ["RSA"], "validity": "1d", "rsa_min_bits": 2048}
  },
  "individual_enrollments": [],
  "enrollment_groups": [{"id": "factory", "ca": "factory"}]
}
JSON
emu_start "$T/config.json"

# chain_files: split issuedCertificateChain of $T/b into $T/c0.pem c1 c2
chain_files() {
    python3 - "$T" <<'PY'
import json, sys, base64, textwrap
t = sys.argv[1]
chain = json.load(open(t + "/b"))["registrationState"]["issuedCertificateChain"]
for i, c in enumerate(chain):
    with open("%s/c%d.pem" % (t, i), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n" + "\n".join(textwrap.wrap(c, 64))
                + "\n-----END CERTIFICATE-----\n")
print(len(chain))
PY
}

say "P-256 CSR with api-version $CSRV"
devkey new-01 P-256
code=$(dps PUT "dev-01/register?api-version=$CSRV" dev-01 "{\"registrationId\":\"dev-01\",\"csr\":\"$(csr_b64 new-01 dev-01)\"}")
check "register answers 202" eq "$code" 202
check "no chain in the 202" eq "$(j '"registrationState" in d')" False
op=$(j 'd["operationId"]')
code=$(dps GET "dev-01/operations/$op?api-version=$CSRV" dev-01)
check "assigning poll has no chain" eq "$code/$(j '"issuedCertificateChain" in d["registrationState"]')" 202/False
code=$(dps GET "dev-01/operations/$op?api-version=$CSRV" dev-01)
check "terminal poll 200 assigned" eq "$code/$(j 'd["status"]')" 200/assigned
check "issuedCertificateChain has 3 elements" eq "$(chain_files)" 3
check "each element is base64 DER, no PEM armour" eq "$(j 'all("-----" not in c and "\n" not in c for c in d["registrationState"]["issuedCertificateChain"])')" True
check "leaf verifies against the returned chain" openssl verify -CAfile "$T/c2.pem" -untrusted "$T/c1.pem" -purpose sslclient "$T/c0.pem"
check "chain root is the emulator's device issuing root" cmp -s "$T/c2.pem" "$STATE/device/root.pem"
check "leaf CN = registration ID" sh -c "openssl x509 -in '$T/c0.pem' -noout -subject -nameopt sep_multiline,sname,utf8,esc_2253 | grep -qx ' *CN=dev-01'"
check "leaf has the clientAuth EKU" sh -c "openssl x509 -in '$T/c0.pem' -noout -ext extendedKeyUsage | grep -q 'TLS Web Client Authentication'"
check "leaf key is the CSR key" eq "$(openssl x509 -in "$T/c0.pem" -noout -pubkey)" "$(openssl pkey -in "$T/new-01.key" -pubout)"
code=$(dps POST "dev-01?api-version=$CSRV" dev-01 '{"registrationId":"dev-01"}')
check "status lookup: 200 without issuedCertificateChain" eq "$code/$(j '"issuedCertificateChain" in d')" 200/False

say "P-384 CSR; the issued certificate then authenticates the device"
devkey new-02 P-384
code=$(register dev-02 dev-02 "$CSRV" "{\"csr\":\"$(csr_b64 new-02 dev-02)\"}")
check "P-384 assigned with a chain" eq "$code/$(chain_files)" 200/3
cat "$T/c0.pem" "$T/c1.pem" > "$T/new-02.pem"

say "CSR refusals: 400/400004 on the PUT"
csr_put() {
    dps PUT "dev-03/register?api-version=$CSRV" dev-03 "{\"registrationId\":\"dev-03\",\"csr\":\"$1\"}"
}
devkey k3
openssl req -new -key "$T/k3.key" -subj /CN=dev-03 -out "$T/k3.csr"
pem=$(awk '{printf "%s\\n", $0}' "$T/k3.csr")
code=$(csr_put "$pem")
check "CSR in PEM armour: 400/400004" error_is "$code" 400 400004
check "  message says PEM" sh -c "grep -q 'not PEM' '$T/b'"
code=$(csr_put "$(openssl req -in "$T/k3.csr" -outform DER | openssl base64 | awk '{printf "%s\\n", $0}')")
check "base64 with line breaks: 400/400004" error_is "$code" 400 400004
code=$(csr_put "$(csr_b64 k3 dev-99)")
check "CSR CN differs from the registration ID: 400/400004" error_is "$code" 400 400004
check "  message names the CN" sh -c "grep -q 'CN must equal' '$T/b'"
broken=$(openssl req -in "$T/k3.csr" -outform DER | python3 -c 'import sys,base64; d=bytearray(sys.stdin.buffer.read()); d[-3]^=0x55; print(base64.b64encode(bytes(d)).decode())')
code=$(csr_put "$broken")
check "CSR with a broken signature: 400/400004" error_is "$code" 400 400004
check "  message says signature" sh -c "grep -q 'signature' '$T/b'"
code=$(csr_put "TUlJQg==")
check "base64 that is not a CSR: 400/400004" error_is "$code" 400 400004
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/r.key" 2>/dev/null
code=$(csr_put "$(csr_b64 r dev-03)")
check "RSA key under the default policy (EC only): 400/400004" error_is "$code" 400 400004

say "policies: RSA allowed, short validity"
cat > "$T/config2.json" <<JSON
{
  "id_scope": "$SCOPE",
  "assigning_polls": 0,
  "faults": {"poll_limit": 0},
  "policies": {
    "short": {"key_types": ["P-384"], "validity": "90s"},
    "rsa": {"key_types": ["RSA"], "validity": "1d"}
  },
  "individual_enrollments": [
    {"registration_id": "dev-03", "certificate": "dev-03.pem", "policy": "short"},
    {"registration_id": "rsa-01", "certificate": "rsa-01.pem", "policy": "rsa"}
  ],
  "enrollment_groups": [{"id": "factory", "ca": "factory"}]
}
JSON
emu_reload "$T/config2.json"
cp "$T/r.key" "$T/rk.key"
code=$(register rsa-01 rsa-01 "$CSRV" "{\"csr\":\"$(csr_b64 rk rsa-01)\"}")
check "RSA-2048 CSR under the rsa policy: assigned" eq "$code/$(chain_files)" 200/3
devkey s3 P-384
code=$(register dev-03 dev-03 "$CSRV" "{\"csr\":\"$(csr_b64 s3 dev-03)\"}")
check "short policy: assigned" eq "$code/$(chain_files)" 200/3
life=$(python3 - "$T/c0.pem" <<'PY'
import subprocess, sys, datetime
def t(opt):
    out = subprocess.check_output(["openssl", "x509", "-in", sys.argv[1], "-noout", opt]).decode()
    return datetime.datetime.strptime(out.split("=", 1)[1].strip(), "%b %d %H:%M:%S %Y %Z")
print(int((t("-enddate") - t("-startdate")).total_seconds()))
PY
)
check "validity is the policy's 90 seconds" eq "$life" 90
devkey s4 P-256
code=$(csr_put "$(csr_b64 s4 dev-03)")
check "P-256 refused by a P-384-only policy: 400/400004" error_is "$code" 400 400004

say "legacy $LEGACY shape"
devkey l1
code=$(register dev-01 dev-01 "$LEGACY" "{\"registrationId\":\"dev-01\",\"clientCertificateCsr\":\"$(csr_b64 l1 dev-01)\"}")
check "legacy: assigned" eq "$code/$(j 'd["status"]')" 200/assigned
j 'd["registrationState"]["issuedClientCertificate"]' > "$T/legacy.pem"
check "issuedClientCertificate is PEM: leaf then issuing CA" eq "$(grep -c 'BEGIN CERTIFICATE' "$T/legacy.pem")" 2
check "the PEM leaf verifies" openssl verify -CAfile "$STATE/device/root.pem" -untrusted "$T/legacy.pem" "$T/legacy.pem"
check "trustBundle has certificates with metadata" eq "$(j 'len(d["registrationState"]["trustBundle"]["certificates"]) >= 1 and "sha256Thumbprint" in d["registrationState"]["trustBundle"]["certificates"][0]["metadata"]')" True
check "trustBundle etag is a quoted string" sh -c "test \"\$(echo '$(j 'd["registrationState"]["trustBundle"]["etag"]')' | cut -c1)\" = '\"'"
check "no issuedCertificateChain in the legacy shape" eq "$(j '"issuedCertificateChain" in d["registrationState"]')" False

say "a GA api-version ignores csr"
devkey g1
code=$(register dev-01 dev-01 "$GA" "{\"registrationId\":\"dev-01\",\"csr\":\"$(csr_b64 g1 dev-01)\"}")
check "GA: assigned, no chain" eq "$code/$(j '"issuedCertificateChain" in d["registrationState"]')" 200/False

say "a DPS-issued certificate is not an onboarding credential"
code=$(dps PUT "dev-02/register?api-version=$GA" new-02 '{}')
check "issued certificate is not an onboarding credential: 401" error_is "$code" 401 401002
emu_stop
finish
