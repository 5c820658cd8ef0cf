#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016  # $iothub, $rid, $version are MQTT, not shell
# The IoT Hub stand-in enforces IoT Hub's identity and topic rules (issue 16,
# DPS-PROTOCOL.md 5.1-5.5) for the devices the DPS emulator assigned:
# - a group device (CA-signed: CN = device id) and an individual enrollment
#   whose device id differs from its CN (thumbprint) connect as their device
#   ids and their telemetry arrives under those ids;
# - CONNECT is refused (CONNACK 5) for a wrong or missing user name, a client
#   id that is not the certificate's device, or a device DPS never assigned;
# - a publish or subscribe outside the device's own topics closes the
#   connection: a QoS 1 publish is never acknowledged, nothing is dropped
#   silently; the service reads telemetry and sends cloud-to-device
#   messages only the addressed device receives; twin GET/PATCH are answered;
# - a self-signed thumbprint device that got no certificate from DPS
#   connects with the one it enrolled with; a certificate it signs is no
#   CA-signed device;
# - a renewed thumbprint device can still use its previous certificate;
# - the hub presents root B after the emulator's root switch.
# Exit codes of mosquitto_pub and mqtt-client.py are asserted, never text.
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
EMULATORS=$top_srcdir/emulator/devid-emulators
MQTTC="python3 $top_srcdir/tests/emulator/mqtt-client.py"
API=2021-04-12
ALL_PID=""
C2D_PID=""
hub_cleanup() {
    for p in $ALL_PID $C2D_PID; do kill "$p" 2>/dev/null || true; done
    "$EMULATORS" stop --state "$STATE" > /dev/null 2>&1 || true
    emu_cleanup
}
trap hub_cleanup EXIT

# dev-07: an individual enrollment whose hub device id is line-7; solo-01:
# one with a self-signed certificate that registers without a CSR
selfsigned dev-07-onb dev-07
selfsigned solo-01 solo-01
cat > "$T/config.json" <<JSON
{"id_scope": "$SCOPE", "assigning_polls": 0, "retry_after": 0,
 "individual_enrollments": [
   {"registration_id": "dev-07", "certificate": "dev-07-onb.pem",
    "device_id": "line-7",
    "initial_twin": {"properties": {"desired": {"interval": 5}}}},
   {"registration_id": "solo-01", "certificate": "solo-01.pem"}],
 "enrollment_groups": [{"id": "factory", "ca": "factory"}]}
JSON
"$EMULATORS" start --state "$STATE" --config "$T/config.json" > "$T/env" 2> "$T/start.err" \
    || { cat "$T/start.err"; die "devid-emulators start failed"; }
# shellcheck disable=SC1091
. "$T/env"
BASE="https://127.0.0.1:$DPS_PORT/$SCOPE/registrations"
HUBCA=$DPS_ROOT

# provision NAME REGID ONBOARDING: register with a CSR for the key NAME;
# $T/NAME.pem = issued leaf + issuing CA
provision() {
    devkey "$1"
    code=$(register "$3" "$2" "$CSRV" "{\"registrationId\":\"$2\",\"csr\":\"$(csr_b64 "$1" "$2")\"}")
    [ "$code/$(j 'd["status"]')" = 200/assigned ] || die "$2 not assigned ($code)"
    j '"".join("-----BEGIN CERTIFICATE-----\n" + "\n".join(c[i:i+64] for i in range(0, len(c), 64)) + "\n-----END CERTIFICATE-----\n" for c in d["registrationState"]["issuedCertificateChain"][:2])' > "$T/$1.pem"
}
onboard dev-a-onb dev-a
onboard dev-b-onb dev-b
provision dev-a dev-a dev-a-onb
provision dev-b dev-b dev-b-onb
provision dev-07 dev-07 dev-07-onb

user() { echo "localhost/$1/?api-version=$API"; }
# pubas CERT CLIENTID USERNAME TOPIC MESSAGE [QOS]: mosquitto_pub with
# $T/CERT.pem and $T/CERT.key, QoS 1 by default; no user name when empty
pubas() {
    _c=$1 _i=$2 _u=$3 _t=$4 _m=$5 _q=${6:-1}
    if [ -n "$_u" ]; then
        timeout 20 mosquitto_pub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$HUBCA" \
            --cert "$T/$_c.pem" --key "$T/$_c.key" -i "$_i" -u "$_u" -q "$_q" \
            -t "$_t" -m "$_m" 2>/dev/null
    else
        timeout 20 mosquitto_pub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$HUBCA" \
            --cert "$T/$_c.pem" --key "$T/$_c.key" -i "$_i" -q "$_q" \
            -t "$_t" -m "$_m" 2>/dev/null
    fi
}
# mqttc CERT CLIENTID USERNAME STEP...: mqtt-client.py; output in $T/mq
mqttc() {
    _c=$1 _i=$2 _u=$3
    shift 3
    $MQTTC --port "$HUB_PORT" --cafile "$HUBCA" --cert "$T/$_c.pem" \
        --key "$T/$_c.key" --id "$_i" --user "$_u" --timeout 15 "$@" > "$T/mq" 2>&1
}
# rc_is WANT COMMAND...: COMMAND exits WANT
rc_is() {
    _want=$1
    shift
    _rc=0
    "$@" || _rc=$?
    eq "$_rc" "$_want"
}
# wait_line FILE TEXT: FILE gets the line TEXT within 15 s
wait_line() {
    _n=0
    until grep -qxF -- "$2" "$1" 2>/dev/null; do
        _n=$((_n + 1))
        [ $_n -lt 150 ] || return 1
        sleep 0.1
    done
}
# deliver CERT CLIENTID TOPIC MESSAGE: publishes (again every 0.5 s) until
# the service subscriber has "TOPIC MESSAGE"
deliver() {
    _n=0
    until grep -qxF -- "$3 $4" "$T/all"; do
        pubas "$1" "$2" "$(user "$2")" "$3" "$4" || return 1
        _n=$((_n + 1))
        [ $_n -lt 30 ] || return 1
        sleep 0.5
    done
}

