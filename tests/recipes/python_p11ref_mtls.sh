#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "Python"): Python's ssl module authenticates to
# an HTTPS server that requires a client certificate with
# ctx.load_cert_chain(cert, keyfile=reference file) (examples/
# python-mtls-client.py), devid active through openssl.cnf.
set -euf
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/recipes/lib-recipes.sh"
SERVER_PID=
cleanup() {
    recipes_kill "$SERVER_PID"
    rm -rf "$TESTDIR"
}
trap cleanup EXIT
recipes_init devid-python

# Python's _ssl must use the system OpenSSL 3 that loads the provider
python3 -c 'import ssl, sys; sys.exit(0 if ssl.OPENSSL_VERSION_INFO[0] == 3 else 1)' \
    || fail "python3 is not linked to OpenSSL 3: $(python3 -c 'import ssl; print(ssl.OPENSSL_VERSION)')"

for alg in ec rsa ed25519; do
    recipes_token_key "py-$alg" "device-py-$alg" "$alg"
    recipes_s_server server.log
    port=$SERVER_PORT
    python3 "$top_srcdir/examples/python-mtls-client.py" "https://localhost:$port/" \
        ca.pem "py-$alg.pem" "py-$alg.key.pem" > page.html 2> py.err \
        || { cat py.err server.log; fail "python ssl with py-$alg.key.pem"; }
    recipes_kill "$SERVER_PID"
    SERVER_PID=
    pki_page_has_peer page.html "device-py-$alg" \
        || { cat page.html; fail "server did not see the $alg client certificate"; }
    pki_log_has_peer server.log "device-py-$alg" \
        || { cat server.log; fail "server log lacks the $alg client subject"; }
    ok "python ssl load_cert_chain(keyfile=py-$alg.key.pem): mutual TLS ($(cat py.err | tr -d '\n'))"
done
