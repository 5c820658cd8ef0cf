#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # $dps, $rid are MQTT, not shell
# DPS over MQTT (issue 16, DPS-PROTOCOL.md section 2) next to HTTPS, with
# the same enrollments and logic: register, assigning and polling with
# $rid and retry-after, issuance from a CSR (and the legacy shape), failed,
# disabled, unknown devices refused at CONNECT, 429/5xx/closed connections
# from the fault injection, the shared store (HTTPS status lookup, hub
# devices), topics and subscriptions that are not DPS's, the root switch.
# A scripted client (mqtt-client.py) talks MQTT; exit codes, topics and
# JSON payloads are asserted.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
trap emu_cleanup EXIT
MQTTC="python3 $top_srcdir/tests/emulator/mqtt-client.py"
RES='$dps/registrations/res/#'

"$EMU_BIN" init --state "$STATE" 2>/dev/null
selfsigned dev-07 dev-07
selfsigned dis-01 dis-01
selfsigned nohub-01 nohub-01
selfsigned nopol-01 nopol-01
selfsigned stranger stranger-01
onboard dev-a dev-a
onboard dev-b dev-b
onboard dev-c dev-c
devkey dev-b-op
devkey legacy-op
# config POLLS FAULTS [TOP]: $T/next.json, the enrollments, POLLS assigning
# polls, FAULTS and more TOP level members
config() {
    cat > "$T/next.json" <<JSON
{"id_scope": "$SCOPE", "assigning_polls": $1, "retry_after": 1, ${3:-}
 "individual_enrollments": [
   {"registration_id": "dev-07", "certificate": "dev-07.pem", "device_id": "line-7"},
   {"registration_id": "dis-01", "certificate": "dis-01.pem", "status": "disabled"},
   {"registration_id": "nohub-01", "certificate": "nohub-01.pem", "hub": "elsewhere.example"},
   {"registration_id": "nopol-01", "certificate": "nopol-01.pem", "policy": null}],
 "enrollment_groups": [{"id": "factory", "ca": "factory"}],
 "faults": {"poll_limit": 0 ${2:+, $2}}}
JSON
}
config 2 ""
cp "$T/next.json" "$T/config.json"
EMU_MQTT=1
emu_start "$T/config.json"
[ -n "$MQTT_PORT" ] || die "no STATE/dps-mqtt.port"
check "the MQTT port is written next to dps.port" test -s "$STATE/dps-mqtt.port"
CA=$STATE/server-a/root.pem

# mq CERT CLIENTID USERNAME STEP...: one MQTT connection; output in $T/mq
mq() {
    _c=$1 _i=$2 _u=$3
    shift 3
    $MQTTC --port "$MQTT_PORT" --cafile "$CA" --cert "$T/$_c.pem" \
        --key "$T/$_c.key" --id "$_i" --user "$_u" --timeout 30 "$@" > "$T/mq" 2>&1
}
# reg CERT REGID APIV BODY: a whole registration on one connection; RC
reg() {
    RC=0
    mq "$1" "$2" "$SCOPE/registrations/$2/api-version=$3&ClientVersion=devid-test" \
        sub "$RES" dps "$4" || RC=$?
    last
}
# last: topic of the last answer in $T/topic, its payload in $T/b
last() {
    grep '^msg ' "$T/mq" | tail -1 | sed 's/^msg \([^ ]*\) .*/\1/' > "$T/topic"
    grep '^msg ' "$T/mq" | tail -1 | sed 's/^msg [^ ]* //' > "$T/b"
}
# topics: the answers' topics, one per line
topics() { sed -n 's/^msg \([^ ]*\) .*/\1/p' "$T/mq"; }
# answer N: the payload of the N-th answer into $T/b
answer() { sed -n 's/^msg [^ ]* //p' "$T/mq" | sed -n "${1}p" > "$T/b"; }
status_is() { eq "$RC/$(cut -d/ -f4 "$T/topic")/$(j 'd["status"]')" "$1"; }

say "register a group device: 202 assigning, polls while assigning, 200 assigned"
reg dev-a dev-a "$GA" '{"registrationId":"dev-a"}'
check "assigned" status_is 0/200/assigned
topics > "$T/topics"
check "four answers with their \$rid and retry-after on 202" eq "$(tr '\n' ' ' < "$T/topics")" \
    '$dps/registrations/res/202/?$rid=1&retry-after=1 $dps/registrations/res/202/?$rid=2&retry-after=1 $dps/registrations/res/202/?$rid=3&retry-after=1 $dps/registrations/res/200/?$rid=4 '
answer 1
check "the first answer is an operation, assigning" \
    eq "$(j 'd["status"]')/$(j 'd["operationId"].startswith("5.")')" assigning/True
