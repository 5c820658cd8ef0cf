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
build=${DEVID_BUILD_ROOT:-$top/build}/demo

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
cleanup() {
    prov_emulators_stop 2>/dev/null || true
    devid_tpm_stop 2>/dev/null || true
    [ -n "${DEVID_DEMO_KEEP:-}" ] || rm -rf "$state"
}
trap cleanup EXIT
cd "$state"
# the tests' helpers: emulators, devices and telemetry, in this directory
TESTDIR=$state
top_srcdir=$top
top_builddir=$build
export TESTDIR top_srcdir top_builddir
. "$top/tests/lib.sh"
. "$top/tests/lib-tpm.sh"
. "$top/tests/cli/lib-provision.sh"

say "1. The cloud side: DPS emulator and IoT hub stand-in (mosquitto) on loopback"
prov_emulators "$state"
sed 's/^/   /' "$state/emu/env"

say "2. The devices' secure elements: a SoftHSM2 token and a swtpm TPM 2.0"
devid_mktoken "$state/hsm-token" demo-hsm
printf '%s' "$DEVID_USER_PIN" > "$state/pin"
chmod 600 "$state/pin"
devid_tpm_start "$state"
echo "   token demo-hsm (SOFTHSM2_CONF=$SOFTHSM2_CONF), TPM at $DEVID_TCTI"

say "3. Factory line: onboarding keys made inside the HSM and the TPM, certified by the factory CA"
prov_device hsm hsm-device-01 "pkcs11:token=demo-hsm;object=device" \
    "pkcs11:token=demo-hsm;object=onboarding" >/dev/null
prov_device tpm tpm-device-01 "$state/tpm-device.tss2.pem" \
    "$state/tpm-onboarding.tss2.pem" >/dev/null
echo "tcti = $DEVID_TCTI" >> "$state/tpm.conf"
for d in hsm tpm; do
    echo "   $d device: onboarding certificate"
    openssl x509 -in "$state/$d-onb.pem" -noout -subject -issuer | sed 's/^/     /'
done

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
for d in hsm tpm; do
    id=$(sed -n 's/^registration-id = //p' "$state/$d.conf")
    prov_expect_telemetry "$d" "$id" "{\"device\":\"$id\",\"temperature\":21.5}" \
        || { echo "   $id: no telemetry arrived"; exit 1; }
    echo "   $id published with its resident key; the hub received:"
    sed 's/^/     /' "$state/got-$id.txt"
done
say "Done: both devices provisioned themselves and sent telemetry with keys that never left their HSM or TPM."
