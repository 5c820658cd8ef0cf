#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# TLS 1.3 with Ed25519 and Ed448 keys in a SoftHSM2 token, on both sides
# (and TLS 1.2 on the server side):
# an openssl s_server whose certificate key is in the token (loaded by its
# reference file) serves a software client, and an openssl s_client whose
# key is in the token authenticates to a server that requires a client
# certificate, by URI and, where the ENGINE shim is built (OpenSSL 3),
# through "-engine devid -keyform engine". The handshakes' signature
# algorithm is the key's.
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

devid_mktoken "$TESTDIR" devid-edtls
PIN="?pin-value=$DEVID_USER_PIN"
pki_ca "$TESTDIR"
pki_server "$TESTDIR" srv-ec ec
# a configuration that gives the PIN, so reference files need nothing else
cat > openssl.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
devid = devid_sect
[default_sect]
activate = 1
[devid_sect]
module = $OPENSSL_MODULES/devid.so
pkcs11-module-path = $SOFTHSM_MODULE
pkcs11-module-token-pin = $DEVID_USER_PIN
activate = 1
EOF

for alg in ED25519 ED448; do
    for role in server client; do
        k=$role-$alg
        devid_ossl genpkey -propquery '?provider=devid' -algorithm "$alg" \
            -pkeyopt "pkcs11_uri:pkcs11:token=devid-edtls;object=$k$PIN" -out "$k.ref" \
            || fail "genpkey $k"
        devid_ossl req -new -key "pkcs11:token=devid-edtls;object=$k;type=private$PIN" \
            -subj "/CN=$k" -out "$k.csr" || fail "CSR of $k"
        if [ "$role" = server ]; then
            pki_sign "$TESTDIR" "$k.csr" "$k.pem" server
        else
            pki_client "$TESTDIR" "$k.csr" "$k.pem"
        fi
    done
done

# run_server ALG [VERSION]: a server (TLS 1.3, or VERSION) with its key in
# the token (reference file) that echoes reversed what a software client
# sends
run_server() {
    v=${2:-tls1_3}
    OPENSSL_CONF=$TESTDIR/openssl.cnf srv_s_server server.log -naccept 1 -rev -"$v" \
        -nameopt "$PKI_NAMEOPT" -cert "server-$1.pem" -key "server-$1.ref"
    (echo devid; sleep 0.5) | openssl s_client -connect "127.0.0.1:$SERVER_PORT" -"$v" \
        -CAfile ca.pem -verify_return_error -verify_hostname localhost \
        -sigalgs "$(echo "$1" | tr A-Z a-z)" > client.log 2>&1 || { cat client.log server.log; fail "handshake to a $1 server"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    grep -q 'Verification: OK' client.log || { cat client.log; fail "$1 server not verified"; }
    grep -qi "Peer signature type: $1" client.log \
        || { cat client.log; fail "the server did not sign with $1"; }
    grep -q "dived" client.log || fail "no data came back from the $1 server"
    ok "$v server with a $1 key in the token"
}

# run_client ALG [engine]: a TLS 1.3 client with its key in the token
# (URI) authenticates to a software server that requires a certificate;
# with "engine", the key comes through the ENGINE shim
run_client() {
    how="by URI"
    keyopt=""
    if [ "${2:-}" = engine ]; then
        how="through the ENGINE shim"
        keyopt="-engine devid -keyform engine"
    fi
    srv_s_server server.log -naccept 1 -rev -tls1_3 -Verify 1 -nameopt "$PKI_NAMEOPT" \
        -CAfile ca.pem -cert srv-ec.pem -key srv-ec.key -client_sigalgs "$(echo "$1" | tr A-Z a-z)"
    uri="pkcs11:token=devid-edtls;object=client-$1;type=private$PIN"
    # shellcheck disable=SC2086
    (echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$SERVER_PORT" -tls1_3 \
        -CAfile ca.pem -cert "client-$1.pem" $keyopt -key "$uri" -verify_return_error \
        > client.log 2>&1 || { cat client.log server.log; fail "handshake with a $1 client key"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    pki_log_has_peer server.log "client-$1" \
        || { cat server.log; fail "the server did not see the $1 client certificate"; }
    grep -qi "^Signature type: $1" server.log \
        || { cat server.log; fail "the client did not sign with $1"; }
    grep -q "dived" client.log || fail "no data came back to the $1 client"
    ok "TLS 1.3 client authentication with a $1 key in the token, $how"
}

OPENSSL_ENGINES=$top_builddir/engine-compat/.libs
export OPENSSL_ENGINES
for alg in ED25519 ED448; do
    run_server "$alg"
    run_server "$alg" tls1_2   # RFC 8422 §5.4: EdDSA in TLS 1.2 too
    run_client "$alg"
    if [ -f "$OPENSSL_ENGINES/devid.so" ]; then
        run_client "$alg" engine
    else
        echo "note: no ENGINE shim in this build (OpenSSL without ENGINE API)"
    fi
done
