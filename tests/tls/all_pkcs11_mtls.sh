#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Mutual TLS 1.2 and 1.3: openssl s_client authenticates with a key in the
# token to an openssl s_server that requires a client certificate, for EC
# and RSA client keys against EC and RSA server certificates.
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

devid_mktoken "$TESTDIR" devid-tls
pki_ca "$TESTDIR"
pki_server "$TESTDIR" srv-ec ec
pki_server "$TESTDIR" srv-rsa rsa
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 21 --label client-ec >/dev/null
devid_p11tool --keypairgen --key-type rsa:2048 --id 22 --label client-rsa >/dev/null
for k in ec rsa; do
    uri="pkcs11:token=devid-tls;object=client-$k;type=private?pin-value=$DEVID_USER_PIN"
    devid_ossl req -new -key "$uri" -subj "/CN=device-$k" -out "client-$k.csr"
    pki_client "$TESTDIR" "client-$k.csr" "client-$k.pem"
done

# run_handshake SERVERCERT CLIENTKEY VERSION
run_handshake() {
    srv_s_server server.log -naccept 1 -rev -Verify 1 -nameopt "$PKI_NAMEOPT" \
        -CAfile ca.pem -cert "$1.pem" -key "$1.key" -"$3"
    port=$SERVER_PORT
    uri="pkcs11:token=devid-tls;object=client-$2;type=private?pin-value=$DEVID_USER_PIN"
    (echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$port" -"$3" -CAfile ca.pem \
        -cert "client-$2.pem" -key "$uri" -verify_return_error > client.log 2>&1 \
        || { cat client.log server.log; fail "handshake $1/$2/$3"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    pki_log_has_peer server.log "device-$2" \
        || { cat server.log; fail "server did not see the client certificate ($1/$2/$3)"; }
    grep -q 'Verification: OK' client.log || fail "client did not verify the server"
    grep -q "dived" client.log || fail "no data came back over the connection"
    ok "mutual $3 with $1 server and a $2 key in the token"
}

for v in tls1_2 tls1_3; do
    for s in srv-ec srv-rsa; do
        for k in ec rsa; do
            run_handshake "$s" "$k" "$v"
        done
    done
done

# Loading devid changes nothing else in the handshake: the same groups and
# signature algorithms are offered with and without it (software client).
hello() {
    srv_s_server hello-server.log -naccept 1 -rev -cert srv-ec.pem -key srv-ec.key
    port=$SERVER_PORT
    # shellcheck disable=SC2086
    (echo x; sleep 0.3) | openssl s_client $1 -connect "127.0.0.1:$port" -"$2" -trace 2>&1 \
        | sed -n '/ClientHello/,/ServerHello/p' \
        | grep -E '^ {10}[a-z_0-9]+ .*\((0x)?[0-9a-f]+\)$|extension_type=' > "$3"
    wait "$SERVER_PID" || true
    SERVER_PID=
}
for v in tls1_2 tls1_3; do
    hello "" "$v" hello-plain.txt
    hello "$DEVID_PROVIDERS" "$v" hello-devid.txt
    grep -q 'secp256r1' hello-plain.txt || fail "trace output not understood"
    diff hello-plain.txt hello-devid.txt || fail "$v ClientHello differs with devid loaded"
    ok "$v ClientHello offers the same groups and signature algorithms with devid"
done
