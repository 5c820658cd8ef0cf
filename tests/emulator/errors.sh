#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# DPS emulator: every documented failure answers its status, errorCode,
# x-ms-error-code and ProvisioningServiceErrorDetails body; disabled
# enrollments and allocation failures end the operation; bad configs are
# refused naming the problem.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT

"$EMU_BIN" init --state "$STATE" 2>/dev/null
onboard grp-01 grp-01
selfsigned stranger stranger-01
selfsigned dis-01 dis-01
selfsigned nopol-01 nopol-01
selfsigned nohub-01 nohub-01

# a second hierarchy: root2 (enabled group) -> ica2 (disabled group) -> sub-01
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/root2.key" -subj /CN=root2 -days 2 -out "$T/root2.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -addext subjectKeyIdentifier=hash -addext authorityKeyIdentifier=keyid:always 2>/dev/null
devkey ica2
openssl req -new -key "$T/ica2.key" -subj /CN=ica2 -out "$T/ica2.csr"
# extensions stated in full: OpenSSL 4 adds no key identifiers by itself
printf '%s\n' basicConstraints=critical,CA:TRUE keyUsage=critical,keyCertSign \
    subjectKeyIdentifier=hash authorityKeyIdentifier=keyid:always > "$T/ca.ext"
printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
    extendedKeyUsage=clientAuth subjectKeyIdentifier=hash \
    authorityKeyIdentifier=keyid:always > "$T/leaf.ext"
openssl x509 -req -in "$T/ica2.csr" -CA "$T/root2.pem" -CAkey "$T/root2.key" \
    -CAcreateserial -days 2 -extfile "$T/ca.ext" -out "$T/ica2.pem" 2>/dev/null
devkey sub-01
openssl req -new -key "$T/sub-01.key" -subj /CN=sub-01 -out "$T/sub-01.csr"
openssl x509 -req -in "$T/sub-01.csr" -CA "$T/ica2.pem" -CAkey "$T/ica2.key" \
    -CAcreateserial -days 2 -extfile "$T/leaf.ext" -out "$T/sub-01.leaf" 2>/dev/null
cat "$T/sub-01.leaf" "$T/ica2.pem" > "$T/sub-01.pem"
openssl x509 -in "$T/grp-01.pem" > "$T/leafonly.pem"
cp "$T/grp-01.key" "$T/leafonly.key"

cat > "$T/config.json" <<JSON
{
  "id_scope": "$SCOPE",
  "hubs": ["localhost"],
  "assigning_polls": 0,
  "individual_enrollments": [
    {"registration_id": "dis-01", "certificate": "dis-01.pem", "status": "disabled"},
    {"registration_id": "nopol-01", "certificate": "nopol-01.pem", "policy": null},
    {"registration_id": "nohub-01", "certificate": "nohub-01.pem", "hub": "elsewhere.example"}
  ],
  "enrollment_groups": [
    {"id": "factory", "ca": "factory"},
    {"id": "root2", "ca": "root2.pem"},
    {"id": "ica2", "ca": "ica2.pem", "status": "disabled"}
  ]
}
JSON
emu_start "$T/config.json"

say "attestation failures: 401 / 401002"
code=$(dps PUT "stranger-01/register?api-version=$GA" stranger '{"registrationId":"stranger-01"}')
check "unknown device: 401, 401002, error body and header" error_is "$code" 401 401002
check "unknown device: message Unauthorized" eq "$(j 'd["message"]')" Unauthorized
code=$(dps PUT "grp-01/register?api-version=$GA" none '{}')
check "no client certificate: 401/401002" error_is "$code" 401 401002
code=$(dps PUT "grp-02/register?api-version=$GA" grp-01 '{}')
check "certificate CN differs from the URL registration ID: 401/401002" error_is "$code" 401 401002
code=$(dps PUT "grp-01/register?api-version=$GA" leafonly '{}')
check "group device without its chain: 401/401002" error_is "$code" 401 401002
code=$(dps GET "grp-01/operations/5.0000000000000000.x?api-version=$GA" stranger)
check "poll by an unknown device: 401/401002" error_is "$code" 401 401002

