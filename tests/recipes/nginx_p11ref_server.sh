#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "nginx"): nginx serves HTTPS with its server key
# in the token (ssl_certificate_key is a reference file, examples/
# nginx-devid.conf), requires client certificates, and answers curl. Run
# with an EC, an RSA and an Ed25519 server key; both TLS 1.2 and 1.3.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
devid_needs_curl_with_devid
NGINX_PID=
cleanup() {
    recipes_kill "$NGINX_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-nginx
mkdir nginx-tmp
recipes_soft_client visitor visitor-1

for alg in ec rsa ed25519; do
    rm -f web.key.pem web.pem
    recipes_token_key "web-$alg" localhost "$alg" server
    cp "web-$alg.key.pem" web.key.pem
    cp "web-$alg.pem" web.pem
    try=0
    while :; do
        port=$(devid_freeport)
        sed -e "s|@PORT@|$port|" -e "s|@DIR@|$TESTDIR|g" \
            "$top_srcdir/examples/nginx-devid.conf" > nginx.conf
        nginx -t -p "$TESTDIR" -c "$TESTDIR/nginx.conf" -e "$TESTDIR/nginx-error.log" \
            > nginx-t.log 2>&1 || { cat nginx-t.log nginx-error.log; fail "nginx -t ($alg)"; }
        nginx -p "$TESTDIR" -c "$TESTDIR/nginx.conf" -e "$TESTDIR/nginx-error.log" \
            > nginx.out 2>&1 &
        NGINX_PID=$!
        srv_listens "$NGINX_PID" "$port" && break
        # someone took the port between the check and nginx's bind
        try=$((try + 1))
        [ "$try" -lt 5 ] || { cat nginx.out nginx-error.log; fail "nginx does not start ($alg)"; }
    done
    for v in 1.2 1.3; do
        # several connections, each a new handshake signed in the token
        for i in 1 2 3; do
            curl -sS --fail --max-time 20 --cacert ca.pem --cert visitor.pem \
                --key visitor.key --tlsv"$v" --tls-max "$v" \
                "https://localhost:$port/" > page.txt 2> curl.err \
                || { cat curl.err nginx-error.log; fail "curl to nginx ($alg key, TLS $v)"; }
            grep -q "hello CN=visitor-1 over TLSv$v" page.txt \
                || { cat page.txt; fail "unexpected answer from nginx ($alg, TLS $v)"; }
        done
        # the server's certificate (and so its key) was the token's
        curl -sS -v --max-time 20 --cacert ca.pem --cert visitor.pem --key visitor.key \
            --tlsv"$v" --tls-max "$v" "https://localhost:$port/" > /dev/null 2> verbose.txt
        grep -q 'subject: CN=localhost' verbose.txt || { cat verbose.txt; fail "server certificate"; }
        ok "nginx with its $alg key in the token answers curl over TLS $v (client CN=visitor-1)"
    done
    # without a client certificate nginx says no
    code=$(curl -sS --max-time 20 --cacert ca.pem -o /dev/null -w '%{http_code}' \
        "https://localhost:$port/" 2>/dev/null || :)
    [ "$code" = 400 ] || fail "nginx answered $code to a client without a certificate"
    kill -QUIT "$NGINX_PID"
    recipes_wait_pid "$NGINX_PID" 10
    NGINX_PID=
    ok "nginx ($alg key) refuses a client without a certificate and stops cleanly"
done
