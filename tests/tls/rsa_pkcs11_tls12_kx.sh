#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TLS 1.2 with RSA key exchange (AES128-GCM-SHA256): openssl s_server's RSA
# key is in the token and decrypts the premaster secret with libssl's TLS
# padding (RSA_PKCS1_WITH_TLS_PADDING). With raw RSA (CKM_RSA_X_509: the
# padding and version checks are devid's, in constant time), on a key that
# may use every mechanism and on one allowed only CKM_RSA_X_509, and with a
# key allowed only CKM_RSA_PKCS (the token checks the padding).
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

devid_mktoken "$TESTDIR" devid-kx
pki_ca "$TESTDIR"
devid_p11tool --keypairgen --key-type rsa:2048 --id 31 --label kx-raw \
    --usage-decrypt --usage-sign >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 32 --label kx-pkcs \
    --usage-decrypt --usage-sign --allowed-mechanisms RSA-PKCS >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 33 --label kx-x509 \
    --usage-decrypt --usage-sign --allowed-mechanisms RSA-X-509 >/dev/null

# handshake LABEL MECHANISM
handshake() {
    uri="pkcs11:token=devid-kx;object=$1;type=private?pin-value=$DEVID_USER_PIN"
    devid_ossl req -new -key "$uri" -subj "/CN=localhost" -out "$1.csr"
    pki_sign "$TESTDIR" "$1.csr" "$1.pem" server keyEncipherment
    # shellcheck disable=SC2086
    srv_s_server "server-$1.log" -naccept 1 -rev $DEVID_PROVIDERS \
        -cert "$1.pem" -key "$uri" -tls1_2 -cipher AES128-GCM-SHA256
    (echo devid; sleep 0.5) | openssl s_client -connect "127.0.0.1:$SERVER_PORT" \
        -tls1_2 -cipher AES128-GCM-SHA256 -CAfile ca.pem \
        -verify_return_error > "client-$1.log" 2>&1 \
        || { cat "client-$1.log" "server-$1.log"; fail "TLS 1.2 RSA kx ($2)"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    grep -q 'Cipher is AES128-GCM-SHA256' "client-$1.log" \
        || fail "$1: cipher: $(cat "client-$1.log")"
    grep -q 'Verification: OK' "client-$1.log" || fail "$1: server not verified"
    grep -q 'dived' "client-$1.log" || fail "$1: no data came back"
    ok "TLS 1.2 RSA key exchange with the server key in the token ($2)"
}
handshake kx-raw CKM_RSA_X_509
handshake kx-pkcs "CKM_RSA_PKCS only"
# its CSR is signed with PKCS#1 v1.5 padded in software, too
handshake kx-x509 "CKM_RSA_X_509 only"