say "request errors"
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '{"registrationId":"grp-02"}')
check "body registrationId differs from the URL: 400/400004" error_is "$code" 400 400004
code=$(dps PUT "grp-01/register" grp-01 '{}')
check "missing api-version: 400/400001" error_is "$code" 400 400001
code=$(dps PUT "grp-01/register?api-version=2099-01-01" grp-01 '{}')
check "unknown api-version: 400/400001" error_is "$code" 400 400001
code=$(dps GET "grp-01/register?api-version=$GA" grp-01)
check "GET on register: 405/405000" error_is "$code" 405 405000
BASE_SAVE=$BASE; BASE="https://127.0.0.1:$PORT/0ne99999999/registrations"
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '{}')
BASE=$BASE_SAVE
check "unknown ID scope: 404/404001" error_is "$code" 404 404001
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '{"registrationId":')
check "truncated JSON: 400/400006" error_is "$code" 400 400006
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '["grp-01"]')
check "JSON that is not an object: 400/400006" error_is "$code" 400 400006
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '{}' text/plain)
check "Content-Type text/plain: 415/415001" error_is "$code" 415 415001
code=$(dps PUT "bad%20id/register?api-version=$GA" grp-01 '{}')
check "invalid registration ID: 400/400004" error_is "$code" 400 400004
code=$(dps GET "grp-01/operations/5.0000000000000000.nope?api-version=$GA" grp-01)
check "unknown operation: 404/404202" error_is "$code" 404 404202
code=$(dps POST "grp-01?api-version=$GA" grp-01 '{}')
check "lookup before any registration: 404/404201" error_is "$code" 404 404201
code=$(dps POST "grp-01?api-version=$CSRV" grp-01 '{"registrationId":"grp-01","csr":"MIIB"}')
check "csr on the status lookup: 400/400004" error_is "$code" 400 400004

say "terminal failures of the operation"
code=$(register dis-01 dis-01 "$GA" '{}')
check "disabled individual enrollment: 200 status disabled" eq "$code/$(j 'd["status"]')/$(j 'd["registrationState"]["status"]')" 200/disabled/disabled
code=$(register sub-01 sub-01 "$GA" '{}')
check "disabled nearest group (ica2) beats the enabled root2 group" eq "$code/$(j 'd["status"]')" 200/disabled
code=$(register nohub-01 nohub-01 "$GA" '{}')
check "hub not configured: failed 400208" eq "$code/$(j 'd["status"]')/$(j 'd["registrationState"]["errorCode"]')" 200/failed/400208
code=$(register nopol-01 nopol-01 "$CSRV" "{\"csr\":\"$(openssl req -new -key "$T/nopol-01.key" -subj /CN=nopol-01 -outform DER | openssl base64 -A)\"}")
check "CSR without an issuance policy: failed 400000" eq "$code/$(j 'd["status"]')/$(j 'd["registrationState"]["errorCode"]')" 200/failed/400000
check "failed state carries errorMessage" test -n "$(j 'd["registrationState"]["errorMessage"]')"
emu_stop

say "config errors name the problem"
echo '{"id_scope": "x", "hubz": []}' > "$T/bad1.json"
if "$EMU_BIN" --state "$STATE" --config "$T/bad1.json" 2> "$T/err1"; then fail "unknown key accepted"; fi
check "unknown top-level key is named" grep -q '"hubz"' "$T/err1"
echo '{"enrollment_groups": [{"id": "g", "ca": "factory", "colour": 1}]}' > "$T/bad2.json"
if "$EMU_BIN" --state "$STATE" --config "$T/bad2.json" 2> "$T/err2"; then fail "unknown key accepted"; fi
check "unknown group key is named with its place" grep -q '"colour" in enrollment_groups\[0\]' "$T/err2"
echo '{"faults": {"poll_429": "x"}}' > "$T/bad3.json"
if "$EMU_BIN" --state "$STATE" --config "$T/bad3.json" 2> "$T/err3"; then fail "bad type accepted"; fi
check "wrong type is named" grep -q 'faults.poll_429 must be an integer' "$T/err3"
echo '{"id_scope": ' > "$T/bad4.json"
if "$EMU_BIN" --state "$STATE" --config "$T/bad4.json" 2> "$T/err4"; then fail "bad JSON accepted"; fi
check "invalid JSON config is refused" grep -q 'not valid JSON' "$T/err4"
finish
