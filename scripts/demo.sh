#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The end-to-end demo on the embedded defaults. Installs what it needs,
# builds devid, then: creates a SoftHSM2 token, makes a non-exportable key in
# it, has a CA certify it, and completes a mutual-TLS handshake in which
# openssl s_client authenticates with the token key to an openssl s_server
# that requires a client certificate. State goes to $DEVID_DEMO_DIR
# (default: a fresh temporary directory), removed at the end unless kept.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${DEVID_BUILD_ROOT:-$top/build}/default

say() {
    printf '\n\033[1m== %s\033[0m\n' "$*"
}

say "Installing packages and building devid (in $build)"
sh "$top/scripts/build.sh" "$build" --enable-werror
export OPENSSL_MODULES="$build/.libs"

state=${DEVID_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/devid-demo.XXXXXX")}
mkdir -p "$state"
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    [ -n "${DEVID_DEMO_KEEP:-}" ] || rm -rf "$state"
}
trap cleanup EXIT
cd "$state"
. "$top/tests/lib.sh"

say "1. A fresh SoftHSM2 token 'demo-device' plays the device's HSM"
devid_mktoken "$state" demo-device
echo "token store: $state/tokens (SOFTHSM2_CONF=$SOFTHSM2_CONF)"

say "2. devid creates an EC P-256 key inside the token (never leaves it)"
printf '%s' "$DEVID_USER_PIN" > pin.txt
chmod 600 pin.txt
keyuri="pkcs11:token=demo-device;object=device-key;type=private"
openssl genpkey -provider default -provider devid -propquery '?provider=devid' \
    -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt "uri:pkcs11:token=demo-device;object=device-key?pin-source=file:$state/pin.txt" \
    -out device-key.pem
echo "key reference file (holds no secret):"
cat device-key.pem
pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin "$DEVID_USER_PIN" -O --type privkey 2>/dev/null \
    | grep -E 'label|Sensitive|extractable|Usage' | sed 's/^/  /' || true

say "3. A CSR signed by the token key, certified by a local CA"
devid_mkca "$state"
openssl req -provider default -provider devid -new -key device-key.pem \
    -passin "file:$state/pin.txt" -subj "/CN=demo-device-01" -out device.csr
openssl req -verify -noout -in device.csr
devid_sign_csr "$state" device.csr device.pem
openssl x509 -in device.pem -noout -subject -issuer

say "4. Mutual TLS: s_server requires a client certificate, s_client signs with the token"
devid_mkserver "$state" server ec
port=$(devid_freeport)
openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev -Verify 1 -CAfile ca.pem \
    -cert server.pem -key server.key > server.log 2>&1 &
server_pid=$!
devid_wait_port "$port"
echo 'hello from the device' | openssl s_client -provider default -provider devid \
    -connect "127.0.0.1:$port" -CAfile ca.pem -cert device.pem -key device-key.pem \
    -pass "file:$state/pin.txt" -verify_return_error -brief 2>&1 | sed 's/^/  client: /'
wait "$server_pid" || true
server_pid=
grep -E 'CN = demo-device-01|hello from the device|verify return' server.log | sed 's/^/  server: /'
grep -q 'CN = demo-device-01' server.log
say "Done: the server authenticated the device by a key that never left its token."
