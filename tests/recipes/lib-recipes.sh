# SPDX-License-Identifier: Apache-2.0
# Helpers for the recipe tests: the programs of examples/ and docs/recipes.md
# run unchanged against real servers on loopback, with devid activated
# through openssl.cnf. Sourced after tests/lib.sh, never run.
# shellcheck shell=sh

. "$top_srcdir/tests/lib-pki.sh"
. "$top_srcdir/tests/lib-servers.sh"

# recipes_init TOKEN: a temporary directory (cwd), a SoftHSM2 token TOKEN,
# a software CA, a PIN file and tests/fixtures/openssl.cnf.in filled in as
# $TESTDIR/openssl.cnf; exports OPENSSL_CONF (devid active for every
# program the test runs) and OPENSSL_ENGINES (the engine built here).
recipes_init() {
    devid_tmpdir
    cd "$TESTDIR"
    RECIPES_TOKEN=$1
    devid_mktoken "$TESTDIR" "$1"
    pki_ca "$TESTDIR"
    printf '%s\n' "$DEVID_USER_PIN" > pin
    chmod 600 pin   # devid refuses PIN files others can read
    chmod 600 pin
    recipes_cnf "$TESTDIR/openssl.cnf" "${DEVID_TCTI:-device:/dev/tpmrm0}"
    OPENSSL_CONF=$TESTDIR/openssl.cnf
    OPENSSL_ENGINES=$top_builddir/engine-compat/.libs
    export OPENSSL_CONF OPENSSL_ENGINES
}

# recipes_need_engine: fails unless the ENGINE "devid" was built
recipes_need_engine() {
    [ -f "$OPENSSL_ENGINES/devid.so" ] || fail "engine not built: $OPENSSL_ENGINES/devid.so"
}

# recipes_cnf OUT TCTI: fills the openssl.cnf template into OUT
recipes_cnf() {
    sed -e "s|@DEVID_MODULE@|$top_builddir/.libs/devid.so|" \
        -e "s|@PKCS11_MODULE@|$SOFTHSM_MODULE|" \
        -e "s|@PIN_FILE@|$TESTDIR/pin|" \
        -e "s|@TCTI@|$2|" \
        "$top_srcdir/tests/fixtures/openssl.cnf.in" > "$1"
}

# recipes_token_key NAME CN [ALG]: a non-exportable key NAME in the token
# (EC P-256, "rsa" for RSA 2048, "ed25519" for Ed25519), its reference file
# NAME.key.pem made by the provider's encoder, and a certificate NAME.pem
# (CN) from the test CA. EC and Ed25519 keys are made with openssl genpkey
# (the provider writes the file), RSA keys with pkcs11-tool and written out
# with openssl pkey.
recipes_token_key() {
    if [ "${3:-ec}" = ed25519 ]; then
        openssl genpkey -propquery '?provider=devid' -algorithm ED25519 \
            -pkeyopt "uri:pkcs11:token=$RECIPES_TOKEN;object=$1" \
            -out "$1.key.pem" || fail "openssl genpkey ED25519 in the token ($1)"
    elif [ "${3:-ec}" = rsa ]; then
        devid_p11tool --keypairgen --key-type rsa:2048 --label "$1" \
            --id "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')" >/dev/null 2>&1
        openssl pkey -in "pkcs11:token=$RECIPES_TOKEN;object=$1;type=private" -out "$1.key.pem" \
            || fail "openssl pkey could not write the reference file of $1"
    else
        openssl genpkey -propquery '?provider=devid' -algorithm EC \
            -pkeyopt group:P-256 -pkeyopt "uri:pkcs11:token=$RECIPES_TOKEN;object=$1" \
            -out "$1.key.pem" || fail "openssl genpkey in the token ($1)"
    fi
    grep -q 'BEGIN PKCS#11 PROVIDER URI' "$1.key.pem" \
        || fail "$1.key.pem is not a reference file"
    openssl req -new -key "$1.key.pem" -subj "/CN=$2" -out "$1.csr" \
        || fail "CSR with $1.key.pem"
    if [ "${4:-client}" = server ]; then
        pki_sign "$TESTDIR" "$1.csr" "$1.pem" server \
            "$([ "${3:-ec}" = rsa ] && echo digitalSignature,keyEncipherment || echo digitalSignature)"
    else
        pki_client "$TESTDIR" "$1.csr" "$1.pem"
    fi
}

