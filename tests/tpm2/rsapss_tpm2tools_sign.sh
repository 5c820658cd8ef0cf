#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# An RSA key fixed to the TPM's RSASSA-PSS scheme (made by tpm2-tools under
# an ECC P-384 primary persisted at 0x81000006, sign-only, so every
# signature is one TPM2_Sign) is an RSA-PSS key to OpenSSL: req -x509 signs
# PSS without being told, OpenSSL's default salt lengths ("auto", "max")
# become the digest length the TPM makes and are reported in the
# certificate, a pinned length the TPM cannot make is refused with devid's
# reason, and it is a TLS 1.2/1.3 client key.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/lib-pki.sh"
devid_tmpdir
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || :
    fi
    devid_tpm_stop
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"
devid_tpm_start "$TESTDIR"
TSS2_LOG=all+none
export TSS2_LOG

tpm2_createprimary -Q -C o -G ecc384 -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000006
tpm2_flushcontext -t
tpm2_create -Q -C 0x81000006 -G rsa2048:rsapss-sha256:null -u pss.pub \
    -r pss.priv -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'
tpm2_encodeobject -C 0x81000006 -u pss.pub -r pss.priv -o pss.pem
devid_tpm_keyfile_auth pss.pem empty

# OpenSSL sees an RSA-PSS key
devid_ossl pkey -in pss.pem -pubout -out pss.pubpem
openssl asn1parse -in pss.pubpem | grep -q ':rsassaPss' \
    || fail "the public key is not an RSA-PSS key"
devid_ossl pkey -in pss.pem -text -noout | grep -q '^    TPM scheme: rsapss$' \
    || fail "pkey -text"
ok "a key fixed to RSASSA-PSS is an RSA-PSS key"

# req -x509 with no options: PSS, salt = digest length, verifies
devid_ossl req -x509 -new -key pss.pem -subj /CN=pss-device -days 2 \
    -out self.pem || fail "req -x509 with an RSASSA-PSS key"
openssl verify -CAfile self.pem self.pem | grep -q ': OK$' \
    || fail "self-signed certificate does not verify"
openssl x509 -in self.pem -noout -text > self.txt
grep -q 'Signature Algorithm: rsassaPss' self.txt || fail "not signed with PSS"
grep -q 'Salt Length: 0x20' self.txt || fail "salt length not reported as 32"
ok "req -x509 signs PSS with the TPM's salt length and verifies"

# OpenSSL's defaults (auto, max) and "digest" give the digest length; the
# default provider verifies with the length pinned to it
printf 'hello devid' > data
for salt in '' max auto digest 32; do
    opt=
    [ -n "$salt" ] && opt="-sigopt rsa_pss_saltlen:$salt"
    # shellcheck disable=SC2086
    devid_ossl dgst -sha256 -sign pss.pem -sigopt rsa_padding_mode:pss $opt \
        -out "s$salt.sig" data || fail "dgst -sign (salt '${salt:-default}')"
    openssl dgst -sha256 -verify pss.pubpem -sigopt rsa_padding_mode:pss \
        -sigopt rsa_pss_saltlen:32 -signature "s$salt.sig" data \
        | grep -q 'Verified OK' \
        || fail "salt '${salt:-default}' is not the digest length"
done
# without -sigopt at all, and verified with OpenSSL's "auto"
devid_ossl dgst -sha256 -sign pss.pem -out plain.sig data
openssl dgst -sha256 -verify pss.pubpem -sigopt rsa_pss_saltlen:auto \
    -signature plain.sig data | grep -q 'Verified OK' \
    || fail "default signature does not verify with salt auto"
ok "salt lengths auto, max and unset become the digest length"

# a pinned length the TPM cannot make: refused, nothing signed
if devid_ossl dgst -sha256 -sign pss.pem -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:20 -out bad.sig data 2> bad.err; then
    fail "a 20-byte salt was accepted"
fi
grep -q 'mechanism not supported by the key or token' bad.err \
    || fail "not devid's reason: $(cat bad.err)"
grep -q 'PSS salts of the digest length (32 bytes), not 20' bad.err \
    || fail "the reason does not say why: $(cat bad.err)"
if devid_ossl dgst -sha256 -sign pss.pem -sigopt rsa_padding_mode:pkcs1 \
    -out bad2.sig data 2> bad2.err; then
    fail "PKCS#1 v1.5 with an RSASSA-PSS key"
fi
grep -q 'mechanism not supported by the key or token' bad2.err \
    || fail "PKCS#1: not devid's reason: $(cat bad2.err)"
# the scheme fixes the hash too (rsapss-sha256)
if devid_ossl dgst -sha384 -sign pss.pem -out bad3.sig data 2> bad3.err; then
    fail "a SHA-384 digest with a key fixed to RSASSA-PSS/SHA-256"
fi
grep -q "the key's scheme fixes the hash to TPM algorithm 0x000b, not 0x000c" \
    bad3.err || fail "SHA-384: not devid's reason: $(cat bad3.err)"
ok "a pinned salt length, PKCS#1 or hash the TPM cannot make is refused"

# TLS client key, TLS 1.3 (rsa_pss_rsae/pss) and 1.2
devid_mkca "$TESTDIR"
devid_mkserver "$TESTDIR" srv ec
devid_ossl req -new -key pss.pem -subj /CN=device-pss -out pss.csr
devid_sign_csr "$TESTDIR" pss.csr pss.crt
for v in tls1_3 tls1_2; do
    port=$(devid_freeport)
    openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev -Verify 1 \
        -nameopt "$PKI_NAMEOPT" -CAfile ca.pem -cert srv.pem -key srv.key \
        -"$v" > server.log 2>&1 &
    SERVER_PID=$!
    devid_wait_port "$port"
    (echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$port" \
        -"$v" -CAfile ca.pem -cert pss.crt -key pss.pem -verify_return_error \
        > client.log 2>&1 || { cat client.log server.log; fail "$v handshake"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    pki_log_has_peer server.log device-pss \
        || { cat server.log; fail "$v: no client certificate"; }
    grep -q 'dived' client.log || fail "$v: no data came back"
    ok "$v client authentication with the RSASSA-PSS key"
done
