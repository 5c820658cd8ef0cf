#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Which token a key is made in when the URI names none (issue 11, item 1):
# uninitialised slots (SoftHSM always shows one) and write-protected tokens
# (p11-kit's trust store) are no candidates; two initialised writable tokens
# are refused with each one's label and serial. Run as pkcs11-provider users
# run it: openssl genpkey with pkcs11_uri and a config that names the module
# and the PIN.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

TRUST_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so

devid_mktoken "$TESTDIR" devid-one
printf '%s\n' "$DEVID_USER_PIN" > pin
chmod 600 pin

# mkconf FILE [MODULE-PATH]: devid by name, the PIN from a file, and the
# module when given (else every module registered with p11-kit)
mkconf() {
    {
        printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n'
        printf '[p]\ndefault = d\ndevid = v\n[d]\nactivate = 1\n'
        printf '[v]\nmodule = %s/devid.so\nactivate = 1\n' "$OPENSSL_MODULES"
        printf 'pkcs11-module-token-pin = file:%s/pin\n' "$TESTDIR"
        [ -z "${2:-}" ] || printf 'pkcs11-module-path = %s\n' "$2"
    } > "$1"
}

# genkey CONF NAME: openssl genpkey of a P-256 key pkcs11:object=NAME in
# the token devid picks; output in out.txt
genkey() {
    OPENSSL_CONF=$1 openssl genpkey -propquery '?provider=devid' \
        -algorithm EC -pkeyopt group:P-256 \
        -pkeyopt "pkcs11_uri:pkcs11:object=$2" -out "$2.pem" > out.txt 2>&1
}

# signs CONF NAME: the new key signs, and the signature verifies
signs() {
    printf 'data' > data
    OPENSSL_CONF=$1 openssl pkeyutl -sign -inkey "$2.pem" -rawin \
        -digest sha256 -in data -out sig > out.txt 2>&1 \
        || { cat out.txt; fail "$2 does not sign"; }
    OPENSSL_CONF=$1 openssl pkey -in "$2.pem" -pubout -out "$2.pub" \
        > out.txt 2>&1 || { cat out.txt; fail "$2: no public key"; }
    openssl pkeyutl -verify -pubin -inkey "$2.pub" -rawin -digest sha256 \
        -in data -sigfile sig > /dev/null || fail "$2: signature does not verify"
}

# 1. one initialised token next to SoftHSM's uninitialised slot
softhsm2-util --show-slots | grep -q 'Token present: *yes' \
    || fail "softhsm2-util shows no slot"
[ "$(softhsm2-util --show-slots | grep -c 'Initialized: *no')" -ge 1 ] \
    || fail "SoftHSM shows no uninitialised slot (the case under test)"
mkconf one.cnf "$SOFTHSM_MODULE"
genkey one.cnf gen1 || { cat out.txt; fail "genpkey without token= next to an uninitialised slot"; }
signs one.cnf gen1
ok "key made in the one initialised token, not the uninitialised slot"

# the key went to devid-one: a load by its token finds it
OPENSSL_CONF=one.cnf openssl pkey -in "pkcs11:token=devid-one;object=gen1;type=private" \
    -pubout > /dev/null 2>&1 || fail "gen1 is not in token devid-one"
ok "gen1 is in devid-one"

# 2. every module p11-kit registers, p11-kit's read-only trust store among
# them: the trust token is initialised but write-protected
if [ -f "$TRUST_MODULE" ] && env -u LD_PRELOAD p11-kit list-modules 2>/dev/null | grep -q 'p11-kit-trust'; then
    mkconf all.cnf
    genkey all.cnf gen2 || { cat out.txt; fail "genpkey without token= next to p11-kit's trust token"; }
    signs all.cnf gen2
    ok "key made in the SoftHSM token, not in p11-kit's trust token"
else
    echo "note: p11-kit-trust is not registered with p11-kit: case 2 not run"
fi

# 3. two initialised writable tokens: refused, naming both
devid_addtoken devid-two
serials=$(softhsm2-util --show-slots | sed -n 's/^ *Serial number: *//p' | grep -v '^ *$' | tr '\n' ' ')
if genkey one.cnf gen3; then
    fail "genpkey chose one of two initialised tokens"
fi
grep -q 'more than one object matches' out.txt || { cat out.txt; fail "no devid reason for two tokens"; }
for want in 'label "devid-one"' 'label "devid-two"'; do
    grep -qF "$want" out.txt || { cat out.txt; fail "the error does not name $want"; }
done
n=0
for s in $serials; do
    if grep -qF "serial \"$s\"" out.txt; then
        n=$((n + 1))
    fi
done
[ "$n" -eq 2 ] || { cat out.txt; fail "the error names $n of the 2 serials ($serials)"; }
ok "two initialised tokens: refused, with both labels and serials"

# naming one of them by token= works
OPENSSL_CONF=one.cnf openssl genpkey -propquery '?provider=devid' \
    -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt 'pkcs11_uri:pkcs11:token=devid-two;object=gen3' -out gen3.pem \
    > out.txt 2>&1 || { cat out.txt; fail "genpkey with token=devid-two"; }
signs one.cnf gen3
ok "token= picks one of them"
