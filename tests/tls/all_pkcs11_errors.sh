#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input fails with a devid reason that names the input, and a wrong PIN
# is sent to the token once only. The private half of a token key cannot be
# written out, and a key name no backend owns is refused by name.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-err
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 31 --label errkey >/dev/null
printf 'x' > data

# expect_fail REASON-TEXT URI: signing with URI fails and says REASON-TEXT
expect_fail() {
    if devid_ossl pkeyutl -sign -inkey "$2" -in data -out sig > out.txt 2>&1; then
        fail "signing with $2 succeeded"
    fi
    grep -qi "$1" out.txt || { cat out.txt; fail "no '$1' for $2"; }
    # the openssl app echoes its own argument; devid's messages (the lines
    # with its reason) must not
    if grep -Fi -- "$1" out.txt | grep -q 'pin-value=[0-9]'; then
        fail "devid put a PIN in an error message"
    fi
    ok "$1: $2"
}

expect_fail 'invalid key name or URI' 'pkcs11:token=devid-err;object=%zz'
expect_fail 'no matching token' "pkcs11:token=no-such-token;object=errkey?pin-value=$DEVID_USER_PIN"
expect_fail 'no matching object' "pkcs11:token=devid-err;object=no-such-key?pin-value=$DEVID_USER_PIN"
expect_fail 'PIN or auth value incorrect' 'pkcs11:token=devid-err;object=errkey;type=private?pin-value=9999'

# the right PIN still works afterwards (the token is not locked)
devid_ossl pkeyutl -sign -inkey "pkcs11:token=devid-err;object=errkey;type=private?pin-value=$DEVID_USER_PIN" \
    -in data -out sig || fail "good PIN after a bad one"
ok "right PIN works after one wrong attempt"

# corrupt reference file
printf -- '-----BEGIN PKCS#11 PROVIDER URI-----\nMAMCAQA=\n-----END PKCS#11 PROVIDER URI-----\n' > bad-ref.pem
if devid_ossl pkeyutl -sign -inkey bad-ref.pem -in data -out sig > out.txt 2>&1; then
    fail "corrupt reference file accepted"
fi
grep -q 'invalid key reference file' out.txt || { cat out.txt; fail "corrupt reference: no devid reason"; }
ok "corrupt reference file refused"

# expect_cmd_fail REASON-TEXT WHAT CMD...: CMD fails and says REASON-TEXT
expect_cmd_fail() {
    _reason=$1
    _what=$2
    shift 2
    if "$@" > out.txt 2>&1; then
        fail "$_what succeeded"
    fi
    grep -qF "$_reason" out.txt || { cat out.txt; fail "no '$_reason' for $_what"; }
    ok "$_reason: $_what"
}

# the private half never leaves the token, whatever output is asked for;
# the public half does. -traditional -outform DER writes the reference (the
# URI without its PIN), never key material (without -traditional, pkey 3.6+
# asks for PKCS#8: a private export).
key="pkcs11:token=devid-err;object=errkey;type=private?pin-value=$DEVID_USER_PIN"
devid_ossl pkey -in "$key" -traditional -outform DER -out ref.der \
    || fail "pkey -traditional -outform DER"
openssl asn1parse -inform der -in ref.der > ref.txt
grep -q 'object=errkey' ref.txt || fail "the DER reference does not name the key"
if grep -q "pin-value" ref.txt; then
    fail "the DER reference holds the PIN"
fi
devid_ossl pkey -in "$key" -out errkey.ref.pem || fail "no reference file for errkey"
expect_cmd_fail 'private key material cannot be exported' 'pkcs8 -topk8 -nocrypt' \
    devid_ossl pkcs8 -topk8 -nocrypt -in errkey.ref.pem -passin "pass:$DEVID_USER_PIN" \
    -out priv.p8
if [ -s priv.p8 ]; then
    fail "private key material was written"
fi
devid_ossl pkey -in errkey.ref.pem -passin "pass:$DEVID_USER_PIN" -pubout -out pub.pem \
    || fail "public half not exported"
ok "the public half is exported"

# a key name that is neither a pkcs11: URI nor a TPM name or key file path
expect_cmd_fail 'no backend handles this key name' 'genpkey at uri:nowhere:key' \
    devid_ossl genpkey -propquery '?provider=devid' -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt uri:nowhere:key -out nowhere.pem
