#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What pkcs11-provider users do with the public side of token keys:
#  - reference files and URIs naming a public key (type=public) load it,
#    through the decoder, the store and the ENGINE;
#  - verification (pkeyutl -verify, dgst -prverify/-verify) and RSA
#    encryption with a token key or its reference file, done in software
#    on the public half; -pubout and -text; a private export still fails
#    with devid's reason;
#  - the store honours OSSL_STORE_find: storeutl -alias, -subject,
#    -issuer/-serial and -fingerprint on a pkcs11: URI.
set -euf
. "$top_srcdir/tests/lib.sh"
devid_tmpdir
trap 'rm -rf "$TESTDIR"' EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-pub
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 0a --label ec \
    >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 0b --label rsa >/dev/null
q="?pin-value=$DEVID_USER_PIN"
tok="pkcs11:token=devid-pub"

# mkref URI: a PKCS#11 PROVIDER URI file for URI, written as
# pkcs11-provider writes it (SEQUENCE { VisibleString, UTF8String })
mkref() {
    python3 - "$1" <<'PY'
import base64, sys
def tlv(tag, body):
    n = len(body)
    head = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + head + body
der = tlv(0x30, tlv(0x1a, b"PKCS#11 Provider URI v1.0") + tlv(0x0c, sys.argv[1].encode()))
b = base64.b64encode(der).decode()
print("-----BEGIN PKCS#11 PROVIDER URI-----")
print("\n".join(b[i:i + 64] for i in range(0, len(b), 64)))
print("-----END PKCS#11 PROVIDER URI-----")
PY
}

printf 'signed by the token\n' > msg
openssl dgst -sha256 -binary msg > msg.sha256
for k in ec rsa; do
    devid_ossl pkey -in "$tok;object=$k;type=private$q" -out "$k.ref"
    devid_ossl pkey -in "$tok;object=$k;type=private$q" -pubout -out "$k.pub"
    mkref "$tok;object=$k;type=public" > "$k.pubref"
    # the public key by URI and by reference file: the same public half
    devid_ossl pkey -pubin -in "$tok;object=$k;type=public" -out uri.pub \
        || fail "$k: type=public URI"
    cmp -s uri.pub "$k.pub" || fail "$k: the type=public URI gives another key"
    devid_ossl pkey -pubin -in "$k.pubref" -out ref.pub 2> ref.err \
        || fail "$k: type=public reference file: $(cat ref.err)"
    cmp -s ref.pub "$k.pub" || fail "$k: the public reference gives another key"
    devid_ossl pkey -pubin -in "$k.pubref" -text -noout > pubref.txt
    grep -q '^Public-Key: ' pubref.txt || fail "$k: -text of the public reference"
    grep -q 'Private-Key' pubref.txt && fail "$k: the public reference has a private half"
    # -pubout and -text from the private key's reference file
    devid_ossl pkey -in "$k.ref" -passin "pass:$DEVID_USER_PIN" -pubout \
        | cmp -s - "$k.pub" || fail "$k: -pubout from the reference file"
    devid_ossl pkey -in "$k.ref" -passin "pass:$DEVID_USER_PIN" -text \
        -noout > text.txt 2> text.err || fail "$k: -text: $(cat text.err)"
    grep -q 'cannot be exported' text.err && fail "$k: -text exports"
    grep -q '^    name: pkcs11:' text.txt || fail "$k: -text has no name"
    # sign on the token; verify with the private key's reference file, its
    # URI, the public reference, and OpenSSL alone
    devid_ossl dgst -sha256 -sign "$k.ref" -passin "pass:$DEVID_USER_PIN" \
        -out "$k.sig" msg
    for v in "$k.ref" "$tok;object=$k;type=private$q"; do
        devid_ossl dgst -sha256 -prverify "$v" -passin "pass:$DEVID_USER_PIN" \
            -signature "$k.sig" msg > v.out 2>&1 \
            || fail "$k: dgst -prverify $v: $(cat v.out)"
        devid_ossl pkeyutl -verify -inkey "$v" -passin "pass:$DEVID_USER_PIN" \
            -pkeyopt digest:sha256 -in msg.sha256 -sigfile "$k.sig" > v.out 2>&1 \
            || fail "$k: pkeyutl -verify $v: $(cat v.out)"
    done
    devid_ossl dgst -sha256 -verify "$k.pubref" -signature "$k.sig" msg \
        >/dev/null || fail "$k: dgst -verify with the public reference"
    openssl dgst -sha256 -verify "$k.pub" -signature "$k.sig" msg >/dev/null \
        || fail "$k: OpenSSL alone does not verify the token's signature"
    printf 'another message\n' > other
    if devid_ossl dgst -sha256 -prverify "$k.ref" \
        -passin "pass:$DEVID_USER_PIN" -signature "$k.sig" other \
        > v.out 2>&1; then
        fail "$k: a signature over another message verified"
    fi
    grep -q 'Verification failure' v.out || fail "$k: $(cat v.out)"
done
ok "type=public in URIs and reference files loads the public key"
ok "-pubout, -text and verification (dgst -prverify/-verify, pkeyutl -verify) with token keys"

# RSA encryption to the token key, decrypted by the token
devid_ossl pkeyutl -encrypt -inkey rsa.ref -passin "pass:$DEVID_USER_PIN" \
    -in msg -out msg.enc || fail "pkeyutl -encrypt with the reference file"
