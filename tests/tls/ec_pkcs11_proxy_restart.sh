#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A TLS server whose key is reached through p11-kit's client module keeps
# serving across real restarts of its `p11-kit server` (issue 11, item 10):
# while the server is away handshakes fail quickly with devid's reason and
# openssl s_server stays alive (no SIGPIPE); once the server is back at the
# same socket, handshakes work again in the same s_server process. Every
# process is started here and stopped by its PID.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/lib-servers.sh"
devid_tmpdir
CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
P11PID=
SPID=

# p11_stop: the p11-kit server and the process it runs per connection
# (ps and p11-kit, which never load devid, run without the ASan runtime:
# ps hangs in it)
p11_stop() {
    if [ -n "$P11PID" ]; then
        for c in $(env -u LD_PRELOAD ps -o pid= --ppid "$P11PID" 2>/dev/null); do
            kill "$c" 2>/dev/null || true
        done
        kill "$P11PID" 2>/dev/null || true
        wait "$P11PID" 2>/dev/null || true
        P11PID=
    fi
}

cleanup() {
    [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
    p11_stop
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
cd "$TESTDIR"

[ -f "$CLIENT_MODULE" ] || { echo "SKIP: no p11-kit client module at $CLIENT_MODULE"; exit 77; }

devid_mktoken "$TESTDIR" devid-proxy
devid_p11tool --keypairgen --key-type EC:prime256v1 --id 01 --label srv >/dev/null
printf '%s\n' "$DEVID_USER_PIN" > pin
chmod 600 pin
KEY="pkcs11:token=devid-proxy;object=srv;type=private"

# p11_start: p11-kit server for the token at $TESTDIR/p11.sock (without
# devid's configuration: SoftHSM in it uses OpenSSL too)
p11_start() {
    rm -f p11.sock
    env -u LD_PRELOAD -u OPENSSL_CONF p11-kit server -f -n "$TESTDIR/p11.sock" --provider "$SOFTHSM_MODULE" \
        'pkcs11:token=devid-proxy' > p11.out 2>&1 &
    P11PID=$!
    _n=0
    while [ ! -S p11.sock ] && [ "$_n" -lt 50 ]; do
        sleep 0.1
        _n=$((_n + 1))
    done
    [ -S p11.sock ] || { cat p11.out; fail "p11-kit server did not start"; }
}

p11_start
P11_KIT_SERVER_ADDRESS="unix:path=$TESTDIR/p11.sock"
export P11_KIT_SERVER_ADDRESS
{
    printf 'openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n'
    printf '[p]\ndefault = d\ndevid = v\n[d]\nactivate = 1\n'
    printf '[v]\nmodule = %s/devid.so\nactivate = 1\n' "$OPENSSL_MODULES"
    printf 'pkcs11-module-path = %s\n' "$CLIENT_MODULE"
    printf 'pkcs11-module-token-pin = file:%s/pin\n' "$TESTDIR"
} > proxy.cnf
OPENSSL_CONF=$TESTDIR/proxy.cnf
export OPENSSL_CONF

# the server certificate for the token key
pki_ca "$TESTDIR"
openssl req -new -key "$KEY" -subj /CN=localhost -out srv.csr 2> out.txt \
    || { cat out.txt; fail "CSR through the p11-kit client"; }
pki_sign "$TESTDIR" srv.csr srv.pem server

# -www: one process serves every connection, and never reads its stdin
srv_s_server s_server.log -www -tls1_3 -cert srv.pem -key "$KEY"
SPID=$SERVER_PID
PORT=$SERVER_PORT

# handshake: one TLS 1.3 handshake (the token key signs CertificateVerify);
# its time in seconds goes to $took
handshake() {
    _t0=$(date +%s.%N)
    _rc=0
    openssl s_client -connect "127.0.0.1:$PORT" -CAfile ca.pem \
        -verify_return_error -brief < /dev/null > hs.txt 2>&1 || _rc=$?
    took=$(echo "$(date +%s.%N) - $_t0" | bc)
    [ "$_rc" -eq 0 ] && grep -q 'CONNECTION ESTABLISHED' hs.txt
}

for i in 1 2 3; do
    handshake || { cat hs.txt s_server.log; fail "handshake $i before any restart"; }
done
ok "three handshakes with the token key through p11-kit's client"

for round in 1 2; do
    p11_stop
    for i in 1 2; do
        if handshake; then
            fail "round $round: handshake $i worked while the token server is away"
        fi
        [ "$(echo "$took < 2" | bc)" -eq 1 ] \
            || fail "round $round: a handshake took $took s to fail"
    done
    kill -0 "$SPID" 2>/dev/null || { cat s_server.log; fail "round $round: s_server died while the token server was away"; }
    grep -q 'no matching token' s_server.log \
        || { cat s_server.log; fail "round $round: s_server shows no devid reason"; }
    grep -q 'devid-proxy.*is not present' s_server.log \
        || { cat s_server.log; fail "round $round: the reason does not name the token"; }
    ok "round $round: token server away: handshakes fail in under 2 s with devid's reason; s_server lives"

    p11_start
    n=0
    until handshake; do
        n=$((n + 1))
        [ "$n" -lt 10 ] || { cat hs.txt s_server.log p11.out; fail "round $round: no handshake after the token server came back"; }
        sleep 0.3
    done
    handshake || { cat hs.txt; fail "round $round: second handshake after the restart"; }
    kill -0 "$SPID" 2>/dev/null || fail "round $round: s_server is gone"
    ok "round $round: token server back: the same s_server handshakes again ($n failed tries before)"
    : > s_server.log
done
