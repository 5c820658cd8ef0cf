#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Restricted signing keys: attestation keys made by tpm2_createak under an
# EK (ECC/ECDSA and RSA/RSASSA, persisted at 0x81010002/0x81010003) sign
# what the TPM hashed itself (TPM2_Hash or a hash sequence, then TPM2_Sign
# with the validation ticket): dgst -sign over a short and a long message,
# a CSR, TLS 1.3 and 1.2 client authentication. A bare digest
# (pkeyutl -sign) is refused with devid's reason.
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
F='tpm2_flushcontext'

tpm2_createek -Q -c 0x81010001 -G ecc -u ek.pub
$F -t
$F -s
tpm2_createak -Q -C 0x81010001 -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub
$F -t
$F -s
tpm2_evictcontrol -Q -C o -c ak.ctx 0x81010002
$F -t
tpm2_createak -Q -C 0x81010001 -c ak2.ctx -G rsa -g sha256 -s rsassa \
    -u ak2.pub
$F -t
$F -s
tpm2_evictcontrol -Q -C o -c ak2.ctx 0x81010003
$F -t

devid_ossl pkey -in handle:0x81010002 -text -noout \
    | grep -q '^    TPM object attributes: .*restricted|sign)$' \
    || fail "the AK is not restricted"
printf 'hello devid' > short
head -c 5000 /dev/urandom > long
for k in 0x81010002 0x81010003; do
    devid_ossl pkey -in "handle:$k" -pubout -out "$k.pub"
    for m in short long; do
        devid_ossl dgst -sha256 -sign "handle:$k" -out "$k.$m.sig" "$m" \
            || fail "$k: dgst -sign ($m)"
        openssl dgst -sha256 -verify "$k.pub" -signature "$k.$m.sig" "$m" \
            | grep -q 'Verified OK' || fail "$k: $m signature does not verify"
    done
    devid_ossl req -new -key "handle:$k" -subj "/CN=ak-$k" -out "$k.csr" \
        || fail "$k: req"
    openssl req -verify -noout -in "$k.csr" 2>&1 | grep -q 'verify OK' \
        || fail "$k: CSR does not verify"
    ok "$k: an attestation key signs messages (short, long) and a CSR"
done

openssl dgst -sha256 -binary short > short.sha256
if devid_ossl pkeyutl -sign -inkey handle:0x81010002 -in short.sha256 \
    -out bare.sig 2> bare.err; then
    fail "a restricted key signed a bare digest"
fi
grep -q 'mechanism not supported by the key or token' bare.err \
    || fail "bare digest: $(cat bare.err)"
grep -q 'signs only what the hardware hashes itself' bare.err \
    || fail "bare digest: no detail"
ok "a bare digest is refused"

# TLS client authentication with the attestation keys
devid_mkca "$TESTDIR"
devid_mkserver "$TESTDIR" srv ec
for k in 0x81010002 0x81010003; do
    devid_sign_csr "$TESTDIR" "$k.csr" "$k.crt"
done
handshake() { # KEY VERSION [s_client options]
    _k=$1
    _v=$2
    shift 2
    port=$(devid_freeport)
    openssl s_server -accept "127.0.0.1:$port" -naccept 1 -rev -Verify 1 \
        -nameopt "$PKI_NAMEOPT" -CAfile ca.pem -cert srv.pem -key srv.key \
        -"$_v" > server.log 2>&1 &
    SERVER_PID=$!
    devid_wait_port "$port"
    (echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$port" \
        -"$_v" -CAfile ca.pem -cert "$_k.crt" -key "handle:$_k" \
        -verify_return_error "$@" > client.log 2>&1 \
        || { cat client.log server.log; fail "$_k: $_v handshake"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    pki_log_has_peer server.log "ak-$_k" \
        || { cat server.log; fail "$_k: $_v: no client certificate"; }
    grep -q 'dived' client.log || fail "$_k: $_v: no data came back"
    ok "$_k: $_v client authentication with an attestation key"
}
handshake 0x81010002 tls1_3
handshake 0x81010002 tls1_2
# an RSASSA attestation key: PKCS#1 v1.5 only, so TLS 1.2 with RSA+SHA256
# (and ECDSA+SHA256 for the server's certificate)
handshake 0x81010003 tls1_2 -sigalgs ECDSA+SHA256:RSA+SHA256
