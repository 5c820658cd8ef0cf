#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Keys restricted by CKA_ALLOWED_MECHANISMS (SoftHSM 2.6 enforces it): devid
# picks the mechanism the key allows. A hash-and-sign mechanism gets the
# message (small, and large enough to be streamed by C_SignUpdate); raw RSA
# (CKM_RSA_X_509) gets PSS and PKCS#1 v1.5 padded in software. Every
# signature is checked by the default provider; a key that cannot make
# what is asked fails with devid's reason naming the key and mechanism.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/lib-servers.sh"
devid_tmpdir
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

devid_mktoken "$TESTDIR" devid-mech
# mkkey TYPE ID LABEL MECHANISMS
mkkey() {
    devid_p11tool --keypairgen --key-type "$1" --id "$2" --label "$3" \
        --usage-sign --allowed-mechanisms "$4" >/dev/null \
        || fail "pkcs11-tool cannot make $3 with --allowed-mechanisms $4"
    devid_ossl pkey -in "$(uri "$3")" -pubout -out "$3.pub"
}
uri() {
    echo "pkcs11:token=devid-mech;object=$1;type=private?pin-value=$DEVID_USER_PIN"
}
mkkey rsa:2048 01 pss256 SHA256-RSA-PKCS-PSS
mkkey EC:prime256v1 02 ecdsa256 ECDSA-SHA256
mkkey rsa:2048 03 x509 RSA-X-509
mkkey rsa:2048 04 pkcs256 SHA256-RSA-PKCS
mkkey EC:prime256v1 05 ecdsa384 ECDSA-SHA384,ECDSA-SHA1

# SoftHSM 2.6 lists no CKM_ECDSA_SHA*: keys allowed only those cannot
# sign there (checked below); newer tokens can
ecdsa_hashed=
if devid_p11tool -M 2>/dev/null | grep -q '^ *ECDSA-SHA256'; then
    ecdsa_hashed=1
fi

printf 'hello devid' > small
head -c 1000000 /dev/urandom > large

# sign KEY FILE DGST [SIGOPT...]: devid signs, the default provider verifies
sign() {
    _k=$1 _f=$2 _d=$3
    shift 3
    devid_ossl dgst "-$_d" -sign "$(uri "$_k")" "$@" -out "$_k.sig" "$_f" \
        2> "$_k.err" || fail "$_k: dgst -$_d -sign $*: $(cat "$_k.err")"
    openssl dgst "-$_d" -verify "$_k.pub" "$@" -signature "$_k.sig" "$_f" \
        | grep -q 'Verified OK' || fail "$_k: $_d $* $_f does not verify"
}

for f in small large; do
    sign pss256 "$f" sha256 -sigopt rsa_padding_mode:pss
    sign pss256 "$f" sha256 -sigopt rsa_padding_mode:pss \
        -sigopt rsa_pss_saltlen:digest
    ok "CKM_SHA256_RSA_PKCS_PSS only: PSS over a $f message"
    if [ -n "$ecdsa_hashed" ]; then
        sign ecdsa256 "$f" sha256
        ok "CKM_ECDSA_SHA256 only: ECDSA over a $f message"
        sign ecdsa384 "$f" sha384
        sign ecdsa384 "$f" sha1
        ok "CKM_ECDSA_SHA384 and CKM_ECDSA_SHA1: both digests over a $f message"
    fi
    sign pkcs256 "$f" sha256
    ok "CKM_SHA256_RSA_PKCS only: PKCS#1 v1.5 over a $f message"
done

for d in sha256 sha384 sha512; do
    for salt in digest max 20; do
        sign x509 small "$d" -sigopt rsa_padding_mode:pss \
            -sigopt "rsa_pss_saltlen:$salt"
    done
    sign x509 small "$d"
done
sign x509 large sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_mgf1_md:sha512
ok "CKM_RSA_X_509 only: PSS (salt lengths, MGF1 digest) and PKCS#1 v1.5 padded in software"

# a digest given to pkeyutl: raw RSA pads it; unhashed PKCS#1 as well
openssl dgst -sha256 -binary small > small.sha256
devid_ossl pkeyutl -sign -inkey "$(uri x509)" -pkeyopt digest:sha256 \
    -pkeyopt rsa_padding_mode:pss -in small.sha256 -out pk.sig
openssl pkeyutl -verify -pubin -inkey x509.pub -pkeyopt digest:sha256 \
    -pkeyopt rsa_padding_mode:pss -in small.sha256 -sigfile pk.sig \
    | grep -q 'Verified Successfully' || fail "pkeyutl PSS over raw RSA"