devid_ossl pkeyutl -decrypt -inkey rsa.ref -passin "pass:$DEVID_USER_PIN" \
    -in msg.enc | cmp -s - msg || fail "the token does not decrypt it"
devid_ossl pkeyutl -encrypt -pubin -inkey rsa.pubref -in msg \
    -pkeyopt rsa_padding_mode:oaep -out msg.oaep \
    || fail "pkeyutl -encrypt (OAEP) with the public reference"
devid_ossl pkeyutl -decrypt -inkey rsa.ref -passin "pass:$DEVID_USER_PIN" \
    -pkeyopt rsa_padding_mode:oaep -in msg.oaep | cmp -s - msg \
    || fail "the token does not decrypt the OAEP message"
ok "RSA encryption to a token key (PKCS#1 v1.5 and OAEP)"

# the private half still never leaves
if devid_ossl pkcs8 -topk8 -nocrypt -in ec.ref -passin "pass:$DEVID_USER_PIN" \
    -out p8.pem 2> p8.err; then
    fail "pkcs8 -topk8 exported a token key"
fi
grep -q 'private key material cannot be exported' p8.err \
    || fail "pkcs8 -topk8: not devid's reason: $(cat p8.err)"
ok "a private export still fails with devid's reason"

# ---- the store's search criteria ------------------------------------------
devid_ossl req -new -x509 -key ec.ref -passin "pass:$DEVID_USER_PIN" \
    -subj "/CN=devid search/O=devid" -days 2 -out ec.crt
openssl x509 -in ec.crt -outform der -out ec.der
devid_p11tool --write-object ec.der --type cert --id 0a --label ec >/dev/null
# count ARGS...: the number of objects storeutl finds on the token (0
# when it stops at devid's error without a total, as OpenSSL 4.0's does)
count() {
    _n=$(devid_ossl storeutl -noout -passin "pass:$DEVID_USER_PIN" "$@" \
        "$tok" 2> count.err | sed -n 's/^Total found: //p')
    echo "${_n:-0}"
}
[ "$(count)" = 5 ] || fail "the token holds $(count) objects, not 5"
[ "$(count -alias rsa)" = 2 ] || fail "-alias rsa: $(count -alias rsa)"
[ "$(count -alias ec)" = 3 ] || fail "-alias ec: $(count -alias ec)"
[ "$(count -alias nosuch)" = 0 ] || fail "-alias nosuch"
grep -q 'nothing matches pkcs11:token=devid-pub and the search criteria' \
    count.err || fail "-alias nosuch: not devid's words: $(cat count.err)"
subj="/CN=devid search/O=devid"
[ "$(count -subject "$subj")" = 3 ] || fail "-subject: $(count -subject "$subj")"
[ "$(count -certs -subject "$subj")" = 1 ] || fail "-certs -subject"
[ "$(count -keys -subject "$subj")" = 1 ] || fail "-keys -subject"
[ "$(count -subject "/CN=nobody")" = 0 ] || fail "-subject /CN=nobody"
serial=$(openssl x509 -in ec.crt -noout -serial | cut -d= -f2)
[ "$(count -issuer "$subj" -serial "0x$serial")" = 1 ] \
    || fail "-issuer -serial: $(count -issuer "$subj" -serial "0x$serial")"
[ "$(count -issuer "$subj" -serial 0x1234)" = 0 ] || fail "another serial"
fp=$(openssl x509 -in ec.crt -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :)
[ "$(count -sha1 -fingerprint "$fp")" = 1 ] || fail "-fingerprint (cert)"
kfp=$(openssl pkey -pubin -in rsa.pub -outform der | openssl dgst -sha256 -r \
    | cut -c1-64)
[ "$(count -sha256 -fingerprint "$kfp")" = 2 ] || fail "-fingerprint (key)"
ok "storeutl -alias, -subject, -issuer/-serial, -fingerprint on a pkcs11: URI"

# ---- a reference file naming a certificate (type=cert) --------------------
mkref "$tok;object=ec;type=cert" > cert.ref
devid_ossl x509 -in cert.ref -out cert.pem 2> cert.err \
    || fail "x509 -in a type=cert reference: $(cat cert.err)"
openssl x509 -in ec.crt | cmp -s - cert.pem \
    || fail "the type=cert reference gives another certificate"
[ "$(devid_ossl storeutl -noout cert.ref | sed -n 's/^Total found: //p')" = 1 ] \
    || fail "storeutl of the type=cert reference"
mkref "$tok;object=nosuch;type=cert" > nocert.ref
if devid_ossl x509 -in nocert.ref -noout 2> nocert.err; then
    fail "a reference to a missing certificate loaded"
fi
grep -q 'no matching object' nocert.err || fail "no cert: $(cat nocert.err)"
# a reference without a type names the key first; a refused PIN is the
# answer, never the certificate of the same label
mkref "$tok;object=ec" > notype.ref
devid_ossl pkey -in notype.ref -passin "pass:$DEVID_USER_PIN" -pubout \
    | cmp -s - ec.pub || fail "a reference without a type is not the key"
if devid_ossl x509 -in notype.ref -passin pass:0000 -noout 2> pin.err; then
    fail "a refused PIN gave the certificate of the key's label"
fi
grep -q 'PIN or auth value incorrect' pin.err || fail "refused PIN: $(cat pin.err)"
ok "a type=cert reference file loads the certificate (x509 -in, storeutl)"
