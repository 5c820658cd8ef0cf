#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Mutual TLS 1.2 and 1.3: openssl s_client authenticates with a key in the
# TPM (EC and RSA, from a TSS2 key file and a persistent handle) to an
# openssl s_server that requires a client certificate. Runs against a fresh
# swtpm.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-tpm.sh"
. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/lib-servers.sh"
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

pki_ca "$TESTDIR"
pki_server "$TESTDIR" srv-ec ec
pki_server "$TESTDIR" srv-rsa rsa
devid_ossl genpkey -propquery provider=devid -algorithm EC \
    -pkeyopt group:P-256 -pkeyopt "uri:$TESTDIR/client-ec.tss" -out client-ec.ref
devid_ossl genpkey -propquery provider=devid -algorithm RSA \
    -pkeyopt bits:2048 -pkeyopt uri:handle:0x81000111 -out client-rsa.ref
for k in ec rsa; do
    devid_ossl req -new -key "client-$k.ref" -subj "/CN=device-$k" -out "client-$k.csr"
    pki_client "$TESTDIR" "client-$k.csr" "client-$k.pem"
done

# run_handshake SERVERCERT CLIENTKEY VERSION
run_handshake() {
    srv_s_server server.log -naccept 1 -rev -Verify 1 -nameopt "$PKI_NAMEOPT" \
        -CAfile ca.pem -cert "$1.pem" -key "$1.key" -"$3"
    port=$SERVER_PORT
    (echo devid; sleep 0.5) | devid_ossl s_client -connect "127.0.0.1:$port" -"$3" \
        -CAfile ca.pem -cert "client-$2.pem" -key "client-$2.ref" \
        -verify_return_error > client.log 2>&1 \
        || { cat client.log server.log; fail "handshake $1/$2/$3"; }
    wait "$SERVER_PID" || true
    SERVER_PID=
    pki_log_has_peer server.log "device-$2" \
        || { cat server.log; fail "server did not see the client certificate ($1/$2/$3)"; }
    grep -q 'Verification: OK' client.log || fail "client did not verify the server"
    grep -q "dived" client.log || fail "no data came back over the connection"
    ok "mutual $3 with $1 server and a $2 key in the TPM"
}

for v in tls1_2 tls1_3; do
    for s in srv-ec srv-rsa; do
        for k in ec rsa; do
            run_handshake "$s" "$k" "$v"
        done
    done
done
