#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Bad input fails with a devid reason that names the input, and a wrong PIN
# is sent to the token once only.
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
