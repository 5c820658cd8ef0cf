#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Recipe (docs/recipes.md, "curl with the engine"): curl's engine options,
#   curl --engine devid --key-type ENG --key 'pkcs11:...'
# reach the key in the token through the ENGINE "devid": with devid set up
# in openssl.cnf, with no openssl.cnf at all (the engine loads the
# providers itself), and with the PIN given to curl (--pass), which the
# engine passes on to the token as the application's passphrase prompt.
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
recipes_init devid-cureng
recipes_need_engine
recipes_token_key eng device-curl-engine

# run_curl WHAT KEY [CURL ARGS...]: one request with the engine; the server
# must have seen the client certificate
run_curl() {
    what=$1
    key=$2
    shift 2
    recipes_s_server server.log
    port=$SERVER_PORT
    curl -sS --fail --max-time 20 --cacert ca.pem --cert "${CERT:-eng.pem}" \
        --engine devid --key-type ENG --key "$key" "$@" \
        "https://localhost:$port/" > page.html 2> curl.err \
        || { cat curl.err server.log; fail "curl --engine devid: $what"; }
    recipes_kill "$SERVER_PID"
    SERVER_PID=
    pki_page_has_peer page.html device-curl-engine \
        || { cat page.html; fail "server did not see the client certificate ($what)"; }
    ok "curl --engine devid --key-type ENG: $what"
}

uri="pkcs11:token=devid-cureng;object=eng;type=private"
run_curl "pkcs11: URI, devid and PIN from openssl.cnf" "$uri"
run_curl "reference file through the engine" eng.key.pem

# no openssl.cnf: the engine activates default and devid itself; module
# and PIN come from the URI
OPENSSL_CONF=/dev/null run_curl "no openssl.cnf, module and PIN in the URI" \
    "$uri?module-path=$SOFTHSM_MODULE&pin-source=file:$TESTDIR/pin"

# no PIN anywhere but curl's --pass: it reaches the token via curl's UI
sed '/pkcs11-module-token-pin/d' openssl.cnf > nopin.cnf
OPENSSL_CONF=$TESTDIR/nopin.cnf run_curl "PIN from curl --pass (the app's prompt)" \
    "$uri" --pass "$DEVID_USER_PIN"

# the certificate in the token, through the engine's LOAD_CERT_CTRL
openssl x509 -in eng.pem -outform der -out eng.der
devid_p11tool --write-object eng.der --type cert --label eng-cert >/dev/null 2>&1
CERT="pkcs11:token=devid-cureng;object=eng-cert;type=cert" \
    run_curl "certificate from the token (--cert-type ENG)" "$uri" \
    --cert-type ENG
recipes_s_server server.log
if curl -sS --max-time 20 --cacert ca.pem --engine devid --cert-type ENG \
    --cert "pkcs11:token=devid-cureng;object=nosuch;type=cert" \
    --key-type ENG --key "$uri" "https://localhost:$SERVER_PORT/" \
    > /dev/null 2> nocert.err; then
    fail "curl found a certificate that is not there"
fi
recipes_kill "$SERVER_PID"
SERVER_PID=
grep -q 'cannot load client cert' nocert.err \
    || fail "curl, no certificate: $(cat nocert.err)"
ok "curl --cert-type ENG: a certificate not in the token is an error"

# openssl sees the engine, and its load_pubkey gives the token key's public
# half (the same as the reference file's)
openssl engine -t -c devid > engine.txt 2>&1 || { cat engine.txt; fail "openssl engine -t -c devid"; }
grep -q '^(devid) devid' engine.txt && grep -q '\[ available \]' engine.txt \
    || { cat engine.txt; fail "openssl engine does not list devid as available"; }
openssl pkey -engine devid -pubin -inform ENGINE -in "$uri" -pubout \
    -out pub-engine.pem 2> pkey.err || { cat pkey.err; fail "engine load_pubkey"; }
openssl pkey -in eng.key.pem -pubout -out pub-ref.pem
cmp -s pub-engine.pem pub-ref.pem || fail "engine public key differs from the token key's"
openssl pkey -engine devid -pubin -inform ENGINE \
    -in "pkcs11:token=devid-cureng;object=eng;type=public" -pubout \
    -out pub-public.pem 2> pkey.err || { cat pkey.err; fail "engine: type=public"; }
cmp -s pub-public.pem pub-ref.pem || fail "engine: the type=public key differs"
ok "openssl engine -t -c devid: available; load_pubkey gives the token key's public half, also by type=public"