devid_ossl pkeyutl -sign -inkey "$(uri x509)" -in small -out raw.sig
openssl pkeyutl -verifyrecover -pubin -inkey x509.pub -in raw.sig -out raw.rec
cmp -s small raw.rec || fail "unhashed PKCS#1 over raw RSA"
ok "pkeyutl over raw RSA: PSS of a digest, and unhashed PKCS#1 v1.5"

# a CSR (X509_REQ_sign: DigestSign with the whole request)
devid_ossl req -new -key "$(uri pss256)" -subj "/CN=pss-only" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -out pss.csr
openssl req -verify -noout -in pss.csr 2>&1 | grep -q 'verify OK' \
    || fail "CSR with a CKM_SHA256_RSA_PKCS_PSS key"
devid_ossl req -new -key "$(uri pkcs256)" -subj "/CN=pkcs-only" -out pk.csr
openssl req -verify -noout -in pk.csr 2>&1 | grep -q 'verify OK' \
    || fail "CSR with a CKM_SHA256_RSA_PKCS key"
ok "req -new with hash-and-sign keys makes CSRs that verify"

# what the key cannot do fails with devid's reason, naming key and mechanism
reason='mechanism not supported by the key or token'
# refused KEY WHAT ARGS...: devid_ossl ARGS fails with the reason, naming
# the key and the mechanism WHAT
refused() {
    _k=$1 _m=$2
    shift 2
    if devid_ossl "$@" 2> no.err; then
        fail "$_k: $* succeeded"
    fi
    grep -q "$reason" no.err || fail "$_k: reason: $(cat no.err)"
    grep -q "object=$_k" no.err || fail "$_k: key not named: $(cat no.err)"
    grep -q "$_m" no.err || fail "$_k: $_m not named: $(cat no.err)"
}
refused ecdsa256 CKM_ECDSA_SHA384 dgst -sha384 -sign "$(uri ecdsa256)" \
    -out no.sig small
ok "SHA-384 with a CKM_ECDSA_SHA256 key: refused, naming key and mechanism"
refused pss256 CKM_SHA256_RSA_PKCS dgst -sha256 -sign "$(uri pss256)" \
    -sigopt rsa_padding_mode:pkcs1 -out no.sig small
refused pss256 CKM_SHA384_RSA_PKCS_PSS dgst -sha384 -sign "$(uri pss256)" \
    -sigopt rsa_padding_mode:pss -out no.sig small
ok "PKCS#1 v1.5, or PSS with SHA-384, with a CKM_SHA256_RSA_PKCS_PSS key: refused"
refused pkcs256 CKM_SHA256_RSA_PKCS pkeyutl -sign -inkey "$(uri pkcs256)" \
    -pkeyopt digest:sha256 -in small.sha256 -out no.sig
grep -q 'sign the message' no.err || fail "digest: $(cat no.err)"
ok "a digest for a hash-and-sign key: refused, saying to sign the message"
if [ -z "$ecdsa_hashed" ]; then
    refused ecdsa256 CKM_ECDSA_SHA256 dgst -sha256 -sign "$(uri ecdsa256)" \
        -out no.sig small
    ok "CKM_ECDSA_SHA256 only, on a token without it: refused, naming it"
fi

# pkey -text shows what the key can use
devid_ossl pkey -in "$(uri pss256)" -text -noout > text.out 2>&1 \
    || fail "pkey -text: $(cat text.out)"
grep -q 'PKCS#11 mechanisms usable: CKM_SHA256_RSA_PKCS_PSS$' text.out \
    || fail "pkey -text: $(cat text.out)"
ok "pkey -text names the mechanisms the key can use"

# TLS 1.3 client authentication with a CKM_SHA256_RSA_PKCS_PSS key (an
# RSA-PSS key to OpenSSL: it offers nothing else)
pki_ca "$TESTDIR"
pki_server "$TESTDIR" srv-ec ec
devid_ossl req -new -key "$(uri pss256)" -subj "/CN=pss-client" -out cl.csr
pki_client "$TESTDIR" cl.csr cl.pem
srv_s_server server.log -naccept 1 -rev -Verify 1 -nameopt "$PKI_NAMEOPT" \
    -CAfile ca.pem -cert srv-ec.pem -key srv-ec.key -tls1_3
(echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$SERVER_PORT" \
    -tls1_3 -CAfile ca.pem -cert cl.pem -key "$(uri pss256)" \
    -verify_return_error > client.log 2>&1 \
    || { cat client.log server.log; fail "TLS 1.3 with the PSS-only key"; }
wait "$SERVER_PID" || true
SERVER_PID=
pki_log_has_peer server.log pss-client \
    || { cat server.log; fail "the server did not see the client certificate"; }
grep -q "dived" client.log || fail "no data came back over the connection"
ok "TLS 1.3 client authentication with a CKM_SHA256_RSA_PKCS_PSS key"