answer 2
check "a poll while assigning carries registrationState" \
    eq "$(j 'd["registrationState"]["status"]')" assigning
answer 4
check "the terminal answer: hub, device id, substatus" \
    eq "$(j 'd["registrationState"]["assignedHub"]')/$(j 'd["registrationState"]["deviceId"]')/$(j 'd["registrationState"]["substatus"]')" \
    localhost/dev-a/initialAssignment
code=$(dps POST "dev-a?api-version=$GA" dev-a '{"registrationId":"dev-a"}')
check "the HTTPS status lookup sees the MQTT registration" eq "$code/$(j 'd["status"]')" 200/assigned
check "the hub knows the device (STATE/hub-devices.json)" \
    eq "$(j 'd["dev-a"]["authentication"]["type"]' "$STATE/hub-devices.json")" certificateAuthority

config 0 ""
emu_reload "$T/next.json"

say "an individual enrollment: the device id of the enrollment"
reg dev-07 dev-07 "$GA" '{}'
check "assigned as line-7" eq "$(j 'd["registrationState"]["deviceId"]')/$RC" line-7/0

say "issuance from a CSR (2025-07-01-preview)"
reg dev-b dev-b "$CSRV" "{\"registrationId\":\"dev-b\",\"csr\":\"$(csr_b64 dev-b-op dev-b)\"}"
check "assigned" status_is 0/200/assigned
check "a chain of three: leaf, issuing CA, root" \
    eq "$(j 'len(d["registrationState"]["issuedCertificateChain"])')" 3
j 'd["registrationState"]["issuedCertificateChain"][0]' | openssl base64 -d -A \
    | openssl x509 -inform DER -noout -pubkey > "$T/leaf.pub"
openssl pkey -in "$T/dev-b-op.key" -pubout > "$T/dev-b-op.pub"
check "the leaf is for the CSR's key" cmp -s "$T/leaf.pub" "$T/dev-b-op.pub"
reg dev-c dev-c "$LEGACY" "{\"registrationId\":\"dev-c\",\"clientCertificateCsr\":\"$(csr_b64 legacy-op dev-c)\"}"
check "the legacy shape: a PEM certificate and a trust bundle" \
    eq "$(j '"BEGIN CERTIFICATE" in d["registrationState"]["issuedClientCertificate"]')/$(j 'len(d["registrationState"]["trustBundle"]["certificates"])')" True/1
reg dev-b dev-b "$CSRV" '{"registrationId":"dev-b","csr":"-----BEGIN CERTIFICATE REQUEST-----"}'
check "a PEM CSR: res/400 with 400004" eq "$(cut -d/ -f4 "$T/topic")/$(j 'd["errorCode"]')" 400/400004

say "terminal refusals come as 200 with status"
reg dis-01 dis-01 "$GA" '{}'
check "a disabled enrollment: disabled" status_is 0/200/disabled
reg nohub-01 nohub-01 "$GA" '{}'
check "no hub can be assigned: failed 400208" \
    eq "$(j 'd["status"]')/$(j 'd["registrationState"]["errorCode"]')" failed/400208
devkey nopol-op
reg nopol-01 nopol-01 "$CSRV" "{\"csr\":\"$(csr_b64 nopol-op nopol-01)\"}"
check "a CSR without an issuance policy: failed 400000" \
    eq "$(j 'd["status"]')/$(j 'd["registrationState"]["errorCode"]')" failed/400000

say "bad requests are answered on res/400"
reg dev-a dev-a "$GA" '{"registrationId":"someone-else"}'
check "body registrationId differs: 400004" eq "$(cut -d/ -f4 "$T/topic")/$(j 'd["errorCode"]')" 400/400004
reg dev-a dev-a "$GA" 'not json'
check "body not JSON: 400006" eq "$(cut -d/ -f4 "$T/topic")/$(j 'd["errorCode"]')" 400/400006
RC=0
mq dev-a dev-a "$SCOPE/registrations/dev-a/api-version=$GA" sub "$RES" \
    pub '$dps/registrations/GET/iotdps-get-operationstatus/?$rid=9&operationId=5.0.nope' - recv || RC=$?
last
check "an unknown operation: res/404 with 404202, \$rid echoed" \
    eq "$(cat "$T/topic")/$(j 'd["errorCode"]')" '$dps/registrations/res/404/?$rid=9/404202'