say "the service subscribes to all telemetry"
mosquitto_sub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$DPS_ROOT" -i service-all \
    --cert "$HUB_SERVICE_CERT" --key "$HUB_SERVICE_KEY" -t 'devices/#' -v \
    -W 300 > "$T/all" 2>&1 &
ALL_PID=$!

say "registered devices connect as the devices DPS created"
check "dev-a (group, CA-signed: CN = device id) delivers under devices/dev-a" \
    deliver dev-a dev-a devices/dev-a/messages/events/ hello-a
check "dev-07 (individual, device id line-7 != CN) delivers under devices/line-7" \
    deliver dev-07 line-7 'devices/line-7/messages/events/$.ct=text%2Fplain' hello-line-7

say "CONNECT refused (CONNACK 5, not authorized)"
check "no user name" rc_is 5 pubas dev-a dev-a "" devices/dev-a/messages/events/ x
check "the user name of another hub" \
    rc_is 5 pubas dev-a dev-a "elsewhere.example/dev-a/?api-version=$API" devices/dev-a/messages/events/ x
check "a user name without api-version" \
    rc_is 5 pubas dev-a dev-a "localhost/dev-a/" devices/dev-a/messages/events/ x
check "the user name of another device" \
    rc_is 5 pubas dev-a dev-a "$(user dev-b)" devices/dev-a/messages/events/ x
check "dev-a's certificate as client id dev-b" \
    rc_is 5 pubas dev-a dev-b "$(user dev-b)" devices/dev-b/messages/events/ x
check "dev-07's certificate as its CN (dev-07) instead of its device id" \
    rc_is 5 pubas dev-07 dev-07 "$(user dev-07)" devices/dev-07/messages/events/ x
check "dev-a's certificate as the thumbprint device line-7" \
    rc_is 5 pubas dev-a line-7 "$(user line-7)" devices/line-7/messages/events/ x
devkey ghost
openssl req -new -key "$T/ghost.key" -subj /CN=ghost -out "$T/ghost.csr"
"$EMU_BIN" issue-device --state "$STATE" --csr "$T/ghost.csr" --out "$T/ghost.pem" > /dev/null
check "a device-CA certificate DPS never assigned" \
    rc_is 5 pubas ghost ghost "$(user ghost)" devices/ghost/messages/events/ x

say "anything outside the device's topics closes the connection"
check "QoS 1 to another device's telemetry: no PUBACK, connection lost" \
    rc_is 7 pubas dev-a dev-a "$(user dev-a)" devices/dev-b/messages/events/ forged-1
check "QoS 1 from line-7 to the topic of its CN (dev-07)" \
    rc_is 7 pubas dev-07 line-7 "$(user line-7)" devices/dev-07/messages/events/ forged-2
check "QoS 1 to a topic that is no device topic" \
    rc_is 7 pubas dev-a dev-a "$(user dev-a)" fleet/all forged-3
check "QoS 2 to its own telemetry topic (IoT Hub has no QoS 2)" \
    rc_is 7 mqttc dev-a dev-a "$(user dev-a)" pub2 devices/dev-a/messages/events/ forged-4 recv
check "QoS 0 to another device's topic: the next request finds the connection closed" \
    rc_is 7 mqttc dev-a dev-a "$(user dev-a)" pub devices/dev-b/messages/events/ forged-5 \
    sub devices/dev-a/messages/devicebound/#
for f in 'devices/dev-b/messages/devicebound/#' 'devices/#' '#' '$iothub/#' \
    'devices/dev-a/messages/events/'; do
    check "subscribe to $f" rc_is 7 mqttc dev-a dev-a "$(user dev-a)" sub "$f"
done
check "the device's own filters are granted" \
    rc_is 0 mqttc dev-a dev-a "$(user dev-a)" sub 'devices/dev-a/messages/devicebound/#' \
    sub '$iothub/twin/res/#' sub '$iothub/twin/PATCH/properties/desired/#' sub '$iothub/methods/POST/#'
check "  granted QoS 1 each" eq "$(grep -c '^suback 1$' "$T/mq")" 4

