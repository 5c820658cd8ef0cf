#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The end-to-end demo on the embedded defaults: a SoftHSM2 token and a swtpm
# play two devices' secure elements, the local DPS emulator plays Azure DPS
# and a mosquitto broker requiring client certificates plays the IoT hub.
# Each device is provisioned zero-touch (key made inside its HSM or TPM,
# CSR, DPS registration with its factory onboarding certificate, issued
# certificate installed), then the unmodified mosquitto_pub sends telemetry
# with the issued certificate and the resident key. Installs what it needs
# and builds devid first. State goes to $DEVID_DEMO_DIR (default: a new
# temporary directory, removed at the end unless DEVID_DEMO_KEEP=1).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${DEVID_BUILD_ROOT:-$top/build}/default

say() {
    printf '\n\033[1m== %s\033[0m\n' "$*"
}

say "Installing packages and building devid (in $build)"
sh "$top/scripts/build.sh" "$build" --enable-werror
export OPENSSL_MODULES="$build/.libs"
export DEVID_DPS_EMULATOR="$build/devid-dps-emulator"
devid="$build/devid"

state=${DEVID_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/devid-demo.XXXXXX")}
mkdir -p "$state"
sub_pid=
cleanup() {
    [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null || true
    "$top/emulator/devid-emulators" stop --state "$state/emu" >/dev/null 2>&1 || true
    devid_tpm_stop 2>/dev/null || true
    [ -n "${DEVID_DEMO_KEEP:-}" ] || rm -rf "$state"
}
trap cleanup EXIT
cd "$state"
. "$top/tests/lib.sh"
. "$top/tests/lib-tpm.sh"

say "1. The cloud side: DPS emulator and IoT hub stand-in (mosquitto) on loopback"
"$top/emulator/devid-emulators" start --state "$state/emu" > emu.env
. "$state/emu/env"
sed 's/^/   /' emu.env

say "2. The devices' secure elements: a SoftHSM2 token and a swtpm TPM 2.0"
devid_mktoken "$state/hsm" demo-hsm
printf '%s' "$DEVID_USER_PIN" > "$state/pin"
chmod 600 "$state/pin"
devid_tpm_start "$state"
echo "   token demo-hsm (SOFTHSM2_CONF=$SOFTHSM2_CONF), TPM at $DEVID_TCTI"

# factory DEVICE NAME ONBOARDING-KEY: on the manufacturing line, the device
# makes an onboarding key in its secure element; the factory CA certifies it
factory() {
    "$devid" --config "$state/$1.conf" keygen --type ec-p256 "$3" > /dev/null
    "$devid" --config "$state/$1.conf" csr --key "$3" --cn "$2" --out "$state/$1-onboarding.csr"
    devid-dps-emulator issue-onboarding --state "$state/emu" \
        --csr "$state/$1-onboarding.csr" --out "$state/$1-onboarding.pem" >/dev/null
    echo "   $2: onboarding certificate from the factory CA:"
    openssl x509 -in "$state/$1-onboarding.pem" -noout -subject -issuer | sed 's/^/     /'
}

# device_conf NAME REGISTRATION-ID KEY ONBOARDING-KEY: the device's settings
device_conf() {
    cat > "$state/$1.conf" <<CONF
# devid settings of the $1 device
state-dir = $state/$1
registration-id = $2
key = $3
key-type = ec-p384
id-scope = $ID_SCOPE
dps-endpoint = $DPS_ENDPOINT
dps-trust = $DPS_ROOT
onboarding-key = $4
onboarding-cert = $state/$1-onboarding.pem
pin-source = file:$state/pin
CONF
}
PATH="$build:$PATH"

say "3. Factory line: onboarding keys made inside the HSM and the TPM"
device_conf hsm hsm-device-01 "pkcs11:token=demo-hsm;object=device" \
    "pkcs11:token=demo-hsm;object=onboarding"
factory hsm hsm-device-01 "pkcs11:token=demo-hsm;object=onboarding"
device_conf tpm tpm-device-01 "$state/tpm-device.tss2.pem" "$state/tpm-onboarding.tss2.pem"
echo "tcti = $DEVID_TCTI" >> "$state/tpm.conf"
factory tpm tpm-device-01 "$state/tpm-onboarding.tss2.pem"

say "4. First boot: devid provision (new key, CSR, DPS registration, install)"
for d in hsm tpm; do
    echo "   -- $d device"
    "$devid" --config "$state/$d.conf" provision 2>&1 | sed 's/^/   /'
done
"$devid" --config "$state/hsm.conf" --json status > hsm-status.json
echo "   devid status (HSM device):"
sed 's/^/     /' hsm-status.json

say "5. The keys never leave their secure elements"
pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin "$DEVID_USER_PIN" -O --type privkey 2>/dev/null \
    | grep -E 'Private Key|label|Access' | sed 's/^/   /'
echo "   TPM device key attributes (tpm2_print of the key file's public area):"
python3 "$top/tests/tss2-public.py" "$state/tpm-device.tss2.pem" "$state/tpm-pub.bin"
tpm2_print -t TPM2B_PUBLIC "$state/tpm-pub.bin" | grep -A8 '^attributes' | sed 's/^/     /' || true

say "6. Telemetry: the unmodified mosquitto_pub, with devid active in openssl.cnf"
"$devid" --config "$state/hsm.conf" print-config openssl > openssl.cnf
mosquitto_sub -h 127.0.0.1 -p "$HUB_PORT" --cafile "$DPS_ROOT" \
    --cert "$HUB_SERVICE_CERT" --key "$HUB_SERVICE_KEY" -i service \
    -t 'devices/#' -v -C 2 -W 30 > telemetry.txt &
sub_pid=$!
sleep 1
for d in hsm tpm; do
    conf="$state/$d.conf"
    id=$(sed -n 's/^registration-id = //p' "$conf")
    tcti=$(sed -n 's/^tcti = //p' "$conf")
    if [ -n "$tcti" ]; then
        printf 'tcti = %s\n' "$tcti" >> openssl.cnf
    fi
    OPENSSL_CONF="$state/openssl.cnf" mosquitto_pub -h 127.0.0.1 -p "$HUB_PORT" \
        --cafile "$DPS_ROOT" --cert "$state/$d/device-chain.pem" \
        --key "$state/$d/device-key.pem" -i "$id" \
        -t "devices/$id/messages/events/" -m "{\"device\":\"$id\",\"temperature\":21.5}"
    echo "   $id published with its resident key"
done
wait "$sub_pid" || true
sub_pid=
echo "   the hub received:"
sed 's/^/     /' telemetry.txt
[ "$(grep -c temperature telemetry.txt)" -eq 2 ]
say "Done: both devices provisioned themselves and sent telemetry with keys that never left their HSM or TPM."
