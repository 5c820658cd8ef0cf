#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "curl"): Debian's curl authenticates to an HTTPS
# server that requires a client certificate, with its key in the token
# named by a reference file: "curl --cert dev.pem --key dev.key.pem", devid
# active through openssl.cnf. curl is not told about devid at all.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
devid_needs_curl_with_devid
SERVER_PID=
cleanup() {
    recipes_kill "$SERVER_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-curl

for alg in ec rsa ed25519; do
    recipes_token_key "curl-$alg" "device-curl-$alg" "$alg"
    recipes_s_server server.log
    port=$SERVER_PORT
    curl -sS --fail --max-time 20 --cacert ca.pem \
        --cert "curl-$alg.pem" --key "curl-$alg.key.pem" \
        "https://localhost:$port/" > page.html 2> curl.err \
        || { cat curl.err server.log; fail "curl with curl-$alg.key.pem"; }
    recipes_kill "$SERVER_PID"
    SERVER_PID=
    # s_server -www shows the client certificate it verified
    pki_page_has_peer page.html "device-curl-$alg" \
        || { cat page.html; fail "server did not see the $alg client certificate"; }
    pki_log_has_peer server.log "device-curl-$alg" \
        || { cat server.log; fail "server log lacks the $alg client subject"; }
    ok "curl --key curl-$alg.key.pem: mutual TLS with a $alg key in the token"
done

# the same request without the client certificate is refused
recipes_s_server server.log
port=$SERVER_PORT
if curl -sS --fail --max-time 20 --cacert ca.pem "https://localhost:$port/" \
    > /dev/null 2>&1; then
    fail "the server accepted a client without a certificate"
fi
ok "the server refuses a client without a certificate"
