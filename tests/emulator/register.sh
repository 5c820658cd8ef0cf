#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# DPS emulator: full registrations (group device sending its chain,
# individual by certificate, by thumbprint, precedence), the 202/poll
# protocol, headers, registrationState fields, status lookup, persistence.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT

"$EMU_BIN" init --state "$STATE" 2>/dev/null
onboard grp-01 grp-01
selfsigned ind-01 ind-01
selfsigned ind-02 ind-02
onboard both-01 both-01
TP2=$(openssl x509 -in "$T/ind-02.pem" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
TPB=$(openssl x509 -in "$T/both-01.pem" -noout -fingerprint -sha1 | cut -d= -f2)
cat > "$T/config.json" <<JSON
{
  "id_scope": "$SCOPE",
  "hubs": ["localhost", "hub2.example"],
  "assigning_polls": 2,
  "retry_after": 1,
  "faults": {"poll_limit": 0},
  "individual_enrollments": [
    {"registration_id": "ind-01", "device_id": "custom-01", "certificate": "ind-01.pem",
     "hub": "hub2.example", "payload": {"from": "enrollment"}},
    {"registration_id": "ind-02", "thumbprint": "$TP2"},
    {"registration_id": "both-01", "device_id": "both-device", "thumbprint": "$TPB"}
  ],
  "enrollment_groups": [{"id": "factory", "ca": "factory"}]
}
JSON
emu_start "$T/config.json"

say "group device (factory chain sent): register"
code=$(dps PUT "grp-01/register?api-version=$GA" grp-01 '{"registrationId":"grp-01","payload":{"modelId":"dtmi:x:y;1"}}')
check "PUT register answers 202" eq "$code" 202
check "Retry-After: 1" eq "$(header Retry-After)" 1
check "Location names the register URL" eq "$(header Location)" "https://127.0.0.1:$PORT/$SCOPE/registrations/grp-01/register"
check "x-ms-request-id present" test -n "$(header x-ms-request-id)"
check "content type is JSON utf-8" eq "$(header Content-Type)" "application/json; charset=utf-8"
check "body status assigning" eq "$(j 'd["status"]')" assigning
op=$(j 'd["operationId"]')
check "operationId has the observed form" sh -c "echo '$op' | grep -Eq '^[0-9]\.[0-9a-f]{16}\.[0-9a-f-]{36}$'"

say "polls: 2 x 202 assigning, then 200 assigned"
for n in 1 2; do
    code=$(dps GET "grp-01/operations/$op?api-version=$GA" grp-01)
    check "poll $n answers 202" eq "$code" 202
    check "poll $n registrationState assigning" eq "$(j 'd["registrationState"]["status"]')" assigning
done
code=$(dps GET "grp-01/operations/$op?api-version=$GA" grp-01)
check "poll 3 answers 200" eq "$code" 200
check "status assigned" eq "$(j 'd["status"]')" assigned
check "assignedHub localhost" eq "$(j 'd["registrationState"]["assignedHub"]')" localhost
check "deviceId = CN for a group" eq "$(j 'd["registrationState"]["deviceId"]')" grp-01
check "substatus initialAssignment" eq "$(j 'd["registrationState"]["substatus"]')" initialAssignment
check "enrollmentGroupId factory" eq "$(j 'd["registrationState"]["x509"]["enrollmentGroupId"]')" factory
check "payload echoed" eq "$(j 'd["registrationState"]["payload"]["modelId"]')" "dtmi:x:y;1"
check "timestamps have 7 fractional digits" sh -c "echo '$(j 'd["registrationState"]["createdDateTimeUtc"]')' | grep -Eq '^[0-9-]{10}T[0-9:]{8}\.[0-9]{7}Z$'"
check "etag present" test -n "$(j 'd["registrationState"]["etag"]')"
check "no issuedCertificateChain without a CSR" eq "$(j '"issuedCertificateChain" in d["registrationState"]')" False
created=$(j 'd["registrationState"]["createdDateTimeUtc"]')

say "status lookup"
code=$(dps POST "grp-01?api-version=$GA" grp-01 '{"registrationId":"grp-01"}')
check "POST lookup answers 200" eq "$code" 200
check "lookup body is the bare registrationState" eq "$(j 'd["status"]')" assigned
check "lookup deviceId" eq "$(j 'd["deviceId"]')" grp-01

say "re-registration keeps createdDateTimeUtc"
code=$(register grp-01 grp-01 "$GA" '{"registrationId":"grp-01"}')
check "re-registration assigned" eq "$code/$(j 'd["status"]')" 200/assigned
check "createdDateTimeUtc kept" eq "$(j 'd["registrationState"]["createdDateTimeUtc"]')" "$created"
check "substatus deviceDataMigrated" eq "$(j 'd["registrationState"]["substatus"]')" deviceDataMigrated

say "individual enrollment by certificate"
code=$(register ind-01 ind-01 2021-10-01 '{"registrationId":"ind-01","payload":{"x":1}}')
check "ind-01 assigned" eq "$code/$(j 'd["status"]')" 200/assigned
check "deviceId from the enrollment" eq "$(j 'd["registrationState"]["deviceId"]')" custom-01
check "hub from the enrollment" eq "$(j 'd["registrationState"]["assignedHub"]')" hub2.example
check "payload from the enrollment" eq "$(j 'd["registrationState"]["payload"]["from"]')" enrollment
check "no enrollmentGroupId" eq "$(j '"enrollmentGroupId" in d["registrationState"]["x509"]')" False

say "individual enrollment by SHA-256 thumbprint"
code=$(register ind-02 ind-02 2019-03-31 '{"registrationId":"ind-02"}')
check "ind-02 assigned" eq "$code/$(j 'd["status"]')" 200/assigned
check "deviceId = registration id" eq "$(j 'd["registrationState"]["deviceId"]')" ind-02

say "individual (SHA-1 thumbprint) takes precedence over the group"
code=$(register both-01 both-01 "$GA" '{}')
check "both-01 assigned" eq "$code/$(j 'd["status"]')" 200/assigned
check "individual enrollment won" eq "$(j 'd["registrationState"]["deviceId"]')" both-device

say "TLS 1.2 and TLS 1.3"
for v in 1.2 1.3; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --tlsv$v --tls-max $v \
        --cacert "$STATE/server-a/root.pem" --cert "$T/grp-01.pem" --key "$T/grp-01.key" \
        -X POST -H 'Content-Type: application/json' -d '{}' "$BASE/grp-01?api-version=$GA" || true)
    check "TLS $v with the client chain: lookup 200" eq "$code" 200
done
check "TLS 1.1 refused" sh -c "! curl -s -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert '$STATE/server-a/root.pem' '$BASE/grp-01?api-version=$GA' 2>/dev/null"

say "registrations survive a restart"
emu_stop
emu_start "$T/config.json"
code=$(dps POST "ind-01?api-version=$GA" ind-01 '{}')
check "lookup after restart" eq "$code/$(j 'd["deviceId"]')" 200/custom-01
emu_stop
finish