# recipes_soft_client NAME CN: a software client key and certificate
recipes_soft_client() {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    pki_client "$TESTDIR" "$1.csr" "$1.pem"
}

# recipes_s_server LOG: openssl s_server answering HTTP (-www) on a port
# of its own, requiring a client certificate from the test CA; names in the
# log and the page in the tests' one format (pki_log_has_peer,
# pki_page_has_peer); sets SERVER_PID and SERVER_PORT
recipes_s_server() {
    [ -f srv.pem ] || pki_server "$TESTDIR" srv ec
    srv_s_server "$1" -www -Verify 1 -verify_return_error \
        -nameopt "$PKI_NAMEOPT" -CAfile ca.pem -cert srv.pem -key srv.key
}

# recipes_mosquitto: a mosquitto broker on a free 127.0.0.1 port that
# requires a client certificate and takes the certificate's CN as the user
# name (examples/mosquitto-broker.conf); log in broker.log; sets BROKER_PID
# and BROKER_PORT
recipes_mosquitto() {
    [ -f srv.pem ] || pki_server "$TESTDIR" srv ec
    _try=0
    while :; do
        BROKER_PORT=$(devid_freeport)
        sed -e "s|@PORT@|$BROKER_PORT|" -e "s|@DIR@|$TESTDIR|g" \
            "$top_srcdir/examples/mosquitto-broker.conf" > broker.conf
        : > broker.log
        mosquitto -c broker.conf > broker.out 2>&1 &
        BROKER_PID=$!
        srv_listens "$BROKER_PID" "$BROKER_PORT" && break
        # someone took the port first: another one
        _try=$((_try + 1))
        [ "$_try" -lt 5 ] || { cat broker.out broker.log; fail "mosquitto does not start"; }
    done
}

# recipes_subscribe PORT TOPIC OUT: mosquitto_sub (software client
# certificate "sub") waits for one message on TOPIC into OUT; sets SUB_PID
recipes_subscribe() {
    [ -f sub.pem ] || recipes_soft_client sub subscriber
    # a new client id per subscriber: waiting for an earlier subscriber's
    # SUBSCRIBE line in the broker log would return at once
    RECIPES_SUB_N=$((${RECIPES_SUB_N:-0} + 1))
    _sub_id=devid-test-sub-$RECIPES_SUB_N
    mosquitto_sub -h 127.0.0.1 -p "$1" --cafile ca.pem --cert sub.pem \
        --key sub.key -i "$_sub_id" -t "$2" -C 1 -W 20 -v > "$3" 2>&1 &
    SUB_PID=$!
    # the broker logs the subscription: only then can a message be received
    recipes_wait_grep "SUBSCRIBE from $_sub_id\$" broker.log 10
}

# recipes_wait_grep PATTERN FILE SECONDS: waits until FILE holds PATTERN
recipes_wait_grep() {
    _n=0
    until grep -q "$1" "$2" 2>/dev/null; do
        _n=$((_n + 1))
        [ "$_n" -lt "$(($3 * 10))" ] || { cat "$2"; fail "no '$1' in $2"; }
        sleep 0.1
    done
}

# recipes_wait_pid PID SECONDS: waits for PID to exit (its status is lost)
recipes_wait_pid() {
    _n=0
    while kill -0 "$1" 2>/dev/null; do
        _n=$((_n + 1))
        [ "$_n" -lt "$(($2 * 10))" ] || fail "process $1 still runs after $2 s"
        sleep 0.1
    done
}

# recipes_kill PID...: stops what a test started (empty arguments ignored)
recipes_kill() {
    for _p in "$@"; do
        if [ -n "$_p" ]; then
            kill "$_p" 2>/dev/null || :
            wait "$_p" 2>/dev/null || :
        fi
    done
}
