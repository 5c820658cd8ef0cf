#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs tests/unit/test-p11module (devid-pkcs11.so through its function
# list) on a state directory laid out as tools/ writes it, with two
# identities a and b whose keys live in a fresh SoftHSM token (keys made
# by devid keygen, certificates from a test CA): current -> identities/a.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/p11module/lib-p11module.sh"
devid_tmpdir
cleanup() {
    [ -n "${KEEP:-}" ] || rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" unit-tok
printf '%s' "$DEVID_USER_PIN" > pin
chmod 600 pin
cat > devid.conf <<CONF
state-dir = $TESTDIR/state
pkcs11-module-path = $SOFTHSM_MODULE
pin-source = file:$TESTDIR/pin
CONF
devid_mkca "$TESTDIR"
for i in a b; do
    key="pkcs11:token=unit-tok;object=key-$i"
    "$top_builddir/devid" --config devid.conf keygen --type ec-p256 "$key" > /dev/null \
        || fail "keygen $i"
    "$top_builddir/devid" --config devid.conf csr --key "$key" --cn unit-01 \
        --out "$i.csr" || fail "csr $i"
    devid_sign_csr "$TESTDIR" "$i.csr" "$i.pem"
    mkdir -p "state/identities/$i"
    cat "$i.pem" ca.pem > "state/identities/$i/chain.pem"
    printf '{ "registration_id": "unit-01", "device_id": "unit-01", "key": "%s" }\n' \
        "$key" > "state/identities/$i/state.json"
done
ln -s identities/a state/current
# an RSA identity in a state directory of its own
key="pkcs11:token=unit-tok;object=key-r"
"$top_builddir/devid" --config devid.conf keygen --type rsa-2048 "$key" > /dev/null \
    || fail "keygen rsa"
"$top_builddir/devid" --config devid.conf csr --key "$key" --cn unit-rsa \
    --out r.csr || fail "csr rsa"
devid_sign_csr "$TESTDIR" r.csr r.pem
mkdir -p rsa/identities/r
cat r.pem ca.pem > rsa/identities/r/chain.pem
printf '{ "registration_id": "unit-rsa", "key": "%s" }\n' "$key" \
    > rsa/identities/r/state.json
ln -s identities/r rsa/current
sed "s|^state-dir = .*|state-dir = $TESTDIR/rsa|" devid.conf > rsa.conf
DEVID_PKCS11_CONFIG=$TESTDIR/devid.conf
export DEVID_PKCS11_CONFIG
# the program is itself instrumented in an ASan build: it runs with leak
# checking, which tests/lib.sh turns off for uninstrumented programs; make
# check-valgrind runs it under valgrind, as tests/run-sh runs unit programs
run_unit() {
    if [ -n "${DEVID_ASAN_PRELOAD:-}" ]; then
        env -u LD_PRELOAD ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            "$top_builddir/tests/unit/test-p11module" "$@"
    elif [ -n "${DEVID_VALGRIND_TOOL:-}" ]; then
        sh "$top_srcdir/tests/run-sh" "$top_builddir/tests/unit/test-p11module" "$@"
    else
        "$top_builddir/tests/unit/test-p11module" "$@"
    fi
}
run_unit "$P11MOD" "$TESTDIR/state" || fail "the EC identity"
DEVID_PKCS11_CONFIG=$TESTDIR/rsa.conf run_unit "$P11MOD" "$TESTDIR/rsa" rsa \
    || fail "the RSA identity"
