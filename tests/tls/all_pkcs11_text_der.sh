#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# "openssl pkey|rsa|ec -text" on token keys prints the public half, the
# key's URI and its PKCS#11 attributes; "-traditional -outform der" writes
# the URI reference in DER, which devid reads back (pkey 3.6+ writes PKCS#8
# DER without -traditional, a private export); a private export still fails
# with devid's reason.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-text
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 0a --label ec \
    >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 0b --label rsa >/dev/null
q="?pin-value=$DEVID_USER_PIN"

for k in ec rsa; do
    uri="pkcs11:token=devid-text;object=$k;type=private$q"
    devid_ossl pkey -in "$uri" -text -noout > "$k.txt" || fail "$k: -text"
    devid_ossl pkey -in "$uri" -pubout -out "$k.pubpem"
    openssl pkey -pubin -in "$k.pubpem" -text -noout > "$k.pubtxt"
    head -n "$(wc -l < "$k.pubtxt")" "$k.txt" | cmp -s - "$k.pubtxt" \
        || fail "$k: -text does not start with the public half"
    grep -q '^    name: pkcs11:.*object='"$k" "$k.txt" || fail "$k: no name"
    grep -q '^    backend: pkcs11' "$k.txt" || fail "$k: no backend line"
    grep -q '^    PKCS#11 token: devid-text (SoftHSM project SoftHSM v2' \
        "$k.txt" || fail "$k: no token line"
    grep -q '^    PKCS#11 attributes:.* CKA_SENSITIVE=TRUE CKA_EXTRACTABLE=FALSE' \
        "$k.txt" || fail "$k: sensitive/extractable attributes"
    grep -q '^    PKCS#11 attributes:.* CKA_SIGN=TRUE' "$k.txt" \
        || fail "$k: CKA_SIGN"
    grep -q "$DEVID_USER_PIN" "$k.txt" && fail "$k: PIN printed"
    # the reference in DER, read back
    devid_ossl pkey -in "$uri" -traditional -outform der -out "$k.der" \
        || fail "$k: -traditional -outform der"
    [ -s "$k.der" ] || fail "$k: empty DER file"
    openssl asn1parse -inform der -in "$k.der" | grep -q "object=$k" \
        || fail "$k: DER does not hold the URI"
    # the reference leaves the PIN out: it is asked for
    devid_ossl pkey -in "$k.der" -passin "pass:$DEVID_USER_PIN" -pubout \
        | cmp -s - "$k.pubpem" \
        || fail "$k: the DER reference opens another key"
done
grep -q '^    PKCS#11 object: class CKO_PRIVATE_KEY, CKA_ID 0a$' ec.txt \
    || fail "ec: CKA_ID"
devid_ossl ec -in "pkcs11:token=devid-text;object=ec;type=private$q" -text \
    -noout 2>/dev/null | grep -q '^    PKCS#11 object: class CKO_PRIVATE_KEY' \
    || fail "ec -text"
devid_ossl rsa -in "pkcs11:token=devid-text;object=rsa;type=private$q" -text \
    -noout 2>/dev/null | grep -q '^    PKCS#11 object: class CKO_PRIVATE_KEY, CKA_ID 0b$' \
    || fail "rsa -text"
ok "pkey, ec and rsa -text: public half, URI and PKCS#11 attributes"
ok "pkey -traditional -outform der writes the URI reference; devid reads it back"

if devid_ossl pkcs8 -topk8 -nocrypt -outform der -out p8.der -in rsa.der \
    -passin "pass:$DEVID_USER_PIN" 2> p8.err; then
    fail "pkcs8 -topk8 exported a token key"
fi
grep -q 'private key material cannot be exported' p8.err \
    || fail "pkcs8 -topk8: not devid's reason: $(cat p8.err)"
ok "a private export fails with devid's reason"
