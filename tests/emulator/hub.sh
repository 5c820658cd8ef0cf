#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# IoT Hub stand-in, started with the DPS emulator by devid-emulators: a device
# gets its certificate from the emulator (onboarding cert -> DPS CSR ->
# issued chain), publishes telemetry that a service subscriber receives; it
# cannot publish to another device's topic; untrusted certificates cannot
# connect. (The identity rules in detail: hub-identity.sh.)
set -eu
# shellcheck source=tests/emulator/lib-emu.sh
. "$(dirname "$0")/lib-emu.sh"
EMULATORS=$top_srcdir/emulator/devid-emulators
hub_cleanup() {
    "$EMULATORS" stop --state "$STATE" > /dev/null 2>&1 || true
    [ -z "${SUB_PID:-}" ] || kill "$SUB_PID" 2>/dev/null || true
    emu_cleanup
}
trap hub_cleanup EXIT

cat > "$T/config.json" <<JSON
{"id_scope": "$SCOPE", "assigning_polls": 0, "retry_after": 0,
 "enrollment_groups": [{"id": "factory", "ca": "factory"}]}
JSON
loopback_only() {   # every listening socket on these ports is 127.0.0.1
    python3 - "$@" <<'PY'
import sys
ports = {int(p) for p in sys.argv[1:]}
seen = set()
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        lines = open(f).read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        local, state = line.split()[1], line.split()[3]
        addr, port = local.split(":")
        if state != "0A" or int(port, 16) not in ports:
            continue
        seen.add(int(port, 16))
        if addr != "0100007F":
            print("port %d listens on %s" % (int(port, 16), addr))
            sys.exit(1)
sys.exit(0 if seen == ports else 1)
PY
}

say "devid-emulators start"
"$EMULATORS" start --state "$STATE" --config "$T/config.json" > "$T/env" 2> "$T/start.err" \
    || { cat "$T/start.err"; die "devid-emulators start failed"; }
cat "$T/env"
# shellcheck disable=SC1091
. "$T/env"
PORT=$DPS_PORT
BASE="https://127.0.0.1:$PORT/$SCOPE/registrations"
check "DPS and hub listen on 127.0.0.1 only" loopback_only "$DPS_PORT" "$HUB_PORT"

say "provision two devices through DPS with CSRs"
for d in dev-a dev-b; do
    onboard "$d-onb" "$d"
    devkey "$d"
    code=$(register "$d-onb" "$d" "$CSRV" "{\"registrationId\":\"$d\",\"csr\":\"$(csr_b64 "$d" "$d")\"}")
    check "$d assigned to hub $(j 'd["registrationState"]["assignedHub"]')" eq "$code/$(j 'd["status"]')" 200/assigned
    j '"".join("-----BEGIN CERTIFICATE-----\n" + "\n".join(c[i:i+64] for i in range(0, len(c), 64)) + "\n-----END CERTIFICATE-----\n" for c in d["registrationState"]["issuedCertificateChain"][:2])' > "$T/$d.pem"
done

pub() {   # pub DEVICE TOPIC MESSAGE: as the device DPS assigned
    mosquitto_pub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$DPS_ROOT" -i "$1" \
        -u "$HUB_HOST/$1/?api-version=2021-04-12" \
        --cert "$T/$1.pem" --key "$T/$1.key" -q 1 -t "$2" -m "$3"
}
sub_start() {   # sub_start COUNT: service subscriber to devices/#, output $T/sub
    : > "$T/sub"
    mosquitto_sub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$DPS_ROOT" -i service \
        --cert "$HUB_SERVICE_CERT" --key "$HUB_SERVICE_KEY" -t 'devices/#' -v \
        -C "$1" -W 10 > "$T/sub" 2>&1 &
    SUB_PID=$!
    i=0   # wait until the broker has the subscription
    while [ "$(grep -c "as service" "$STATE/hub/mosquitto.log")" -le "$subs" ] && [ $i -lt 100 ]; do
        sleep 0.05; i=$((i + 1))
    done
    subs=$((subs + 1))
    sleep 0.2
}

fails() { if "$@" 2>/dev/null; then return 1; fi; }
subs=0
say "telemetry reaches the service"
sub_start 1
check "dev-a publishes to its own topic" pub dev-a devices/dev-a/messages/events/ hello-from-a
wait "$SUB_PID" || true
SUB_PID=""
check "the service received it" grep -qx 'devices/dev-a/messages/events/ hello-from-a' "$T/sub"

say "a device cannot publish to another device's topic"
sub_start 1
check "the hub does not acknowledge dev-a's publish to dev-b's topic" \
    fails pub dev-a devices/dev-b/messages/events/ forged-by-a
pub dev-b devices/dev-b/messages/events/ real-from-b
wait "$SUB_PID" || true
SUB_PID=""
check "the first message the service sees is dev-b's own" grep -qx 'devices/dev-b/messages/events/ real-from-b' "$T/sub"
check "the forged message never arrived" sh -c "! grep -q forged '$T/sub'"

say "untrusted certificates cannot connect"
check "a factory onboarding certificate is refused" sh -c "! mosquitto_pub -h 127.0.0.1 -p $HUB_PORT --cafile '$DPS_ROOT' --cert '$T/dev-a-onb.pem' --key '$T/dev-a-onb.key' -t devices/dev-a/messages/events/ -m x 2>/dev/null"
selfsigned rogue dev-a
check "a self-signed certificate with a device CN is refused" sh -c "! mosquitto_pub -h 127.0.0.1 -p $HUB_PORT --cafile '$DPS_ROOT' --cert '$T/rogue.pem' --key '$T/rogue.key' -t devices/dev-a/messages/events/ -m x 2>/dev/null"
check "no certificate at all is refused" sh -c "! mosquitto_pub -h 127.0.0.1 -p $HUB_PORT --cafile '$DPS_ROOT' -t devices/dev-a/messages/events/ -m x 2>/dev/null"

say "devid-emulators stop"
dps_pid=$(cat "$STATE/dps.pid")
"$EMULATORS" stop --state "$STATE"
check "DPS stopped" sh -c "! kill -0 $dps_pid 2>/dev/null"
check "hub stopped" test ! -f "$STATE/hub.pid"
finish