say "CONNECT refusals"
user() { echo "$SCOPE/registrations/$1/api-version=$GA"; }
RC=0; mq stranger stranger-01 "$(user stranger-01)" sub "$RES" || RC=$?
check "an unknown device: CONNACK 5" eq "$RC/$(cat "$T/mq")" "5/connack 5"
RC=0; mq dev-a dev-b "$(user dev-b)" sub "$RES" || RC=$?
check "a certificate whose CN is not the registration ID: CONNACK 5" eq "$(cat "$T/mq")" "connack 5"
RC=0; mq dev-a dev-x "$(user dev-a)" sub "$RES" || RC=$?
check "a client id that is not the registration ID: CONNACK 2" eq "$(cat "$T/mq")" "connack 2"
RC=0; mq dev-a dev-a "0ne00000999/registrations/dev-a/api-version=$GA" sub "$RES" || RC=$?
check "an unknown ID scope: CONNACK 5" eq "$(cat "$T/mq")" "connack 5"
RC=0; mq dev-a dev-a "$SCOPE/registrations/dev-a/api-version=1999-01-01" sub "$RES" || RC=$?
check "an api-version DPS does not serve: CONNACK 4" eq "$(cat "$T/mq")" "connack 4"
RC=0; mq dev-a dev-a "dev-a" sub "$RES" || RC=$?
check "a user name not of the DPS form: CONNACK 4" eq "$(cat "$T/mq")" "connack 4"

say "MQTT rules"
RC=0; mq dev-a dev-a "$(user dev-a)" sub 'devices/#' || RC=$?
check "another filter: SUBACK 0x80" eq "$RC/$(cat "$T/mq")" "0/suback 128"
RC=0; mq dev-a dev-a "$(user dev-a)" pub 'devices/dev-a/messages/events/' x recv || RC=$?
check "a topic that is not DPS's closes the connection" eq "$RC" 7
RC=0; $MQTTC --port "$MQTT_PORT" --cafile "$CA" --cert "$T/dev-a.pem" --key "$T/dev-a.key" \
    --id dev-a --user "$(user dev-a)" --timeout 3 \
    pub '$dps/registrations/PUT/iotdps-register/?$rid=1' '{}' recv > "$T/mq" 2>&1 || RC=$?
check "no subscription, no answer (subscribe before publishing)" eq "$RC" 27
RC=0; mq dev-a dev-a "$(user dev-a)" sub "$RES" pub1 '$dps/registrations/PUT/iotdps-register/?$rid=q1' '{}' recv || RC=$?
last
check "a QoS 1 request is acknowledged and answered" \
    eq "$RC/$(grep -c '^puback$' "$T/mq")/$(cut -d/ -f4 "$T/topic")" 0/1/202

say "faults: 429 with retry-after, 5xx, a closed connection (the same counters as HTTPS)"
config 0 '"register_429": 1, "retry_after_429": 2, "poll_503": 1, "poll_500": 1'
emu_reload "$T/next.json"
start=$(date +%s)
reg dev-a dev-a "$GA" '{}'
check "assigned in the end" status_is 0/200/assigned
topics | cut -d/ -f4 > "$T/codes"
check "429, then 202, a poll answered 500, one 503, then the last poll" \
    eq "$(tr '\n' ' ' < "$T/codes")" "429 202 500 503 200 "
answer 1
check "the 429 says retry-after=2 and carries 429001" \
    eq "$(topics | head -1)/$(j 'd["errorCode"]')" '$dps/registrations/res/429/?$rid=1&retry-after=2/429001'

check "the client waited for it" test $(($(date +%s) - start)) -ge 2
config 0 '"close_register": 1, "delay_ms": 300'
emu_reload "$T/next.json"
reg dev-a dev-a "$GA" '{}'
check "close_register: the connection is closed without an answer" \
    eq "$RC/$(grep -c '^msg ' "$T/mq")" 7/0
reg dev-a dev-a "$GA" '{}'
check "the next connection registers (answers delayed by delay_ms)" status_is 0/200/assigned
RC=0
$MQTTC --port "$MQTT_PORT" --cafile "$CA" --cert "$T/dev-a.pem" --key "$T/dev-a.key" \
    --id dev-a --user "$(user dev-a)" --timeout 0.2 sub "$RES" \
    pub '$dps/registrations/PUT/iotdps-register/?$rid=1' '{}' recv > "$T/mq" 2>&1 || RC=$?
check "a client that leaves before its delayed answer" eq "$RC" 27
sleep 0.5

say "the root switch applies to MQTT too"
config 0 "" '"server_root": "B",'
emu_reload "$T/next.json"
RC=0; mq dev-a dev-a "$(user dev-a)" sub "$RES" || RC=$?
check "a client trusting only root A cannot connect" eq "$RC" 7
CA=$STATE/server-b/root.pem
RC=0; mq dev-a dev-a "$(user dev-a)" sub "$RES" || RC=$?
check "trusting root B it can" eq "$RC" 0

emu_stop
finish