say "cloud-to-device: the service sends, the addressed device receives"
$MQTTC --port "$HUB_PORT" --cafile "$HUBCA" --cert "$T/dev-a.pem" --key "$T/dev-a.key" \
    --id dev-a --user "$(user dev-a)" --timeout 20 \
    sub 'devices/dev-a/messages/devicebound/#' recv > "$T/c2d" 2>&1 &
C2D_PID=$!
check "dev-a subscribed" wait_line "$T/c2d" "suback 1"
cp "$HUB_SERVICE_CERT" "$T/service.pem"
cp "$HUB_SERVICE_KEY" "$T/service.key"
check "the service publishes to dev-a's devicebound topic" \
    rc_is 0 pubas service service-c2d "" \
    'devices/dev-a/messages/devicebound/%24.mid=m1' c2d-hello
check "dev-a receives it" wait_line "$T/c2d" 'msg devices/dev-a/messages/devicebound/%24.mid=m1 c2d-hello'
wait "$C2D_PID" || true
C2D_PID=""
check "the service cannot publish telemetry as a device" \
    rc_is 7 pubas service service-c2d "" devices/dev-a/messages/events/ forged-6

say "device twin"
check "line-7 reads its twin, reports a property, reads it back" \
    rc_is 0 mqttc dev-07 line-7 "$(user line-7)" sub '$iothub/twin/res/#' \
    pub '$iothub/twin/GET/?$rid=1' - recv \
    pub '$iothub/twin/PATCH/properties/reported/?$rid=2' '{"fw":"1.0"}' recv \
    pub '$iothub/twin/GET/?$rid=3' - recv
twin() { sed -n "s/^msg \$iothub\/twin\/res\/$1\/?\$rid=$2 //p" "$T/mq"; }
twin 200 1 > "$T/twin1.json"
twin 200 3 > "$T/twin3.json"
check "  desired properties from the enrollment's initial twin" \
    eq "$(j 'd["desired"]["interval"]' "$T/twin1.json")/$(j 'd["reported"]["$version"]' "$T/twin1.json")" 5/1
check "  the patch is answered 204 with the new \$version" \
    grep -qx 'msg $iothub/twin/res/204/?$rid=2&$version=2 ' "$T/mq"
check "  the reported property is in the twin" \
    eq "$(j 'd["reported"]["fw"]' "$T/twin3.json")/$(j 'd["reported"]["$version"]' "$T/twin3.json")" 1.0/2

say "a self-signed thumbprint device (no CSR) connects with its own certificate"
code=$(register solo-01 solo-01 "$GA" '{"registrationId":"solo-01"}')
check "solo-01 assigned without a CSR" eq "$code/$(j 'd["status"]')" 200/assigned
check "it delivers with the self-signed certificate it enrolled with" \
    deliver solo-01 solo-01 devices/solo-01/messages/events/ hello-solo
devkey mint
openssl req -new -key "$T/mint.key" -subj /CN=dev-a -out "$T/mint.csr"
openssl x509 -req -in "$T/mint.csr" -CA "$T/solo-01.pem" -CAkey "$T/solo-01.key" \
    -CAcreateserial -days 1 -out "$T/mint-leaf.pem" 2>/dev/null
cat "$T/mint-leaf.pem" "$T/solo-01.pem" > "$T/mint.pem"
check "a certificate it signed with CN dev-a is not dev-a (CONNACK 5)" \
    rc_is 5 pubas mint dev-a "$(user dev-a)" devices/dev-a/messages/events/ forged-7

say "renewal: the new certificate and the previous one both connect (primary and secondary thumbprint)"
provision dev-07b dev-07 dev-07-onb
check "the renewed certificate delivers as line-7" \
    deliver dev-07b line-7 devices/line-7/messages/events/ renewed
check "the previous certificate still does" \
    deliver dev-07 line-7 devices/line-7/messages/events/ previous

say "nothing forged reached the service"
check "a last message arrives after everything else" \
    deliver dev-b dev-b devices/dev-b/messages/events/ last-b
check "no forged message among them" sh -c "! grep -q forged '$T/all'"

say "root switch: the hub presents root B after the emulator's switch"
sed 's/"retry_after": 0,/"retry_after": 0, "server_root": "B",/' "$T/config.json" > "$T/config-b.json"
cp "$T/config-b.json" "$T/config.json"
gen=$(cat "$STATE/dps.generation")
kill -HUP "$(cat "$STATE/dps.pid")"
check "the hub follows (STATE/hub.root)" wait_line "$STATE/hub.root" B
check "  and the emulator reloaded" sh -c "[ \"\$(cat '$STATE/dps.generation')\" != '$gen' ]"
check "a device trusting only root A cannot connect" \
    sh -c "! timeout 20 mosquitto_pub -h 127.0.0.1 -p $HUB_PORT --cafile '$DPS_ROOT' --cert '$T/dev-a.pem' --key '$T/dev-a.key' -i dev-a -u '$(user dev-a)' -q 1 -t devices/dev-a/messages/events/ -m x 2>/dev/null"
HUBCA=$DPS_ROOT_B
check "trusting root B it delivers" deliver dev-a dev-a devices/dev-a/messages/events/ after-switch

"$EMULATORS" stop --state "$STATE"
finish
